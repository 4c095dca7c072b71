"""The buffer of what a live session has not stored yet (spinecoach.store.live_buffer;
issue 16 item 8): past its bounds the oldest unsaved data is kept and newer data is not,
for camera frames and annotations as for samples; a failed commit's data is written by
the next commit as the same blocks, bit for bit."""

from __future__ import annotations

import numpy as np
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from spinecoach.conventions import ANGLE_COLUMNS
from spinecoach.motion.stream import SensorSample
from spinecoach.recording import Event
from spinecoach.store import repository
from spinecoach.store.live import commit_batch, start_live_session, stored_angle_frames
from spinecoach.store.live_buffer import LiveRecorder
from spinecoach.store.models import SampleBlock


def frames(first: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    time_s = np.arange(first, first + n) / 30.0
    angles = np.tile(np.arange(first, first + n, dtype=float)[:, None], (1, len(ANGLE_COLUMNS)))
    return time_s, angles, np.zeros(n, np.uint8)


def test_camera_frames_past_the_bound_keep_the_oldest(engine: Engine) -> None:
    with Session(engine) as db:
        person = repository.create_person(db, "Ada")
        session_id = start_live_session(
            db, person.id, "hip-hinge", source="camera", live_config={}
        ).id
    recorder = LiveRecorder(session_id, max_unsaved_frames=50)
    recorder.add_angle_frames(*frames(0, 40))
    failed = recorder.take()  # a commit that failed
    recorder.give_back(failed)
    recorder.add_angle_frames(*frames(40, 30))  # 20 over the bound: frames 50-69 not kept
    unsaved = recorder.unsaved()
    assert (unsaved.frames, unsaved.frames_dropped) == (50, 20)
    assert unsaved.dropped_from_s == 50 / 30.0 and unsaved.dropped_to_s == 69 / 30.0
    with Session(engine) as db:
        commit_batch(db, recorder, recorder.take())
    assert recorder.unsaved().frames == 0
    recorder.add_angle_frames(*frames(70, 5))  # room again once stored
    with Session(engine) as db:
        commit_batch(db, recorder, recorder.take())
        stored = stored_angle_frames(db, session_id)
    assert stored is not None
    kept = [*range(50), *range(70, 75)]
    np.testing.assert_array_equal(stored.time_s, np.array(kept) / 30.0)
    np.testing.assert_array_equal(stored.angles[ANGLE_COLUMNS[0]], np.array(kept, dtype=float))


def test_annotations_past_the_bound_are_not_kept() -> None:
    recorder = LiveRecorder(1, {"lower": 100.0}, max_unsaved_annotations=2)
    recorder.add_items([Event("breath-inhale", float(i), float(i) + 1) for i in range(5)])
    assert [e.start_s for e in recorder.take().annotations] == [0.0, 1.0]


def test_a_failed_commit_is_written_as_the_same_blocks(engine: Engine) -> None:
    """Two ticks, the first commit failed: the next commit writes the first tick's block
    then the second's, each as it would have been, and nothing is counted unsaved."""
    with Session(engine) as db:
        person = repository.create_person(db, "Ada")
        session_id = start_live_session(
            db, person.id, "pelvic-tilt", source="sim", live_config={}
        ).id
    recorder = LiveRecorder(session_id, {"lower": 100.0})

    def tick(first: int) -> list[SensorSample]:
        return [
            SensorSample("lower", i / 100, (0.1 * i, 0.2, 9.81), (1.0, 2.0, float(i)))
            for i in range(first, first + 50)
        ]

    recorder.add_items(tick(0))
    recorder.give_back(recorder.take())  # its commit failed
    recorder.add_items(tick(50))
    assert recorder.unsaved().samples == 100
    with Session(engine) as db:
        commit_batch(db, recorder, recorder.take())
        blocks = list(db.scalars(select(SampleBlock).order_by(SampleBlock.seq)))
        assert [(b.seq, b.n_samples, b.first_t, b.last_t) for b in blocks] == [
            (0, 50, 0.0, 0.49),
            (1, 50, 0.5, 0.99),
        ]
    assert recorder.unsaved().samples == 0 and recorder.unsaved().span_s == 0.0
