"""Live sessions stored while they run (``spinecoach.store.live``), on SQLite and on a real
PostgreSQL server: sample blocks round-trip bit-exactly, stale sessions are marked
interrupted, a failed commit keeps its data, completing replaces the live rows."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from spinecoach.errors import ConfigurationError, InputFormatError
from spinecoach.exercises.engine import detect_exercise
from spinecoach.motion.process import motion_process
from spinecoach.motion.stream import SensorSample
from spinecoach.recording import Event
from spinecoach.sim import simulate
from spinecoach.store import live, repository
from spinecoach.store.models import EventRecord, RepRecord, SampleBlock, SessionRecord


def _person_session(engine: Engine, **config: object) -> int:
    with Session(engine) as db:
        person = repository.create_person(db, "Ada")
        record = live.start_live_session(
            db, person.id, "pelvic-tilt", source="sim", live_config={"position": "supine", **config}
        )
        return record.id


def _samples(recording, placement):  # type: ignore[no-untyped-def]
    data = recording.sensors[placement]
    mag = data.mag_ut
    return [
        SensorSample(
            placement,
            float(t),
            data.acc_mps2[i],
            data.gyr_dps[i],
            None if mag is None else mag[i],
        )
        for i, t in enumerate(data.time_s)
    ]


def _result(recording):  # type: ignore[no-untyped-def]
    frames, info = motion_process(recording)
    return detect_exercise(
        frames, "pelvic-tilt", annotations=recording.events, calibrated_position=info["position"]
    )


def _count(engine: Engine, model: type) -> int:  # type: ignore[type-arg]
    with Session(engine) as db:
        return int(db.scalar(select(func.count()).select_from(model)) or 0)


def test_live_blocks_round_trip_bit_exact_in_several_commits(engine: Engine) -> None:
    recording = simulate("pelvic-tilt", seed=2, reps=2)
    session_id = _person_session(engine)
    recorder = live.LiveRecorder(
        session_id, rates_hz={p: s.rate_hz for p, s in recording.sensors.items()}
    )
    lower, upper = _samples(recording, "lower"), _samples(recording, "upper")
    # Commit in uneven pieces, as the server would every half second.
    cuts = [0, 37, 400, 401, 2500, max(len(lower), len(upper))]
    for a, b in itertools.pairwise(cuts):
        recorder.add_items(lower[a:b] + upper[a:b])
        if a == 400:
            recorder.add_items([Event("calibration-neutral", 4.0, 9.0)])
        with Session(engine) as db:
            live.commit_batch(db, recorder, recorder.take())
    with Session(engine) as db:
        stored = live.stored_recording(db, session_id)
    assert stored is not None
    for placement, data in recording.sensors.items():
        assert stored.sensors[placement].equals(
            data.__class__.from_arrays(
                placement,
                data.time_s,
                data.acc_mps2,
                data.gyr_dps,
                rate_hz=data.rate_hz,
                mag_ut=data.mag_ut,
                device="live (sim)",
            )
        )
    assert [(e.kind, e.start_s, e.end_s) for e in stored.events] == [
        ("calibration-neutral", 4.0, 9.0)
    ]
    assert stored.meta["position"] == "supine"
    assert _count(engine, SampleBlock) == 2 * (len(cuts) - 1)


def test_live_heartbeat_and_stale_sessions_become_interrupted(engine: Engine) -> None:
    session_id = _person_session(engine)
    recorder = live.LiveRecorder(session_id, rates_hz={"lower": 100.0})
    with Session(engine) as db:
        live.commit_batch(db, recorder, recorder.take())  # an empty batch: a heartbeat
        assert live.mark_stale_interrupted(db) == []  # fresh: still running
        later = datetime.now(UTC) + timedelta(seconds=live.STALE_AFTER_S + 1)
        assert live.mark_stale_interrupted(db, now=later) == [session_id]
        assert db.get(SessionRecord, session_id).status == "interrupted"  # type: ignore[union-attr]
    # The running server's next commit makes it active again (it was only slow).
    with Session(engine) as db:
        live.commit_batch(db, recorder, recorder.take())
        assert db.get(SessionRecord, session_id).status == "active"  # type: ignore[union-attr]


def test_live_failed_commit_keeps_the_data_for_the_next_attempt(engine: Engine) -> None:
    recording = simulate("pelvic-tilt", seed=1, reps=1)
    session_id = _person_session(engine)
    recorder = live.LiveRecorder(session_id)  # the rate is not known yet: refused
    recorder.add_items(_samples(recording, "lower")[:50])
    batch = recorder.take()
    with Session(engine) as db, pytest.raises(ConfigurationError, match="no rate known"):
        live.commit_batch(db, recorder, batch)
    recorder.give_back(batch)
    assert _count(engine, SampleBlock) == 0  # nothing half-written
    recorder.set_rate("lower", 100.0)
    recorder.add_items(_samples(recording, "lower")[50:80])
    with Session(engine) as db:
        live.commit_batch(db, recorder, recorder.take())
        stored = live.stored_recording(db, session_id)
    assert stored is not None
    assert stored.sensors["lower"].n_samples == 80
    np.testing.assert_array_equal(
        stored.sensors["lower"].time_s, recording.sensors["lower"].time_s[:80]
    )


def test_live_completed_session_refuses_more_data(engine: Engine) -> None:
    recording = simulate("pelvic-tilt", seed=1, reps=1)
    result = _result(recording)
    session_id = _person_session(engine)
    recorder = live.LiveRecorder(session_id, rates_hz={"lower": 100.0})
    with Session(engine) as db:
        live.complete_live_session(db, session_id, result)
    recorder.add_items(_samples(recording, "lower")[:10])
    with Session(engine) as db, pytest.raises(ConfigurationError, match="was closed"):
        live.commit_batch(db, recorder, recorder.take())


def test_live_complete_replaces_live_rows_and_stores_the_recording(engine: Engine) -> None:
    recording = simulate("pelvic-tilt", seed=4, reps=3)
    result = _result(recording)
    assert len(result.reps) == 3
    session_id = _person_session(engine)
    recorder = live.LiveRecorder(
        session_id, rates_hz={p: s.rate_hz for p, s in recording.sensors.items()}
    )
    recorder.add_items(_samples(recording, "lower") + _samples(recording, "upper"))
    recorder.add_items([Event("calibration-rep", 30.0, 36.0)])
    recorder.add_results(result.reps[:2], result.cues[:3])  # what was live so far
    with Session(engine) as db:
        live.commit_batch(db, recorder, recorder.take())
    with Session(engine) as db:
        assert db.scalar(select(func.count()).select_from(RepRecord)) == 2
    with Session(engine) as db:
        live.complete_live_session(db, session_id, result, summary_extra={"ended": "test"})
    with Session(engine) as db:
        record = db.get(SessionRecord, session_id)
        assert record is not None
        assert record.status == "completed"
        assert record.summary["ended"] == "test"
        assert record.summary["reps"] == 3
        assert [r.rep_index for r in record.reps] == [1, 2, 3]
        kinds = [e.kind for e in record.events]
        assert kinds.count("cue") == len(result.cues)
        assert kinds.count("annotation") == 1
        assert db.scalar(select(func.count()).select_from(SampleBlock)) == 0
        stored = repository.load_recording(db, session_id)
    assert stored.sensors["lower"].n_samples == recording.sensors["lower"].n_samples
    np.testing.assert_array_equal(
        stored.sensors["upper"].gyr_dps, recording.sensors["upper"].gyr_dps
    )


def test_live_corrupt_block_names_the_block(engine: Engine) -> None:
    recording = simulate("pelvic-tilt", seed=1, reps=1)
    session_id = _person_session(engine)
    recorder = live.LiveRecorder(session_id, rates_hz={"lower": 100.0})
    recorder.add_items(_samples(recording, "lower")[:20])
    with Session(engine) as db:
        live.commit_batch(db, recorder, recorder.take())
        block = db.scalars(select(SampleBlock)).one()
        block.data = block.data[:-5]
        db.commit()
    with Session(engine) as db, pytest.raises(InputFormatError, match="sample block 0"):
        live.stored_recording(db, session_id)
    assert _count(engine, EventRecord) == 0
