"""`spinecoach posture FILE --save`: a recorded day's minutes and sitting bouts go to the
history at the recording's own clock times, once (saving again replaces them)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session
from typer.testing import CliRunner

from spinecoach.cli import app
from spinecoach.io.native import write_recording
from spinecoach.services.history import History
from spinecoach.sim.activities import simulate_activities
from spinecoach.store import posture as store

runner = CliRunner()


def test_a_recorded_day_is_saved_to_the_history(tmp_path: Path) -> None:
    day = simulate_activities(
        [("standing", 60.0), ("sitting-upright", 300.0), ("walking", 60.0), ("standing", 60.0)],
        seed=2,
        rate_hz=25.0,
    )
    path = write_recording(day, tmp_path / "day.screc")
    url = f"sqlite:///{tmp_path / 'history.sqlite3'}"
    for _ in range(2):  # the second save replaces the first
        result = runner.invoke(app, ["posture", str(path), "--save", "--database", url, "--json"])
        assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["saved"]["bouts"] == printed["bouts"] == 1
    history = History.open(url)
    try:
        with Session(history.engine) as db:
            start = day.start_utc
            minutes = store.minutes_between(db, history.person_id, start, start + timedelta(1))
            bouts = store.bouts_between(db, history.person_id, start, start + timedelta(1))
    finally:
        history.close()
    assert len(minutes) == printed["saved"]["minutes"] >= 8
    assert minutes[0].minute_utc == start.replace(second=0, microsecond=0)
    assert {m.source for m in minutes} == {"day.screc"}
    sitting = sum(m.sitting_upright_s + m.sitting_slouched_s for m in minutes)
    assert abs(sitting - 300.0) < 15.0
    (bout,) = bouts
    assert abs((bout.end_utc - bout.start_utc).total_seconds() - 300.0) < 15.0
