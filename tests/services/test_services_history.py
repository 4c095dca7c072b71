"""The history service (spinecoach.services.history) on its own: a live session stored
and completed, pain recorded, and an interrupted session closed through the replay the
face gives (the service imports no live session; the server's replay is tested from
the web, tests/web/test_web_durability.py and tests/cli/test_coach.py)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from spinecoach.errors import ConfigurationError
from spinecoach.exercises.engine import ExerciseEngine
from spinecoach.exercises.model import ExerciseResult
from spinecoach.motion.stream import SensorSample
from spinecoach.recording import Recording
from spinecoach.services.history import History, SessionStateError
from spinecoach.store.models import SessionRecord

RATE_HZ = 100.0
SECONDS = 2.0


@pytest.fixture
def history(tmp_path: Path) -> Iterator[History]:
    opened = History.open(f"sqlite:///{tmp_path / 'history.sqlite3'}")
    yield opened
    opened.close()


def _still_samples() -> list[SensorSample]:
    """Two sensors lying still for SECONDS at RATE_HZ."""
    samples = []
    for k in range(int(SECONDS * RATE_HZ)):
        for placement in ("lower", "upper"):
            samples.append(
                SensorSample(
                    placement, k / RATE_HZ, np.array([0.0, 0.0, 9.81]), np.zeros(3, dtype=float)
                )
            )
    return samples


def _interrupted_sample_session(history: History) -> int:
    """A sample session stored live, whose server then died (heartbeat 5 min old)."""
    recorder = history.start_live(
        "pelvic-tilt",
        source="sim",
        live_config={"rates_hz": {"lower": RATE_HZ, "upper": RATE_HZ}, "position": "supine"},
        pain_before_mm=30.0,
    )
    recorder.add_items(_still_samples())
    history.flush(recorder)
    with Session(history.engine) as db:
        db.execute(
            update(SessionRecord)
            .where(SessionRecord.id == recorder.session_id)
            .values(heartbeat_utc=datetime.now(UTC) - timedelta(minutes=5))
        )
        db.commit()
    return recorder.session_id


def test_an_empty_history_lists_nothing(history: History) -> None:
    assert history.sessions() == []


def test_a_completed_live_session_is_listed_with_its_pain(history: History) -> None:
    recorder = history.start_live("pelvic-tilt", source="sim", live_config={}, pain_before_mm=40.0)
    session_id = history.complete_live(recorder, ExerciseEngine("pelvic-tilt").result())
    history.add_pain(session_id, 20.0, "after")
    (entry,) = history.sessions()
    assert entry["id"] == session_id
    assert entry["status"] == "completed" and entry["technique"] == "pelvic-tilt"
    assert entry["pain_before_mm"] == 40.0 and entry["pain_after_mm"] == 20.0
    assert history.session(session_id) == entry


def test_an_interrupted_session_is_closed_by_the_replay_given(tmp_path: Path) -> None:
    calls: list[tuple[str, Recording | None, dict[str, Any]]] = []

    def replay(
        technique: str, recording: Recording | None, live_config: Mapping[str, Any]
    ) -> ExerciseResult:
        calls.append((technique, recording, dict(live_config)))
        return ExerciseEngine(technique).result()

    history = History.open(f"sqlite:///{tmp_path / 'h.sqlite3'}", replay_samples=replay)
    try:
        session_id = _interrupted_sample_session(history)
        (entry,) = history.sessions()
        assert entry["status"] == "interrupted"
        closed = history.close_interrupted(session_id)
    finally:
        history.close()
    ((technique, recording, config),) = calls
    assert technique == "pelvic-tilt" and config["position"] == "supine"
    assert recording is not None and set(recording.sensors) == {"lower", "upper"}
    assert len(recording.sensors["lower"].time_s) == int(SECONDS * RATE_HZ)
    assert closed["status"] == "completed"
    assert closed["summary"]["interrupted"] is True
    assert closed["summary"]["recorded_s"] == pytest.approx(recording.duration_s, abs=1e-3)
    assert closed["pain_before_mm"] == 30.0


def test_without_a_replay_a_sample_session_stays_interrupted(history: History) -> None:
    session_id = _interrupted_sample_session(history)
    with pytest.raises(ConfigurationError, match="replay_samples"):
        history.close_interrupted(session_id)
    assert history.session(session_id)["status"] == "interrupted"


def test_closing_an_unknown_or_running_or_closed_session_says_why(history: History) -> None:
    with pytest.raises(ConfigurationError, match="no session with id 99"):
        history.close_interrupted(99)
    recorder = history.start_live("pelvic-tilt", source="sim", live_config={}, pain_before_mm=None)
    with pytest.raises(SessionStateError, match="still running"):
        history.close_interrupted(recorder.session_id)
    history.complete_live(recorder, ExerciseEngine("pelvic-tilt").result())
    with pytest.raises(SessionStateError, match="already closed"):
        history.close_interrupted(recorder.session_id)
