"""The progression engine: the pain traffic light, stop-and-refer, regression, the weekly
review, and properties that must hold for any history (hypothesis)."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spinecoach.errors import ConfigurationError
from spinecoach.program.engine import (
    adherence,
    day_lights,
    decide,
    next_prescription,
    pain_outcome,
    session_light,
)
from spinecoach.program.model import (
    DayLog,
    ExerciseOutcome,
    Prescription,
    RepOutcome,
    SessionOutcome,
)
from spinecoach.program.protocol import default_protocol
from spinecoach.program.redflags import load_red_flags

P = default_protocol()
GOOD_REPS = (RepOutcome(95, 1.0),) * 4


def rx(level: int, since_day: int = 1) -> Prescription:
    return Prescription.of_level(P, level, since_day=since_day)


def good_day(day: int, vas: float = 40.0, main: bool = True) -> DayLog:
    sessions = [
        SessionOutcome("morning", vas, vas - 1, (ExerciseOutcome("pelvic-tilt", GOOD_REPS),))
    ]
    if main:
        sessions.append(
            SessionOutcome("main", vas, vas - 2, (ExerciseOutcome("hip-hinge", GOOD_REPS),))
        )
    return DayLog(day, vas, tuple(sessions))


def all_no() -> dict[str, bool]:
    return {f.id: False for f in load_red_flags()}


# --- the traffic light -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "light"),
    [(40, 50, "green"), (40, 51, "amber"), (40, 60, "amber"), (40, 61, "red"), (60, 70, "red")],
)
def test_session_light_by_rise_and_severe_pain(before: float, after: float, light: str) -> None:
    s = SessionOutcome("main", before, after)
    assert session_light(s, day=1, morning_before_mm=None, next_morning_mm=None).light == light


@pytest.mark.parametrize(
    ("next_morning", "light"), [(45.0, "green"), (46.0, "amber"), (50.0, "amber"), (51.0, "red")]
)
def test_session_light_by_the_next_morning(next_morning: float, light: str) -> None:
    s = SessionOutcome("main", 40.0, 40.0)
    judged = session_light(s, day=4, morning_before_mm=40.0, next_morning_mm=next_morning)
    assert judged.light == light
    if light != "green":
        assert judged.reasons[0].data["next_morning_mm"] == next_morning


# --- stop and refer --------------------------------------------------------------------


def test_a_red_flag_stops_at_once_and_stays_stopped() -> None:
    answers = {**all_no(), "saddle-bladder-bowel": True}
    history = [good_day(d) for d in range(1, 5)]
    history.append(DayLog(5, 30.0, red_flag_answers=answers))
    d = decide(history, rx(3), baseline_vas_mm=45.0)
    assert d.kind == "stop-refer"
    assert d.prescription == rx(3)
    assert "saddle-bladder-bowel" in d.reasons[0].text
    assert any("Seek medical care now" in r.text for r in d.reasons)
    # later good days and an all-clear check-in do not restart the program
    history += [good_day(6), DayLog(7, 20.0, red_flag_answers=all_no())]
    assert decide(history, d.prescription, baseline_vas_mm=45.0).kind == "stop-refer"


def test_all_clear_check_in_does_not_stop() -> None:
    history = [good_day(1), DayLog(2, 40.0, red_flag_answers=all_no())]
    assert decide(history, rx(1), baseline_vas_mm=40.0).kind == "hold"


def test_a_pain_jump_in_a_session_stops_and_refers() -> None:
    history = [DayLog(1, 40.0, (SessionOutcome("main", 40.0, 70.0),))]
    d = decide(history, rx(2), baseline_vas_mm=40.0)
    assert d.kind == "stop-refer"
    assert d.reasons[0].code == "pain-jump"
    assert d.reasons[0].data["rise_mm"] == 30.0
    assert "(40 → 70 mm)" in d.reasons[0].text


def test_a_morning_pain_jump_stops_and_refers() -> None:
    history = [good_day(1, 30.0), DayLog(2, 62.0)]
    d = decide(history, rx(2), baseline_vas_mm=30.0)
    assert d.kind == "stop-refer"
    assert "morning pain jumped 32 mm from day 1 to day 2 (30 → 62 mm)" in d.reasons[0].text


# --- regression ------------------------------------------------------------------------


def test_a_red_session_regresses_one_level_at_once_citing_the_data() -> None:
    history = [good_day(d) for d in range(1, 4)]
    history.append(DayLog(4, 40.0, (SessionOutcome("main", 40.0, 65.0),)))
    d = decide(history, rx(3), baseline_vas_mm=45.0)
    assert d.kind == "regress"
    assert d.prescription.level == 2
    assert d.prescription.since_day == 5
    assert d.reasons[0].text == (
        "pain rose 25 mm during the main session on day 4 (40 → 65 mm), above the 20 mm "
        "amber limit: back to level 2"
    )
    # The source of the limit travels beside the plain sentence, not inside it.
    assert d.reasons[0].sources == ("Silbernagel 2007",)
    assert d.reasons[0].data["rise_mm"] == 25.0
    assert d.reasons[0].data["limit_mm"] == 20.0


def test_the_same_red_session_does_not_regress_twice() -> None:
    history = [good_day(1), DayLog(2, 40.0, (SessionOutcome("main", 40.0, 65.0),))]
    first = decide(history, rx(3), baseline_vas_mm=40.0)
    assert first.kind == "regress"
    # the next morning is still high: red by the morning rule, but already acted on
    history.append(DayLog(3, 52.0))
    second = decide(history, first.prescription, baseline_vas_mm=40.0)
    assert second.kind == "hold"
    assert second.prescription.level == 2


def test_red_at_the_lightest_level_holds_and_suggests_a_clinician_if_it_persists() -> None:
    history = [DayLog(1, 40.0, (SessionOutcome("morning", 40.0, 62.0),))]
    d = decide(history, rx(0), baseline_vas_mm=40.0)
    assert d.kind == "hold"
    assert d.prescription.level == 0
    assert "talk to a doctor or physiotherapist" in d.reasons[-1].text


# --- the weekly review -----------------------------------------------------------------


def test_a_good_week_progresses_with_reasons_that_cite_the_data() -> None:
    history = [good_day(d, 40.0 - d * 0.5, main=d in (1, 2, 4, 6)) for d in range(1, 8)]
    d = decide(history, rx(1), baseline_vas_mm=40.0)
    assert (d.kind, d.prescription.level, d.review) == ("progress", 2, True)
    codes = [r.code for r in d.reasons]
    assert codes[-1] == "progress"
    assert {"pain-ok", "adherence", "quality", "holds"} <= set(codes)
    adh = next(r for r in d.reasons if r.code == "adherence")
    assert adh.data["done"] == 11 and adh.data["prescribed"] == 11


def test_progress_needs_a_week_at_the_level() -> None:
    history = [good_day(d) for d in range(1, 8)]
    d = decide(history, rx(1, since_day=4), baseline_vas_mm=40.0)
    assert d.kind == "hold"
    assert d.reasons[0].code == "too-soon"
    assert d.reasons[0].data == {"days_at_level": 4, "limit_days": 7}


def test_poor_quality_or_short_holds_hold_the_level() -> None:
    poor = (RepOutcome(50, 0.5, ("lumbar-rounding",)),) * 4
    exercise = (ExerciseOutcome("hip-hinge", poor),)
    history = [
        DayLog(
            d,
            40.0,
            (SessionOutcome("morning", 40.0, 40.0), SessionOutcome("main", 40.0, 40.0, exercise)),
        )
        for d in range(1, 8)
    ]
    d = decide(history, rx(2), baseline_vas_mm=40.0)
    assert d.kind == "hold"
    missing = {r.code for r in d.reasons}
    assert {"quality", "holds"} <= missing


def test_two_amber_sessions_hold_the_level() -> None:
    history = [good_day(d) for d in range(1, 8)]
    history[2] = DayLog(3, 40.0, (SessionOutcome("main", 40.0, 55.0),))
    history[4] = DayLog(5, 40.0, (SessionOutcome("main", 40.0, 55.0),))
    d = decide(history, rx(2), baseline_vas_mm=40.0)
    assert d.kind == "hold"
    assert d.reasons[0].code == "amber-in-week"


def test_low_adherence_gives_the_lighter_plan_not_progression() -> None:
    history = [good_day(1), DayLog(2, 40.0), DayLog(3, 40.0), good_day(4)] + [
        DayLog(d, 40.0) for d in range(5, 8)
    ]
    d = decide(history, rx(1), baseline_vas_mm=40.0)
    assert (d.kind, d.prescription.level) == ("regress", 0)
    assert d.reasons[0].code == "adherence-low"
    assert "4 of 11 sessions done (36 %)" in d.reasons[0].text


def test_rising_weekly_pain_holds() -> None:
    history = [good_day(d, 30.0) for d in range(1, 8)] + [good_day(d, 38.0) for d in range(8, 15)]
    history[7] = good_day(8, 34.0)  # a gradual rise, no single jump
    d = decide(history, rx(2, since_day=1), baseline_vas_mm=30.0)
    assert d.kind == "hold"
    assert any(r.code == "pain-trend" and "rising" in r.text for r in d.reasons)


def test_top_level_holds_when_everything_is_met() -> None:
    history = [good_day(d) for d in range(1, 8)]
    d = decide(history, rx(P.top_level), baseline_vas_mm=40.0)
    assert d.kind == "hold"
    assert d.reasons[0].code == "top-level"


# --- helpers and validation ------------------------------------------------------------


def test_pain_outcome_uses_the_mcid_in_mm_or_percent() -> None:
    out = pain_outcome([DayLog(d, 32.0) for d in range(1, 8)], baseline_vas_mm=45.0)
    assert (out.change_mm, out.mcid_reached) == (-13.0, False)
    low = pain_outcome([DayLog(d, 13.0) for d in range(1, 8)], baseline_vas_mm=20.0)
    assert low.mcid_reached  # 7 mm, but 35 %


def test_adherence_counts_each_session_at_most_as_prescribed() -> None:
    history = [good_day(d) for d in range(1, 8)]
    a = adherence(history, rx(1), first_day=1, last_day=7)
    assert (a.done, a.prescribed) == (11, 11)


def test_inputs_are_validated_with_messages() -> None:
    with pytest.raises(ConfigurationError, match="vas_after_mm is a VAS in mm from 0 to 100"):
        SessionOutcome("main", 40.0, 140.0)
    with pytest.raises(ConfigurationError, match="two logs for day 1"):
        decide([DayLog(1, 40.0), DayLog(1, 41.0)], rx(1), baseline_vas_mm=40.0)
    with pytest.raises(ConfigurationError, match="at least one DayLog"):
        decide([], rx(1), baseline_vas_mm=40.0)
    with pytest.raises(ConfigurationError, match="no level 9"):
        rx(9)


def test_decision_is_json_serialisable() -> None:
    history = [DayLog(1, 40.0, (SessionOutcome("main", 40.0, 65.0),))]
    d = decide(history, rx(3), baseline_vas_mm=40.0)
    text = json.dumps(d.as_dict())
    assert json.loads(text)["reasons"][0]["data"]["vas_after_mm"] == 65.0


# --- properties ------------------------------------------------------------------------

vas = st.integers(min_value=0, max_value=100).map(float)
reps = st.lists(
    st.builds(
        RepOutcome,
        quality=st.integers(0, 100),
        hold_share=st.one_of(st.none(), st.floats(0.0, 2.0)),
        faults=st.sampled_from([(), ("lumbar-rounding",), ("short-hold",)]),
    ),
    max_size=4,
).map(tuple)
sessions = st.lists(
    st.builds(
        SessionOutcome,
        slot=st.sampled_from(["morning", "main"]),
        vas_before_mm=vas,
        vas_after_mm=vas,
        exercises=st.lists(
            st.builds(
                ExerciseOutcome, technique=st.sampled_from(["hip-hinge", "pelvic-tilt"]), reps=reps
            ),
            max_size=2,
        ).map(tuple),
    ),
    max_size=2,
).map(tuple)


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[DayLog], Prescription]:
    n = draw(st.integers(1, 15))
    logs = []
    for day in range(1, n + 1):
        morning = draw(st.one_of(st.none(), vas))
        answers = None
        if draw(st.integers(0, 9)) == 0:
            answers = all_no()
            if draw(st.booleans()):
                answers[draw(st.sampled_from(sorted(answers)))] = True
        logs.append(DayLog(day, morning, draw(sessions), red_flag_answers=answers))
    level = draw(st.integers(P.bottom_level, P.top_level))
    since = draw(st.integers(1, n))
    return logs, rx(level, since)


def _dose_not_higher(new: Prescription, old: Prescription) -> bool:
    if new.desk_breaks_per_day > old.desk_breaks_per_day:
        return False
    if new.main_sessions_per_week > old.main_sessions_per_week:
        return False
    for dose in new.exercises:
        before = old.dose(dose.technique)
        if before is None:
            return False
        if (
            dose.reps * dose.sets > before.reps * before.sets
            or dose.hold_s > before.hold_s
            or dose.range_share > before.range_share
        ):
            return False
    return True


@settings(max_examples=150, deadline=None)
@given(histories())
def test_never_a_higher_dose_after_a_red_light_session(
    case: tuple[list[DayLog], Prescription],
) -> None:
    history, current = case
    day = history[-1].day
    days = {g.day: g for g in history}
    judged = [*day_lights(days, day - 1), *day_lights(days, day)]
    d = decide(history, current, baseline_vas_mm=45.0)
    if any(j.light == "red" for j in judged):
        assert d.kind != "progress"
        assert _dose_not_higher(d.prescription, current)


@settings(max_examples=150, deadline=None)
@given(histories())
def test_prescriptions_stay_inside_the_safe_bounds(case: tuple[list[DayLog], Prescription]) -> None:
    history, current = case
    d = decide(history, current, baseline_vas_mm=45.0)
    rxn = d.prescription
    assert P.desk_breaks_per_day[0] <= rxn.desk_breaks_per_day <= P.desk_breaks_per_day[1]
    assert P.main_sessions_per_week[0] <= rxn.main_sessions_per_week <= P.main_sessions_per_week[1]
    for dose in rxn.exercises:
        b = P.bounds[dose.technique]
        assert b.reps[0] <= dose.reps <= b.reps[1]
        assert b.sets[0] <= dose.sets <= b.sets[1]
        assert b.hold_s[0] <= dose.hold_s <= b.hold_s[1]
        assert b.range_share[0] <= dose.range_share <= b.range_share[1]
    assert abs(rxn.level - current.level) <= 1


@settings(max_examples=100, deadline=None)
@given(histories(), st.randoms(use_true_random=False))
def test_decide_is_deterministic_and_order_free(
    case: tuple[list[DayLog], Prescription], rnd: random.Random
) -> None:
    history, current = case
    first = decide(history, current, baseline_vas_mm=45.0)
    shuffled = list(history)
    rnd.shuffle(shuffled)
    assert decide(shuffled, current, baseline_vas_mm=45.0) == first
    assert first.as_dict() == decide(history, current, baseline_vas_mm=45.0).as_dict()


@settings(max_examples=100, deadline=None)
@given(histories())
def test_stop_refer_is_final(case: tuple[list[DayLog], Prescription]) -> None:
    history, current = case
    d = decide(history, current, baseline_vas_mm=45.0)
    if d.kind == "stop-refer":
        later = [*history, DayLog(history[-1].day + 1, 10.0, red_flag_answers=all_no())]
        assert decide(later, d.prescription, baseline_vas_mm=45.0).kind == "stop-refer"


def test_next_prescription_never_leaves_the_levels() -> None:
    assert next_prescription(rx(P.top_level), "progress", day=7) == rx(P.top_level)
    assert next_prescription(rx(0), "regress", day=7) == rx(0)
    assert next_prescription(rx(2), "progress", day=7).since_day == 8


@pytest.mark.parametrize("name", ["spinecoach.program.lights", "spinecoach.program.measures"])
def test_engine_rule_modules_docstring_examples_run(name: str) -> None:
    """The traffic light and the measures moved out of engine.py keep runnable examples."""
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0
