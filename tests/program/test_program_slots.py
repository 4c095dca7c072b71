"""The engine on a stored-style history (issue 15 item 1): adherence counts prescribed slots
done (``DayLog.slots_done``), reasons name the very session (slot, technique, day, date, its
own pain) and a day without sessions judges none; the simulated programs' one-outcome-per-
slot histories keep their texts."""

from __future__ import annotations

import pytest

from spinecoach.errors import ConfigurationError
from spinecoach.program.engine import adherence, decide
from spinecoach.program.model import DayLog, ExerciseOutcome, Prescription, SessionOutcome
from spinecoach.program.protocol import default_protocol
from spinecoach.program.recommend import recommend


def rx(level: int = 1) -> Prescription:
    return Prescription.of_level(default_protocol(), level, since_day=1)


def named(slot: str, technique: str, before: float, after: float, sid: int) -> SessionOutcome:
    return SessionOutcome(
        slot,  # type: ignore[arg-type]
        before,
        after,
        (ExerciseOutcome(technique, ()),),
        session_id=sid,
        date=f"2026-03-{sid:02d}",
        technique=technique,
    )


def test_adherence_counts_slots_done_not_sessions() -> None:
    # Two sessions in the main slot every day, but the stored day says which prescribed
    # slots were done: the morning on days 1-7, the main session on day 1 only.
    sessions = (named("main", "cat-cow", 30.0, 30.0, 1), named("main", "cat-cow", 30.0, 30.0, 2))
    history = [
        DayLog(d, 30.0, sessions, slots_done={"morning": 1, "main": int(d == 1)})
        for d in range(1, 8)
    ]
    a = adherence(history, rx(), first_day=1, last_day=7)
    assert (a.morning_done, a.main_done, a.main_prescribed) == (7, 1, 4)
    assert (a.done, a.prescribed) == (8, 11)
    # The same days counted by their sessions (no slots_done): each main counts.
    counted = adherence(
        [DayLog(d, 30.0, sessions) for d in range(1, 8)], rx(), first_day=1, last_day=7
    )
    assert (counted.morning_done, counted.main_done) == (0, 4)


def test_the_review_and_the_reminder_say_adherence_per_slot() -> None:
    history = [
        DayLog(d, 30.0, (), slots_done={"morning": int(d <= 3), "main": 0}) for d in range(1, 8)
    ]
    decision = decide(history, rx(), baseline_vas_mm=30.0)
    low = decision.reasons[0]
    assert low.code == "adherence-low"
    assert "3 of 11 sessions done (27 %) — morning routine 3 of 7, main session 0 of 4" in low.text
    assert (low.data["morning_done"], low.data["main_done"]) == (3, 0)
    plan = recommend(history[:3], decide(history[:3], rx(), baseline_vas_mm=30.0))
    reminder = next(s for s in plan.suggestions if s.kind == "reminders")
    assert "morning routine 3 of 3, main session 0 of 2" in reminder.why.text


def test_a_red_session_is_cited_with_its_own_date_slot_and_pain() -> None:
    history = [
        DayLog(1, 40.0, (named("main", "hip-hinge", 40.0, 45.0, 3),)),
        DayLog(
            2,
            42.0,
            (
                named("main", "hip-hinge", 40.0, 42.0, 4),
                named("main", "flexion-extension", 42.0, 65.0, 5),
            ),
        ),
    ]
    d = decide(history, rx(), baseline_vas_mm=40.0)
    assert d.kind == "regress"
    red = d.reasons[0]
    assert red.text.startswith(
        "pain rose 23 mm during the main flexion-extension session on day 2, 2026-03-05 "
        "(42 → 65 mm)"
    )
    assert {k: red.data[k] for k in ("session_id", "date", "technique", "slot")} == {
        "session_id": 5,
        "date": "2026-03-05",
        "technique": "flexion-extension",
        "slot": "main",
    }


def test_a_pain_jump_is_cited_with_the_session_that_jumped() -> None:
    history = [DayLog(1, 40.0, (named("morning", "pelvic-tilt", 40.0, 75.0, 7),))]
    d = decide(history, rx(), baseline_vas_mm=40.0)
    assert d.kind == "stop-refer"
    jump = d.reasons[0]
    assert jump.text.startswith(
        "pain jumped 35 mm during the morning pelvic-tilt session on day 1, 2026-03-07 (40 → 75 mm)"
    )
    assert (jump.data["session_id"], jump.data["slot"]) == (7, "morning")


def test_a_day_without_sessions_judges_none() -> None:
    d = decide([DayLog(1, 40.0)], rx(), baseline_vas_mm=40.0)
    assert [(r.code, r.text) for r in d.reasons] == [
        ("keep-going", "day 1: no session rated yet to judge, keep going")
    ]
    green = decide(
        [DayLog(1, 40.0, (named("morning", "pelvic-tilt", 40.0, 41.0, 1),))],
        rx(),
        baseline_vas_mm=40.0,
    )
    assert green.reasons[0].text == (
        "day 1: 1 session(s) judged (day 1 morning), within the pain limits, keep going"
    )


def test_slot_outcomes_without_names_keep_their_texts() -> None:
    d = decide(
        [DayLog(1, 40.0, (SessionOutcome("main", 40.0, 65.0),))], rx(3), baseline_vas_mm=40.0
    )
    assert d.reasons[0].text.startswith(
        "pain rose 25 mm during the main session on day 1 (40 → 65 mm)"
    )
    assert "session_id" not in d.reasons[0].data
    assert "slots_done" not in DayLog(1, 40.0).as_dict()


def test_slots_done_names_known_slots_only() -> None:
    with pytest.raises(ConfigurationError, match=r"slots_done names slots \['evening'\]"):
        DayLog(1, 40.0, slots_done={"evening": 1})
