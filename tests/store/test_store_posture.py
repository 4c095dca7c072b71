"""Storage of the working day on SQLite and PostgreSQL: minutes replaced not duplicated,
all-or-nothing writes, settings checked, summaries computed from what is stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from spinecoach.errors import ConfigurationError
from spinecoach.store.models import PostureMinute
from spinecoach.store.posture import (
    BoutRow,
    DeskBreakSettings,
    MinuteRow,
    add_prompt,
    day_summary,
    get_settings,
    minutes_between,
    save_bouts,
    save_minutes,
    save_settings,
    set_prompt_outcome,
)
from spinecoach.store.repository import create_person

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def _minutes(n: int, *, slouched_every: int = 3) -> list[MinuteRow]:
    rows = []
    for k in range(n):
        slouched = k % slouched_every == 0
        rows.append(
            MinuteRow(
                T0 + timedelta(minutes=k),
                {"sitting_slouched" if slouched else "sitting_upright": 55.0, "standing": 5.0},
                lumbar_flexion_deg=20.0 if slouched else 8.0,
            )
        )
    return rows


def test_minutes_are_stored_and_replaced(engine: Engine) -> None:
    with Session(engine) as db:
        person = create_person(db, "Ada")
        assert save_minutes(db, person.id, _minutes(30), source="live") == 30
        again = [MinuteRow(T0, {"walking": 60.0})]
        save_minutes(db, person.id, again, source="day.screc")
        stored = minutes_between(db, person.id, T0, T0 + timedelta(hours=1))
        assert len(stored) == 30
        assert stored[0].walking_s == 60.0 and stored[0].sitting_slouched_s == 0.0
        assert stored[0].source == "day.screc"
        assert stored[1].sitting_upright_s == 55.0


def test_a_bad_minute_stores_nothing_of_the_batch(engine: Engine) -> None:
    with Session(engine) as db:
        person = create_person(db, "Bo")
        rows = _minutes(5)
        rows.append(MinuteRow(T0 + timedelta(minutes=9), {"sitting_upright": 75.0}))
        with pytest.raises(ConfigurationError, match=r"sitting_upright seconds .* 0–60"):
            save_minutes(db, person.id, rows, source="live")
        with pytest.raises(ConfigurationError, match="unknown posture class dancing"):
            save_minutes(db, person.id, [MinuteRow(T0, {"dancing": 3.0})], source="live")
        with pytest.raises(ConfigurationError, match="timezone-aware"):
            save_minutes(db, person.id, [MinuteRow(T0.replace(tzinfo=None), {})], source="x")
        count = db.scalar(select(func.count()).select_from(PostureMinute))
        assert count == 0


def test_the_day_summary_counts_what_is_stored(engine: Engine) -> None:
    with Session(engine) as db:
        person = create_person(db, "Cy")
        save_minutes(db, person.id, _minutes(60), source="live")
        untrusted = [MinuteRow(T0 + timedelta(minutes=60), {"standing": 60.0}, trusted=False)]
        save_minutes(db, person.id, untrusted, source="live")
        save_bouts(
            db,
            person.id,
            [
                BoutRow(T0, T0 + timedelta(minutes=50), 600.0),
                BoutRow(T0 + timedelta(minutes=52), T0 + timedelta(minutes=60), 0.0),
            ],
            source="live",
        )
        prompt = add_prompt(
            db, person.id, sitting_since_utc=T0, prompted_utc=T0 + timedelta(minutes=45)
        )
        set_prompt_outcome(db, prompt.id, "done", at_utc=T0 + timedelta(minutes=48), reps=8)
        summary = day_summary(db, person.id, T0, T0 + timedelta(hours=2))
    assert summary.minutes == 61 and summary.untrusted_minutes == 1
    assert summary.seconds["unknown"] == 60.0  # the untrusted minute's standing is not used
    assert summary.seconds["standing"] == 60 * 5.0
    assert summary.sitting_s == 60 * 55.0
    assert summary.slouched_share == pytest.approx(20 / 60)
    assert summary.bouts == 2 and summary.breaks == 1
    assert summary.longest_bout_s == 50 * 60.0
    assert summary.prompts == 1 and summary.desk_breaks_done == 1


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        (DeskBreakSettings(sitting_limit_min=2), "sitting_limit_min must be 5–240"),
        (DeskBreakSettings(snooze_min=0), "snooze_min must be 1–120"),
        (DeskBreakSettings(quiet_start="18:00"), "give both or neither"),
        (DeskBreakSettings(quiet_start="6pm", quiet_end="07:00"), "HH:MM"),
    ],
)
def test_settings_are_checked(engine: Engine, settings: DeskBreakSettings, says: str) -> None:
    with Session(engine) as db:
        person = create_person(db, "Di")
        with pytest.raises(ConfigurationError, match=says):
            save_settings(db, person.id, settings)
        assert get_settings(db, person.id) == DeskBreakSettings()


def test_settings_round_trip(engine: Engine) -> None:
    with Session(engine) as db:
        person = create_person(db, "Ed")
        wanted = DeskBreakSettings(30.0, 15.0, "18:30", "08:00")
        save_settings(db, person.id, wanted)
        assert get_settings(db, person.id) == wanted
        save_settings(db, person.id, DeskBreakSettings(60.0))
        assert get_settings(db, person.id) == DeskBreakSettings(60.0)
