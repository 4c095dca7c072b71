"""What the program engine measures on the history, pure and on plain values: adherence
(sessions done ÷ prescribed) and the pain outcome against the start (the minimal
important change, Ostelo 2008). Thresholds from the protocol file (``data/program.toml``).

>>> from spinecoach.program.model import DayLog
>>> pain_outcome([DayLog(d, 30.0) for d in range(1, 8)], baseline_vas_mm=50.0).change_mm
-20.0
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from spinecoach.program.lights import by_day, morning_of
from spinecoach.program.model import DayLog, Prescription
from spinecoach.program.protocol import Protocol, default_protocol


@dataclass(frozen=True)
class Adherence:
    """Sessions done ÷ sessions prescribed (morning routines and main sessions) over a
    window of days, and the desk breaks done ÷ prescribed."""

    done: int
    prescribed: int
    desk_breaks_done: int
    desk_breaks_prescribed: int
    morning_done: int = 0
    """Morning routines done (at most one a day); with ``main_done`` the per-slot count."""
    main_done: int = 0
    """Main sessions done (at most as many as prescribed)."""
    main_prescribed: int = 0

    @property
    def share(self) -> float:
        return self.done / self.prescribed if self.prescribed else 1.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "done": self.done,
            "prescribed": self.prescribed,
            "share": round(self.share, 3),
            "desk_breaks_done": self.desk_breaks_done,
            "desk_breaks_prescribed": self.desk_breaks_prescribed,
            "morning_done": self.morning_done,
            "morning_prescribed": self.prescribed - self.main_prescribed,
            "main_done": self.main_done,
            "main_prescribed": self.main_prescribed,
        }


def adherence(
    history: Sequence[DayLog], prescription: Prescription, *, first_day: int, last_day: int
) -> Adherence:
    """Adherence over days ``first_day``–``last_day`` (inclusive) against ``prescription``:
    one morning routine a day plus ``main_sessions_per_week`` main sessions a week (pro
    rata), each counted at most as often as prescribed. A day with ``slots_done`` (the
    stored history) counts its prescribed slots done; a day without counts each session
    for its slot."""
    n_days = max(0, last_day - first_day + 1)
    main_prescribed = round(prescription.main_sessions_per_week * n_days / 7)
    mornings = mains = breaks = 0
    for log in history:
        if first_day <= log.day <= last_day:
            done = log.slots_done
            if done is None:
                mornings += min(1, sum(s.slot == "morning" for s in log.sessions))
                mains += sum(s.slot == "main" for s in log.sessions)
            else:
                mornings += min(1, done.get("morning", 0))
                mains += min(1, done.get("main", 0))
            breaks += log.desk_breaks_done
    return Adherence(
        done=mornings + min(mains, main_prescribed),
        prescribed=n_days + main_prescribed,
        desk_breaks_done=breaks,
        desk_breaks_prescribed=n_days * prescription.desk_breaks_per_day,
        morning_done=mornings,
        main_done=min(mains, main_prescribed),
        main_prescribed=main_prescribed,
    )


@dataclass(frozen=True)
class PainOutcome:
    """Pain now (mean morning VAS of the last ``outcome.window_days``) against the start,
    and whether the change reaches the minimal important change (Ostelo 2008)."""

    baseline_vas_mm: float
    current_vas_mm: float | None
    change_mm: float | None
    change_pct: float | None
    mcid_reached: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "baseline_vas_mm": self.baseline_vas_mm,
            "current_vas_mm": self.current_vas_mm,
            "change_mm": self.change_mm,
            "change_pct": self.change_pct,
            "mcid_reached": self.mcid_reached,
        }


def mean_or_none(values: Sequence[float]) -> float | None:
    """The mean of ``values``, None for none."""
    return sum(values) / len(values) if values else None


def window_mornings(days: Mapping[int, DayLog], first: int, last: int) -> list[float]:
    """The morning VAS (mm) logged on days ``first``–``last`` (inclusive)."""
    return [
        v for d in range(first, last + 1) if (v := morning_of(days, d)) is not None and d in days
    ]


def pain_outcome(
    history: Sequence[DayLog], *, baseline_vas_mm: float, protocol: Protocol | None = None
) -> PainOutcome:
    """Pain change since the start; negative ``change_mm``/``change_pct`` is less pain.

    >>> from spinecoach.program.model import DayLog
    >>> pain_outcome([DayLog(d, 30.0) for d in range(1, 8)], baseline_vas_mm=50.0).mcid_reached
    True
    """
    p = protocol or default_protocol()
    days = by_day(history)
    if not days:
        return PainOutcome(baseline_vas_mm, None, None, None, False)
    last = max(days)
    window = int(p.value("outcome.window_days"))
    current = mean_or_none(window_mornings(days, last - window + 1, last))
    if current is None:
        return PainOutcome(baseline_vas_mm, None, None, None, False)
    change = current - baseline_vas_mm
    pct = 100.0 * change / baseline_vas_mm if baseline_vas_mm > 0 else 0.0
    reached = -change >= p.value("outcome.mcid_mm") or -pct >= p.value("outcome.mcid_pct")
    return PainOutcome(
        baseline_vas_mm, round(current, 1), round(change, 1), round(pct, 1), bool(reached)
    )
