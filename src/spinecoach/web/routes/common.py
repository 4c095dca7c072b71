"""What several route modules share: the single-page app's page, running the services'
synchronous database work in a worker thread with their errors as HTTP statuses, and the
``{"problem", "fix"}`` error detail.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import tzinfo
from importlib import resources
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import HTTPException, Path, Query
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict

from spinecoach.errors import ConfigurationError
from spinecoach.store.program import EnrolmentStateError

T = TypeVar("T")

#: A ``tz`` query: the person's IANA time zone (see :func:`zone_of`).
TzQuery = Annotated[
    str | None,
    Query(max_length=64, description="The person's IANA time zone, e.g. Europe/Berlin"),
]


#: The largest id the store can hold (a signed 64-bit integer, as in SQLite and PostgreSQL's
#: BIGINT); a larger one could never name a row.
MAX_ID = 2**63 - 1

#: A stored row's id in a path (a session, a prompt): 1 to :data:`MAX_ID`, else 422 naming
#: the range (issue 16: ids over 2^63 overflowed the database driver into a 500).
IdPath = Annotated[
    int, Path(ge=1, le=MAX_ID, description="A stored id: a whole number from 1 to 2^63 - 1")
]


def zone_of(name: str | None) -> tzinfo | None:
    """The zone of a ``tz`` query (None: the server's); 422 naming the fix when unknown."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise HTTPException(
            status_code=422,
            detail=f"tz={name!r} is not a known time zone; give an IANA name like Europe/Berlin",
        ) from None


class Body(BaseModel):
    """A request body: unknown fields are refused (a 422 naming them)."""

    model_config = ConfigDict(extra="forbid")


async def index_page() -> FileResponse:
    """The single-page app (``static/index.html``); it routes by the URL's path."""
    static = resources.files("spinecoach.web").joinpath("static")
    with resources.as_file(static.joinpath("index.html")) as path:
        return FileResponse(path, media_type="text/html")


async def run_service(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``call`` in a worker thread; a program in the wrong state is a 409, any other
    of our configuration errors (an input the rules refuse) a 422 with its text."""
    try:
        return await asyncio.to_thread(call, *args, **kwargs)
    except EnrolmentStateError as error:
        raise HTTPException(status_code=409, detail=str(error)) from None
    except ConfigurationError as error:
        raise HTTPException(status_code=422, detail=str(error)) from None


def problem(status: int, problem: str, fix: str) -> HTTPException:
    """An HTTP error whose detail says what is wrong and how to fix it."""
    return HTTPException(status_code=status, detail={"problem": problem, "fix": fix})
