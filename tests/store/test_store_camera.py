"""Camera sessions stored like the others (``angle_blocks``, on SQLite and on a real
PostgreSQL server): angle frames round-trip bit-exactly through the live commits (NaN and
flags included), a camera session completes without a recording and keeps its frames,
the export writes them as a table and as one file per session, a corrupt block is named,
and migration 0006 goes down and up."""

from __future__ import annotations

import csv
import doctest
import itertools
import json
import math
from importlib import resources
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.orm import Session

from spinecoach.camera.angles import camera_angles
from spinecoach.camera.engine_map import camera_session_angles
from spinecoach.camera.synthetic import FPS, rep_profile, side_skeleton
from spinecoach.conventions import ANGLE_COLUMNS, PELVIC_TILT_DEG
from spinecoach.errors import ConfigurationError, InputFormatError
from spinecoach.exercises.engine import detect_exercise
from spinecoach.motion.flags import FLAG_NOT_CALIBRATED
from spinecoach.motion.process import AngleFrames
from spinecoach.store import live, repository
from spinecoach.store.db import current_revision, make_engine, migrations_path, upgrade
from spinecoach.store.export import angles_filename, export_database
from spinecoach.store.models import AngleBlock, RecordingBlob, SampleBlock, SessionRecord


def hip_hinge_frames(reps: int = 3, peak_deg: float = 30.0) -> AngleFrames:
    """A camera hip-hinge session's angle frames (what the engine is fed live)."""
    t = np.arange(0.0, 4.0 + reps * 10.0 + 2.0, 1.0 / FPS)
    angles, _ = camera_angles(side_skeleton(rep_profile(t, reps, peak_deg), seated=True))
    frames, _info = camera_session_angles(angles, "hip-hinge")
    return frames


def as_matrix(frames: AngleFrames) -> np.ndarray:
    return np.stack([frames.angles[name] for name in ANGLE_COLUMNS], axis=1)


def random_frames(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Times, angles with NaN (and an odd NaN payload, -0.0, huge and tiny values) and
    every flag value."""
    rng = np.random.default_rng(seed)
    time_s = np.cumsum(rng.uniform(0.02, 0.05, n)) + 0.1 * seed
    angles = rng.normal(0.0, 40.0, (n, len(ANGLE_COLUMNS)))
    angles[rng.random(angles.shape) < 0.2] = np.nan
    angles[:, 4] = np.nan  # a column the camera never sees
    angles[0, 0] = -0.0
    angles[1, 1] = 1e-300
    angles[2, 2] = -1.7976931348623157e308
    angles[3, 3] = np.frombuffer(np.uint64(0x7FF8_0000_0000_BEEF).tobytes(), np.float64)[0]
    flags = rng.integers(0, 256, n).astype(np.uint8)
    flags[:2] = (0, 255)
    return time_s, angles, flags


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def camera_session(engine: Engine, technique: str = "hip-hinge") -> int:
    with Session(engine) as db:
        person = repository.create_person(db, "Ada")
        record = live.start_live_session(
            db, person.id, technique, source="camera", live_config={"placements": ["camera"]}
        )
        return record.id


def count(engine: Engine, model: type[AngleBlock | SampleBlock | RecordingBlob]) -> int:
    with Session(engine) as db:
        return int(db.scalar(select(func.count()).select_from(model)) or 0)


def commit(engine: Engine, recorder: live.LiveRecorder) -> None:
    with Session(engine) as db:
        live.commit_batch(db, recorder, recorder.take())


def stored(engine: Engine, session_id: int) -> AngleFrames | None:
    with Session(engine) as db:
        return live.stored_angle_frames(db, session_id)


# Round trip ----------------------------------------------------------------------------------
def test_camera_frames_round_trip_bit_exact_in_several_commits(engine: Engine) -> None:
    session_id = camera_session(engine)
    recorder = live.LiveRecorder(session_id)
    time_s, angles, flags = random_frames(400)
    commit(engine, recorder)  # a heartbeat before any frame writes no block
    assert stored(engine, session_id) is None
    for start, stop in ((0, 1), (1, 90), (90, 91), (91, 250), (250, 400)):
        # Two chunks per commit, as a camera pump adds them between two commits.
        middle = (start + stop) // 2
        for a, b in ((start, middle), (middle, stop)):
            recorder.add_angle_frames(time_s[a:b], angles[a:b], flags[a:b])
        commit(engine, recorder)
    commit(engine, recorder)  # empty: a heartbeat only
    assert count(engine, AngleBlock) == 5 and count(engine, SampleBlock) == 0
    assert recorder.next_angle_seq == 5 and recorder.frames_seen == 400

    frames = stored(engine, session_id)
    assert frames is not None and len(frames) == 400
    assert same_bits(frames.time_s, time_s)
    assert list(frames.angles) == list(ANGLE_COLUMNS)
    for j, name in enumerate(ANGLE_COLUMNS):
        assert same_bits(frames.angles[name], angles[:, j]), name
    assert same_bits(frames.flags, flags)
    assert frames.rate_hz == pytest.approx(1.0 / np.median(np.diff(time_s)))
    with Session(engine) as db:
        blocks = list(db.scalars(select(AngleBlock).order_by(AngleBlock.seq)))
        assert [b.seq for b in blocks] == [0, 1, 2, 3, 4]
        assert [b.n_frames for b in blocks] == [1, 89, 1, 159, 150]
        assert blocks[0].columns == ["time_s", *ANGLE_COLUMNS, "flags"]
        assert blocks[1].first_t_s == time_s[1] and blocks[1].last_t_s == time_s[89]


def test_camera_failed_commit_keeps_the_frames_for_the_next_attempt(engine: Engine) -> None:
    session_id = camera_session(engine)
    recorder = live.LiveRecorder(session_id)
    time_s, angles, flags = random_frames(60, seed=1)
    recorder.add_angle_frames(time_s[:30], angles[:30], flags[:30])
    failed = recorder.take()
    recorder.add_angle_frames(time_s[30:], angles[30:], flags[30:])
    recorder.give_back(failed)  # the commit of ``failed`` did not happen
    assert recorder.next_angle_seq == 0
    commit(engine, recorder)
    frames = stored(engine, session_id)
    assert frames is not None
    assert same_bits(frames.time_s, time_s) and same_bits(as_matrix(frames), angles)


def test_camera_add_angle_frames_refuses_bad_input() -> None:
    recorder = live.LiveRecorder(1)
    k = len(ANGLE_COLUMNS)
    t = np.array([0.0, 0.1, 0.2])
    ok = np.zeros((3, k))
    flags = np.zeros(3, np.uint8)
    with pytest.raises(ConfigurationError, match=r"time_s must be a 1-d array .* shape \(3, 1\)"):
        recorder.add_angle_frames(t[:, None], ok, flags)
    with pytest.raises(ConfigurationError, match=rf"angles must have shape \(3, {k}\): one row"):
        recorder.add_angle_frames(t, ok[:, :3], flags)
    with pytest.raises(ConfigurationError, match=r"flags must have shape \(3,\) like time_s"):
        recorder.add_angle_frames(t, ok, flags[:2])
    with pytest.raises(
        ConfigurationError, match=r"uint8 bit masks \(0-255\), got values from 0 to"
    ):
        recorder.add_angle_frames(t, ok, np.array([0, 1, 256]))
    with pytest.raises(ConfigurationError, match=r"uint8 bit masks \(0-255\), got dtype float64"):
        recorder.add_angle_frames(t, ok, np.zeros(3))
    with pytest.raises(ConfigurationError, match="finite and strictly increasing"):
        recorder.add_angle_frames(np.array([0.0, 0.2, 0.2]), ok, flags)
    with pytest.raises(ConfigurationError, match="finite and strictly increasing"):
        recorder.add_angle_frames(np.array([0.0, np.nan, 0.2]), ok, flags)
    recorder.add_angle_frames(t, ok, np.array([0, 1, 255]))  # any integer dtype 0-255
    recorder.add_angle_frames(np.empty(0), np.empty((0, k)), np.empty(0, np.uint8))
    with pytest.raises(ConfigurationError, match=r"go on after the frames added before: .* 0.2 s"):
        recorder.add_angle_frames(t + 0.2, ok, flags)
    assert recorder.frames_seen == 3
    assert sum(r.shape[0] for r in recorder.take().angle_rows) == 3


# Completing ------------------------------------------------------------------------------------
def test_camera_session_completes_without_a_recording_and_keeps_its_frames(
    engine: Engine,
) -> None:
    frames = hip_hinge_frames()
    result = detect_exercise(frames, "hip-hinge")
    assert len(result.reps) == 3
    session_id = camera_session(engine)
    recorder = live.LiveRecorder(session_id)
    matrix = as_matrix(frames)
    n = len(frames)
    bounds = np.linspace(0, n, 9).astype(int)
    for a, b in itertools.pairwise(bounds):
        recorder.add_angle_frames(frames.time_s[a:b], matrix[a:b], frames.flags[a:b])
        recorder.add_results(
            [r for r in result.reps if r.end_s <= frames.time_s[b - 1]], result.cues[:0]
        )
        commit(engine, recorder)
    with Session(engine) as db:
        live.complete_live_session(db, session_id, result, summary_extra={"camera": True})
    with Session(engine) as db:
        record = db.get(SessionRecord, session_id)
        assert record is not None
        assert record.status == "completed" and record.ended_utc is not None
        assert record.recording is None
        assert record.summary["reps"] == 3 and record.summary["camera"] is True
        loaded = repository.load_result(db, session_id)
        assert [r.peak_s for r in loaded.reps] == [r.peak_s for r in result.reps]
        assert live.stored_recording(db, session_id) is None
    assert count(engine, AngleBlock) == 8 and count(engine, RecordingBlob) == 0
    kept = stored(engine, session_id)
    assert kept is not None
    assert same_bits(kept.time_s, frames.time_s) and same_bits(kept.flags, frames.flags)
    assert same_bits(as_matrix(kept), matrix)
    assert np.all(np.isnan(kept["lumbar_flexion_deg"]))  # not seen without the mask
    assert kept.flags[0] & FLAG_NOT_CALIBRATED
    assert np.nanmax(kept[PELVIC_TILT_DEG]) == pytest.approx(30.0, abs=1.0)
    # A completed session refuses more frames, as it refuses samples.
    recorder.add_angle_frames(frames.time_s[-1:] + 1.0, matrix[-1:], frames.flags[-1:])
    with pytest.raises(ConfigurationError, match="was closed while it was still running"):
        commit(engine, recorder)


def test_session_with_neither_samples_nor_frames_completes(engine: Engine) -> None:
    with Session(engine) as db:
        person = repository.create_person(db, "Ada")
        session_id = live.start_live_session(
            db, person.id, "pelvic-tilt", source="external", live_config={}
        ).id
    recorder = live.LiveRecorder(session_id)
    commit(engine, recorder)
    empty = detect_exercise(
        AngleFrames(
            time_s=np.empty(0),
            angles={name: np.empty(0) for name in ANGLE_COLUMNS},
            flags=np.empty(0, np.uint8),
            rate_hz=100.0,
        ),
        "pelvic-tilt",
    )
    with Session(engine) as db:
        live.complete_live_session(db, session_id, empty)
    with Session(engine) as db:
        record = db.get(SessionRecord, session_id)
        assert record is not None and record.status == "completed"
        assert record.recording is None
        assert live.stored_angle_frames(db, session_id) is None
        assert live.stored_recording(db, session_id) is None
        with pytest.raises(ConfigurationError, match="no session with id 999"):
            live.stored_angle_frames(db, 999)


def test_deleting_a_camera_session_deletes_its_frames(engine: Engine) -> None:
    session_id = camera_session(engine)
    recorder = live.LiveRecorder(session_id)
    recorder.add_angle_frames(*random_frames(10))
    commit(engine, recorder)
    with Session(engine) as db:
        db.execute(text("DELETE FROM sessions WHERE id = :id"), {"id": session_id})
        db.commit()
    assert count(engine, AngleBlock) == 0


# Corrupt blocks -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ({"data": b"not zlib"}, r"or zlib.: the stored block is corrupt.*not a zlib stream"),
        (
            {"n_frames": 11},
            r"the block says 10 × 9 values, its row in the database 11 × 9",
        ),
        ({"columns": ["t", *ANGLE_COLUMNS, "flags"]}, "expected a list of distinct column"),
        ({"data": "flags"}, "expected flags that are whole numbers 0-255"),
    ],
)
def test_camera_corrupt_block_names_the_session_and_block(
    engine: Engine, damage: dict[str, object], message: str
) -> None:
    session_id = camera_session(engine)
    recorder = live.LiveRecorder(session_id)
    time_s, angles, flags = random_frames(20)
    recorder.add_angle_frames(time_s[:10], angles[:10], flags[:10])
    commit(engine, recorder)
    recorder.add_angle_frames(time_s[10:], angles[10:], flags[10:])
    commit(engine, recorder)
    with Session(engine) as db:
        block = db.scalars(select(AngleBlock).where(AngleBlock.seq == 1)).one()
        for name, value in damage.items():
            if value == "flags":
                rows = live.decode_angle_block(block).copy()
                rows[3, -1] = 2.5
                block.data = live.encode_angle_rows(rows)
            else:
                setattr(block, name, value)
        db.commit()
    with pytest.raises(InputFormatError, match=f"angle block 1 of session {session_id}: ") as err:
        stored(engine, session_id)
    assert err.match(message)
    assert err.match(r"cannot be recovered; delete the block \(angle_blocks row id \d+\)")


# Export -------------------------------------------------------------------------------------------
def test_camera_export_writes_the_frames(engine: Engine, url: str, tmp_path: Path) -> None:
    session_id = camera_session(engine)
    recorder = live.LiveRecorder(session_id)
    time_s, angles, flags = random_frames(120, seed=3)
    for a, b in ((0, 50), (50, 120)):
        recorder.add_angle_frames(time_s[a:b], angles[a:b], flags[a:b])
        commit(engine, recorder)
    with Session(engine) as db:
        person_id = db.get_one(SessionRecord, session_id).person_id
        other = live.start_live_session(db, person_id, "hip-hinge", source="camera", live_config={})
        other_id = other.id  # a camera session that saw nothing yet: no angles file
    summary = export_database(url, tmp_path / "export")
    out = tmp_path / "export"
    assert summary.angle_frames == (session_id,)
    assert summary.rows["angle_blocks"] == 2
    assert set(summary.sessions_without_recording) == {session_id, other_id}
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    (entry,) = manifest["angle_frames"]["files"]
    assert entry == {
        "session_id": session_id,
        "files": [angles_filename(session_id, "csv"), angles_filename(session_id, "parquet")],
        "frames": 120,
        "columns": ["time_s", *ANGLE_COLUMNS, "flags"],
    }
    assert set(entry["files"]) <= set(manifest["files"])

    with (out / angles_filename(session_id)).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["time_s", *ANGLE_COLUMNS, "flags"]
    table = np.array([[math.nan if c == "" else float(c) for c in row] for row in rows[1:]])
    np.testing.assert_array_equal(table[:, 0], time_s)  # bit-exact text, NaN where unseen
    np.testing.assert_array_equal(table[:, 1:-1], angles)
    assert np.array_equal(np.isnan(table[:, 1:-1]), np.isnan(angles))
    assert [int(row[-1]) for row in rows[1:]] == flags.tolist()

    parquet = pq.read_table(out / angles_filename(session_id, "parquet"))
    assert parquet.column_names == ["time_s", *ANGLE_COLUMNS, "flags"]
    assert same_bits(parquet.column("time_s").to_numpy(), time_s)
    for j, name in enumerate(ANGLE_COLUMNS):
        values = parquet.column(name).to_numpy()
        np.testing.assert_array_equal(values, angles[:, j])
    assert same_bits(parquet.column("flags").to_numpy(), flags)
    assert parquet.schema.metadata[b"spinecoach.angles_of_session"] == str(session_id).encode()

    # The blocks are a table like any other.
    with (out / "angle_blocks.csv").open(encoding="utf-8", newline="") as handle:
        blocks = list(csv.DictReader(handle))
    assert [int(b["seq"]) for b in blocks] == [0, 1]
    assert json.loads(blocks[0]["columns"]) == ["time_s", *ANGLE_COLUMNS, "flags"]


def test_camera_export_stops_on_a_corrupt_block(engine: Engine, url: str, tmp_path: Path) -> None:
    session_id = camera_session(engine)
    recorder = live.LiveRecorder(session_id)
    recorder.add_angle_frames(*random_frames(10))
    commit(engine, recorder)
    with Session(engine) as db:
        db.scalars(select(AngleBlock)).one().data = b"junk"
        db.commit()
    with pytest.raises(InputFormatError, match=f"angle block 0 of session {session_id}"):
        export_database(url, tmp_path / "export", formats="csv")
    assert [p.name for p in tmp_path.iterdir() if "export" in p.name] == []  # nothing left


# Migration 0006 -----------------------------------------------------------------------------------
def _downgrade(url: str, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    engine = make_engine(url)
    try:
        with resources.as_file(migrations_path()) as location, engine.connect() as connection:
            config = Config()
            config.set_main_option("script_location", str(location))
            config.attributes["connection"] = connection
            command.downgrade(config, revision)
            connection.commit()
    finally:
        engine.dispose()


def test_migration_0006_down_and_up(url: str) -> None:
    engine = make_engine(url)
    try:
        session_id = camera_session(engine)
        recorder = live.LiveRecorder(session_id)
        recorder.add_angle_frames(*random_frames(10))
        commit(engine, recorder)
    finally:
        engine.dispose()
    _downgrade(url, "0005")
    assert current_revision(url) == "0005"
    engine = make_engine(url)
    try:
        assert "angle_blocks" not in inspect(engine).get_table_names()
        with Session(engine) as db:  # the session itself stays
            assert db.scalar(select(func.count()).select_from(SessionRecord)) == 1
    finally:
        engine.dispose()
    upgrade(url)
    assert current_revision(url) == "0009"
    engine = make_engine(url)
    try:
        assert count(engine, AngleBlock) == 0
        assert stored(engine, session_id) is None
    finally:
        engine.dispose()


def test_camera_live_docstring_examples() -> None:
    result = doctest.testmod(live)
    assert result.failed == 0 and result.attempted > 0
