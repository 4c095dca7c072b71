"""A person's working day from the stored posture minutes: the day's summary (with its
rows for the day view), the week's trend, and the desk-break settings (moved out of the
web routes, issue 14). Synchronous database work; the server runs it in a thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from spinecoach.posture.deskbreak import DeskBreakSettings
from spinecoach.services.history import History
from spinecoach.store import posture as store

__all__ = ["PostureService"]


@dataclass
class PostureService:
    """The stored working days of the person of ``history``."""

    history: History

    def day(self, start: datetime, end: datetime, *, rows: bool) -> dict[str, Any]:
        """The summary of ``start``–``end`` (aware datetimes): totals per posture, sitting
        time and its slouched share, bouts, breaks, prompts; with ``rows`` also every
        minute, bout and prompt (``minutes_rows``, ``bouts_rows``, ``prompts_rows``)."""
        history = self.history
        with Session(history.engine) as db:
            minutes = store.minutes_between(db, history.person_id, start, end)
            bouts = store.bouts_between(db, history.person_id, start, end)
            prompts = store.prompts_between(db, history.person_id, start, end)
            summary = store.summarise(minutes, bouts, prompts, start, end).as_dict()
            if rows:
                summary["minutes_rows"] = [store.minute_as_dict(m) for m in minutes]
                summary["bouts_rows"] = [
                    {
                        "start_utc": b.start_utc.isoformat(),
                        "end_utc": b.end_utc.isoformat(),
                        "slouched_s": b.slouched_s,
                    }
                    for b in bouts
                ]
                summary["prompts_rows"] = [
                    {
                        "id": p.id,
                        "prompted_utc": p.prompted_utc.isoformat(),
                        "outcome": p.outcome,
                        "session_id": p.session_id,
                        "reps": p.reps,
                    }
                    for p in prompts
                ]
        return summary

    def settings(self) -> DeskBreakSettings:
        """The person's desk-break settings (the defaults until they save their own)."""
        with Session(self.history.engine) as db:
            return store.get_settings(db, self.history.person_id)

    def save_settings(self, settings: DeskBreakSettings) -> DeskBreakSettings:
        """Store the person's desk-break settings; what was stored."""
        with Session(self.history.engine) as db:
            return store.save_settings(db, self.history.person_id, settings)
