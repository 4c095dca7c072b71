"""Camera sessions in the history, on SQLite and on a real PostgreSQL server: a camera
session killed mid-way is interrupted with its angle frames kept, closing it replays them
through the exercise engine (the same reps as the engine on those frames), and its plot is
drawn from the frames with "camera" in the title."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from spinecoach.camera.angles import camera_angles
from spinecoach.camera.engine_map import camera_session_angles
from spinecoach.camera.synthetic import FPS, rep_profile, side_skeleton
from spinecoach.conventions import ANGLE_COLUMNS
from spinecoach.exercises import plot as plot_module
from spinecoach.exercises.engine import ExerciseEngine
from spinecoach.exercises.model import ExerciseResult
from spinecoach.motion.process import AngleFrames
from spinecoach.recording import Event
from spinecoach.services.history import History, replay_angle_frames
from spinecoach.store import live as store_live
from spinecoach.store.models import SessionRecord
from spinecoach.web import plots

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def hip_hinge_frames(reps: int, peak_deg: float = 30.0) -> AngleFrames:
    t = np.arange(0.0, 4.0 + reps * 10.0 + 2.0, 1.0 / FPS)
    angles, _ = camera_angles(side_skeleton(rep_profile(t, reps, peak_deg), seated=True))
    frames, _info = camera_session_angles(angles, "hip-hinge")
    return frames


def engine_on(frames: AngleFrames, technique: str = "hip-hinge") -> ExerciseResult:
    """The exercise engine run directly on ``frames``, frame by frame."""
    engine = ExerciseEngine(technique)
    for k, t in enumerate(frames.time_s.tolist()):
        engine.update(t, {name: float(frames.angles[name][k]) for name in frames.angles})
    return engine.result()


@pytest.fixture(params=["sqlite", "postgresql"])
def history(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[History]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'history.sqlite3'}"
    else:
        url = request.getfixturevalue("empty_postgres_url")
    opened = History.open(url)
    yield opened
    opened.close()


def _age_heartbeat(history: History, session_id: int) -> None:
    """What a killed server leaves: an active session whose heartbeat stopped."""
    with Session(history.engine) as db:
        db.execute(
            update(SessionRecord)
            .where(SessionRecord.id == session_id)
            .values(heartbeat_utc=datetime.now(UTC) - timedelta(minutes=5))
        )
        db.commit()


def _feed_live(history: History, frames: AngleFrames, until_s: float) -> tuple[int, int]:
    """A camera session fed and flushed as the server does, up to ``until_s`` (then the
    server dies); its id and the number of reps the engine had counted live."""
    recorder = history.start_live(
        "hip-hinge",
        source="camera",
        live_config={"placements": ["camera"], "rates_hz": {}, "position": "seated"},
        pain_before_mm=None,
    )
    engine = ExerciseEngine("hip-hinge", calibrated_position="seated")
    matrix = np.stack([frames.angles[name] for name in ANGLE_COLUMNS], axis=1)
    chunk = int(FPS / 2)  # a commit every half second
    for a in range(0, int(np.searchsorted(frames.time_s, until_s)), chunk):
        b = a + chunk
        recorder.add_angle_frames(frames.time_s[a:b], matrix[a:b], frames.flags[a:b])
        for k in range(a, min(b, len(frames))):
            engine.update(
                float(frames.time_s[k]),
                {n: float(matrix[k, j]) for j, n in enumerate(ANGLE_COLUMNS)},
            )
        recorder.add_results(engine.reps, engine.cues.cues)
        history.flush(recorder)
    return recorder.session_id, len(engine.reps)


def test_killed_camera_session_is_closed_by_replaying_its_angle_frames(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    frames = hip_hinge_frames(reps=4)
    session_id, live_reps = _feed_live(history, frames, until_s=37.0)  # dies in rep 4
    assert live_reps == 3
    _age_heartbeat(history, session_id)

    (entry,) = history.sessions()  # marks it interrupted
    assert entry["status"] == "interrupted" and entry["source"] == "camera"
    assert len(entry["reps"]) == 3  # the reps committed live are kept
    with Session(history.engine) as db:
        kept = store_live.stored_angle_frames(db, session_id)
    assert kept is not None
    assert entry["recorded_until_s"] == float(kept.time_s[-1])
    assert kept.time_s[-1] >= 37.0 - 0.5  # at most the last commit is lost (none here)

    closed = history.close_interrupted(session_id)
    expected = engine_on(kept)
    assert len(expected.reps) == 3
    assert closed["status"] == "completed" and closed["source"] == "camera"
    assert [r["peak_s"] for r in closed["reps"]] == [r.peak_s for r in expected.reps]
    assert [r["quality"] for r in closed["reps"]] == [r.quality for r in expected.reps]
    assert closed["summary"]["interrupted"] is True
    assert closed["summary"]["recorded_s"] == pytest.approx(
        kept.time_s[-1] - kept.time_s[0], abs=1e-3
    )
    with Session(history.engine) as db:
        record = db.get_one(SessionRecord, session_id)
        assert record.recording is None  # no IMU recording for a camera session
        still = store_live.stored_angle_frames(db, session_id)
    assert still is not None and still.time_s.tobytes() == kept.time_s.tobytes()

    # The plot is drawn from the stored frames, "camera" in its title, and is cached.
    titles: list[str] = []
    original = plot_module.plot_exercise

    def spy(frames: AngleFrames, result: ExerciseResult, out: Path, **options: Any) -> Path:
        titles.append(options["title"])
        assert frames.time_s.tobytes() == kept.time_s.tobytes()
        return original(frames, result, out, **options)

    monkeypatch.setattr(plot_module, "plot_exercise", spy)
    png, cacheable = plots.render_session_plot(history.engine, history.person_id, session_id)
    assert png.startswith(PNG_SIGNATURE) and cacheable
    assert titles and titles[0].startswith("Seated hip-hinge — camera — ")  # plain title
    assert titles[0].endswith("— 3 reps")
    served = asyncio.run(plots.SessionPlots(history).png(session_id))
    assert served.startswith(PNG_SIGNATURE)


def test_completed_camera_session_has_a_plot(history: History) -> None:
    frames = hip_hinge_frames(reps=2)
    session_id, live_reps = _feed_live(history, frames, until_s=float(frames.time_s[-1]) + 1.0)
    assert live_reps == 2
    with Session(history.engine) as db:
        kept = store_live.stored_angle_frames(db, session_id)
    assert kept is not None and len(kept) == len(frames)
    recorder = store_live.LiveRecorder(session_id)
    history.complete_live(recorder, engine_on(kept))
    (entry,) = history.sessions()
    assert entry["status"] == "completed" and entry["source"] == "camera"
    assert len(entry["reps"]) == 2
    png, cacheable = plots.render_session_plot(history.engine, history.person_id, session_id)
    assert png.startswith(PNG_SIGNATURE) and cacheable


def test_camera_session_that_saw_nothing_closes_empty_and_has_no_plot(history: History) -> None:
    recorder = history.start_live(
        "hip-hinge", source="camera", live_config={"placements": ["camera"]}, pain_before_mm=None
    )
    history.flush(recorder)
    _age_heartbeat(history, recorder.session_id)
    closed = history.close_interrupted(recorder.session_id)
    assert closed["status"] == "completed" and closed["reps"] == []
    assert closed["recorded_until_s"] is None
    assert closed["summary"]["recorded_s"] == 0.0
    with pytest.raises(plots.PlotNotFound, match="has no stored recording to plot"):
        plots.render_session_plot(history.engine, history.person_id, recorder.session_id)


def test_replay_announces_annotations_before_the_frame_at_their_start() -> None:
    frames = hip_hinge_frames(reps=2)
    practice = Event("calibration-rep", 4.0, 10.0)
    replayed = replay_angle_frames("hip-hinge", frames, [practice])
    engine = ExerciseEngine("hip-hinge")
    announced = False
    for k, t in enumerate(frames.time_s.tolist()):
        if not announced and t >= practice.start_s:
            engine.add_annotation(practice)
            announced = True
        engine.update(t, {name: float(frames.angles[name][k]) for name in frames.angles})
    expected = engine.result()
    assert [r.peak_s for r in replayed.reps] == [r.peak_s for r in expected.reps]
    assert replayed.info.get("personal_range_deg") == expected.info.get("personal_range_deg")
    assert replay_angle_frames("hip-hinge", None).reps == ()
