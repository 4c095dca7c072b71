"""The pages of the single-page app: every path below serves ``static/index.html``,
which shows the view the path names (not in the API schema); and ``/sw.js``, the service
worker (``static/sw.js``) served from the root so its scope covers every page (a worker
served under ``/static/`` could only control ``/static/…``)."""

from __future__ import annotations

from importlib import resources
from typing import Final

from fastapi import APIRouter
from fastapi.responses import FileResponse

from spinecoach.web.routes.common import index_page

#: The live coach and history, the working day, the program's pages and its progress.
PAGES: Final = (
    "/",
    "/history",
    "/day",
    "/onboarding",
    "/checkin",
    "/psfs",
    "/program",
    "/screening",
    "/progress",
    "/login",  # accounts (issue 16): sign in, the first account, my account, users
    "/setup",
    "/account",
    "/admin",
)

router = APIRouter(include_in_schema=False)
for _path in PAGES:
    router.add_api_route(_path, index_page, methods=["GET"])


@router.get("/sw.js")
async def service_worker() -> FileResponse:
    """The service worker (reminders as notifications); never cached stale: the browser
    checks it on each visit."""
    static = resources.files("spinecoach.web").joinpath("static")
    with resources.as_file(static.joinpath("sw.js")) as path:
        return FileResponse(
            path,
            media_type="text/javascript",
            headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"},
        )
