"""The server's history service: saves finished live sessions and lists them.

Every call is synchronous database work; the app runs it in a worker thread
(``asyncio.to_thread``) so the event loop stays free. The server keeps one default
local person (the schema is multi-user; sign-in is not built yet).

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as folder:
...     history = History.open(f"sqlite:///{folder}/demo.sqlite3")
...     history.sessions()
...     history.close()
[]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from spinecoach.exercises.model import ExerciseResult
from spinecoach.recording import Recording
from spinecoach.store import db as store_db
from spinecoach.store import repository
from spinecoach.store.models import PainEntry, Person

#: Display name of the person the local server records sessions for.
LOCAL_PERSON_NAME: Final = "Local user"


@dataclass
class History:
    """Sessions of the local person in the database behind ``engine``."""

    engine: Engine
    person_id: int

    @classmethod
    def open(cls, url: str | None) -> History:
        """Migrate the database at ``url`` (default: see ``store.db.database_url``), make
        its engine and the default local person when there is none yet."""
        resolved = store_db.database_url(url)
        store_db.upgrade(resolved)
        engine = store_db.make_engine(resolved)
        with Session(engine) as db:
            person = db.scalars(
                select(Person).where(Person.display_name == LOCAL_PERSON_NAME).limit(1)
            ).first()
            if person is None:
                person = repository.create_person(db, LOCAL_PERSON_NAME)
            return cls(engine, person.id)

    def close(self) -> None:
        self.engine.dispose()

    def save_session(
        self,
        result: ExerciseResult,
        *,
        pain_before_mm: float | None,
        recording: Recording | None,
    ) -> int:
        """Store a finished session: result, pain before and the recording; its id."""
        with Session(self.engine) as db:
            record = repository.start_session(db, self.person_id, result.technique)
            if pain_before_mm is not None:
                repository.add_pain(
                    db, self.person_id, pain_before_mm, "before", session_id=record.id
                )
            if recording is not None:
                repository.attach_recording(db, record.id, recording)
            repository.save_result(db, record.id, result)
            return record.id

    def add_pain(self, session_id: int, vas_mm: float, context: str) -> None:
        """Record pain (0–100 mm VAS) ``before`` or ``after`` one of the person's sessions."""
        with Session(self.engine) as db:
            repository.add_pain(db, self.person_id, vas_mm, context, session_id=session_id)

    def sessions(self) -> list[dict[str, Any]]:
        """The person's sessions, newest first, as JSON-ready summaries."""
        with Session(self.engine) as db:
            out = []
            for record in repository.list_sessions(db, self.person_id):
                pains = db.scalars(
                    select(PainEntry)
                    .where(PainEntry.session_id == record.id)
                    .order_by(PainEntry.recorded_utc)
                )
                pain = {entry.context: entry.vas_mm for entry in pains}
                reps = [
                    {
                        "index": r.rep_index,
                        "set": r.set_index,
                        "quality": r.quality,
                        "faults": list(r.fault_names),
                        "hold_s": r.hold_s,
                        "range_deg": r.range_deg,
                    }
                    for r in record.reps
                ]
                out.append(
                    repository.json_safe(
                        {
                            "id": record.id,
                            "technique": record.technique,
                            "started_utc": record.started_utc.isoformat(),
                            "status": record.status,
                            "summary": record.summary,
                            "reps": reps,
                            "pain_before_mm": pain.get("before"),
                            "pain_after_mm": pain.get("after"),
                        }
                    )
                )
            return out
