"""KERAAL readers, reference angles, and the validation gate against optical capture."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from spinecoach.camera.angles import TRUNK_LATERAL_BEND_DEG, camera_angles
from spinecoach.camera.compare import compare_with_reference
from spinecoach.camera.keraal import (
    CHEST_HIPS_LATERAL_BEND_DEG,
    KERAAL_JOINTS,
    RigidBodies,
    aspect_ratio_from_limbs,
    read_keraal_blazepose,
    read_keraal_reference,
    read_keraal_vicon,
    vicon_reference_angles,
)
from spinecoach.cli import app
from spinecoach.errors import ConfigurationError, InputFormatError
from spinecoach.io.formats import describe_reference_formats, load_landmarks, load_reference

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "keraal"
EXERCISES = ("ELK", "CTK", "RTK")


def _paths(exercise: str) -> tuple[Path, Path]:
    bp = DATA / f"G3-BP-{exercise}-P1T1-Unknown-C-0.json"
    vicon = DATA / f"G3-Vicon-{exercise}-P1T1-Unknown-C-0.txt"
    if not bp.exists() or not vicon.exists():
        pytest.skip(f"KERAAL sample not found at {DATA} (../shared/data is absent)")
    return bp, vicon


def _compare(exercise: str):  # type: ignore[no-untyped-def]
    bp, vicon = _paths(exercise)
    seq = read_keraal_blazepose(bp)
    angles, _ = camera_angles(seq)
    ref_t, ref = read_keraal_reference(vicon)
    return compare_with_reference(seq.time_s, angles.angles, ref_t, ref)


def test_gate_elk_lateral_bend_against_optical() -> None:
    """Issue 8 gate: RMSE ≤ 5°, r ≥ 0.9, no gain or offset fitted (neutral zero only)."""
    result = _compare("ELK")
    bend = result.angles[TRUNK_LATERAL_BEND_DEG]
    assert bend.rmse <= 5.0
    assert bend.r >= 0.9
    assert bend.n >= 150
    assert not result.lag_at_bound and abs(result.lag_s) < 0.3


@pytest.mark.parametrize("exercise", ["CTK", "RTK"])
def test_other_exercises_run_and_are_finite(exercise: str) -> None:
    result = _compare(exercise)
    bend = result.angles[TRUNK_LATERAL_BEND_DEG]
    assert bend.n > 50
    assert all(math.isfinite(x) for x in (bend.rmse, bend.bias, bend.r, *bend.loa))


def test_real_data_orientation_and_aspect() -> None:
    bp, vicon = _paths("ELK")
    seq = read_keraal_blazepose(bp)
    assert seq.n_frames == 193 and seq.rate_hz == pytest.approx(30.0)
    first = seq.landmarks[0]
    # y grows downward: shoulders above hips above ankles.
    assert first[11, 1] < first[23, 1] < first[27, 1]
    # Un-mirrored, facing the camera: the person's right is at image left.
    assert first[12, 0] < first[11, 0]
    spread = aspect_ratio_from_limbs(seq)
    assert min(spread, key=spread.__getitem__) == pytest.approx(16 / 9)
    bodies = read_keraal_vicon(vicon)
    assert bodies.position_mm.shape == (385, 17, 3)
    # The Vicon shows the right hand raised first (the flank stretch to the left).
    rh, lh = bodies.index("Right Hand"), bodies.index("Left Hand")
    assert bodies.position_mm[60, rh, 2] > bodies.position_mm[60, lh, 2] + 500
    # ...and the camera, un-mirrored, the right wrist above the head at the same time.
    assert seq.landmarks[30, 16, 1] < seq.landmarks[30, 0, 1]


def _bodies_bending(bend_deg: np.ndarray) -> RigidBodies:
    """Synthetic bodies: the chest tilts to the person's right about the hips (x forward,
    y left, z up lab), positions and orientations consistent."""
    n = bend_deg.shape[0]
    pos = np.zeros((n, 17, 3))
    quat = np.tile([0.0, 0.0, 0.0, 1.0], (n, 17, 1))
    pos[:, 7] = [0.0, -200.0, 1400.0]  # Right Shoulder
    pos[:, 8] = [0.0, 200.0, 1400.0]  # Left Shoulder
    pos[:, 13] = [0.0, 0.0, 1000.0]  # Hips
    a = np.radians(bend_deg)
    # Bending right = rotating about +x (anterior) by +a moves up toward −y (right).
    pos[:, 4] = np.column_stack([np.zeros(n), -300 * np.sin(a), 1000 + 300 * np.cos(a)])
    quat[:, 4] = np.column_stack([np.sin(a / 2), np.zeros(n), np.zeros(n), np.cos(a / 2)])
    return RigidBodies(np.arange(n) / 60.0, tuple(f"b{i}" for i in range(17)), pos, quat)


def test_reference_angles_signs_on_synthetic_bodies() -> None:
    from spinecoach.camera import keraal

    bend = np.concatenate([np.zeros(60), np.linspace(0, 30, 60)])
    bodies = _bodies_bending(bend)
    bodies = RigidBodies(
        bodies.time_s, keraal.VICON_BODIES, bodies.position_mm, bodies.quaternion_xyzw
    )
    _, ref = vicon_reference_angles(bodies)
    np.testing.assert_allclose(ref[TRUNK_LATERAL_BEND_DEG], bend, atol=1e-9)
    np.testing.assert_allclose(ref[CHEST_HIPS_LATERAL_BEND_DEG], bend, atol=1e-6)
    np.testing.assert_allclose(ref["chest_hips_flexion_deg"], 0.0, atol=1e-6)
    np.testing.assert_allclose(ref["chest_hips_rotation_deg"], 0.0, atol=1e-6)


# --- malformed input ----------------------------------------------------------------------


def _frame(value: object = None) -> dict[str, object]:
    joints: dict[str, object] = {name: [0.5, 0.5, 0.0] for name in KERAAL_JOINTS}
    if value is not None:
        joints["Left_hip"] = value
    return joints


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"positions": {', r"bad\.json, line 1: valid JSON"),
        ('{"frames": {}}', r"column 'positions': a JSON object .*found 'frames'"),
        (
            json.dumps({"positions": {"1.0": _frame([0.1, 0.2])}}),
            r"column 'positions\.1\.0\.Left_hip': three numbers \[x, y, z\], "
            r"found '\[0\.1, 0\.2\]'",
        ),
        (
            json.dumps({"positions": {"1.0": {k: v for k, v in _frame().items() if k != "Nose"}}}),
            r"column 'positions\.1\.0\.Nose': all 33 BlazePose joints.*"
            r"found 'missing'. Joint names",
        ),
        (
            json.dumps({"positions": {"one": _frame()}}),
            r"column 'positions\.one': frame numbers as keys",
        ),
    ],
)
def test_blazepose_malformed(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(InputFormatError, match=message):
        read_keraal_blazepose(path)


def _vicon_row(value: str | None = None, n: int = 119) -> str:
    cells = ["0.0", "0.0", "0.0", "0.0", "0.0", "0.0", "1.0"] * 17
    if value is not None:
        cells[4 * 7 + 2] = value  # Chest z_pos
    return " ".join(cells[:n])


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([_vicon_row(), _vicon_row(n=118)], r"line 2: 119 numbers per row .*found '118 fields'"),
        ([_vicon_row("abc")], r"line 1, column 'Chest z_pos': a number, found 'abc'"),
        (
            [_vicon_row().replace(" 1.0", " 2.0", 1)],
            r"line 1, column 'Right Forearm quaternion': unit quaternions.*columns are shifted",
        ),
        ([_vicon_row()], r"at least two rows"),
    ],
)
def test_vicon_malformed(tmp_path: Path, rows: list[str], message: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(InputFormatError, match=message):
        read_keraal_vicon(path)


def test_registry_lists_and_dispatches(tmp_path: Path) -> None:
    assert [f.name for f in describe_reference_formats()] == ["keraal-blazepose", "keraal-vicon"]
    with pytest.raises(ConfigurationError, match="unknown landmark format 'x'"):
        load_landmarks(tmp_path / "a", format="x")
    with pytest.raises(ConfigurationError, match="unknown reference format 'y'"):
        load_reference(tmp_path / "a", format="y")
    with pytest.raises(InputFormatError, match="a readable file"):
        load_landmarks(tmp_path / "missing.json", format="keraal-blazepose")


# --- command line -------------------------------------------------------------------------

runner = CliRunner()


def test_cli_validate_camera_json() -> None:
    bp, vicon = _paths("ELK")
    args = [
        "validate",
        "camera",
        str(bp),
        "--format",
        "keraal-blazepose",
        "--reference",
        str(vicon),
    ]
    result = runner.invoke(app, [*args, "--reference-format", "keraal-vicon", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    bend = payload["angles"][TRUNK_LATERAL_BEND_DEG]
    assert set(bend) >= {"rmse", "bias", "loa", "r", "n"}
    assert bend["rmse"] <= 5.0 and bend["r"] >= 0.9 and len(bend["loa"]) == 2
    assert isinstance(payload["lag_s"], float) and payload["neutral_s"] == 1.0
    table = runner.invoke(app, [*args, "--reference-format", "keraal-vicon"])
    assert table.exit_code == 0 and "trunk_lateral_bend_deg" in table.stdout


def test_cli_validate_camera_errors(tmp_path: Path) -> None:
    bp = tmp_path / "bp.json"
    bp.write_text("{}")
    result = runner.invoke(app, ["validate", "camera", str(bp), "--format", "keraal-blazepose"])
    assert result.exit_code == 2 and "pass --reference FILE" in result.output
    ref = tmp_path / "ref.txt"
    ref.write_text("1 2 3\n")
    result = runner.invoke(
        app,
        [
            "validate",
            "camera",
            str(bp),
            "--format",
            "keraal-blazepose",
            "--reference",
            str(ref),
            "--reference-format",
            "keraal-vicon",
        ],
    )
    assert result.exit_code != 0 and "bp.json" in result.output
    result = runner.invoke(app, ["validate", str(bp), "--reference-format", "keraal-vicon"])
    assert result.exit_code == 2 and "landmark" in result.output


def test_cli_formats_lists_landmark_formats() -> None:
    result = runner.invoke(app, ["formats"])
    assert result.exit_code == 0
    assert "keraal-blazepose" in result.stdout and "keraal-vicon" in result.stdout
