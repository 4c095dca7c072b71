"""The desk-break prompt decision: the limit, quiet hours (also across midnight), open,
snoozed, dismissed and done prompts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from spinecoach.posture.deskbreak import (
    DeskBreakSettings,
    LastPrompt,
    in_quiet_hours,
    should_prompt,
)

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.mark.parametrize(("sat", "expected"), [(0, False), (44.9, False), (45, True), (90, True)])
def test_the_limit(sat: float, expected: bool) -> None:
    assert should_prompt(at(sat), T0, DeskBreakSettings(), tz=UTC).prompt is expected


def test_an_adjusted_limit_and_not_sitting() -> None:
    settings = DeskBreakSettings(sitting_limit_min=20)
    assert should_prompt(at(20), T0, settings, tz=UTC).prompt
    assert not should_prompt(at(200), None, settings, tz=UTC).prompt


@pytest.mark.parametrize(
    ("quiet", "clock", "quiet_now"),
    [
        (("12:00", "13:00"), (12, 30), True),
        (("12:00", "13:00"), (13, 0), False),
        (("18:00", "08:00"), (23, 0), True),  # across midnight
        (("18:00", "08:00"), (7, 59), True),
        (("18:00", "08:00"), (8, 0), False),
    ],
)
def test_quiet_hours(quiet: tuple[str, str], clock: tuple[int, int], quiet_now: bool) -> None:
    settings = DeskBreakSettings(quiet_start=quiet[0], quiet_end=quiet[1])
    now = datetime(2026, 11, 25, *clock, tzinfo=UTC)
    assert in_quiet_hours(now, settings, UTC) is quiet_now
    decision = should_prompt(now, now - timedelta(hours=2), settings, tz=UTC)
    assert decision.prompt is not quiet_now
    if quiet_now:
        assert decision.reason == "quiet hours"


def test_an_open_prompt_is_not_repeated() -> None:
    for outcome in ("pending", "started"):
        last = LastPrompt(at(45), outcome)
        assert not should_prompt(at(80), T0, DeskBreakSettings(), last=last, tz=UTC).prompt


def test_snooze_brings_it_back_after_the_snooze() -> None:
    last = LastPrompt(at(45), "snoozed", at(46))
    settings = DeskBreakSettings(snooze_min=10)
    assert not should_prompt(at(55.9), T0, settings, last=last, tz=UTC).prompt
    assert should_prompt(at(56), T0, settings, last=last, tz=UTC).prompt


def test_dismissed_means_not_again_in_this_bout() -> None:
    last = LastPrompt(at(45), "dismissed", at(45.5))
    decision = should_prompt(at(200), T0, DeskBreakSettings(), last=last, tz=UTC)
    assert not decision.prompt and "dismissed" in decision.reason


def test_after_a_desk_break_done_the_clock_starts_again() -> None:
    last = LastPrompt(at(45), "done", at(48))
    assert not should_prompt(at(92.9), T0, DeskBreakSettings(), last=last, tz=UTC).prompt
    decision = should_prompt(at(93), T0, DeskBreakSettings(), last=last, tz=UTC)
    assert decision.prompt and decision.counting_from_utc == at(48)


def test_docstring_examples() -> None:
    import doctest

    import spinecoach.posture.deskbreak as module

    result = doctest.testmod(module)
    assert result.failed == 0 and result.attempted > 0
