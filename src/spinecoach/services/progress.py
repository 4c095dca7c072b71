"""Today's plan and the progress data of a person's program, deciding first (moved out of
the web routes, issue 14).

Both calls run :func:`spinecoach.services.program.update_program` first, so a decision
that is due is stored. One deciding call at a time: two requests at once must not both
store the same due decision (the check and the insert are separate statements).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from sqlalchemy.orm import Session

from spinecoach.services import program as service
from spinecoach.services.history import History

__all__ = ["ProgressService"]


@dataclass
class ProgressService:
    """Today's plan and the progress data for the person of ``history`` (synchronous;
    ``tz``: the person's time zone, None for the server's)."""

    history: History
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def today(self, tz: tzinfo | None) -> dict[str, Any]:
        """Today's plan, the suggestions with why, today's and the last decision."""
        with self.lock, Session(self.history.engine) as db:
            state = service.update_program(db, self.history.person_id, tz=tz)
            return service.today_data(state, db=db, tz=tz)

    def progress(self, tz: tzinfo | None) -> dict[str, Any]:
        """The chart data of the program, with today's plan under ``today``."""
        with self.lock, Session(self.history.engine) as db:
            state = service.update_program(db, self.history.person_id, tz=tz)
            today = service.today_data(state, db=db, tz=tz)
            return {**service.progress_data(db, state, tz=tz), "today": today}
