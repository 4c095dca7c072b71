"""The pages of the single-page app: every path below serves ``static/index.html``,
which shows the view the path names (not in the API schema)."""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter

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
)

router = APIRouter(include_in_schema=False)
for _path in PAGES:
    router.add_api_route(_path, index_page, methods=["GET"])
