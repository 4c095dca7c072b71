"""Accounts (issue 16): users and their roles, passwords, sign-in sessions, and who may
see whose data — the one place these rules live; the server and ``spinecoach users``
both call it.

Design choices:

* **Passwords** are hashed with Argon2id through pwdlib (``PasswordHash.recommended()``:
  the maintained library's current parameters, about 0.15 s a hash here); only the hash
  is stored. A password is 8 to 1,024 characters (NIST SP 800-63B: a length floor and
  no composition rules; the ceiling bounds the hashing work of a hostile request).
  Signing in with an unknown name still verifies against a dummy hash, so the answer
  takes as long as for a known name with a wrong password.
* **Sign-in sessions** are random 256-bit tokens (``secrets.token_urlsafe``) kept by the
  browser in a cookie; the database keeps only their SHA-256 (a stolen database does not
  sign anyone in) and when they expire (:data:`SESSION_TTL`, 12 h). Changing or
  resetting a password, or disabling the account, ends all its sessions. Sessions live in
  the database, not in the process, so several server processes share them.
* **Roles**: *person* (their own data only), *clinician* (their own data, if they have
  any, and that of the persons assigned to them, read only: what a clinician may change
  comes with the clinician's dashboard), *admin* (users, settings and the audit log; their
  own data, if any — an admin does not read other persons' health data).
* **The first account** takes over the data kept before accounts existed: the database's
  local person (``store.repository.LOCAL_PERSON_NAME``, the person of single-person mode)
  becomes the first account's own person, so nothing recorded before is orphaned.
  Accounts are added one at a time (PostgreSQL: an advisory lock), so two setups at
  once cannot both become the first.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Final

from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from spinecoach.errors import ConfigurationError
from spinecoach.store import repository
from spinecoach.store.models import ROLES, CareAssignment, LoginSession, Person, User

if TYPE_CHECKING:
    from pwdlib import PasswordHash
    from sqlalchemy.engine import Engine

#: How long a sign-in lasts.
SESSION_TTL: Final = timedelta(hours=12)
#: Password length bounds (characters).
PASSWORD_MIN: Final = 8
PASSWORD_MAX: Final = 1024
#: The PostgreSQL advisory lock key that makes adding accounts one at a time.
ADD_USER_LOCK: Final = 0x5C_0016_0001
#: A user name: 1–64 lower-case letters, digits, ``.``, ``_``, ``-``, ``@``.
USERNAME_RE: Final = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")


class AccountError(ConfigurationError):
    """An account operation the rules refuse (its text names the fix)."""


@dataclass(frozen=True)
class Principal:
    """Who is asking: an account, or the single person of single-person mode
    (``user_id`` None). ``persons``: the persons whose data a clinician may read."""

    username: str
    role: str
    person_id: int | None
    user_id: int | None = None
    persons: frozenset[int] = frozenset()

    def may_read(self, person_id: int) -> bool:
        """Whether this principal may read ``person_id``'s data."""
        return person_id == self.person_id or (
            self.role == "clinician" and person_id in self.persons
        )

    def may_change(self, person_id: int) -> bool:
        """Whether this principal may change ``person_id``'s data (their own only)."""
        return person_id == self.person_id


@dataclass(frozen=True)
class UserInfo:
    """An account as listed (never its hash)."""

    id: int
    username: str
    role: str
    person_id: int | None
    disabled: bool
    persons: tuple[int, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "username": self.username,
            "role": self.role,
            "person_id": self.person_id,
            "disabled": self.disabled,
            "persons": list(self.persons),
        }


@cache
def _hasher() -> PasswordHash:
    from pwdlib import PasswordHash

    return PasswordHash.recommended()


@cache
def _dummy_hash() -> str:
    return _hasher().hash(secrets.token_urlsafe(16))


def token_sha256(token: str) -> str:
    """The SHA-256 hex of a token: what the database keeps instead of the token."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def check_username(name: str) -> str:
    """``name`` lower-cased and checked (:data:`USERNAME_RE`)."""
    cleaned = name.strip().lower()
    if not USERNAME_RE.fullmatch(cleaned):
        raise AccountError(
            f"user name {name[:80]!r} is not allowed: use 1 to 64 letters, digits, '.', '_', "
            "'-' or '@', starting with a letter or digit"
        )
    return cleaned


def check_password(password: str) -> str:
    """``password`` if its length is allowed (:data:`PASSWORD_MIN` to :data:`PASSWORD_MAX`)."""
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise AccountError(
            f"a password must be {PASSWORD_MIN} to {PASSWORD_MAX} characters, got "
            f"{len(password)}; a few words you remember make a good one"
        )
    return password


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(f"role {role[:40]!r} is not one of {', '.join(ROLES)}")
    return role


def has_users(engine: Engine) -> bool:
    """Whether any account exists (none: the server is waiting for its first one)."""
    with Session(engine) as db:
        return db.scalar(select(func.count()).select_from(User)) != 0


def add_user(
    engine: Engine,
    username: str,
    password: str,
    role: str,
    *,
    own_data: bool | None = None,
    first_only: bool = False,
) -> UserInfo:
    """Add an account. ``own_data`` (default: not for a clinician): the account gets a
    person of its own — the first account takes over the local person (see the module
    docstring), later ones get a new person named after them. ``first_only``: refuse
    unless this is the first account (the one-time setup page)."""
    name, role = check_username(username), check_role(role)
    hashed = _hasher().hash(check_password(password))
    own = role != "clinician" if own_data is None else own_data
    now = datetime.now(UTC)
    with Session(engine) as db, db.begin():
        _one_at_a_time(db)
        first = db.scalar(select(func.count()).select_from(User)) == 0
        if first_only and not first:
            raise AccountError(
                "the server has its first account already: sign in, or ask an admin "
                "(spinecoach users add) for an account"
            )
        person_id = None
        if own:
            person_id = _own_person(db, name, adopt_local=first)
        user = User(
            username=name,
            password_hash=hashed,
            role=role,
            person_id=person_id,
            disabled=False,
            created_utc=now,
            password_changed_utc=now,
        )
        db.add(user)
        try:
            db.flush()
        except IntegrityError:
            raise AccountError(f"user name {name!r} is taken: choose another") from None
        return _info(db, user)


def _one_at_a_time(db: Session) -> None:
    """Accounts are added one at a time: the first is decided by counting, and two setups
    at once must not both count none. SQLite's ``BEGIN IMMEDIATE`` (store.db) already
    serializes; PostgreSQL takes a transaction-scoped advisory lock."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADD_USER_LOCK})


def _own_person(db: Session, name: str, *, adopt_local: bool) -> int:
    """The person an account exercises as: the local person for the first account (when
    no account has it), else a new person."""
    if adopt_local:
        local = db.scalars(
            select(Person.id).where(Person.display_name == repository.LOCAL_PERSON_NAME)
        ).first()
        if local is not None:
            return local
    person = Person(display_name=name, created_utc=datetime.now(UTC))
    db.add(person)
    db.flush()
    return person.id


def _info(db: Session, user: User) -> UserInfo:
    persons = db.scalars(
        select(CareAssignment.person_id)
        .where(CareAssignment.clinician_id == user.id)
        .order_by(CareAssignment.person_id)
    ).all()
    return UserInfo(
        user.id, user.username, user.role, user.person_id, user.disabled, tuple(persons)
    )


def _user(db: Session, username: str) -> User:
    user = db.scalars(select(User).where(User.username == username.strip().lower())).first()
    if user is None:
        raise AccountError(f"no user named {username[:80]!r}; see spinecoach users list")
    return user


def list_users(engine: Engine) -> list[UserInfo]:
    """Every account, by name."""
    with Session(engine) as db:
        return [_info(db, u) for u in db.scalars(select(User).order_by(User.username))]


def get_user(engine: Engine, username: str) -> UserInfo:
    with Session(engine) as db:
        return _info(db, _user(db, username))


def set_password(engine: Engine, username: str, password: str) -> None:
    """Give ``username`` a new password (a reset by an admin); their sessions end."""
    hashed = _hasher().hash(check_password(password))
    with Session(engine) as db, db.begin():
        user = _user(db, username)
        user.password_hash, user.password_changed_utc = hashed, datetime.now(UTC)
        db.execute(delete(LoginSession).where(LoginSession.user_id == user.id))


def change_password(engine: Engine, user_id: int, old: str, new: str) -> None:
    """The signed-in user changes their password (the old one must be right); their
    other sessions end."""
    hashed = _hasher().hash(check_password(new))
    with Session(engine) as db, db.begin():
        user = db.get(User, user_id)
        if user is None or not _hasher().verify(old[:PASSWORD_MAX], user.password_hash):
            raise AccountError("the current password is wrong: type it again")
        user.password_hash, user.password_changed_utc = hashed, datetime.now(UTC)
        db.execute(delete(LoginSession).where(LoginSession.user_id == user.id))


def set_disabled(engine: Engine, username: str, disabled: bool) -> None:
    """Disable (or enable again) an account; a disabled account's sessions end."""
    with Session(engine) as db, db.begin():
        user = _user(db, username)
        user.disabled = disabled
        if disabled:
            db.execute(delete(LoginSession).where(LoginSession.user_id == user.id))


def assign(engine: Engine, clinician: str, person: str, *, remove: bool = False) -> None:
    """Let clinician ``clinician`` follow the account ``person``'s data (or stop)."""
    with Session(engine) as db, db.begin():
        doctor, patient = _user(db, clinician), _user(db, person)
        if doctor.role != "clinician":
            raise AccountError(f"{doctor.username!r} is a {doctor.role}, not a clinician")
        if patient.person_id is None:
            raise AccountError(f"{patient.username!r} has no data of their own to follow")
        found = db.scalars(
            select(CareAssignment).where(
                CareAssignment.clinician_id == doctor.id,
                CareAssignment.person_id == patient.person_id,
            )
        ).first()
        if remove and found is not None:
            db.delete(found)
        elif not remove and found is None:
            db.add(CareAssignment(clinician_id=doctor.id, person_id=patient.person_id))


def authenticate(engine: Engine, username: str, password: str) -> Principal | None:
    """The account if ``password`` is right and the account is enabled, else None (the
    same work either way: an unknown name is checked against a dummy hash)."""
    password = password[:PASSWORD_MAX]
    with Session(engine) as db:
        user = db.scalars(select(User).where(User.username == username.strip().lower())).first()
        if user is None:
            _hasher().verify(password, _dummy_hash())
            return None
        if not _hasher().verify(password, user.password_hash) or user.disabled:
            return None
        return _principal(db, user)


def _principal(db: Session, user: User) -> Principal:
    persons = frozenset(
        db.scalars(select(CareAssignment.person_id).where(CareAssignment.clinician_id == user.id))
    )
    return Principal(user.username, user.role, user.person_id, user.id, persons)


def start_session(engine: Engine, user_id: int, *, ttl: timedelta = SESSION_TTL) -> str:
    """A new sign-in session for ``user_id``: the token for the cookie (kept hashed)."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    with Session(engine) as db, db.begin():
        db.execute(delete(LoginSession).where(LoginSession.expires_utc < now))
        db.add(
            LoginSession(
                token_sha256=token_sha256(token),
                user_id=user_id,
                created_utc=now,
                expires_utc=now + ttl,
            )
        )
    return token


def session_principal(engine: Engine, token: str) -> Principal | None:
    """Who a sign-in cookie's token belongs to (None: unknown, expired or disabled)."""
    if not 20 <= len(token) <= 100:
        return None
    with Session(engine) as db:
        row = db.execute(
            select(User, LoginSession.expires_utc)
            .join(LoginSession, LoginSession.user_id == User.id)
            .where(LoginSession.token_sha256 == token_sha256(token))
        ).first()
        if row is None:
            return None
        user, expires = row
        if expires < datetime.now(UTC) or user.disabled:
            return None
        return _principal(db, user)


def end_session(engine: Engine, token: str) -> None:
    """Sign out: the session of this token ends."""
    with Session(engine) as db, db.begin():
        db.execute(delete(LoginSession).where(LoginSession.token_sha256 == token_sha256(token)))


def local_principal(person_id: int) -> Principal:
    """The single person of single-person mode (no account, loopback only): their own
    data, and the admin's pages of this one-person server."""
    return Principal("local", "admin", person_id)


__all__ = [
    "PASSWORD_MAX",
    "PASSWORD_MIN",
    "SESSION_TTL",
    "AccountError",
    "Principal",
    "UserInfo",
    "add_user",
    "assign",
    "authenticate",
    "change_password",
    "check_password",
    "check_username",
    "end_session",
    "get_user",
    "has_users",
    "list_users",
    "local_principal",
    "session_principal",
    "set_disabled",
    "set_password",
    "start_session",
    "token_sha256",
]
