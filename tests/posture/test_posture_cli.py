"""``spinecoach posture`` and ``spinecoach validate posture``, and the docstring examples."""

from __future__ import annotations

import doctest
import importlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spinecoach.cli import app
from spinecoach.io import write_recording
from spinecoach.sim.day import simulate_day

runner = CliRunner()


@pytest.fixture(scope="module")
def day_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-hour simulated day at 10 Hz (the same kind of day, compressed in time)."""
    path = tmp_path_factory.mktemp("posture") / "day.screc"
    return write_recording(simulate_day(4, hours=2.0, rate_hz=10.0), path)


def test_posture_json_and_plot(day_file: Path, tmp_path: Path) -> None:
    png = tmp_path / "day.png"
    result = runner.invoke(app, ["posture", str(day_file), "--json", "--plot", str(png)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["trust"]["trusted"] is True
    assert summary["bouts"] >= 1 and summary["longest_bout"]["duration_s"] >= 60
    assert 0.0 <= summary["slouched_share_of_sitting"] <= 1.0
    assert set(summary["seconds_per_posture"]) >= {"sitting", "standing", "walking"}
    assert png.stat().st_size > 10_000


def test_posture_table(day_file: Path) -> None:
    result = runner.invoke(app, ["posture", str(day_file)])
    assert result.exit_code == 0, result.output
    assert "slouched share of sitting" in result.stdout


def test_validate_posture_json(day_file: Path) -> None:
    result = runner.invoke(app, ["validate", "posture", str(day_file), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["posture_accuracy"] >= 0.95
    assert report["bout_error_s"]["max"] <= 30.0
    assert abs(report["slouch_share_error_pp"]) <= 5.0


def test_validate_posture_needs_truth(day_file: Path, tmp_path: Path) -> None:
    from dataclasses import replace

    from spinecoach.io import read_recording

    bare = write_recording(replace(read_recording(day_file), truth=None), tmp_path / "b.screc")
    result = runner.invoke(app, ["validate", "posture", str(bare), "--json"])
    assert result.exit_code == 2
    assert "has no ground truth; posture validation needs a simulated day" in result.output


def test_posture_on_a_missing_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["posture", str(tmp_path / "none.screc")])
    assert result.exit_code == 2


@pytest.mark.parametrize(
    "name",
    [
        "spinecoach.posture.features",
        "spinecoach.posture.alignment",
        "spinecoach.posture.tracker",
        "spinecoach.posture.batch",
    ],
)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0


def test_posture_labels_csv_of_a_belt_sensor(tmp_path: Path) -> None:
    """Issue 13: ``--labels`` writes the per-second labels of a turned belt sensor (no
    calibration annotations: up and forward learnt), matching the truth."""
    from dataclasses import replace

    import numpy as np

    from spinecoach.posture.validation import _truth_seconds
    from spinecoach.sim.activities import BeltWear

    rec = simulate_day(6, hours=2.0, rate_hz=25.0, wear=BeltWear(turn_deg=90.0), bends=True)
    rec = replace(rec, events=())
    path = write_recording(rec, tmp_path / "belt.screc")
    out = tmp_path / "labels.csv"
    result = runner.invoke(app, ["posture", str(path), "--labels", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["labels"] == str(out)
    lines = out.read_text().splitlines()
    assert lines[0] == "time_s,label,trusted"
    rows = [line.split(",") for line in lines[1:]]
    assert len(rows) == 2 * 3600 + 1
    time_s = np.array([float(r[0]) for r in rows])
    assert np.array_equal(time_s, np.arange(time_s.size))
    coarse = {"sitting-upright": "sitting", "sitting-slouched": "sitting"}
    detected = np.array([coarse.get(r[1], r[1]) for r in rows])
    assert rec.truth is not None
    truth, _ = _truth_seconds(rec.truth, time_s)
    compared = np.isin(truth, ["sitting", "standing", "walking", "lying"])
    assert float(np.mean(detected[compared] == truth[compared])) >= 0.9
    assert all(r[2] == "1" for r in rows[: len(rows) - 1])


def test_posture_labels_to_an_unwritable_path(day_file: Path, tmp_path: Path) -> None:
    target = tmp_path / "missing-folder" / "labels.csv"
    result = runner.invoke(app, ["posture", str(day_file), "--labels", str(target)])
    assert result.exit_code != 0
    assert "cannot write the labels" in result.output
