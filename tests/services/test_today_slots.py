"""Today's prescribed slots, adherence per slot and the reasons of decisions from a seeded
stored history (issue 15 item 1): the dose is the level's, a cat-cow session does not
make the prescribed hip-hinge done, and every reason cites a session that exists (its
date, slot and its own pain before → after)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from spinecoach.exercises.catalogue import default_catalogue
from spinecoach.program.measures import adherence
from spinecoach.program.onboarding import make_baseline, make_schedule
from spinecoach.program.protocol import default_protocol
from spinecoach.program.redflags import default_red_flags
from spinecoach.services import program as service
from spinecoach.services.history import History
from spinecoach.services.program_history import slots_done_of
from spinecoach.store import program as sp
from spinecoach.store.models import RepRecord, SessionRecord
from spinecoach.store.repository import add_pain, create_person, start_session

#: Program day 1 starts on Monday 2 March 2026 (a main-session day at level 1).
T0 = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    history = History.open(f"sqlite:///{tmp_path / 'today.sqlite3'}")
    yield history.engine
    history.close()


def enrol(db: Session) -> int:
    person = create_person(db, "Ada")
    baseline = make_baseline(
        vas_mm=40.0,
        psfs=[("Putting on socks", 3)],
        doses_per_day=1,
        schedule=make_schedule("07:15", "08:30", "16:30", 60),
        sensors=["phone"],
    )
    sp.onboard(db, person.id, {f.id: False for f in default_red_flags()}, baseline, now=T0)
    return person.id


def add_session(
    db: Session,
    person_id: int,
    technique: str,
    when: datetime,
    before: float | None,
    after: float | None,
    *,
    slot: str | None = None,
) -> int:
    """A completed session with two good reps and its pain ratings."""
    record: SessionRecord = start_session(db, person_id, technique, started_utc=when)
    with db.begin_nested():
        for i in range(2):
            record.reps.append(
                RepRecord(
                    technique=technique,
                    rep_index=i,
                    set_index=0,
                    start_s=2.0 * i,
                    peak_s=2.0 * i + 1,
                    end_s=2.0 * i + 2,
                    range_deg=20.0,
                    hold_s=None,
                    quality=90,
                    reasons=[],
                    fault_names=[],
                    faults=[],
                    measures={},
                )
            )
        record.status = "completed"
        record.ended_utc = when + timedelta(minutes=5)
        if slot is not None:
            record.live_config = {"slot": slot}
    db.commit()
    if before is not None:
        add_pain(db, person_id, before, "before", session_id=record.id, recorded_utc=when)
    if after is not None:
        add_pain(db, person_id, after, "after", session_id=record.id, recorded_utc=when)
    return record.id


def slot(today: dict[str, Any], key: str) -> dict[str, Any]:
    return next(s for s in today["slots"] if s["id"] == key)


def test_the_plan_gives_the_levels_dose_and_a_start_payload(engine: Engine) -> None:
    level = default_protocol().level(1)
    with Session(engine) as db:
        pid = enrol(db)
        state = service.update_program(db, pid, now=T0 + timedelta(hours=1), tz=UTC)
        today = service.today_data(state, db=db, tz=UTC)
    rx_desk = level.desk_breaks_per_day
    assert [s["id"] for s in today["slots"]] == [
        "morning",
        "main",
        *[f"deskbreak-{n}" for n in range(1, rx_desk + 1)],
    ]
    hinge = next(t for t in slot(today, "main")["techniques"] if t["technique"] == "hip-hinge")
    rx = level.exercise("hip-hinge")
    catalogue = default_catalogue().technique("hip-hinge").dose
    assert hinge["dose"] == {
        "reps": rx.reps,
        "sets": rx.sets,
        "hold_s": rx.hold_s,
        "tempo_s": catalogue.move_s,
    }
    # The example: the level asks 2 × 8, the catalogue's own dose is 3 × 8.
    assert (rx.sets, catalogue.sets) == (2, 3)
    assert hinge["start"] == {
        "type": "start",
        "technique": "hip-hinge",
        "dose": hinge["dose"],
        "slot": "main",
    }
    desk = slot(today, "deskbreak-1")["techniques"][0]
    assert desk["technique"] == "cat-cow-seated"
    assert desk["dose"]["hold_s"] is None  # a technique without holds
    assert desk["start"]["slot"] == "deskbreak"
    # The old plan list keeps its fields and carries the same dose and start.
    item = next(d for d in today["plan"]["today"] if d["technique"] == "hip-hinge")
    assert (item["reps"], item["sets"], item["slot"]) == (rx.reps, rx.sets, "main")
    assert item["start"] == hinge["start"] and item["done"] is False
    assert today["slots_done"]["main"] == {"done": 0, "prescribed": 1}
    # No session on day 1: the day's reason says so, and judges nothing.
    reasons = [r["text"] for r in today["decision"]["reasons"]]
    assert reasons == ["day 1: no session rated yet to judge, keep going"]
    assert not any("pain limits" in text for text in reasons)


def test_cat_cow_does_not_make_the_prescribed_hip_hinge_done(engine: Engine) -> None:
    day1 = T0 + timedelta(hours=2)
    with Session(engine) as db:
        pid = enrol(db)
        add_session(db, pid, "cat-cow", day1, 30, 31)
        add_session(db, pid, "cat-cow", day1 + timedelta(hours=1), 31, 31)
        state = service.update_program(db, pid, now=day1 + timedelta(hours=3), tz=UTC)
        today = service.today_data(state, db=db, tz=UTC)
        nxt = service.update_program(db, pid, now=T0 + timedelta(days=1, hours=1), tz=UTC)
        progress = service.progress_data(db, nxt, tz=UTC)
    assert slot(today, "main")["done"] is False and slot(today, "morning")["done"] is False
    assert today["slots_done"]["main"]["done"] == 0
    day = progress["adherence"][0]
    assert (day["done"], day["prescribed"]) == (0, 2)
    assert (day["morning_done"], day["main_done"], day["main_prescribed"]) == (0, 0, 1)
    log1 = nxt.history[0]
    assert dict(log1.slots_done or {}) == {"morning": 0, "main": 0, "desk-break": 0}
    # The engine's adherence over day 1: 0 of 2, where counting sessions said 100 %.
    adh = adherence(nxt.history, nxt.current, first_day=1, last_day=1)
    assert (adh.done, adh.prescribed, adh.main_done, adh.morning_done) == (0, 2, 0, 0)


def test_slots_done_name_the_sessions_that_did_them(engine: Engine) -> None:
    day1 = T0 + timedelta(hours=1)
    with Session(engine) as db:
        pid = enrol(db)
        tilt = add_session(db, pid, "pelvic-tilt", day1, 30, 30, slot="morning")
        hinge = add_session(db, pid, "hip-hinge", day1 + timedelta(hours=2), 30, 31)
        br1 = add_session(db, pid, "cat-cow-seated", day1 + timedelta(hours=3), None, None)
        br2 = add_session(db, pid, "cat-cow-seated", day1 + timedelta(hours=4), 30, 30)
        state = service.update_program(db, pid, now=day1 + timedelta(hours=5), tz=UTC)
        half = service.today_data(state, db=db, tz=UTC)
        flex = add_session(db, pid, "flexion-extension", day1 + timedelta(hours=6), 31, 31)
        state = service.update_program(db, pid, now=day1 + timedelta(hours=7), tz=UTC)
        full = service.today_data(state, db=db, tz=UTC)
    assert slot(half, "morning")["done"] is True
    assert slot(half, "morning")["session_ids"] == [tilt]
    main = slot(half, "main")
    assert main["done"] is False  # the flexion-extension is still to do
    assert {t["technique"]: t["session_ids"] for t in main["techniques"]} == {
        "hip-hinge": [hinge],
        "flexion-extension": [],
    }
    assert slot(half, "deskbreak-1")["session_ids"] == [br1]
    assert slot(half, "deskbreak-2")["session_ids"] == [br2]
    assert slot(half, "deskbreak-3")["done"] is False
    assert half["slots_done"]["desk-break"]["done"] == 2
    assert slot(full, "main")["done"] is True
    assert slot(full, "main")["session_ids"] == [hinge, flex]
    assert dict(state.history[0].slots_done or {}) == {"morning": 1, "main": 1, "desk-break": 2}


def test_reasons_cite_the_very_session_date_slot_and_pain(engine: Engine) -> None:
    day2 = T0 + timedelta(days=1, hours=1)
    with Session(engine) as db:
        pid = enrol(db)
        service.update_program(db, pid, now=T0 + timedelta(hours=1), tz=UTC)
        add_session(db, pid, "hip-hinge", day2, 40, 45, slot="main")
        flex = add_session(db, pid, "flexion-extension", day2 + timedelta(hours=1), 45, 70)
        state = service.update_program(db, pid, now=day2 + timedelta(hours=3), tz=UTC)
    # 45 → 70 is a red session (a rise of 25 mm), not a jump: merged into one main
    # session (40 → 70) it would have stopped the program with numbers of no session.
    assert state.decision.kind == "regress"
    red = state.decision.reasons[0]
    assert red.code == "pain-rise-red"
    assert red.text.startswith(
        "pain rose 25 mm during the main flexion-extension session on day 2, 2026-03-03 "
        "(45 → 70 mm)"
    )
    assert dict(red.data) | {"session_id": flex} == dict(red.data)
    assert (red.data["date"], red.data["slot"]) == ("2026-03-03", "main")
    assert (red.data["vas_before_mm"], red.data["vas_after_mm"]) == (45.0, 70.0)
    texts = " ".join(r.text for r in state.decision.reasons)
    assert "40 → 70" not in texts


def test_slots_done_of_counts_prescribed_techniques_only() -> None:
    rx = service.current_prescription([])
    assert slots_done_of(["cat-cow", "cat-cow"], rx) == {"morning": 0, "main": 0, "desk-break": 0}
    assert slots_done_of(["hip-hinge", "flexion-extension", "cat-cow-seated"], rx) == {
        "morning": 0,
        "main": 1,
        "desk-break": 1,
    }
