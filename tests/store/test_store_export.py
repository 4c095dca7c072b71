"""``spinecoach export``: tables to CSV and Parquet, recordings bit-exact, a manifest
with checksums, person filtering, refusals and atomicity, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import csv
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, Table, select, text, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from spinecoach import __version__
from spinecoach.cli import app
from spinecoach.errors import ConfigurationError, InputFormatError
from spinecoach.exercises.engine import detect_exercise
from spinecoach.exercises.model import ExerciseResult
from spinecoach.io.native import read_recording
from spinecoach.motion import MotionSettings, motion_process
from spinecoach.recording import Recording
from spinecoach.sim import simulate
from spinecoach.sim.techniques import TECHNIQUE_POSITIONS
from spinecoach.store import repository as repo
from spinecoach.store.db import upgrade
from spinecoach.store.export import export_database, head_revision, recording_filename
from spinecoach.store.models import ACCOUNT_TABLES, Base, RecordingBlob

T0 = datetime(2026, 3, 1, 8, 30, 15, 250_000, tzinfo=UTC)
runner = CliRunner()


@dataclass(frozen=True)
class Session1:
    recording: Recording
    result: ExerciseResult


@pytest.fixture(scope="module")
def real() -> Session1:
    """A simulated pelvic-tilt session and the exercise engine's result for it."""
    recording = simulate("pelvic-tilt", seed=5, reps=2, sets=1)
    position = recording.meta.get("position") or TECHNIQUE_POSITIONS["pelvic-tilt"]
    frames, info = motion_process(recording, MotionSettings(position=position))
    result = detect_exercise(
        frames,
        "pelvic-tilt",
        annotations=recording.events,
        calibrated_position=info["position"],
    )
    assert result.reps, "the simulated session should have reps"
    return Session1(recording, result)


@dataclass(frozen=True)
class Ids:
    ada: int
    grace: int
    done: int  # Ada's completed session, with a zlib recording
    open: int  # Ada's active session, no recording
    other: int  # Grace's completed session, with an lzma recording


def populate(engine: Engine, real: Session1) -> Ids:
    with Session(engine) as db:
        ada = repo.create_person(db, "Ada «Lovelace»")  # non-ASCII survives UTF-8
        grace = repo.create_person(db, 'Grace, "Amazing"')  # CSV quoting
        done = repo.start_session(db, ada.id, "pelvic-tilt", started_utc=T0)
        repo.add_pain(db, ada.id, 30, "before", session_id=done.id, recorded_utc=T0)
        repo.attach_recording(db, done.id, real.recording)
        repo.save_result(db, done.id, real.result, ended_utc=T0 + timedelta(minutes=4))
        repo.add_pain(db, ada.id, 12.5, "after", session_id=done.id, recorded_utc=T0)
        repo.add_pain(db, ada.id, 40, "morning", recorded_utc=T0 - timedelta(hours=2))
        still_open = repo.start_session(db, ada.id, "cat-cow", started_utc=T0 + timedelta(days=1))
        other = repo.start_session(db, grace.id, "pelvic-tilt", started_utc=T0)
        repo.attach_recording(db, other.id, real.recording, compression="lzma")
        repo.save_result(db, other.id, real.result, ended_utc=T0 + timedelta(minutes=3))
        repo.add_pain(db, grace.id, 55, "before", session_id=other.id, recorded_utc=T0)
        return Ids(ada.id, grace.id, done.id, still_open.id, other.id)


def kind_of(table: Table, name: str) -> str:
    from spinecoach.store.export_formats import column_kind

    return column_kind(table.c[name])


def db_rows(engine: Engine, table: Table) -> list[dict[str, Any]]:
    columns = [
        c for c in table.columns if not (table.name == "recording_blobs" and c.name == "data")
    ]
    with engine.connect() as connection:
        query = select(*columns).order_by(*table.primary_key.columns)
        return [dict(row._mapping) for row in connection.execute(query)]


def parse_csv_cell(text: str, kind: str, nullable: bool) -> Any:
    if text == "" and (nullable or kind != "str"):
        return None
    if kind == "int":
        return int(text)
    if kind == "float":
        return float(text)
    if kind == "datetime":
        value = datetime.fromisoformat(text)
        assert value.utcoffset() == timedelta(0), text
        return value
    if kind == "json":
        return json.loads(text)
    if kind == "bytes":
        return base64.b64decode(text)
    return text


def read_csv(path: Path, table: Table) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            {
                name: parse_csv_cell(text, kind_of(table, name), bool(table.c[name].nullable))
                for name, text in row.items()
            }
            for row in csv.DictReader(handle)
        ]


def read_parquet(path: Path, table: Table) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = pq.read_table(path).to_pylist()
    for row in rows:
        for name in row:
            if kind_of(table, name) == "json" and row[name] is not None:
                row[name] = json.loads(row[name])
    return rows


def check_export_matches(engine: Engine, out: Path, formats: tuple[str, ...]) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    for name in ACCOUNT_TABLES:  # password and token hashes are not exported
        assert name not in manifest["tables"] and not list(out.glob(f"{name}.*"))
    for table in Base.metadata.sorted_tables:
        if table.name in ACCOUNT_TABLES:
            continue
        expected = db_rows(engine, table)
        assert manifest["tables"][table.name]["rows"] == len(expected)
        if "csv" in formats:
            assert read_csv(out / f"{table.name}.csv", table) == expected, table.name
        else:
            assert not (out / f"{table.name}.csv").exists()
        if "parquet" in formats:
            assert read_parquet(out / f"{table.name}.parquet", table) == expected, table.name
        else:
            assert not (out / f"{table.name}.parquet").exists()
    # Every file is listed with its checksum, and nothing else is in the folder.
    written = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {
        "manifest.json"
    }
    assert set(manifest["files"]) == written
    for name, entry in manifest["files"].items():
        data = (out / name).read_bytes()
        assert entry == {"sha256": hashlib.sha256(data).hexdigest(), "size_bytes": len(data)}
    return manifest


# Round trip -----------------------------------------------------------------------------------
def test_store_export_round_trip(engine: Engine, url: str, tmp_path: Path, real: Session1) -> None:
    ids = populate(engine, real)
    before = {t.name: db_rows(engine, t) for t in Base.metadata.sorted_tables}
    out = tmp_path / "nested" / "export"
    summary = export_database(url, out)

    manifest = check_export_matches(engine, out, ("csv", "parquet"))
    assert manifest["format"] == "spinecoach-export"
    assert manifest["spinecoach_version"] == __version__
    assert manifest["schema_revision"] == head_revision() == summary.schema_revision
    assert datetime.fromisoformat(manifest["exported_utc"]).tzinfo is not None
    assert manifest["person_id"] is None
    assert manifest["formats"] == ["csv", "parquet"]
    assert manifest["database_backend"] == engine.dialect.name
    assert "password" not in json.dumps(manifest)
    assert manifest["recordings"]["sessions_without_recording"] == [ids.open]
    assert [r["session_id"] for r in manifest["recordings"]["files"]] == [ids.done, ids.other]
    assert summary.recordings == (ids.done, ids.other)
    assert summary.sessions_without_recording == (ids.open,)
    assert summary.rows["sessions"] == 3 and summary.rows["people"] == 2
    assert summary.rows["reps"] == 2 * len(real.result.reps)

    # Recordings: the native file, bit-exact with the stored one, reads back equal.
    with Session(engine) as db:
        stored = {s: repo.recording_file_bytes(db, s) for s in (ids.done, ids.other)}
        sha = {s: h for s, h in db.execute(select(RecordingBlob.session_id, RecordingBlob.sha256))}
    for session_id, raw in stored.items():
        path = out / recording_filename(session_id)
        assert path.read_bytes() == raw
        assert hashlib.sha256(raw).hexdigest() == sha[session_id]
        assert read_recording(path).equals(real.recording)
    assert not (out / recording_filename(ids.open)).exists()

    # Types: Parquet keeps them; times are UTC; JSON columns are marked.
    schema = pq.read_schema(out / "sessions.parquet")
    assert schema.field("started_utc").type == pa.timestamp("us", tz="UTC")
    assert schema.field("id").type == pa.int64()
    assert schema.field("summary").metadata == {b"spinecoach.type": b"json"}
    assert pq.read_schema(out / "reps.parquet").field("range_deg").type == pa.float64()
    assert "data" not in pq.read_schema(out / "recording_blobs.parquet").names
    with (out / "sessions.csv").open(encoding="utf-8") as handle:
        first = next(csv.DictReader(handle))
    assert first["started_utc"] == "2026-03-01T08:30:15.250000+00:00"

    # Read-only: the database is exactly as before, and nothing is left beside the export.
    assert {t.name: db_rows(engine, t) for t in Base.metadata.sorted_tables} == before
    assert sorted(p.name for p in (tmp_path / "nested").iterdir()) == ["export"]


def test_store_export_person_filter(
    engine: Engine, url: str, tmp_path: Path, real: Session1
) -> None:
    ids = populate(engine, real)
    out = tmp_path / "ada"
    summary = export_database(url, out, person_id=ids.ada, formats="csv")
    tables = Base.metadata.tables
    people = read_csv(out / "people.csv", tables["people"])
    assert [p["id"] for p in people] == [ids.ada]
    sessions = read_csv(out / "sessions.csv", tables["sessions"])
    assert [s["id"] for s in sessions] == [ids.done, ids.open]
    pain = read_csv(out / "pain_entries.csv", tables["pain_entries"])
    assert {p["person_id"] for p in pain} == {ids.ada} and len(pain) == 3
    for name in ("reps", "exercise_sets", "events", "recording_blobs"):
        rows = read_csv(out / f"{name}.csv", tables[name])
        assert {r["session_id"] for r in rows} <= {ids.done}, name
    assert summary.rows["reps"] == len(real.result.reps)
    assert summary.recordings == (ids.done,)
    assert sorted(p.name for p in (out / "recordings").iterdir()) == [f"session-{ids.done}.screc"]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["person_id"] == ids.ada and manifest["formats"] == ["csv"]
    assert not list(out.glob("*.parquet"))

    with pytest.raises(ConfigurationError, match="no person with id 999; nothing to export"):
        export_database(url, tmp_path / "nobody", person_id=999)
    assert not (tmp_path / "nobody").exists()


# Refusals and atomicity -----------------------------------------------------------------------
def test_store_export_refuses_a_non_empty_folder(
    engine: Engine, url: str, tmp_path: Path, real: Session1
) -> None:
    populate(engine, real)
    tmp_path = tmp_path / "exports"  # the SQLite file lives in the fixture's tmp_path
    tmp_path.mkdir()
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(ConfigurationError) as caught:
        export_database(url, busy)
    assert f"--out {busy} is not empty; choose a new folder, or pass --force" in str(caught.value)
    with pytest.raises(ConfigurationError, match="is not a spinecoach export"):
        export_database(url, busy, force=True)  # --force never deletes someone's folder
    assert [p.name for p in busy.iterdir()] == ["notes.txt"]
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(ConfigurationError, match="is a file, not a folder"):
        export_database(url, a_file)

    empty = tmp_path / "empty"
    empty.mkdir()
    export_database(url, empty, formats="parquet")  # an empty folder is fine
    (empty / "extra.txt").write_text("left from last time")
    first = json.loads((empty / "manifest.json").read_text(encoding="utf-8"))["exported_utc"]
    export_database(url, empty, formats="csv", force=True)  # replaces the earlier export
    manifest = json.loads((empty / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["exported_utc"] > first and manifest["formats"] == ["csv"]
    assert not (empty / "extra.txt").exists() and not list(empty.glob("*.parquet"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["busy", "empty", "file"]

    with pytest.raises(ConfigurationError, match="format 'xlsx' is unknown; use one of csv"):
        export_database(url, tmp_path / "x", formats="xlsx")


def test_store_export_corrupt_recording_leaves_nothing(
    engine: Engine, url: str, tmp_path: Path, real: Session1
) -> None:
    ids = populate(engine, real)
    tmp_path = tmp_path / "exports"  # the SQLite file lives in the fixture's tmp_path
    tmp_path.mkdir()
    with Session(engine) as db, db.begin():
        db.execute(
            update(RecordingBlob)
            .where(RecordingBlob.session_id == ids.other)
            .values(sha256="0" * 64)
        )
    out = tmp_path / "deep" / "export"
    with pytest.raises(InputFormatError) as caught:
        export_database(url, out)
    assert f"recording of session {ids.other} in the database" in str(caught.value)
    assert "the stored recording is corrupt" in str(caught.value)
    assert list(tmp_path.iterdir()) == []  # no export, no partial folder, no new parents

    # --force keeps the earlier export when the new one fails.
    export_database(url, tmp_path / "kept", person_id=ids.ada)
    before = (tmp_path / "kept" / "manifest.json").read_bytes()
    with pytest.raises(InputFormatError):
        export_database(url, tmp_path / "kept", force=True)
    assert (tmp_path / "kept" / "manifest.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept"]


def test_store_export_needs_the_current_schema(empty_url: str, tmp_path: Path) -> None:
    upgrade(empty_url, "0002")
    with pytest.raises(ConfigurationError) as caught:
        export_database(empty_url, tmp_path / "out")
    assert "is at schema revision 0002, this spinecoach reads" in str(caught.value)
    assert "export never changes the database" in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_store_export_reads_in_a_transaction_that_cannot_write(url: str) -> None:
    from spinecoach.store.export_snapshot import read_only_snapshot

    with (
        pytest.raises(ConfigurationError, match="could not read the database") as caught,
        read_only_snapshot(url) as (connection, revision),
    ):
        assert revision == head_revision()
        connection.execute(text("DELETE FROM people"))
    message = str(caught.value).lower()
    assert "readonly" in message or "read-only" in message, message


def test_store_export_missing_sqlite_file_is_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "none.sqlite3"
    with pytest.raises(ConfigurationError, match=f"there is no database at {missing}"):
        export_database(f"sqlite:///{missing}", tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


# Command line -----------------------------------------------------------------------------------
def test_store_export_cli(engine: Engine, url: str, tmp_path: Path, real: Session1) -> None:
    ids = populate(engine, real)
    out = tmp_path / "cli"
    result = runner.invoke(app, ["export", "--database", url, "--out", str(out), "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert "2 recording(s); 1 session(s) without a stored recording" in result.output
    check_export_matches(engine, out, ("csv",))

    again = runner.invoke(app, ["export", "--database", url, "--out", str(out)])
    assert again.exit_code == 2
    assert "is not empty; choose a new folder, or pass --force" in again.output
    forced = runner.invoke(
        app, ["export", "--database", url, "--out", str(out), "--force", "--person", str(ids.grace)]
    )
    assert forced.exit_code == 0, forced.output
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8"))["person_id"] == ids.grace

    bad = runner.invoke(
        app, ["export", "--database", url, "--out", str(tmp_path / "b"), "--format", "xml"]
    )
    assert bad.exit_code == 2 and "format 'xml' is unknown" in bad.output
    assert not (tmp_path / "b").exists()


def test_store_export_docstring_examples() -> None:
    import doctest

    from spinecoach.store import export

    result = doctest.testmod(export, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


def test_store_export_formats_docstring_examples() -> None:
    """The file formats, moved out of export.py, keep a runnable example."""
    import doctest

    from spinecoach.store import export_formats

    result = doctest.testmod(export_formats, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


def test_store_export_interrupted_session_recording_from_live_blocks(
    engine: Engine, url: str, tmp_path: Path
) -> None:
    """A session whose server stopped has its samples only in live blocks; the export
    assembles them into the same native file."""
    from spinecoach.motion.stream import SensorSample
    from spinecoach.store import live

    recording = simulate("pelvic-tilt", seed=3, reps=1)
    with Session(engine) as db:
        person = repo.create_person(db, "Ada")
        record = live.start_live_session(
            db, person.id, "pelvic-tilt", source="sim", live_config={"position": "supine"}
        )
        session_id = record.id
    recorder = live.LiveRecorder(session_id, rates_hz={"lower": 100.0})
    lower = recording.sensors["lower"]
    recorder.add_items(
        [
            SensorSample("lower", float(t), lower.acc_mps2[i], lower.gyr_dps[i])
            for i, t in enumerate(lower.time_s[:1500])
        ]
    )
    with Session(engine) as db:
        live.commit_batch(db, recorder, recorder.take())
        expected = live.stored_recording(db, session_id)
    assert expected is not None
    summary = export_database(url, tmp_path / "export")
    assert summary.recordings == (session_id,)
    manifest = json.loads((tmp_path / "export" / "manifest.json").read_text())
    (entry,) = manifest["recordings"]["files"]
    assert entry["from_live_blocks"] is True
    exported = read_recording(tmp_path / "export" / recording_filename(session_id))
    assert exported.equals(expected)
    assert exported.sensors["lower"].n_samples == 1500
