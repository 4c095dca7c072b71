"""The working-day service (spinecoach.services.posture) without HTTP: a day's summary
from the stored minutes (with its rows), and the desk-break settings."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from spinecoach.errors import ConfigurationError
from spinecoach.posture.deskbreak import DeskBreakSettings
from spinecoach.services.history import History
from spinecoach.services.posture import PostureService
from spinecoach.store.posture import MinuteRow, save_minutes

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[PostureService]:
    history = History.open(f"sqlite:///{tmp_path / 'history.sqlite3'}")
    yield PostureService(history)
    history.close()


def test_a_day_sums_its_stored_minutes(service: PostureService) -> None:
    history = service.history
    rows = [
        MinuteRow(T0 + timedelta(minutes=k), {"sitting_upright": 50.0, "standing": 10.0})
        for k in range(3)
    ]
    with Session(history.engine) as db:
        save_minutes(db, history.person_id, rows, source="live")
    start = T0.replace(hour=0)
    day = service.day(start, start + timedelta(days=1), rows=True)
    assert day["minutes"] == 3
    assert {k: v for k, v in day["seconds"].items() if v} == {
        "sitting_upright": 150.0,
        "standing": 30.0,
    }
    stored = [r["minute_utc"] for r in day["minutes_rows"]]
    assert stored == [r.minute_utc.isoformat() for r in rows]
    assert day["bouts_rows"] == [] and day["prompts_rows"] == []
    before = service.day(start - timedelta(days=1), start, rows=False)
    assert before["minutes"] == 0 and "minutes_rows" not in before


def test_settings_are_the_defaults_until_saved(service: PostureService) -> None:
    assert service.settings() == DeskBreakSettings()
    mine = DeskBreakSettings(
        sitting_limit_min=30.0, snooze_min=5.0, quiet_start="22:00", quiet_end="07:00"
    )
    assert service.save_settings(mine) == mine
    assert service.settings() == mine
    with pytest.raises(ConfigurationError):
        service.save_settings(DeskBreakSettings(quiet_start="22:00"))  # both or neither
