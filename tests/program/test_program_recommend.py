""" "Recommended for you": today's plan plus suggestions chosen from the person's data."""

from __future__ import annotations

import json

from spinecoach.program.engine import decide
from spinecoach.program.model import (
    DayLog,
    ExerciseOutcome,
    PostureSummary,
    Prescription,
    RepOutcome,
    SessionOutcome,
)
from spinecoach.program.protocol import default_protocol
from spinecoach.program.recommend import main_session_days, recommend
from spinecoach.program.redflags import load_red_flags

P = default_protocol()


def _day(day: int, hinge: tuple[RepOutcome, ...], posture: PostureSummary | None = None) -> DayLog:
    tilt = (RepOutcome(95, 1.0),) * 3
    return DayLog(
        day,
        40.0,
        (
            SessionOutcome("morning", 40.0, 39.0, (ExerciseOutcome("pelvic-tilt", tilt),)),
            SessionOutcome("main", 40.0, 38.0, (ExerciseOutcome("hip-hinge", hinge),)),
        ),
        desk_breaks_done=4,
        posture=posture,
    )


def test_many_hip_hinge_faults_suggest_the_supported_variant_with_why() -> None:
    faulty = (RepOutcome(75, 1.0, ("lumbar-rounding",)), RepOutcome(100, 1.0)) * 2
    history = [_day(d, faulty) for d in range(1, 4)]
    rx = Prescription.of_level(P, 2, since_day=1)
    plan = recommend(history, decide(history, rx, baseline_vas_mm=40.0))
    variant = next(s for s in plan.suggestions if s.kind == "variant")
    assert variant.technique == "hip-hinge"
    assert variant.dose is not None and variant.dose.range_share == 0.5
    assert variant.why.data["faulted_reps"] == 6 and variant.why.data["reps"] == 12
    assert "6 of 12 hip-hinge reps in days 1–3 had lumbar-rounding ×6 (50 %" in variant.why.text
    b = P.bounds["hip-hinge"]
    assert b.reps[0] <= variant.dose.reps <= b.reps[1]


def test_few_faults_suggest_nothing() -> None:
    clean = (RepOutcome(100, 1.0),) * 4
    history = [_day(d, clean) for d in range(1, 4)]
    rx = Prescription.of_level(P, 2, since_day=1)
    plan = recommend(history, decide(history, rx, baseline_vas_mm=40.0))
    assert plan.suggestions == ()
    assert plan.today  # the prescription's exercises


def test_long_slouched_sitting_adds_desk_breaks_within_bounds() -> None:
    clean = (RepOutcome(100, 1.0),) * 4
    posture = PostureSummary(sitting_min=480.0, slouched_min=200.0, longest_sitting_min=50.0)
    history = [_day(d, clean, posture) for d in range(1, 4)]
    rx = Prescription.of_level(P, 2, since_day=1)
    plan = recommend(history, decide(history, rx, baseline_vas_mm=40.0))
    desk = next(s for s in plan.suggestions if s.kind == "desk-breaks")
    assert desk.extra_desk_breaks == 2
    assert "200 min of slouched sitting a day (from 120)" in desk.why.text
    assert plan.desk_breaks + desk.extra_desk_breaks <= P.desk_breaks_per_day[1]
    # at the most desk breaks already, none are added beyond the bound
    top = Prescription.of_level(P, P.top_level, since_day=1)
    top_plan = recommend(history, decide(history, top, baseline_vas_mm=40.0))
    for s in top_plan.suggestions:
        assert top.desk_breaks_per_day + s.extra_desk_breaks <= P.desk_breaks_per_day[1]


def test_missed_sessions_suggest_reminders() -> None:
    history = [DayLog(d, 40.0) for d in range(1, 5)]
    rx = Prescription.of_level(P, 1, since_day=1)
    plan = recommend(history, decide(history, rx, baseline_vas_mm=40.0))
    reminder = next(s for s in plan.suggestions if s.kind == "reminders")
    assert reminder.why.data["done"] == 0


def test_after_a_stop_only_the_clinician_advice_remains() -> None:
    answers = {f.id: False for f in load_red_flags()}
    answers["fever-unwell"] = True
    history = [DayLog(1, 40.0, red_flag_answers=answers)]
    rx = Prescription.of_level(P, 1, since_day=1)
    plan = recommend(history, decide(history, rx, baseline_vas_mm=40.0))
    assert plan.today == ()
    assert [s.kind for s in plan.suggestions] == ["see-clinician"]
    assert "doctor" in plan.suggestions[0].why.text
    assert "not a medical device" in plan.disclaimer
    json.dumps(plan.as_dict())


def test_main_sessions_are_spread_over_the_week() -> None:
    assert main_session_days(0) == frozenset()
    assert len(main_session_days(5)) == 5
    assert main_session_days(7) == frozenset(range(1, 8))


def test_a_day_still_running_is_not_counted_against_adherence() -> None:
    """On day 1 of the app nothing has been missed yet: no reminder nagging. Once the day
    is over with nothing done, the reminder suggestion comes."""
    from spinecoach.program.engine import decide
    from spinecoach.program.model import DayLog, Prescription
    from spinecoach.program.protocol import default_protocol
    from spinecoach.program.recommend import recommend

    p = default_protocol()
    rx = Prescription.of_level(p, p.start_level, since_day=1)
    history = [DayLog(day=1, morning_vas_mm=40.0)]
    decision = decide(history, rx, baseline_vas_mm=40.0, protocol=p)
    running = recommend(history, decision, protocol=p, day_complete=False)
    assert "reminders" not in [s.kind for s in running.suggestions]
    over = recommend(history, decision, protocol=p, day_complete=True)
    assert "reminders" in [s.kind for s in over.suggestions]
