"""Accounts over HTTP (issue 16): sign in and out, who am I, change my password, the
one-time setup of the first account, and the admin's users and audit log. Who may call
each route is decided by :mod:`spinecoach.web.authz` (its ``POLICY``), never here; the
rules of accounts are in :mod:`spinecoach.services.accounts`.

Sign-in sets the cookie ``spinecoach_session``: HttpOnly (page scripts cannot read it),
SameSite=Strict (another site's page never sends it), Secure when the request came over
TLS (behind a reverse proxy that says so with ``X-Forwarded-Proto``; uvicorn believes it
from 127.0.0.1), Path=/, lasting as long as the session (12 h). Wrong passwords back off
per client address and per user name (:class:`~spinecoach.web.attempts.AttemptLimiter`:
5 free failures a minute, then 1 s, 2 s, 4 s … up to 5 min of 429 with Retry-After).
"""

from __future__ import annotations

import asyncio
import math
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from spinecoach.services import accounts, audit
from spinecoach.services.accounts import AccountError, Principal
from spinecoach.store.models import Person
from spinecoach.web.attempts import AttemptLimiter
from spinecoach.web.authz import COOKIE, principal_of
from spinecoach.web.deps import ServerHistoryDep
from spinecoach.web.routes.common import MAX_ID, Body, FiniteJsonRoute, problem

router = APIRouter(route_class=FiniteJsonRoute)  # NaN and 1e400 are not JSON: 422

Password = Annotated[str, Field(min_length=1, max_length=accounts.PASSWORD_MAX)]
Username = Annotated[str, Field(min_length=1, max_length=64)]


class LoginIn(Body):
    username: Username
    password: Password


class PasswordIn(Body):
    current_password: Password
    new_password: Password


class UserIn(Body):
    username: Username
    password: Password
    role: Literal["person", "clinician", "admin"] = "person"
    own_data: bool | None = Field(
        default=None, description="The account exercises itself (default: not a clinician)."
    )


class UserActionIn(Body):
    action: Literal["disable", "enable", "reset-password", "assign", "unassign"]
    password: Password | None = Field(default=None, description="For reset-password.")
    person: Username | None = Field(
        default=None, description="For assign/unassign: the person's user name."
    )


class PersonOut(BaseModel):
    id: int
    name: str


class MeOut(BaseModel):
    """Who is signed in (``signed_in`` false: nobody; ``setup_needed``: the server has no
    account yet and waits for its first at /setup)."""

    signed_in: bool
    mode: str
    setup_needed: bool = False
    username: str | None = None
    role: str | None = None
    person_id: int | None = None
    persons: list[PersonOut] = []


class UserOut(BaseModel):
    id: int
    username: str
    role: str
    person_id: int | None
    disabled: bool
    persons: list[int]


class AuditOut(BaseModel):
    id: int
    at_utc: str
    user_id: int | None
    username: str
    action: str
    person_id: int | None
    route: str
    detail: str


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _limiters(request: Request) -> tuple[AttemptLimiter, AttemptLimiter]:
    state = request.app.state
    return state.login_attempts, state.login_user_attempts


def _too_many(wait_s: float, then: str) -> HTTPException:
    """429 with Retry-After: the client is blocked for ``wait_s`` after wrong passwords."""
    after_s = math.ceil(wait_s)
    error = problem(429, "too many wrong passwords", f"wait {after_s} s, then {then}")
    error.headers = {"Retry-After": str(after_s)}
    return error


def _set_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(accounts.SESSION_TTL.total_seconds()),
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


async def _me(request: Request, principal: Principal | None) -> MeOut:
    state = request.app.state
    mode = state.settings.auth
    if principal is None:
        setup = mode == "accounts" and not await asyncio.to_thread(
            accounts.has_users, state.history.engine
        )
        return MeOut(signed_in=False, mode=mode, setup_needed=setup)
    ids = sorted(principal.persons | ({principal.person_id} if principal.person_id else set()))

    def names() -> list[PersonOut]:
        with Session(state.history.engine) as db:
            rows = db.execute(select(Person.id, Person.display_name).where(Person.id.in_(ids)))
            return [PersonOut(id=i, name=n) for i, n in rows]

    return MeOut(
        signed_in=True,
        mode=mode,
        username=principal.username,
        role=principal.role,
        person_id=principal.person_id,
        persons=await asyncio.to_thread(names),
    )


@router.get("/api/auth/me", response_model=MeOut)
async def me(request: Request) -> MeOut:
    """Who is signed in, or that nobody is (and whether the server waits for setup)."""
    return await _me(request, await principal_of(request))


@router.post("/api/auth/login", response_model=MeOut)
async def login(body: LoginIn, request: Request, response: Response) -> MeOut:
    """Sign in: sets the session cookie; a wrong name or password is a 401 that does not
    say which, and repeated failures back off (429 with Retry-After)."""
    history = request.app.state.history
    if request.app.state.settings.auth != "accounts":
        raise problem(409, "this server runs in single-person mode", "no sign-in is needed")
    by_client, by_user = _limiters(request)
    client, user_key = _client(request), body.username.strip().lower()
    wait_s = max(by_client.blocked_for_s(client), by_user.blocked_for_s(user_key))
    if wait_s > 0:
        raise _too_many(wait_s, "sign in again")
    principal = await asyncio.to_thread(
        accounts.authenticate, history.engine, body.username, body.password
    )
    if principal is None or principal.user_id is None:
        by_client.failed(client)
        by_user.failed(user_key)
        await asyncio.to_thread(
            audit.record, history.engine, None, "sign-in", None, "POST /api/auth/login",
            f"failed for {user_key[:64]!r} from {client}",
        )  # fmt: skip
        raise problem(401, "the user name or the password is wrong", "type them again")
    by_client.succeeded(client)
    by_user.succeeded(user_key)
    token = await asyncio.to_thread(accounts.start_session, history.engine, principal.user_id)
    await asyncio.to_thread(
        audit.record, history.engine, principal, "sign-in", principal.person_id,
        "POST /api/auth/login", f"from {client}",
    )  # fmt: skip
    _set_cookie(request, response, token)
    return await _me(request, principal)


@router.post("/api/auth/logout", status_code=204)
async def logout(request: Request, response: Response) -> Response:
    """Sign out: the session ends on the server and the cookie is cleared."""
    token = request.cookies.get(COOKIE)
    history = request.app.state.history
    principal = await principal_of(request)
    if token:
        await asyncio.to_thread(accounts.end_session, history.engine, token)
    if principal is not None and principal.user_id is not None:
        await asyncio.to_thread(
            audit.record, history.engine, principal, "sign-out", principal.person_id,
            "POST /api/auth/logout",
        )  # fmt: skip
    answer = Response(status_code=204)
    answer.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return answer


@router.post("/api/auth/password", status_code=204)
async def change_password(body: PasswordIn, request: Request) -> Response:
    """Change the signed-in account's password (the current one must be right; 429 after
    repeated wrong ones); every session of the account ends, this one gets a new cookie."""
    principal = await principal_of(request)
    history = request.app.state.history
    if principal is None or principal.user_id is None:
        raise problem(409, "single-person mode has no password", "use accounts to set one")
    by_client, _ = _limiters(request)
    client = _client(request)
    if (wait_s := by_client.blocked_for_s(client)) > 0:
        raise _too_many(wait_s, "try again")
    try:
        await asyncio.to_thread(
            accounts.change_password,
            history.engine,
            principal.user_id,
            body.current_password,
            body.new_password,
        )
    except AccountError as error:
        if "current password" in str(error):
            by_client.failed(client)
        raise problem(422, str(error), "type them again") from None
    await asyncio.to_thread(
        audit.record, history.engine, principal, "account", principal.person_id,
        "POST /api/auth/password", "changed own password",
    )  # fmt: skip
    token = await asyncio.to_thread(accounts.start_session, history.engine, principal.user_id)
    answer = Response(status_code=204)
    _set_cookie(request, answer, token)
    return answer


@router.post("/api/auth/setup", response_model=MeOut)
async def setup(body: LoginIn, request: Request, response: Response) -> MeOut:
    """Make the first account (an admin with the data kept so far), from this computer
    only and only while there is none; it is signed in at once."""
    history = request.app.state.history
    try:
        made = await asyncio.to_thread(
            accounts.add_user, history.engine, body.username, body.password, "admin",
            own_data=True, first_only=True,
        )  # fmt: skip
    except AccountError as error:
        raise problem(422, str(error), "choose another name or password") from None
    principal = Principal(made.username, made.role, made.person_id, made.id)
    await asyncio.to_thread(
        audit.record, history.engine, principal, "account", made.person_id,
        "POST /api/auth/setup", "first account made",
    )  # fmt: skip
    token = await asyncio.to_thread(accounts.start_session, history.engine, made.id)
    _set_cookie(request, response, token)
    return await _me(request, principal)


@router.get("/api/admin/users", response_model=list[UserOut])
async def users(history: ServerHistoryDep) -> Any:
    """Every account (admins)."""
    return [u.as_dict() for u in await asyncio.to_thread(accounts.list_users, history.engine)]


@router.post("/api/admin/users", response_model=UserOut, status_code=201)
async def add_user(body: UserIn, request: Request, history: ServerHistoryDep) -> Any:
    """Add an account (admins)."""
    try:
        made = await asyncio.to_thread(
            accounts.add_user, history.engine, body.username, body.password, body.role,
            own_data=body.own_data,
        )  # fmt: skip
    except AccountError as error:
        raise problem(422, str(error), "correct it and send again") from None
    await asyncio.to_thread(
        audit.record, history.engine, await principal_of(request), "account", made.person_id,
        "POST /api/admin/users", f"added {made.username} ({made.role})",
    )  # fmt: skip
    return made.as_dict()


@router.post("/api/admin/users/{username}", response_model=UserOut)
async def user_action(
    username: Annotated[str, Field(max_length=64)],
    body: UserActionIn,
    request: Request,
    history: ServerHistoryDep,
) -> Any:
    """Disable, enable, reset the password of, or assign a person to an account
    (admins)."""
    engine = history.engine

    def work() -> accounts.UserInfo:
        if body.action in ("disable", "enable"):
            accounts.set_disabled(engine, username, body.action == "disable")
        elif body.action == "reset-password":
            if body.password is None:
                raise AccountError("reset-password needs the new password in 'password'")
            accounts.set_password(engine, username, body.password)
        else:
            if body.person is None:
                raise AccountError(f"{body.action} needs the person's user name in 'person'")
            accounts.assign(engine, username, body.person, remove=body.action == "unassign")
        return accounts.get_user(engine, username)

    try:
        info = await asyncio.to_thread(work)
    except AccountError as error:
        status = 404 if str(error).startswith("no user named") else 422
        raise problem(status, str(error), "correct it and send again") from None
    await asyncio.to_thread(
        audit.record, engine, await principal_of(request), "account", info.person_id,
        f"POST /api/admin/users/{info.username}", body.action + (
            f" {body.person}" if body.person else ""),
    )  # fmt: skip
    return info.as_dict()


AuditLimit = Annotated[int, Query(ge=1, le=audit.MAX_LIST)]
OfPerson = Annotated[int | None, Query(ge=1, le=MAX_ID, description="Only this person.")]
Before = Annotated[int | None, Query(ge=1, le=MAX_ID, description="Older than this id.")]


@router.get("/api/admin/audit", response_model=list[AuditOut])
async def audit_log(
    history: ServerHistoryDep,
    of_person: OfPerson = None,
    limit: AuditLimit = 500,
    before: Before = None,
) -> Any:
    """The audit log, newest first (admins)."""
    rows = await asyncio.to_thread(
        audit.entries, history.engine, person_id=of_person, limit=limit, before_id=before
    )
    return [row.as_dict() for row in rows]


@router.get("/api/admin/audit.csv", response_class=Response)
async def audit_csv(
    history: ServerHistoryDep,
    of_person: OfPerson = None,
    limit: AuditLimit = audit.MAX_LIST,
    before: Before = None,
) -> Response:
    """The audit log as CSV, newest first (admins); longer than ``limit`` rows: ask again
    with ``before`` = the last id received."""
    rows = await asyncio.to_thread(
        audit.entries, history.engine, person_id=of_person, limit=limit, before_id=before
    )
    return Response(
        audit.to_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="spinecoach-audit.csv"'},
    )
