"""The `spinecoach` command, run as a user would (a real subprocess) and in-process for
error paths."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spinecoach.cli import app
from spinecoach.conventions import TECHNIQUES

runner = CliRunner()


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "spinecoach", *args], capture_output=True, text=True, timeout=120
    )


def test_simulate_analyze_validate_end_to_end(tmp_path: Path) -> None:
    rec = tmp_path / "pt.screc"
    done = _run("simulate", "pelvic-tilt", "--seed", "3", "--reps", "4", "--out", str(rec))
    assert done.returncode == 0, done.stderr
    assert "4 reps" in done.stdout and rec.exists()

    png = tmp_path / "pt.png"
    done = _run("analyze", str(rec), "--json", "--plot", str(png))
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["calibration"]["source"] == "annotations"
    assert summary["angles_deg"]["pelvic_tilt_deg"]["p5"] < -5.0  # posterior tilts seen
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"

    done = _run("validate", "angles", str(rec), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    lumbar = result["angles"]["lumbar_flexion_deg"]
    assert set(lumbar) >= {"rmse", "bias", "loa"}
    assert lumbar["rmse"] <= 1.5 and result["angles"]["pelvic_tilt_deg"]["rmse"] <= 1.0
    assert lumbar["loa"][0] <= lumbar["bias"] <= lumbar["loa"][1]


def test_analyze_the_real_fusion_file_by_content(fusion_csv: Path, tmp_path: Path) -> None:
    renamed = tmp_path / "recording.txt"
    renamed.write_bytes(fusion_csv.read_bytes())
    done = _run("analyze", str(renamed), "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["angles_deg"]["lumbar_flexion_deg"] is None
    assert "needs both sensors" in summary["unavailable"]["lumbar_flexion_deg"]
    assert summary["angles_deg"]["pelvic_tilt_deg"] is not None


def test_every_command_has_help_with_an_example() -> None:
    for command in ("simulate", "analyze", "validate", "formats", "demo"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0
        assert "Example: spinecoach" in result.output, command


def test_formats_lists_native_csv_and_fusion() -> None:
    result = runner.invoke(app, ["formats"])
    assert result.exit_code == 0
    for name in ("native", "csv", "fusion"):
        assert name in result.output


def test_unknown_technique_names_the_valid_ones(tmp_path: Path) -> None:
    result = runner.invoke(app, ["simulate", "toe-touch", "--out", str(tmp_path / "x.screc")])
    assert result.exit_code == 2
    assert "unknown technique 'toe-touch'" in result.output
    for name in TECHNIQUES:
        assert name in result.output
    assert not (tmp_path / "x.screc").exists()


def test_malformed_file_gives_a_clear_error_and_no_output(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "time_s,acc_x_mps2,acc_y_mps2,acc_z_mps2,gyr_x_dps,gyr_y_dps,gyr_z_dps\n0,0,0,9.8,0,0,0\n0.01,0,zz,9.8,0,0,0\n"
    )
    png = tmp_path / "bad.png"
    result = runner.invoke(app, ["analyze", str(bad), "--plot", str(png)])
    assert result.exit_code == 2
    assert "bad.csv, line 3" in result.output and "acc_y_mps2" in result.output
    assert not png.exists()


def test_validate_without_truth_asks_for_a_reference(tmp_path: Path, fusion_csv: Path) -> None:
    result = runner.invoke(app, ["validate", "angles", str(fusion_csv), "--json"])
    assert result.exit_code == 2
    assert "has no ground truth; pass --reference" in result.output


@pytest.mark.parametrize("missing", ["nope.screc"])
def test_missing_file(tmp_path: Path, missing: str) -> None:
    result = runner.invoke(app, ["analyze", str(tmp_path / missing)])
    assert result.exit_code == 2
    assert missing in result.output


# --- --exercise: the exercise engine from the command line ----------------------------


@pytest.fixture(scope="module")
def hip_hinge_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from spinecoach.io import write_recording
    from spinecoach.sim import simulate

    folder = tmp_path_factory.mktemp("exercise")
    return write_recording(simulate("hip-hinge", seed=4), folder / "hh.screc")


@pytest.fixture(scope="module")
def pelvic_tilt_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from spinecoach.io import write_recording
    from spinecoach.sim import simulate

    folder = tmp_path_factory.mktemp("exercise")
    return write_recording(simulate("pelvic-tilt", seed=3, reps=4), folder / "pt.screc")


def test_analyze_exercise_json_and_plot(hip_hinge_file: Path, tmp_path: Path) -> None:
    png = tmp_path / "hh.png"
    done = _run(
        "analyze", str(hip_hinge_file), "--exercise", "hip-hinge", "--json", "--plot", str(png)
    )
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert set(payload) == {
        "technique",
        "reps",
        "sets",
        "discarded",
        "info",
        "cues",
        "plot",
        "calibration",
        "cleaning",
    }
    assert payload["calibration"]["method"] == "annotations"
    assert payload["info"]["calibration_reps"] == 1 and payload["cues"]
    assert payload["technique"] == "hip-hinge"
    assert len(payload["reps"]) == 24
    assert [s["reps"] for s in payload["sets"]] == [8, 8, 8]
    first = payload["reps"][0]
    assert {"index", "set", "start_s", "range_deg", "hold_s", "quality", "faults"} <= set(first)
    assert first["range_deg"] > 15.0
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
    assert not list(tmp_path.glob("*.png.*")) and len(list(tmp_path.iterdir())) == 1


def test_analyze_exercise_table(hip_hinge_file: Path) -> None:
    result = runner.invoke(app, ["analyze", str(hip_hinge_file), "--exercise", "hip-hinge"])
    assert result.exit_code == 0, result.output
    for header in ("rep", "set", "range", "hold", "qual", "faults"):
        assert header in result.stdout
    assert "24 reps in 3 sets, mean hold" in result.stdout


def test_validate_exercise_json_has_the_issues_keys(pelvic_tilt_file: Path) -> None:
    result = runner.invoke(
        app, ["validate", "exercise", "pelvic-tilt", str(pelvic_tilt_file), "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert {"reps", "hold_error_s", "faults", "setup_false_reps"} <= set(report)
    assert report["reps"]["true"] == 4 and "detected" in report["reps"]
    assert set(report["hold_error_s"]) == {"median", "max", "n"}
    assert set(report["faults"]) >= {"short-hold", "return-too-fast", "small-tilt", "bridging"}
    for score in report["faults"].values():
        assert set(score) == {"precision", "recall", "tp", "fp", "fn"}
    assert report["setup_false_reps"] == 0


def test_validate_exercise_table(pelvic_tilt_file: Path) -> None:
    result = runner.invoke(app, ["validate", "exercise", "pelvic-tilt", str(pelvic_tilt_file)])
    assert result.exit_code == 0, result.output
    for text in ("reps (true / detected)", "hold error", "reps during set-up", "precision"):
        assert text in result.stdout


@pytest.mark.parametrize(
    ("command", "given_as"),
    [
        (["analyze", "FILE", "--exercise", "toe-touch"], "--exercise"),
        (["validate", "exercise", "toe-touch", "FILE"], "TECHNIQUE"),
    ],
)
def test_exercise_unknown_technique_names_the_valid_ones(
    command: list[str], given_as: str, pelvic_tilt_file: Path
) -> None:
    from spinecoach.exercises.engine import SUPPORTED

    args = [str(pelvic_tilt_file) if word == "FILE" else word for word in command]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert f"unknown technique 'toe-touch'; {given_as} takes one of:" in result.output
    for name in SUPPORTED:
        assert name in result.output


def test_validate_exercise_needs_a_simulated_recording(fusion_csv: Path) -> None:
    result = runner.invoke(app, ["validate", "exercise", "pelvic-tilt", str(fusion_csv)])
    assert result.exit_code == 2
    assert "needs a simulated recording" in result.output


def test_validate_exercise_and_reference_are_exclusive(pelvic_tilt_file: Path) -> None:
    result = runner.invoke(
        app,
        [
            "validate",
            str(pelvic_tilt_file),
            "--exercise",
            "pelvic-tilt",
            "--reference",
            "mocap.csv",
        ],
    )
    assert result.exit_code == 2
    assert "use one or the other" in result.output


def test_analyze_and_validate_help_show_an_exercise_example() -> None:
    for command in ("analyze", "validate"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0
        assert f"Example: spinecoach {command}" in result.output
        assert "--exercise" in result.output.split("Example:", 2)[-1]
