"""The rules of a program's life on plain values (spinecoach.program.enrolment): the store
applies them before it writes (tests/store/test_store_program.py checks them through the
database); here each rule is checked on its own, without a database."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from spinecoach.errors import ConfigurationError
from spinecoach.program import enrolment as rules
from spinecoach.program.model import Reason
from spinecoach.program.redflags import default_red_flags, screen


def answers(*yes: str) -> dict[str, bool]:
    return {f.id: f.id in yes for f in default_red_flags()}


@pytest.mark.parametrize(
    ("status", "red_flag", "engine", "expected"),
    [
        ("stopped", True, False, True),
        ("stopped", False, True, True),
        ("stopped", False, False, False),  # stopped by the person: no clearance needed
        ("completed", True, True, False),
        ("active", False, False, False),
    ],
)
def test_a_restart_needs_clearance_only_after_a_safety_stop(
    status: str, red_flag: bool, engine: bool, expected: bool
) -> None:
    assert (
        rules.needs_clearance(status, stopped_by_red_flag=red_flag, stopped_by_engine=engine)
        is expected
    )


def test_stop_cause_names_the_red_flag_first_then_the_pain_jump() -> None:
    assert rules.stop_cause(stopped_by_red_flag=True, decision_codes=["pain-jump"]) == (
        "of a warning sign you reported"
    )
    assert rules.stop_cause(stopped_by_red_flag=False, decision_codes=["red-flag"]) == (
        "of a warning sign you reported"
    )
    assert rules.stop_cause(stopped_by_red_flag=False, decision_codes=["pain-jump"]) == (
        "your pain jumped"
    )
    assert "doctor or physiotherapist" in rules.stop_cause(
        stopped_by_red_flag=False, decision_codes=[None]
    )


def test_screening_stop_reason_and_advice_follow_the_flags() -> None:
    flag = default_red_flags()[0]
    result = screen(answers(flag.id))
    assert rules.screening_stop_reason(result) == f"red flag ({result.urgency}): {flag.id}"
    assert rules.rescreen_advice(result, enrolled=True) == result.advice_during_program
    assert rules.rescreen_advice(result, enrolled=False) == result.advice
    assert rules.rescreen_advice(screen(answers()), enrolled=True) == ""


def test_clearance_texts_carry_the_days() -> None:
    text = rules.clearance_missing_message(date(2026, 3, 2), "your pain jumped")
    assert "stopped on 2026-03-02 because your pain jumped" in text
    cleared = rules.cleared_stop_reason(
        "pain jump: 30 mm", date(2026, 3, 4), datetime(2026, 3, 5, 8, 15, tzinfo=UTC)
    )
    assert cleared.startswith("pain jump: 30 mm; cleared to restart")
    assert "on 2026-03-04 (confirmed by the person 2026-03-05 08:15 UTC)" in cleared


def test_decision_stop_reason_cites_the_cause_not_the_referral() -> None:
    reasons = [Reason("refer", "see a clinician"), Reason("pain-jump", "pain jumped 30 mm")]
    assert rules.decision_stop_reason(reasons) == "pain jump: pain jumped 30 mm"
    assert rules.decision_stop_reason([{"code": "refer", "text": "see"}]) == "refer: see"
    assert rules.decision_stop_reason([]).startswith("stop-refer:")


@pytest.mark.parametrize(
    ("week", "kind", "stop_reason", "match"),
    [
        (0, "hold", None, "week=0"),
        (True, "hold", None, "week=True"),
        (1, "", None, "kind=''"),
        (1, "x" * 33, None, "kind="),
        (1, "hold", "pain jumped", "only a stop-refer decision"),
        (1, "stop-refer", "  ", "only a stop-refer decision"),
    ],
)
def test_check_decision_refuses_bad_values(
    week: object, kind: object, stop_reason: str | None, match: str
) -> None:
    with pytest.raises(ConfigurationError, match=match):
        rules.check_decision(week, kind, stop_reason)


def test_check_decision_accepts_a_stop_refer_with_its_reason() -> None:
    rules.check_decision(3, rules.STOP_REFER, "pain jump: 30 mm")
    rules.check_decision(1, "hold", None)


def test_check_end_needs_a_known_status_and_a_reason_to_stop() -> None:
    rules.check_end("completed", "")
    rules.check_end("stopped", "moved away")
    with pytest.raises(ConfigurationError, match="'paused'"):
        rules.check_end("paused", "x")
    with pytest.raises(ConfigurationError, match="say why"):
        rules.check_end("stopped", " ")


def test_check_day_reads_a_day_and_refuses_the_future() -> None:
    today = date(2026, 3, 5)
    assert rules.check_day(date(2026, 3, 5), today) == today
    assert rules.check_day("2026-03-01", today) == date(2026, 3, 1)
    with pytest.raises(ConfigurationError, match="in the future"):
        rules.check_day("2026-03-06", today)
    with pytest.raises(ConfigurationError, match="is not a day"):
        rules.check_day("March 1", today)
    with pytest.raises(ConfigurationError, match="give the local day as a date"):
        rules.check_day(datetime(2026, 3, 1, tzinfo=UTC), today)


def test_check_weekly_scores_rates_each_chosen_activity_once() -> None:
    chosen = ["Bending", "Sitting"]
    assert rules.check_weekly_scores(chosen, {"Sitting": 4, "Bending": 7}) == [
        ("Bending", 7),
        ("Sitting", 4),
    ]
    with pytest.raises(ConfigurationError, match=r"missing: 'Sitting'.*not chosen.*'Running'"):
        rules.check_weekly_scores(chosen, {"Bending": 7, "Running": 3})
    with pytest.raises(ConfigurationError, match=r"scores\['Bending'\]"):
        rules.check_weekly_scores(chosen, {"Bending": 11, "Sitting": 4})
    with pytest.raises(rules.EnrolmentStateError, match="no PSFS activities"):
        rules.check_weekly_scores([], {"Bending": 7})
