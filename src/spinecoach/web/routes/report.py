"""HTTP routes of the program report: the same report as ``spinecoach report`` (a
plain-language summary and the progress charts, :mod:`spinecoach.services.report`), for
the Progress page's "Download report (PDF)" and "Share with my physiotherapist (HTML)".

* ``GET /api/program/report.pdf?tz=Area/City`` — ``application/pdf``, a download;
* ``GET /api/program/report.html?tz=Area/City`` — one self-contained HTML file (charts
  embedded), a download to send or show.

Reading the report never writes to the database (the engine decides, nothing is stored).
409 when the person has no program (the report says to complete onboarding first), 422
for an unknown ``tz``. Design choice: the service writes files atomically, so the route
renders into a temporary folder and answers its bytes (a report is ~100 kB–1 MB); the
rendering (Matplotlib) runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import date, tzinfo
from pathlib import Path
from typing import Final, Literal

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

from spinecoach.program.report import ReportError
from spinecoach.services.history import History
from spinecoach.services.report import write_report
from spinecoach.web.deps import HistoryDep
from spinecoach.web.routes.common import TzQuery, zone_of

#: The media type of each report format.
MEDIA_TYPES: Final = {"pdf": "application/pdf", "html": "text/html; charset=utf-8"}

router = APIRouter()


def _render(history: History, fmt: Literal["pdf", "html"], tz: tzinfo | None) -> bytes:
    """The report's bytes, rendered into a temporary folder (deleted after)."""
    url = history.engine.url.render_as_string(hide_password=False)
    with tempfile.TemporaryDirectory(prefix="spinecoach-report-") as folder:
        out = write_report(url, Path(folder) / f"report.{fmt}", person_id=history.person_id, tz=tz)
        return out.read_bytes()


async def _answer(history: History, fmt: Literal["pdf", "html"], tz: str | None) -> Response:
    zone = zone_of(tz)
    try:
        body = await asyncio.to_thread(_render, history, fmt, zone)
    except ReportError as error:
        raise HTTPException(status_code=409, detail=str(error)) from None
    name = f"spinecoach-report-{date.today().isoformat()}.{fmt}"
    return Response(
        content=body,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/api/program/report.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, 409: {"description": "No program"}},
)
async def report_pdf(history: HistoryDep, tz: TzQuery = None) -> Response:
    """The program report as a PDF (summary page, then one chart a page)."""
    return await _answer(history, "pdf", tz)


@router.get(
    "/api/program/report.html",
    response_class=Response,
    responses={200: {"content": {"text/html": {}}}, 409: {"description": "No program"}},
)
async def report_html(history: HistoryDep, tz: TzQuery = None) -> Response:
    """The program report as one self-contained HTML file (to share with a clinician)."""
    return await _answer(history, "html", tz)
