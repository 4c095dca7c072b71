"""Store round trips, validation, atomicity and concurrency on SQLite and PostgreSQL."""

from __future__ import annotations

import math
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, func, inspect, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from spinecoach.errors import ConfigurationError, InputFormatError
from spinecoach.exercises.model import Cue, Discarded, ExerciseResult, Fault, Rep, SetSummary
from spinecoach.recording import Event, GroundTruth, Recording, SensorData
from spinecoach.store import db as store_db
from spinecoach.store import repository as repo
from spinecoach.store.db import current_revision, database_url, make_engine, upgrade
from spinecoach.store.models import (
    Base,
    EventRecord,
    ExerciseSet,
    PainEntry,
    Person,
    RecordingBlob,
    RepRecord,
    SessionRecord,
)
from spinecoach.store.pgserver import find_postgres_bindir

TABLES = {
    "people",
    "users",
    "care_assignments",
    "login_sessions",
    "device_tokens",
    "audit_log",
    "sessions",
    "exercise_sets",
    "reps",
    "events",
    "pain_entries",
    "recording_blobs",
    "sample_blocks",
    "angle_blocks",
    "program_enrolments",
    "red_flag_screenings",
    "psfs_entries",
    "medication_entries",
    "program_decisions",
    "program_clearances",
    "kept_calibrations",
    "posture_minutes",
    "sitting_bouts",
    "desk_break_prompts",
    "posture_settings",
}
T0 = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)


def make_rep(index: int, *, quality: int = 90, set_index: int = 0) -> Rep:
    fault = Fault(
        name="hold_too_short",
        value=1.25,
        threshold=2.0,
        unit="s",
        reason="held 1.25 s, needs 2 s",
        cue="Hold a little longer",
    )
    return Rep(
        technique="pelvic-tilt",
        index=index,
        set_index=set_index,
        start_s=10.0 * index + 0.1,
        peak_s=10.0 * index + 2.3,
        end_s=10.0 * index + 6.7,
        range_deg=12.345678901234,
        hold_s=1.25,
        hold_start_s=10.0 * index + 2.0,
        hold_end_s=10.0 * index + 3.25,
        move_s=2.2,
        return_s=3.4 if index < 2 else float("nan"),  # a breath-led rep has no return phase
        quality=quality,
        reasons=("short hold",) if index % 2 else (),
        faults=(fault,) if index % 2 else (),
        measures=MappingProxyType({"hold_s": 1.25, "range_deg": 12.345678901234, "lag_s": 0.1}),
        extension_range_deg=-3.5 if index == 0 else float("nan"),
    )


def make_result(*, last_quality: int = 80) -> ExerciseResult:
    reps = (make_rep(0), make_rep(1), make_rep(2, quality=last_quality, set_index=1))
    return ExerciseResult(
        technique="pelvic-tilt",
        reps=reps,
        sets=(SetSummary(0, 0.1, 16.7, 2), SetSummary(1, 20.1, 26.7, 1)),
        cues=(
            Cue(time_s=13.0, key="hold_longer", text="Hold a little longer", reason="hold 1.25 s"),
            Cue(time_s=25.0, key="good", text="Good", reason="all checks passed"),
        ),
        discarded=(Discarded(start_s=30.0, end_s=31.0, reason="too short"),),
        info=MappingProxyType({"rate_hz": np.float64(100.0), "baseline_deg": float("nan")}),
    )


def same_rep(a: Rep, b: Rep) -> bool:
    def eq(x: float, y: float) -> bool:
        return x == y or (math.isnan(x) and math.isnan(y))

    maybe_nan = {"extension_hold_s", "extension_range_deg", "return_s"}
    plain = [f for f in a.__dataclass_fields__ if f not in maybe_nan]
    return all(getattr(a, f) == getattr(b, f) for f in plain) and all(
        eq(getattr(a, f), getattr(b, f)) for f in maybe_nan
    )


def make_recording() -> Recording:
    rng = np.random.default_rng(4)
    n = 500
    t = np.arange(n) / 100.0
    sensors = {
        p: SensorData.from_arrays(
            p, t, rng.normal(size=(n, 3)), rng.normal(size=(n, 3)), rate_hz=100.0, device="sim"
        )
        for p in ("lower", "upper")
    }
    truth = GroundTruth.create(t, {"lumbar_flexion_deg": np.sin(t)})
    return Recording.create(
        sensors,
        start_utc=T0,
        events=(Event("calibration", 0.0, 1.0, label="rest"),),
        meta={"subject": "s1"},
        truth=truth,
    )


def count(engine: Engine, model: type[Base]) -> int:
    with Session(engine) as db:
        return int(db.scalar(select(func.count()).select_from(model)) or 0)


# Schema -------------------------------------------------------------------------------------
def test_store_migrations_create_exactly_the_model_schema(empty_url: str) -> None:
    assert current_revision(empty_url) is None
    upgrade(empty_url)
    upgrade(empty_url)  # idempotent: a second start-up changes nothing
    assert current_revision(empty_url) == "0009"
    engine = make_engine(empty_url)
    try:
        assert set(inspect(engine).get_table_names()) == TABLES | {"alembic_version"}
        indexes = {ix["name"] for ix in inspect(engine).get_indexes("sessions")}
        assert "ix_sessions_person_id_started_utc" in indexes
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert diff == []
    finally:
        engine.dispose()


def test_store_sqlite_engine_turns_on_foreign_keys_and_wal(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'sub' / 'x.sqlite3'}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        engine.dispose()


def test_store_database_url_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(store_db.ENV_VARIABLE, "sqlite:///from-env.sqlite3")
    assert database_url("sqlite:///explicit.sqlite3") == "sqlite:///explicit.sqlite3"
    assert database_url(None) == "sqlite:///from-env.sqlite3"
    monkeypatch.delenv(store_db.ENV_VARIABLE)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    url = database_url(None)
    assert url == f"sqlite:///{tmp_path / 'data' / 'spinecoach' / 'spinecoach.sqlite3'}"
    assert (tmp_path / "data" / "spinecoach").is_dir()


def test_store_bad_url_names_the_url() -> None:
    with pytest.raises(ConfigurationError, match="database URL 'not a url' is not valid"):
        make_engine("not a url")


def test_store_missing_postgres_binaries_name_the_package(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"apt-get install -y postgresql"):
        find_postgres_bindir(str(tmp_path / "*" / "bin"))


# Round trips --------------------------------------------------------------------------------
def test_store_result_round_trip(engine: Engine) -> None:
    result = make_result()
    with Session(engine) as db:
        person = repo.create_person(db, "  Ada  ")
        other = repo.create_person(db, "Grace")
        first = repo.start_session(db, person.id, "pelvic-tilt", started_utc=T0)
        second = repo.start_session(db, person.id, "cat-cow", started_utc=T0 + timedelta(days=1))
        repo.start_session(db, other.id, "pelvic-tilt", started_utc=T0)
        repo.save_result(db, first.id, result, ended_utc=T0 + timedelta(minutes=5))
        person_id, first_id, second_id = person.id, first.id, second.id

    with Session(engine) as db:
        assert db.get(Person, person_id).display_name == "Ada"  # type: ignore[union-attr]
        assert [s.id for s in repo.list_sessions(db, person_id)] == [second_id, first_id]
        stored = db.get(SessionRecord, first_id)
        assert stored is not None
        assert stored.status == "completed"
        assert stored.started_utc == T0 and stored.started_utc.tzinfo is not None
        assert stored.ended_utc == T0 + timedelta(minutes=5)
        assert stored.summary == {
            "technique": "pelvic-tilt",
            "reps": 3,
            "sets": 2,
            "cues": 2,
            "discarded": 1,
            "info": {"rate_hz": 100.0, "baseline_deg": None},
        }
        assert stored.reps[1].fault_names == ["hold_too_short"]
        loaded = repo.load_result(db, first_id)
    assert len(loaded.reps) == 3
    assert all(same_rep(a, b) for a, b in zip(result.reps, loaded.reps, strict=True))
    assert loaded.reps[1].faults == result.reps[1].faults
    assert loaded.sets == result.sets
    assert loaded.cues == result.cues
    assert loaded.discarded == result.discarded


def test_store_result_validation(engine: Engine) -> None:
    with Session(engine) as db:
        person = repo.create_person(db, "Ada")
        record = repo.start_session(db, person.id, "cat-cow")
        with pytest.raises(ConfigurationError, match="is a 'cat-cow' session but the result"):
            repo.save_result(db, record.id, make_result())
        with pytest.raises(ConfigurationError, match="no session with id 999"):
            repo.save_result(db, 999, make_result())
        with pytest.raises(ConfigurationError, match="no person with id 999"):
            repo.start_session(db, 999, "cat-cow")
        with pytest.raises(ConfigurationError, match="timezone-aware"):
            repo.start_session(db, person.id, "cat-cow", started_utc=datetime(2026, 1, 1))
        pelvic = repo.start_session(db, person.id, "pelvic-tilt")
        repo.save_result(db, pelvic.id, make_result())
        with pytest.raises(ConfigurationError, match="already has a saved result"):
            repo.save_result(db, pelvic.id, make_result())


def test_store_failed_save_leaves_database_unchanged(engine: Engine) -> None:
    with Session(engine) as db:
        person = repo.create_person(db, "Ada")
        session_id = repo.start_session(db, person.id, "pelvic-tilt").id
    bad = make_result(last_quality=150)  # the third rep breaks the quality CHECK
    with Session(engine) as db, pytest.raises(IntegrityError, match="quality"):
        repo.save_result(db, session_id, bad)
    for model in (ExerciseSet, RepRecord, EventRecord):
        assert count(engine, model) == 0
    with Session(engine) as db:
        stored = db.get(SessionRecord, session_id)
        assert stored is not None
        assert (stored.status, stored.ended_utc, stored.summary) == ("active", None, {})
        # ... and the session is still usable afterwards.
        repo.save_result(db, session_id, make_result())
    assert count(engine, RepRecord) == 3


def test_store_failure_inside_caller_transaction_rolls_back_only_its_savepoint(
    engine: Engine,
) -> None:
    with Session(engine) as db, db.begin():
        person = repo.create_person(db, "Ada")
        session_id = repo.start_session(db, person.id, "pelvic-tilt").id
        with pytest.raises(IntegrityError):
            repo.save_result(db, session_id, make_result(last_quality=-1))
        repo.add_pain(db, person.id, 20, "before", session_id=session_id)
    assert count(engine, SessionRecord) == 1
    assert count(engine, PainEntry) == 1
    assert count(engine, RepRecord) == 0


# Pain -----------------------------------------------------------------------------------------
def test_store_pain_vas_bounds(engine: Engine) -> None:
    with Session(engine) as db:
        person = repo.create_person(db, "Ada")
        session_id = repo.start_session(db, person.id, "pelvic-tilt").id
        low = repo.add_pain(db, person.id, 0, "morning")
        high = repo.add_pain(db, person.id, 100.0, "after", session_id=session_id)
        assert (low.vas_mm, high.vas_mm, high.session_id) == (0.0, 100.0, session_id)
        for bad in (-0.5, 100.5, float("nan"), True):
            with pytest.raises(ConfigurationError) as caught:
                repo.add_pain(db, person.id, bad, "before")
            assert f"vas_mm={bad!r} is outside the visual analogue scale" in str(caught.value)
            assert "from 0 to 100 mm" in str(caught.value)
        with pytest.raises(ConfigurationError, match="pain context 'noon' is unknown"):
            repo.add_pain(db, person.id, 10, "noon")
        person_id = person.id
    assert count(engine, PainEntry) == 2
    # The database refuses out-of-range values even when Python validation is bypassed.
    for column, value in (("vas_mm", 101.0), ("vas_mm", -1.0), ("context", "noon")):
        row = {"vas_mm": 50.0, "context": "before", column: value}
        with Session(engine) as db, pytest.raises(IntegrityError, match=column), db.begin():
            db.add(PainEntry(person_id=person_id, recorded_utc=T0, **row))
    assert count(engine, PainEntry) == 2


# Recordings -------------------------------------------------------------------------------
@pytest.mark.parametrize("compression", ["zlib", "lzma"])
def test_store_recording_round_trip_is_bit_exact(engine: Engine, compression: str) -> None:
    recording = make_recording()
    with Session(engine) as db:
        person = repo.create_person(db, "Ada")
        session_id = repo.start_session(db, person.id, "pelvic-tilt").id
        blob = repo.attach_recording(db, session_id, recording, compression=compression)
        assert blob.size_bytes == len(repo.recording_to_bytes(recording))
        assert len(blob.data) < blob.size_bytes
        repo.attach_recording(db, session_id, recording, compression=compression)  # replaces
    assert count(engine, RecordingBlob) == 1
    with Session(engine) as db:
        assert repo.load_recording(db, session_id).equals(recording)


def test_store_corrupt_recording_is_reported(engine: Engine) -> None:
    with Session(engine) as db:
        person = repo.create_person(db, "Ada")
        session_id = repo.start_session(db, person.id, "pelvic-tilt").id
        blob = repo.attach_recording(db, session_id, make_recording(), compression="lzma")
        good = blob.data
        with pytest.raises(ConfigurationError, match="compression 'gzip' is unknown"):
            repo.attach_recording(db, session_id, make_recording(), compression="gzip")
        other = repo.start_session(db, person.id, "pelvic-tilt").id
        with pytest.raises(ConfigurationError, match=f"session {other} has no stored recording"):
            repo.load_recording(db, other)

    # A wrong checksum (for example a flipped bit that still decompresses).
    with Session(engine) as db, db.begin():
        db.execute(update(RecordingBlob).values(sha256="0" * 64))
    with Session(engine) as db, pytest.raises(InputFormatError) as caught:
        repo.load_recording(db, session_id)
    message = str(caught.value)
    assert f"recording of session {session_id} in the database" in message
    assert "the stored recording is corrupt" in message
    assert "attach the recording again" in message

    # Damaged compressed bytes.
    with Session(engine) as db, db.begin():
        db.execute(update(RecordingBlob).values(data=good[:100] + b"\x00" * 50))
    with (
        Session(engine) as db,
        pytest.raises(InputFormatError, match="stored recording is corrupt"),
    ):
        repo.load_recording(db, session_id)


# Several processes ------------------------------------------------------------------------------
def test_store_two_engines_interleave_writes(url: str) -> None:
    engines = [make_engine(url), make_engine(url)]
    try:
        with Session(engines[0]) as db:
            person_id = repo.create_person(db, "Ada").id
        dbs = [Session(e) for e in engines]
        # Interleave: both hold open transactions in turn, committing one after the other.
        for i in range(5):
            for k, db in enumerate(dbs):
                record = repo.start_session(db, person_id, "pelvic-tilt")
                repo.add_pain(db, person_id, 10 * k + i, "before", session_id=record.id)
        for db in dbs:
            db.close()

        errors: list[BaseException] = []

        def writer(engine: Engine, offset: int) -> None:
            try:
                for i in range(15):
                    with Session(engine) as db:
                        record = repo.start_session(db, person_id, "pelvic-tilt")
                        result = make_result()
                        repo.save_result(db, record.id, result)
                        repo.add_pain(db, person_id, offset + i, "after", session_id=record.id)
            except BaseException as exc:  # reported below, in the test thread
                errors.append(exc)

        threads = [threading.Thread(target=writer, args=(e, 50 * k)) for k, e in enumerate(engines)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
    finally:
        for engine in engines:
            engine.dispose()

    check = make_engine(url)
    try:
        assert count(check, SessionRecord) == 10 + 30
        assert count(check, PainEntry) == 10 + 30
        assert count(check, RepRecord) == 30 * 3
        with Session(check) as db:
            per_session = db.execute(
                select(RepRecord.session_id, func.count()).group_by(RepRecord.session_id)
            ).all()
            assert sorted({n for _, n in per_session}) == [3]
            if check.dialect.name == "sqlite":
                assert db.execute(text("PRAGMA integrity_check")).scalar() == "ok"
                assert db.execute(text("PRAGMA foreign_key_check")).all() == []
    finally:
        check.dispose()


def test_store_two_processes_migrate_at_once(empty_url: str) -> None:
    # Real processes: Alembic's migration context is process-global, so threads would
    # not show what two servers starting together do.
    code = "import sys; from spinecoach.store.db import upgrade; upgrade(sys.argv[1])"
    children = [
        subprocess.Popen(
            [sys.executable, "-c", code, empty_url], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(2)
    ]
    outputs = [child.communicate(timeout=60) for child in children]
    assert [child.returncode for child in children] == [0, 0], outputs
    assert current_revision(empty_url) == "0009"
