"""Storage of the working day: per-minute posture summaries, sitting bouts, desk-break
prompts and the person's desk-break settings (migration ``0005``).

Tables (every row belongs to a person, ``ON DELETE CASCADE``):

``posture_minutes``
    one row per person and minute (``minute_utc``, the minute's start): seconds in each
    class of :data:`~spinecoach.store.models.POSTURE_CLASSES` (``unknown``: no trusted
    data), mean ``lumbar_flexion_deg`` and ``trunk_inclination_deg`` (NULL without
    data), ``trusted``, ``source`` (``live`` or the analysed file's name). Saving a
    minute again replaces it (a re-analysis), in the same transaction.
``sitting_bouts``
    ``start_utc``, ``end_utc``, ``slouched_s``; one per person and start (replaced when
    saved again: a bout still running grows).
``desk_break_prompts``
    ``sitting_since_utc``, ``prompted_utc``, ``outcome`` (``pending``, ``started``,
    ``done``, ``snoozed``, ``dismissed``, ``expired``), ``outcome_utc``, and for ``done``
    the seated cat-cow ``session_id`` and its ``reps``.
``posture_settings``
    ``sitting_limit_min`` (5–240, default 45), ``snooze_min`` (1–120, default 10),
    ``quiet_start``/``quiet_end`` (local ``HH:MM``; both or neither).

Raw data are not stored here (a live session's samples are; all-day monitoring keeps
only these summaries unless the person records the day to a file).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from spinecoach.errors import ConfigurationError
from spinecoach.posture.deskbreak import (
    DeskBreakSettings,
)
from spinecoach.store.models import (
    DESK_BREAK_OUTCOMES,
    POSTURE_CLASSES,
    DeskBreakPrompt,
    PostureMinute,
    PostureSettings,
    SittingBout,
)

SITTING_CLASSES = ("sitting_upright", "sitting_slouched")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


@dataclass(frozen=True)
class MinuteRow:
    """One minute's summary to store (``seconds`` by posture class)."""

    minute_utc: datetime
    seconds: Mapping[str, float]
    lumbar_flexion_deg: float | None = None
    trunk_inclination_deg: float | None = None
    trusted: bool = True


@dataclass(frozen=True)
class BoutRow:
    start_utc: datetime
    end_utc: datetime
    slouched_s: float = 0.0


def rows_from_analysis(
    minutes: Iterable[Any], bouts: Iterable[Any], origin_utc: datetime
) -> tuple[list[MinuteRow], list[BoutRow]]:
    """The rows to store for the posture analysis' minutes and bouts
    (:class:`spinecoach.posture.model.MinuteSummary`, ``SittingBout``), whose seconds
    count from ``origin_utc``."""
    origin = _utc(origin_utc, "origin_utc")
    minute_rows = [
        MinuteRow(
            origin + timedelta(seconds=m.start_s),
            _stored_seconds(m.seconds),
            lumbar_flexion_deg=m.mean_lumbar_flexion_deg,
            trunk_inclination_deg=m.mean_trunk_inclination_deg,
            trusted=m.trusted,
        )
        for m in minutes
    ]
    bout_rows = [
        BoutRow(
            origin + timedelta(seconds=b.start_s),
            origin + timedelta(seconds=b.end_s),
            float(b.slouched_s),
        )
        for b in bouts
    ]
    return minute_rows, bout_rows


#: Analysis classes without a column of their own: a deep forward bend (issue 13) is
#: stored with the transitions (movement between postures, not counted by the day views)
#: until the store grows a ``bending_s`` column.
STORED_AS = {"bending": "transition"}


def _stored_seconds(seconds: Mapping[str, int | float]) -> dict[str, float]:
    out: dict[str, float] = {}
    for label, n in seconds.items():
        name = STORED_AS.get(label, label).replace("-", "_")
        out[name] = out.get(name, 0.0) + float(n)
    return out


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise ConfigurationError(f"{name} must be timezone-aware (UTC), got {value.isoformat()}")
    return value.astimezone(UTC)


def check_settings(settings: DeskBreakSettings) -> DeskBreakSettings:
    """``settings`` checked (raises :class:`ConfigurationError` naming the field)."""
    limit, snooze = settings.sitting_limit_min, settings.snooze_min
    if not (math.isfinite(limit) and 5 <= limit <= 240):
        raise ConfigurationError(f"sitting_limit_min must be 5–240 minutes, got {limit}")
    if not (math.isfinite(snooze) and 1 <= snooze <= 120):
        raise ConfigurationError(f"snooze_min must be 1–120 minutes, got {snooze}")
    quiet = (settings.quiet_start, settings.quiet_end)
    if (quiet[0] is None) != (quiet[1] is None):
        raise ConfigurationError("quiet_start and quiet_end go together: give both or neither")
    for name, value in zip(("quiet_start", "quiet_end"), quiet, strict=True):
        if value is not None and not _HHMM.match(value):
            raise ConfigurationError(f"{name} must be a local time HH:MM, got {value!r}")
    return settings


def get_settings(db: Session, person_id: int) -> DeskBreakSettings:
    row = db.get(PostureSettings, person_id)
    if row is None:
        return DeskBreakSettings()
    return DeskBreakSettings(row.sitting_limit_min, row.snooze_min, row.quiet_start, row.quiet_end)


def save_settings(db: Session, person_id: int, settings: DeskBreakSettings) -> DeskBreakSettings:
    """Store ``settings`` (checked) for the person; one transaction."""
    check_settings(settings)
    try:
        row = db.get(PostureSettings, person_id)
        if row is None:
            row = PostureSettings(person_id=person_id)
            db.add(row)
        row.sitting_limit_min = settings.sitting_limit_min
        row.snooze_min = settings.snooze_min
        row.quiet_start = settings.quiet_start
        row.quiet_end = settings.quiet_end
        db.commit()
    except Exception:
        db.rollback()
        raise
    return settings


def _minute_record(person_id: int, row: MinuteRow, source: str) -> PostureMinute:
    unknown = sorted(set(row.seconds) - set(POSTURE_CLASSES))
    if unknown:
        raise ConfigurationError(
            f"unknown posture class {', '.join(unknown)}; use " + ", ".join(POSTURE_CLASSES)
        )
    values: dict[str, float] = {}
    for name in POSTURE_CLASSES:
        seconds = float(row.seconds.get(name, 0.0))
        if not (math.isfinite(seconds) and 0.0 <= seconds <= 60.5):
            raise ConfigurationError(
                f"{name} seconds of minute {row.minute_utc.isoformat()} must be 0–60, got {seconds}"
            )
        values[f"{name}_s"] = seconds
    minute = _utc(row.minute_utc, "minute_utc").replace(second=0, microsecond=0)

    def finite(value: float | None) -> float | None:
        return None if value is None or not math.isfinite(value) else float(value)

    return PostureMinute(
        person_id=person_id,
        minute_utc=minute,
        lumbar_flexion_deg=finite(row.lumbar_flexion_deg),
        trunk_inclination_deg=finite(row.trunk_inclination_deg),
        trusted=bool(row.trusted),
        source=source[:64],
        **values,
    )


def save_minutes(db: Session, person_id: int, rows: Iterable[MinuteRow], *, source: str) -> int:
    """Store minute summaries, replacing those of the same minutes; all or nothing.
    Returns how many were stored."""
    records = [_minute_record(person_id, row, source) for row in rows]  # checked first
    if not records:
        return 0
    minutes = [r.minute_utc for r in records]
    if len(set(minutes)) != len(minutes):
        raise ConfigurationError("the same minute is given twice; merge it first")
    try:
        for start in range(0, len(minutes), 500):
            db.execute(
                delete(PostureMinute).where(
                    PostureMinute.person_id == person_id,
                    PostureMinute.minute_utc.in_(minutes[start : start + 500]),
                )
            )
        db.add_all(records)
        db.commit()
    except Exception:
        db.rollback()
        raise
    return len(records)


def save_bouts(db: Session, person_id: int, bouts: Iterable[BoutRow], *, source: str) -> int:
    """Store sitting bouts, replacing those with the same start; all or nothing."""
    records = []
    for bout in bouts:
        start, end = _utc(bout.start_utc, "start_utc"), _utc(bout.end_utc, "end_utc")
        if end < start or not (math.isfinite(bout.slouched_s) and bout.slouched_s >= 0):
            raise ConfigurationError(f"a sitting bout must end after it starts: {start}–{end}")
        records.append(
            SittingBout(
                person_id=person_id,
                start_utc=start,
                end_utc=end,
                slouched_s=float(bout.slouched_s),
                source=source[:64],
            )
        )
    if not records:
        return 0
    try:
        db.execute(
            delete(SittingBout).where(
                SittingBout.person_id == person_id,
                SittingBout.start_utc.in_([r.start_utc for r in records]),
            )
        )
        db.add_all(records)
        db.commit()
    except Exception:
        db.rollback()
        raise
    return len(records)


def _between(
    db: Session,
    model: type[PostureMinute] | type[SittingBout] | type[DeskBreakPrompt],
    person_id: int,
    start_utc: datetime,
    end_utc: datetime,
    *,
    first: Any,
    last: Any,
) -> list[Any]:
    """Rows of ``model`` whose ``[first, last]`` overlaps ``[start_utc, end_utc)``."""
    return list(
        db.scalars(
            select(model)
            .where(
                model.person_id == person_id,
                last >= _utc(start_utc, "start_utc"),
                first < _utc(end_utc, "end_utc"),
            )
            .order_by(first)
        )
    )


def minutes_between(
    db: Session, person_id: int, start_utc: datetime, end_utc: datetime
) -> list[PostureMinute]:
    column = PostureMinute.minute_utc
    return _between(db, PostureMinute, person_id, start_utc, end_utc, first=column, last=column)


def bouts_between(
    db: Session, person_id: int, start_utc: datetime, end_utc: datetime
) -> list[SittingBout]:
    return _between(
        db,
        SittingBout,
        person_id,
        start_utc,
        end_utc,
        first=SittingBout.start_utc,
        last=SittingBout.end_utc,
    )


def add_prompt(
    db: Session, person_id: int, *, sitting_since_utc: datetime, prompted_utc: datetime
) -> DeskBreakPrompt:
    prompt = DeskBreakPrompt(
        person_id=person_id,
        sitting_since_utc=_utc(sitting_since_utc, "sitting_since_utc"),
        prompted_utc=_utc(prompted_utc, "prompted_utc"),
        outcome="pending",
    )
    db.add(prompt)
    db.commit()
    return prompt


def set_prompt_outcome(
    db: Session,
    prompt_id: int,
    outcome: str,
    *,
    at_utc: datetime,
    session_id: int | None = None,
    reps: int | None = None,
) -> DeskBreakPrompt:
    if outcome not in DESK_BREAK_OUTCOMES:
        raise ConfigurationError(
            f"unknown outcome {outcome!r}; use one of " + ", ".join(DESK_BREAK_OUTCOMES)
        )
    prompt = db.get(DeskBreakPrompt, prompt_id)
    if prompt is None:
        raise ConfigurationError(f"no desk-break prompt {prompt_id}")
    prompt.outcome = outcome
    prompt.outcome_utc = _utc(at_utc, "at_utc")
    if session_id is not None:
        prompt.session_id = session_id
    if reps is not None:
        prompt.reps = reps
    db.commit()
    return prompt


def prompts_between(
    db: Session, person_id: int, start_utc: datetime, end_utc: datetime
) -> list[DeskBreakPrompt]:
    column = DeskBreakPrompt.prompted_utc
    return _between(db, DeskBreakPrompt, person_id, start_utc, end_utc, first=column, last=column)


@dataclass
class DaySummary:
    """A day (or any span) from the stored minutes, bouts and prompts."""

    start_utc: datetime
    end_utc: datetime
    seconds: dict[str, float] = field(default_factory=dict)
    minutes: int = 0
    untrusted_minutes: int = 0
    sitting_s: float = 0.0
    slouched_share: float | None = None
    bouts: int = 0
    longest_bout_s: float = 0.0
    breaks: int = 0
    prompts: int = 0
    desk_breaks_done: int = 0
    lumbar_flexion_sitting_deg: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "start_utc": self.start_utc.isoformat(),
            "end_utc": self.end_utc.isoformat(),
            "seconds": {k: round(v, 1) for k, v in self.seconds.items()},
            "minutes": self.minutes,
            "untrusted_minutes": self.untrusted_minutes,
            "sitting_s": round(self.sitting_s, 1),
            "slouched_share": None
            if self.slouched_share is None
            else round(self.slouched_share, 4),
            "bouts": self.bouts,
            "longest_bout_s": round(self.longest_bout_s, 1),
            "breaks": self.breaks,
            "prompts": self.prompts,
            "desk_breaks_done": self.desk_breaks_done,
        }


def summarise(
    minutes: Sequence[PostureMinute],
    bouts: Sequence[SittingBout],
    prompts: Sequence[DeskBreakPrompt],
    start_utc: datetime,
    end_utc: datetime,
) -> DaySummary:
    """Totals of a span: seconds per class (untrusted minutes count as unknown), sitting
    time and its slouched share, bouts (count, longest), breaks (the times the person got
    up between two bouts), prompts and desk breaks done."""
    summary = DaySummary(start_utc, end_utc, seconds=dict.fromkeys(POSTURE_CLASSES, 0.0))
    for minute in minutes:
        summary.minutes += 1
        if not minute.trusted:
            summary.untrusted_minutes += 1
            summary.seconds["unknown"] += 60.0
            continue
        for name in POSTURE_CLASSES:
            summary.seconds[name] += float(getattr(minute, f"{name}_s"))
    summary.sitting_s = sum(summary.seconds[c] for c in SITTING_CLASSES)
    if summary.sitting_s > 0:
        summary.slouched_share = summary.seconds["sitting_slouched"] / summary.sitting_s
    summary.bouts = len(bouts)
    summary.longest_bout_s = max(
        ((b.end_utc - b.start_utc).total_seconds() for b in bouts), default=0.0
    )
    summary.breaks = max(0, len(bouts) - 1)
    summary.prompts = len(prompts)
    summary.desk_breaks_done = sum(1 for p in prompts if p.outcome == "done")
    return summary


def day_summary(db: Session, person_id: int, start_utc: datetime, end_utc: datetime) -> DaySummary:
    return summarise(
        minutes_between(db, person_id, start_utc, end_utc),
        bouts_between(db, person_id, start_utc, end_utc),
        prompts_between(db, person_id, start_utc, end_utc),
        start_utc,
        end_utc,
    )


def minute_as_dict(minute: PostureMinute) -> dict[str, Any]:
    return {
        "minute_utc": minute.minute_utc.isoformat(),
        **{name: float(getattr(minute, f"{name}_s")) for name in POSTURE_CLASSES},
        "lumbar_flexion_deg": minute.lumbar_flexion_deg,
        "trunk_inclination_deg": minute.trunk_inclination_deg,
        "trusted": minute.trusted,
    }


def days_back(end_utc: datetime, days: int) -> list[tuple[datetime, datetime]]:
    """``days`` consecutive 24-hour spans ending at ``end_utc`` (oldest first)."""
    end = _utc(end_utc, "end_utc")
    return [(end - timedelta(days=k + 1), end - timedelta(days=k)) for k in reversed(range(days))]
