"""When to prompt the 2-minute desk break (the seated cat-cow): a pure decision.

The person has sat for ``sitting_limit_min`` (default 45 minutes, adjustable) without
getting up → prompt, unless

* it is inside their **quiet hours** (local ``HH:MM``–``HH:MM``; may wrap midnight),
* a prompt for this bout is still **open** (``pending``: shown, no answer yet;
  ``started``: the routine is under way) — it stays shown, no second one,
* they **snoozed** it less than ``snooze_min`` ago (then it comes back),
* they **dismissed** it: no more prompts in this bout (getting up starts a new bout).

After a desk break **done** in the same bout (it is done seated, so the bout goes on),
the clock starts again: the next prompt comes ``sitting_limit_min`` after it. A prompt
still open when the person gets up is ``expired`` (they took a break of their own).

>>> from datetime import UTC, datetime, timedelta
>>> t0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
>>> should_prompt(t0 + timedelta(minutes=44), t0, DeskBreakSettings()).prompt
False
>>> decision = should_prompt(t0 + timedelta(minutes=45), t0, DeskBreakSettings())
>>> decision.prompt, decision.reason
(True, 'sitting for 45 min (limit 45 min)')
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, time, timedelta, tzinfo
from typing import Any

__all__ = [
    "DEFAULT_SITTING_LIMIT_MIN",
    "DEFAULT_SNOOZE_MIN",
    "DeskBreakSettings",
    "LastPrompt",
    "PromptDecision",
    "in_quiet_hours",
    "should_prompt",
]

#: Minutes of sitting before the desk break is prompted, and of a snooze (defaults).
DEFAULT_SITTING_LIMIT_MIN = 45.0
DEFAULT_SNOOZE_MIN = 10.0


@dataclass(frozen=True)
class DeskBreakSettings:
    """A person's desk-break settings: the sitting limit and the snooze (min), and quiet
    hours (local ``HH:MM``, both or neither; may wrap midnight). Stored by
    :mod:`spinecoach.store.posture`."""

    sitting_limit_min: float = DEFAULT_SITTING_LIMIT_MIN
    snooze_min: float = DEFAULT_SNOOZE_MIN
    quiet_start: str | None = None
    quiet_end: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LastPrompt:
    """The latest prompt of the current sitting bout and its outcome so far."""

    prompted_utc: datetime
    outcome: str
    outcome_utc: datetime | None = None


@dataclass(frozen=True)
class PromptDecision:
    prompt: bool
    reason: str
    #: When the sitting clock started (the bout's start, or the last desk break done).
    counting_from_utc: datetime | None = None


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def in_quiet_hours(now_utc: datetime, settings: DeskBreakSettings, tz: tzinfo | None) -> bool:
    """Whether ``now_utc`` falls in the quiet hours, read in ``tz`` (default: this
    computer's local time zone)."""
    if settings.quiet_start is None or settings.quiet_end is None:
        return False
    local = now_utc.astimezone(tz).time()
    start, end = _clock(settings.quiet_start), _clock(settings.quiet_end)
    if start <= end:
        return start <= local < end
    return local >= start or local < end  # wraps midnight, e.g. 18:00–08:00


def should_prompt(
    now_utc: datetime,
    sitting_since_utc: datetime | None,
    settings: DeskBreakSettings,
    *,
    last: LastPrompt | None = None,
    tz: tzinfo | None = None,
) -> PromptDecision:
    """Prompt now? ``sitting_since_utc`` None: not sitting. ``last``: the latest prompt
    of this bout (None: none yet)."""
    if sitting_since_utc is None:
        return PromptDecision(False, "not sitting")
    counting_from = sitting_since_utc
    if last is not None:
        if last.outcome in ("pending", "started"):
            return PromptDecision(False, f"a prompt is open ({last.outcome})", counting_from)
        if last.outcome == "dismissed":
            return PromptDecision(False, "dismissed for this sitting bout", counting_from)
        if last.outcome == "snoozed":
            since = last.outcome_utc or last.prompted_utc
            if now_utc < since + timedelta(minutes=settings.snooze_min):
                return PromptDecision(False, "snoozed", counting_from)
            counting_from = sitting_since_utc  # the limit has long passed: prompt again
        if last.outcome == "done" and last.outcome_utc is not None:
            counting_from = max(sitting_since_utc, last.outcome_utc)
    sat_min = (now_utc - counting_from).total_seconds() / 60.0
    limit = settings.sitting_limit_min
    if sat_min < limit:
        return PromptDecision(False, f"sitting for {sat_min:.0f} of {limit:g} min", counting_from)
    if in_quiet_hours(now_utc, settings, tz):
        return PromptDecision(False, "quiet hours", counting_from)
    return PromptDecision(
        True, f"sitting for {sat_min:.0f} min (limit {limit:g} min)", counting_from
    )
