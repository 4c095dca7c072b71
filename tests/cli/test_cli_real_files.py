"""The command line on files as people have them (issue 13): one CSV per sensor from
another brand (50 Hz, no time column, g and rad/s, a repeated row), no calibration
protocol; the calibration and the cleaning in the output; exit codes that tell "no
angles" from "no reps"."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from spinecoach.sim import SensorErrorModel, simulate

RATE = 50.0


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "spinecoach", *args], capture_output=True, text=True, timeout=180
    )


def _write_brand_csv(path: Path, time_s: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> None:
    """Another brand's per-sensor file: resampled to 50 Hz, no time column, g and rad/s,
    with one row written twice (without time stamps, that is a sample like any other)."""
    t = np.arange(time_s[0], time_s[-1], 1.0 / RATE)
    a = np.column_stack([np.interp(t, time_s, acc[:, i]) for i in range(3)]) / 9.80665
    g = np.column_stack([np.interp(t, time_s, gyr[:, i]) for i in range(3)]) * np.pi / 180.0
    rows = [",".join(f"{v:.6f}" for v in (*a[i], *g[i])) for i in range(t.shape[0])]
    rows.insert(100, rows[99])
    path.write_text("AccX,AccY,AccZ,GyrX,GyrY,GyrZ\n" + "\n".join(rows) + "\n")


@pytest.fixture(scope="module")
def seated_trial(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, int]:
    """Seated flexion-extension without a protocol: still for under 1.5 s, three
    flexion-extensions back to back, lateral bends and rotations after."""
    rec2 = simulate(
        "flexion-extension",
        seed=5,
        reps=3,
        scenario="protocol-free",
        position="seated",
        rate_hz=RATE,
        sensor_errors=SensorErrorModel.real_world(),
    )
    assert rec2.events == ()
    folder = tmp_path_factory.mktemp("brand")
    for placement, sensor in rec2.sensors.items():
        _write_brand_csv(
            folder / f"{placement}.csv", sensor.time_s, sensor.acc_mps2, sensor.gyr_dps
        )
    assert rec2.truth is not None
    reps = sum(1 for e in rec2.truth.events if e.kind == "rep")
    return folder / "lower.csv", folder / "upper.csv", reps


def test_two_per_sensor_csvs_give_angles_reps_and_the_calibration(
    seated_trial: tuple[Path, Path, int],
) -> None:
    lower, upper, true_reps = seated_trial
    done = _run("analyze", str(lower), str(upper), "--rate", "50", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    calibration = summary["calibration"]
    assert calibration["method"] == "movement"
    assert 0.0 <= calibration["confidence"] <= 1.0
    assert set(calibration["windows"]) >= {"neutral_s", "movement_s"}
    assert calibration["reason"]
    assert summary["angles_deg"]["lumbar_flexion_deg"]["max"] > 15.0
    # Without a time column equal rows are real samples (a sensor at rest): kept.
    assert summary["cleaning"] == {}
    done = _run(
        "analyze", str(lower), str(upper), "--rate", "50", "--exercise", "flexion-extension"
    )
    assert done.returncode == 0, done.stderr
    assert f"{true_reps} reps in 1 set" in done.stdout
    assert "calibration: movement" in done.stdout


def test_placements_can_be_named_and_calibration_saved_and_reused(
    seated_trial: tuple[Path, Path, int], tmp_path: Path
) -> None:
    lower, upper, _ = seated_trial
    saved = tmp_path / "cal.json"
    done = _run(
        "analyze",
        str(upper),
        str(lower),
        "--placement",
        "upper,lower",
        "--rate",
        "50",
        "--save-calibration",
        str(saved),
        "--json",
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(saved.read_text())["spinecoach_calibration"] == 1
    done = _run(
        "analyze",
        str(lower),
        str(upper),
        "--rate",
        "50",
        "--calibration-file",
        str(saved),
        "--neutral",
        "0.0:0.3",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    calibration = json.loads(done.stdout)["calibration"]
    assert calibration["method"] == "stored"
    assert calibration["windows"]["neutral_s"] == [0.0, 0.3]


def test_no_angles_exits_3_with_the_reason_and_no_reps_exits_4(
    seated_trial: tuple[Path, Path, int],
) -> None:
    lower, upper, _ = seated_trial
    done = _run("analyze", str(lower), str(upper), "--rate", "50", "--calibration", "none")
    assert done.returncode == 3, done.stdout + done.stderr
    assert "calibration switched off" in done.stderr
    done = _run(
        "analyze",
        str(lower),
        str(upper),
        "--rate",
        "50",
        "--calibration",
        "protocol",
        "--exercise",
        "flexion-extension",
        "--json",
    )
    assert done.returncode == 3, done.stdout + done.stderr
    payload = json.loads(done.stdout)
    assert payload["reps"] == []
    assert "no calibration protocol found" in payload["calibration"]["reason"]
    # Angles, but no rep of this technique (a lying-down exercise on seated data).
    done = _run(
        "analyze",
        str(lower),
        str(upper),
        "--rate",
        "50",
        "--exercise",
        "pelvic-tilt",
        "--calibration",
        "neutral-only",
    )
    assert done.returncode in (0, 4), done.stderr
    if done.returncode == 4:
        assert "0 reps" in done.stdout
    assert "exit status" in _run("analyze", "--help").stdout.lower()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--calibration", "magic"), "is not a method"),
        (("--neutral", "abc"), "give START:END in seconds"),
        (("--neutral", "2:1"), "START must be at least 0 and before END"),
        (("--placement", "lower,lower"), "give both placements"),
    ],
)
def test_bad_calibration_options_name_the_fix(
    seated_trial: tuple[Path, Path, int], args: tuple[str, ...], message: str
) -> None:
    lower, upper, _ = seated_trial
    done = _run("analyze", str(lower), str(upper), "--rate", "50", *args)
    assert done.returncode == 2
    assert message in done.stderr


def test_a_file_without_time_needs_its_rate(seated_trial: tuple[Path, Path, int]) -> None:
    lower, upper, _ = seated_trial
    done = _run("analyze", str(lower), str(upper))
    assert done.returncode == 2
    assert "--rate" in done.stderr


def test_an_upper_sensor_present_but_not_calibrated_is_named_with_the_cause(
    tmp_path: Path,
) -> None:
    """The coach's windows are in the file, but the upper sensor did not move in the bends
    (fallen off, say): the output says it is there and why it has no calibration, not that
    it is missing; and with no rep the exit status is 4."""
    from spinecoach.io import write_recording
    from spinecoach.recording import Recording, SensorData

    rec = simulate("flexion-extension", seed=2, reps=2, sets=1)
    upper = rec.sensors["upper"]
    still = SensorData.from_arrays(
        "upper",
        upper.time_s,
        np.tile(upper.acc_mps2[0], (upper.n_samples, 1)),
        np.zeros((upper.n_samples, 3)),
        rate_hz=upper.rate_hz,
    )
    path = write_recording(
        Recording.create(
            {"lower": rec.sensors["lower"], "upper": still},
            events=rec.events,
            meta=dict(rec.meta),
        ),
        tmp_path / "fell-off.screc",
    )
    done = _run("analyze", str(path), "--exercise", "flexion-extension")
    assert done.returncode == 4, done.stdout + done.stderr
    assert "upper sensor is in the file but was not calibrated" in done.stdout
    assert "turned only" in done.stdout
    assert "missing or was never calibrated" not in done.stdout
