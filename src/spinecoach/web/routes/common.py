"""What several route modules share: the single-page app's page, running the services'
synchronous database work in a worker thread with their errors as HTTP statuses, the
``{"problem", "fix"}`` error detail, and request bodies read as strict JSON.

Strict JSON (:class:`FiniteJsonRoute`, found by the fuzz of issue 16): Python's parser,
which FastAPI uses, takes ``NaN``, ``Infinity`` and ``-Infinity`` (not JSON) and turns a
number like ``1e400`` into infinity. Such a value then failed validation, FastAPI's 422
carried it back as the input, and rendering it failed: 500 "internal server error". A
router made with ``APIRouter(route_class=FiniteJsonRoute)`` reads its bodies with
:func:`finite_json` instead, so such a body is what it is, invalid JSON: 422
``json_invalid`` naming the number. The same for a string holding a lone UTF-16
surrogate (``"\\ud800"``: valid JSON syntax, but not text; RFC 7493 forbids it): it could
be neither stored nor sent back (500). It is a route class, not an app-wide handler, so
each router with JSON bodies opts in.

Days (:func:`check_day`, the same fuzz): a day named by a request is kept between
:data:`FIRST_DAY` and :data:`LAST_DAY`, so a route's date arithmetic (a week back, a
6-week program ahead, a day's end) never leaves Python's calendar (9999-12-31 gave 500).
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Callable, Coroutine
from datetime import date, tzinfo
from importlib import resources
from typing import Annotated, Any, Final, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import HTTPException, Path, Query, Request, Response
from fastapi.responses import FileResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, model_validator

from spinecoach.errors import ConfigurationError
from spinecoach.store.program import EnrolmentStateError

T = TypeVar("T")

#: A ``tz`` query: the person's IANA time zone (see :func:`zone_of`).
TzQuery = Annotated[
    str | None,
    Query(max_length=64, description="The person's IANA time zone, e.g. Europe/Berlin"),
]


#: The largest id the store can hold on every database it runs on: ids are INTEGER
#: columns, 64-bit in SQLite but 32-bit in PostgreSQL (a signed 2^31 - 1); a larger one
#: could never name a row. (It was 2^63 - 1: ids from 2^31 gave 500 on PostgreSQL, "integer
#: out of range"; found by the fuzz of issue 16 run against PostgreSQL.)
MAX_ID = 2**31 - 1

#: A stored row's id in a path (a session, a prompt): 1 to :data:`MAX_ID`, else 422 naming
#: the range (issue 16: ids over 2^63 overflowed the database driver into a 500).
IdPath = Annotated[
    int, Path(ge=1, le=MAX_ID, description="A stored id: a whole number from 1 to 2^31 - 1")
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
    """A request body: unknown fields are refused (a 422 naming them), and so is a NUL
    character in any string or key of it (PostgreSQL's text cannot hold one: a note with
    ``\\u0000`` gave 500 there and was stored on SQLite; found by the fuzz)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        if holds_nul(data):
            raise ValueError(
                "a string holds a NUL character (\\u0000), which cannot be stored; remove it"
            )
        return data


def holds_nul(data: Any) -> bool:
    """Whether a string (or a key) anywhere in parsed JSON ``data`` holds ``"\\x00"``;
    walked with a stack, not recursion (the body may be nested as deep as the parser
    allows).

    >>> holds_nul({"note": "fine", "list": [1, {"k": "a\\x00b"}]}), holds_nul(["ok"])
    (True, False)
    """
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


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


#: A ``\\uD800``–``\\uDFFF`` escape (a UTF-16 surrogate) in JSON text.
_SURROGATE_ESCAPE: Final = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def finite_json(body: bytes) -> Any:
    """``body`` parsed as JSON (RFC 8259), strictly: ``NaN``, ``Infinity``, ``-Infinity``
    and numbers beyond a float's range (``1e400``) raise :class:`json.JSONDecodeError`
    naming the number and where it is, as any other invalid JSON does; so does a string
    (or key) holding a lone UTF-16 surrogate.

    >>> finite_json(b'{"vas_mm": 12.5}')
    {'vas_mm': 12.5}
    >>> finite_json(b'{"vas_mm": NaN}')  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    json.decoder.JSONDecodeError: NaN is not a JSON number; send a finite number: ...
    >>> finite_json(b'["\\\\ud83d\\\\ude00", "\\\\ud800"]')  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    json.decoder.JSONDecodeError: a string holds a lone UTF-16 surrogate (\\ud800)...
    """
    text = body.decode("utf-8")  # a UnicodeDecodeError is a 400, as in Starlette

    def refuse(literal: str) -> Any:
        raise json.JSONDecodeError(
            f"{literal} is not a JSON number; send a finite number",
            text,
            max(text.find(literal), 0),
        )

    def finite_float(literal: str) -> float:
        value = float(literal)
        return value if math.isfinite(value) else refuse(literal)

    value = json.loads(text, parse_constant=refuse, parse_float=finite_float)
    if _SURROGATE_ESCAPE.search(text):  # a pair is text, a lone one is not
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as error:
            lone = error.object[error.start : error.end].encode("unicode_escape").decode()
            where = max(text.lower().find(lone), 0)
            message = f"a string holds a lone UTF-16 surrogate ({lone}), which is not text"
            raise json.JSONDecodeError(f"{message}; send UTF-8 text", text, where) from None
    return value


#: The days a request may name (a posture day or week, a calendar's start); see the
#: module docstring.
FIRST_DAY: Final = date(1900, 1, 1)
LAST_DAY: Final = date(2999, 12, 31)


def check_day(day: date, name: str) -> date:
    """``day`` when it is from :data:`FIRST_DAY` to :data:`LAST_DAY`, else a 422 naming
    ``name`` (the parameter) and the range."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise problem(
            422,
            f"{name} {day.isoformat()} is outside the calendar this server keeps",
            f"give a day from {FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}",
        )
    return day


class FiniteJsonRequest(Request):
    """A request whose :meth:`json` is :func:`finite_json`."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = finite_json(await self.body())
        return self._json


class FiniteJsonRoute(APIRoute):
    """A route reading its JSON body with :func:`finite_json` (see the module docstring):
    ``APIRouter(route_class=FiniteJsonRoute)``."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict_json_handler(request: Request) -> Response:
            return await handler(FiniteJsonRequest(request.scope, request.receive))

        return strict_json_handler
