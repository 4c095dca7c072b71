"""Readers for the KERAAL dataset's BlazePose and Vicon files, and the optical reference
angles computed from its Chest and Hips rigid bodies.

KERAAL (Nguyen et al., IJCNN 2024; BSD-2-Clause) recorded low-back-pain exercises with a
Kinect, a colour video (BlazePose landmarks estimated from it) and, for group 3, Vicon
optical motion capture.

``keraal-blazepose`` (``G3-BP-<EX>-....json``)
    ``{"positions": {"<frame>": {"Nose": [x, y, z], ..., "Right_foot_index": [...]}}}``
    with the frame number as a decimal string (``"1.0"``), 33 joints named as in the
    dataset's readme (``Left_shoulder`` ...), normalised image coordinates (x right, y down,
    z depth). No visibility is stored (taken as 1) and no timestamps: frame ``k`` is at
    ``(k - 1) / rate_hz`` with the video's 30 Hz.

    Two properties of the videos were determined from the data, not assumed:

    * **mirrored**: the colour video is mirrored (as a Kinect v2 colour stream is). In the
      flank-stretch trial the Vicon shows the *right* hand raised and the chest moving to
      the person's *left*, the BlazePose labels show the *left* wrist raised and the trunk
      moving to the labelled right — the mirror image. The reader therefore un-mirrors
      (x → 1 − x and left/right labels swapped), so the landmarks are anatomically right.
    * **16:9 frames** (1920×1080, the Kinect v2 colour size): rigid limb segments keep
      their length in the image as the arms sweep through the frontal plane only when x is
      scaled by 16/9 of y (see :func:`aspect_ratio_from_limbs`).

``keraal-vicon`` (``G3-Vicon-<EX>-....txt``)
    whitespace-separated text, one row per frame (about 60 Hz, no time column), 17 rigid
    bodies × (x, y, z position in mm, quaternion x, y, z, w) in the order of the readme
    (0 Right Forearm … 4 Chest … 13 Hips … 16 Left Tibia). The lab frame has z up.

Reference angles (:func:`vicon_reference_angles`), all zero-referenced later by the
comparison's neutral calibration:

* the person's axes from the neutral window (first ``neutral_s`` seconds): up = lab +z,
  right = the horizontal direction from the Left to the Right Shoulder body, anterior =
  up × right (ISB: X anterior, Y superior, Z right);
* ``trunk_lateral_bend_deg`` / ``trunk_inclination_deg``: the **Hips → Chest line** (the
  two bodies' positions) from vertical in the frontal (to the person's right +) and
  sagittal (forward +) planes — the same line the camera measures between the hip and
  shoulder midpoints;
* ``chest_hips_lateral_bend_deg``, ``chest_hips_flexion_deg``, ``chest_hips_rotation_deg``:
  the Chest body's **orientation** relative to the Hips body (each body's anatomical
  frame fixed at the neutral window), decomposed Rz·Rx·Ry as ``axial_rotation_deg`` in
  :mod:`spinecoach.conventions`: flexion +, to the right +, shoulders turned left +.
  A line between two points (what a camera sees) and the end-to-end change of orientation
  are different quantities: for a uniformly curved spine the chord turns by half the
  orientation change, and the Chest body also turns with the shoulder girdle.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from spinecoach.camera.landmarks import LANDMARK_NAMES, N_LANDMARKS, LandmarkSequence
from spinecoach.errors import InputFormatError

FloatArray = NDArray[np.float64]

BLAZEPOSE_RATE_HZ: Final = 30.0
VICON_RATE_HZ: Final = 60.0
KERAAL_IMAGE_SIZE: Final = (1920, 1080)

#: The dataset's joint names (readme 4.1), in BlazePose order.
KERAAL_JOINTS: Final[tuple[str, ...]] = tuple(
    "_".join(part.capitalize() if i == 0 else part for i, part in enumerate(name.split("_")))
    for name in LANDMARK_NAMES
)
VICON_BODIES: Final[tuple[str, ...]] = (
    "Right Forearm",
    "Left Forearm",
    "Right Arm",
    "Left Arm",
    "Chest",
    "Right Thigh",
    "Left Thigh",
    "Right Shoulder",
    "Left Shoulder",
    "Right Hand",
    "Left Hand",
    "Right Foot",
    "Left Foot",
    "Hips",
    "Head",
    "Right Tibia",
    "Left Tibia",
)
VICON_FIELDS: Final = ("x_pos", "y_pos", "z_pos", "x_quat", "y_quat", "z_quat", "w_quat")

TRUNK_LATERAL_BEND_DEG: Final = "trunk_lateral_bend_deg"
TRUNK_INCLINATION_DEG: Final = "trunk_inclination_deg"
CHEST_HIPS_LATERAL_BEND_DEG: Final = "chest_hips_lateral_bend_deg"
CHEST_HIPS_FLEXION_DEG: Final = "chest_hips_flexion_deg"
CHEST_HIPS_ROTATION_DEG: Final = "chest_hips_rotation_deg"


def _mirror_swap() -> list[int]:
    order = list(range(N_LANDMARKS))
    for i, name in enumerate(LANDMARK_NAMES):
        for a, b in (("left", "right"), ("right", "left")):
            if a in name:
                order[i] = LANDMARK_NAMES.index(name.replace(a, b))
    return order


def read_keraal_blazepose(
    path: str | os.PathLike[str],
    *,
    rate_hz: float = BLAZEPOSE_RATE_HZ,
    mirrored: bool = True,
    image_size: tuple[int, int] | None = KERAAL_IMAGE_SIZE,
) -> LandmarkSequence:
    """Read a KERAAL BlazePose JSON file (see the module docstring).

    ``mirrored=True`` un-mirrors the landmarks (the KERAAL videos are mirrored);
    ``image_size`` is the video's (width, height) in pixels.
    """
    source = Path(path)
    positions = _blazepose_positions(source)
    frames = [_blazepose_frame(source, key, joints) for key, joints in positions.items()]
    frames.sort(key=lambda item: item[0])
    numbers = np.array([f for f, _ in frames])
    if numbers.shape[0] > 1 and np.any(np.diff(numbers) <= 0):
        raise InputFormatError(source, "each frame number once", column="positions")
    landmarks = np.array([p for _, p in frames], dtype=np.float64)
    if mirrored:
        landmarks = landmarks[:, _mirror_swap(), :]
        landmarks[..., 0] = 1.0 - landmarks[..., 0]
    return LandmarkSequence.from_arrays(
        (numbers - numbers[0]) / rate_hz,
        landmarks,
        image_size=image_size,
        coordinates="image",
        source=str(source),
    )


def _blazepose_positions(source: Path) -> dict[str, object]:
    """The ``positions`` object of a KERAAL BlazePose JSON file (frame → joints)."""
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as error:
        raise InputFormatError(source, f"a readable file ({error.strerror})") from None
    except UnicodeDecodeError:
        raise InputFormatError(source, "a UTF-8 JSON file", line=1) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputFormatError(
            source,
            f"valid JSON ({error.msg})",
            line=error.lineno,
            fix="The file is damaged or not a KERAAL BlazePose file; re-export it",
        ) from None
    positions = data.get("positions") if isinstance(data, dict) else None
    if not isinstance(positions, dict) or not positions:
        raise InputFormatError(
            source,
            'a JSON object {"positions": {"<frame>": {"Nose": [x, y, z], ...}}}',
            column="positions",
            found=None if not isinstance(data, dict) else ", ".join(list(data)[:5]) or "{}",
            fix="Pass a KERAAL BlazePose file (G3-BP-...json) or another --format",
        )
    return positions


def _blazepose_frame(source: Path, key: str, joints: object) -> tuple[float, list[list[float]]]:
    """One frame of ``positions``: its number and the 33 joints [x, y, z] in KERAAL order."""
    try:
        frame = float(key)
    except ValueError:
        raise InputFormatError(
            source, "frame numbers as keys of positions", column=f"positions.{key}"
        ) from None
    if not isinstance(joints, dict):
        raise InputFormatError(
            source, "an object of joint name → [x, y, z]", column=f"positions.{key}"
        )
    points: list[list[float]] = []
    for joint in KERAAL_JOINTS:
        value = joints.get(joint)
        field = f"positions.{key}.{joint}"
        if value is None:
            raise InputFormatError(
                source,
                "all 33 BlazePose joints in every frame",
                column=field,
                found="missing",
                fix="Joint names follow the KERAAL readme (Nose, Left_eye_inner, ...)",
            )
        if (
            not isinstance(value, list)
            or len(value) != 3
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        ):
            raise InputFormatError(
                source, "three numbers [x, y, z]", column=field, found=json.dumps(value)
            )
        points.append([float(v) for v in value])
    return frame, points


@dataclass(frozen=True, eq=False)
class RigidBodies:
    """Optical rigid bodies: ``time_s`` (n,), ``position_mm`` (n, k, 3) and
    ``quaternion_xyzw`` (n, k, 4) in the lab frame (z up), bodies named ``names``."""

    time_s: FloatArray
    names: tuple[str, ...]
    position_mm: FloatArray
    quaternion_xyzw: FloatArray
    source: str = ""

    def index(self, name: str) -> int:
        return self.names.index(name)


def read_keraal_vicon(
    path: str | os.PathLike[str], *, rate_hz: float = VICON_RATE_HZ
) -> RigidBodies:
    """Read a KERAAL Vicon text file (17 bodies × 7 numbers per row; see the module
    docstring). Row ``k`` is at ``k / rate_hz`` seconds."""
    source = Path(path)
    n_fields = len(VICON_BODIES) * len(VICON_FIELDS)
    try:
        lines = source.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise InputFormatError(source, f"a readable file ({error.strerror})") from None
    except UnicodeDecodeError:
        raise InputFormatError(source, "a UTF-8 text file of numbers", line=1) from None
    rows: list[list[float]] = []
    for line_no, line in enumerate(lines, start=1):
        cells = line.split()
        if not cells:
            continue
        if len(cells) != n_fields:
            raise InputFormatError(
                source,
                f"{n_fields} numbers per row (17 bodies × x y z position, x y z w quaternion)",
                line=line_no,
                found=f"{len(cells)} fields",
                fix="Pass a KERAAL Vicon file (G3-Vicon-...txt) or another --reference-format",
            )
        row: list[float] = []
        for i, cell in enumerate(cells):
            try:
                row.append(float(cell))
            except ValueError:
                body, field = VICON_BODIES[i // 7], VICON_FIELDS[i % 7]
                raise InputFormatError(
                    source, "a number", line=line_no, column=f"{body} {field}", found=cell
                ) from None
        rows.append(row)
        q = np.array(row).reshape(len(VICON_BODIES), 7)[:, 3:]
        norms = np.linalg.norm(q, axis=1)
        bad = np.flatnonzero(np.isfinite(norms) & (np.abs(norms - 1.0) > 0.05))
        if bad.size:
            raise InputFormatError(
                source,
                "unit quaternions (x y z w)",
                line=line_no,
                column=f"{VICON_BODIES[int(bad[0])]} quaternion",
                found=f"norm {norms[bad[0]]:.3f}",
                fix="The columns are shifted or the file is not a KERAAL Vicon export",
            )
    if len(rows) < 2:
        raise InputFormatError(source, "at least two rows of Vicon frames", found=f"{len(rows)}")
    data = np.array(rows).reshape(len(rows), len(VICON_BODIES), 7)
    return RigidBodies(
        time_s=np.arange(len(rows)) / rate_hz,
        names=VICON_BODIES,
        position_mm=data[:, :, :3].copy(),
        quaternion_xyzw=data[:, :, 3:].copy(),
        source=str(source),
    )


def _matrices(q_xyzw: FloatArray) -> FloatArray:
    """(n, 4) x y z w → (n, 3, 3) body-to-lab rotation matrices."""
    q = q_xyzw / np.linalg.norm(q_xyzw, axis=1, keepdims=True)
    x, y, z, w = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
            np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
            np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
        ],
        axis=1,
    )


def _mean_rotation(matrices: FloatArray) -> FloatArray:
    """The rotation nearest (Frobenius) to the mean of rotation matrices."""
    u, _, vt = np.linalg.svd(np.nanmean(matrices, axis=0))
    d = np.sign(np.linalg.det(u @ vt))
    return np.asarray(u @ np.diag([1.0, 1.0, d]) @ vt, dtype=np.float64)


def person_axes(bodies: RigidBodies, *, neutral_s: float = 1.0) -> FloatArray:
    """(3, 3) columns = anterior, superior, right of the person in the lab frame, from the
    neutral window: up = +z, right = Left → Right Shoulder body, horizontal."""
    window = bodies.time_s < bodies.time_s[0] + neutral_s
    right = np.nanmean(
        bodies.position_mm[window, bodies.index("Right Shoulder")]
        - bodies.position_mm[window, bodies.index("Left Shoulder")],
        axis=0,
    )
    up = np.array([0.0, 0.0, 1.0])
    right = right - up * float(right @ up)
    norm = float(np.linalg.norm(right))
    if not math.isfinite(norm) or norm < 1e-6:
        raise InputFormatError(
            bodies.source, "the Left and Right Shoulder bodies seen during the first second"
        )
    right = right / norm
    anterior = np.cross(up, right)
    return np.column_stack([anterior, up, right])


def vicon_reference_angles(
    bodies: RigidBodies, *, neutral_s: float = 1.0
) -> tuple[FloatArray, dict[str, FloatArray]]:
    """Reference trunk angles (degrees) from the Chest and Hips bodies, see the module
    docstring. Returns ``(time_s, {name: values})``."""
    axes = person_axes(bodies, neutral_s=neutral_s)
    anterior, up, right = axes[:, 0], axes[:, 1], axes[:, 2]
    chest, hips = bodies.index("Chest"), bodies.index("Hips")
    line = bodies.position_mm[:, chest] - bodies.position_mm[:, hips]
    out: dict[str, FloatArray] = {
        TRUNK_LATERAL_BEND_DEG: np.degrees(np.arctan2(line @ right, line @ up)),
        TRUNK_INCLINATION_DEG: np.degrees(np.arctan2(line @ anterior, line @ up)),
    }
    window = bodies.time_s < bodies.time_s[0] + neutral_s
    frames = []
    for body in (chest, hips):
        rot = _matrices(bodies.quaternion_xyzw[:, body])
        # Segment axes in body coordinates, so that at neutral they equal the person's axes.
        segment = _mean_rotation(rot[window]).T @ axes
        frames.append(rot @ segment)
    relative = np.einsum("nji,njk->nik", frames[1], frames[0])  # chest axes in hips axes
    # R = Rz(a)·Rx(b)·Ry(c): R[2,1] = sin b, R[0,1] = -cos b sin a, R[2,0] = -cos b sin c
    b = np.arcsin(np.clip(relative[:, 2, 1], -1.0, 1.0))
    a = np.arctan2(-relative[:, 0, 1], relative[:, 1, 1])
    c = np.arctan2(-relative[:, 2, 0], relative[:, 2, 2])
    out[CHEST_HIPS_FLEXION_DEG] = -np.degrees(a)
    out[CHEST_HIPS_LATERAL_BEND_DEG] = np.degrees(b)
    out[CHEST_HIPS_ROTATION_DEG] = np.degrees(c)
    return bodies.time_s.copy(), {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}


def read_keraal_reference(
    path: str | os.PathLike[str], *, rate_hz: float = VICON_RATE_HZ, neutral_s: float = 1.0
) -> tuple[FloatArray, dict[str, FloatArray]]:
    """:func:`read_keraal_vicon` then :func:`vicon_reference_angles`."""
    return vicon_reference_angles(read_keraal_vicon(path, rate_hz=rate_hz), neutral_s=neutral_s)


def aspect_ratio_from_limbs(
    sequence: LandmarkSequence, *, candidates: tuple[float, ...] = (1.0, 4 / 3, 16 / 9)
) -> dict[float, float]:
    """For normalised image landmarks of unknown frame size: the mean relative spread
    (SD / mean) of the upper-arm and forearm lengths when x is scaled by each candidate
    width/height ratio. Rigid segments moving in the image plane keep their length only at
    the true ratio, so the smallest value points to it (with arms sweeping in the image
    plane; depth movement blurs it).
    """
    pairs = ((11, 13), (12, 14), (13, 15), (14, 16))
    out: dict[float, float] = {}
    xy = np.asarray(sequence.landmarks[..., :2], dtype=np.float64)
    for ratio in candidates:
        spreads = []
        for a, b in pairs:
            v = xy[:, b] - xy[:, a]
            length = np.hypot(v[:, 0] * ratio, v[:, 1])
            spreads.append(float(np.nanstd(length) / np.nanmean(length)))
        out[ratio] = float(np.mean(spreads))
    return out
