"""Reading motion-capture takes from files into a :class:`~spinecoach.sim.mocap_take.MocapTake`.

Inputs
    :func:`load_mocap_take` reads the converted takes in ``shared/data/mocap/`` (columns
    ``time_s``, ``pelvis_q{w,x,y,z}``, ``thorax_q{w,x,y,z}``, positions in metres, optional
    markers ``sacrum``, ``t10``, ``c7`` and ``flex_thorax_rel_pelvis_deg``);
    :func:`load_keraal_take` reads the KERAAL Vicon rigid bodies Chest and Hips. Both give
    a :class:`MocapTake`.

Where the sensors sit (positions are what the accelerometer feels)
    lower: the sacrum marker (mid-PSIS) when the file has it, else the pelvis origin;
    KERAAL: the Hips rigid body's position.
    upper: the T10 marker when the file has it (two vertebrae above T12/L1, on the same
    rigid thorax); else, for the OpenSim takes whose thorax origin is the back joint centre
    (about L5/S1) and whose T10 column is empty, a point moving rigidly with the thorax
    :data:`T12L1_FRACTION_TO_C7` of the way from the thorax origin to C7 (the lumbar
    spine is about 37 % of the L5/S1–C7 length); else the thorax origin. KERAAL: the
    Chest rigid body's position. The orientation of each IMU is that of its segment (the
    upper sensor rides the thorax), so placement changes only the linear acceleration.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Final

import numpy as np
from scipy.spatial.transform import Rotation

from spinecoach.errors import ConfigurationError, InputFormatError
from spinecoach.sim import quaternion as quat
from spinecoach.sim.mocap_take import (
    QUAT_TOLERANCE,
    FloatArray,
    MocapTake,
    fill_thorax_gaps,
    filled_positions,
)

#: Where T12/L1 lies on the line from the back joint centre (≈ L5/S1) to C7: the lumbar
#: spine is about 0.16 m of the ≈ 0.43 m between them in adults.
T12L1_FRACTION_TO_C7: Final = 0.37
_REQUIRED: Final = (
    "time_s",
    "pelvis_qw",
    "pelvis_qx",
    "pelvis_qy",
    "pelvis_qz",
    "thorax_qw",
    "thorax_qx",
    "thorax_qy",
    "thorax_qz",
)


def load_mocap_take(path: str | os.PathLike[str]) -> MocapTake:
    """Read one converted take (``shared/data/mocap/<set>/<take>.csv``) into a :class:`MocapTake`.

    The activity comes from the folder's ``takes_index.csv`` when present; a take whose
    activity starts with sit-to-stand starts ``seated``. Empty cells are missing values;
    missing marker frames are interpolated, missing thorax frames filled (orientation)
    and kept NaN in the reference. Raises :class:`~spinecoach.errors.InputFormatError`
    naming the file, line and column of anything malformed.
    """
    source = Path(path)
    column = _read_columns(source)
    time_s = column["time_s"]
    bad_time = np.flatnonzero(~np.isfinite(time_s))
    if bad_time.size:
        raise InputFormatError(
            source, "a time in every row", line=int(bad_time[0]) + 2, column="time_s", found=""
        )
    pelvis, thorax = _file_orientations(source, column)
    sacrum = _vector(column, "sacrum_", "xyz", "_m")
    if sacrum is None:
        sacrum = _vector(column, "pelvis_", "xyz", "_m")
    if sacrum is None:
        raise InputFormatError(
            source, "sacrum_x_m.. or pelvis_x_m.. positions (m)", column="sacrum_x_m", found=""
        )
    t10 = _vector(column, "t10_", "xyz", "_m")
    c7 = _vector(column, "c7_", "xyz", "_m")
    upper, upper_site = _upper_site(source, column, thorax, t10=t10, c7=c7)
    index = _read_index(source.parent)
    activity = index.get(source.stem, {}).get("activity", "")
    try:
        take = MocapTake.create(
            source.stem,
            time_s=time_s,
            pelvis_xyzw=pelvis,
            thorax_xyzw=thorax,
            sacrum_m=sacrum,
            upper_site_m=upper,
            upper_site=upper_site,
            source=str(source),
            activity=activity,
            position=_position_from_activity(activity),
            c7_m=c7,
            t10_m=t10,
        )
    except ConfigurationError as error:
        raise InputFormatError(source, str(error).removeprefix(f"{source}: ")) from None
    if "flex_thorax_rel_pelvis_deg" in column:
        _check_reference_flexion(source, column["flex_thorax_rel_pelvis_deg"], take)
    return take


def _read_columns(source: Path) -> dict[str, FloatArray]:
    """The file's columns by header name, empty cells NaN (at least 10 rows, all required
    columns, every cell a number or empty)."""
    try:
        with source.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except OSError as error:
        raise InputFormatError(source, f"a readable mocap CSV file ({error.strerror})") from None
    except UnicodeDecodeError:
        raise InputFormatError(source, "a UTF-8 text CSV file", line=1) from None
    if not rows:
        raise InputFormatError(source, "a header line naming the columns", line=1, found="")
    header = [cell.strip() for cell in rows[0]]
    missing = [name for name in _REQUIRED if name not in header]
    if missing:
        raise InputFormatError(
            source,
            "the columns " + ", ".join(missing),
            line=1,
            found=",".join(header),
            fix="Pass a take converted to pelvis/thorax quaternions (see data/mocap/README)",
        )
    if len(rows) - 1 < 10:
        raise InputFormatError(
            source, "at least 10 frames after the header", found=f"{len(rows) - 1} rows"
        )
    data = np.full((len(rows) - 1, len(header)), np.nan)
    for line_no, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise InputFormatError(
                source,
                f"{len(header)} comma-separated cells like the header",
                line=line_no,
                found=f"{len(row)} cells",
            )
        for col, cell in enumerate(row):
            text = cell.strip()
            if not text:
                continue
            try:
                data[line_no - 2, col] = float(text)
            except ValueError:
                raise InputFormatError(
                    source,
                    "a number or an empty cell",
                    line=line_no,
                    column=header[col],
                    found=text,
                ) from None
    return {name: data[:, i] for i, name in enumerate(header)}


def _vector(
    column: dict[str, FloatArray], prefix: str, suffixes: str, unit: str = ""
) -> FloatArray | None:
    """Columns ``<prefix><s><unit>`` for each ``s`` of ``suffixes`` side by side, or None
    when one is missing or none holds a value."""
    names = [f"{prefix}{s}{unit}" for s in suffixes]
    if not all(name in column for name in names):
        return None
    out = np.column_stack([column[name] for name in names])
    return None if not np.isfinite(out).any() else out


def _file_orientations(
    source: Path, column: dict[str, FloatArray]
) -> tuple[FloatArray, FloatArray]:
    """Pelvis and thorax quaternions ``[x, y, z, w]`` from the ``q{w,x,y,z}`` columns,
    checked: the pelvis in every frame, both unit where given."""
    pelvis_wxyz = _vector(column, "pelvis_q", "wxyz")
    thorax_wxyz = _vector(column, "thorax_q", "wxyz")
    if pelvis_wxyz is None or thorax_wxyz is None:
        raise InputFormatError(
            source, "pelvis and thorax quaternion values", column="pelvis_qw/thorax_qw", found=""
        )
    pelvis = pelvis_wxyz[:, [1, 2, 3, 0]]
    thorax = thorax_wxyz[:, [1, 2, 3, 0]]
    bad_pelvis = np.flatnonzero(~np.isfinite(pelvis).all(axis=1))
    if bad_pelvis.size:
        raise InputFormatError(
            source,
            "the pelvis orientation in every frame",
            line=int(bad_pelvis[0]) + 2,
            column="pelvis_qw",
            found="",
        )
    for name, q in (("pelvis_qw", pelvis), ("thorax_qw", thorax)):
        norms = np.linalg.norm(q, axis=1)
        bad = np.flatnonzero(np.isfinite(norms) & (np.abs(norms - 1.0) > QUAT_TOLERANCE))
        if bad.size:
            raise InputFormatError(
                source,
                "unit quaternions (w, x, y, z)",
                line=int(bad[0]) + 2,
                column=name,
                found=f"norm {norms[bad[0]]:.3f}",
                fix="The columns are shifted or the file is not a converted mocap take",
            )
    return pelvis, thorax


def _upper_site(
    source: Path,
    column: dict[str, FloatArray],
    thorax: FloatArray,
    *,
    t10: FloatArray | None,
    c7: FloatArray | None,
) -> tuple[FloatArray, str]:
    """Where the upper sensor sits and what that point is (module docstring)."""
    origin = _vector(column, "thorax_", "xyz", "_m")
    if t10 is not None and np.isfinite(t10).all(axis=1).mean() >= 0.9:
        return t10, "t10 marker (two vertebrae above T12/L1, on the thorax)"
    if origin is not None and c7 is not None:
        upper = _rigid_thorax_point(thorax, origin, c7, T12L1_FRACTION_TO_C7)
        return upper, (
            f"point on the thorax {T12L1_FRACTION_TO_C7:.0%} of the way from the thorax "
            "origin (back joint centre, about L5/S1) to C7"
        )
    if origin is not None:
        return origin, "thorax origin"
    raise InputFormatError(
        source, "t10_*_m, c7_*_m or thorax_*_m positions (m)", column="t10_x_m", found=""
    )


def _check_reference_flexion(source: Path, given: FloatArray, take: MocapTake) -> None:
    """The file's ``flex_thorax_rel_pelvis_deg`` must equal the flexion of its quaternions."""
    both = np.isfinite(given) & np.isfinite(take.flexion_reference_deg)
    worst = float(np.max(np.abs(given[both] - take.flexion_reference_deg[both]), initial=0.0))
    if worst > 0.5:
        raise InputFormatError(
            source,
            "flex_thorax_rel_pelvis_deg equal to the flexion of its quaternions",
            column="flex_thorax_rel_pelvis_deg",
            found=f"differences up to {worst:.1f}°",
            fix="Check the quaternion order (w, x, y, z) and that the segment axes are "
            "x anterior, y left, z up",
        )


def _rigid_thorax_point(
    thorax_xyzw: FloatArray, origin_m: FloatArray, c7_m: FloatArray, fraction: float
) -> FloatArray:
    """A point fixed in the thorax at ``fraction`` of origin→C7 (median offset in thorax axes)."""
    ok = np.isfinite(thorax_xyzw).all(axis=1) & np.isfinite(origin_m).all(axis=1)
    ok &= np.isfinite(c7_m).all(axis=1)
    q = thorax_xyzw / np.linalg.norm(thorax_xyzw, axis=1, keepdims=True)
    local = np.median(quat.rotate_inverse(q[ok], c7_m[ok] - origin_m[ok]), axis=0) * fraction
    filled_origin = filled_positions(origin_m, "thorax_*_m", "thorax origin")
    filled_q = fill_thorax_gaps(q)
    out: FloatArray = filled_origin + quat.rotate(filled_q, local)
    return out


def load_keraal_take(
    path: str | os.PathLike[str], *, rate_hz: float = 60.0, neutral_s: float = 1.0
) -> MocapTake:
    """A KERAAL Vicon file (``G3-Vicon-<EX>-...txt``) as a :class:`MocapTake`.

    The Chest body is the thorax and the Hips body the pelvis. Their anatomical axes are
    fixed during the first ``neutral_s`` seconds to the person's axes of
    :func:`spinecoach.camera.keraal.person_axes` (up = lab +z, right = from the Left to the
    Right Shoulder body), so the reference flexion is zero there; positions are the two
    bodies' positions (mm → m). Rows are ``k / rate_hz`` s apart (the files hold no time).
    """
    from spinecoach.camera.keraal import person_axes, read_keraal_vicon

    bodies = read_keraal_vicon(path, rate_hz=rate_hz)
    axes = person_axes(bodies, neutral_s=neutral_s)  # columns: anterior, up, right (lab)
    # Mocap segment axes (x anterior, y left, z up) in lab coordinates at neutral.
    mocap_axes = np.column_stack([axes[:, 0], -axes[:, 2], axes[:, 1]])
    window = bodies.time_s < bodies.time_s[0] + neutral_s
    segments: dict[str, FloatArray] = {}
    for name in ("Hips", "Chest"):
        raw = bodies.quaternion_xyzw[:, bodies.index(name)]
        if not np.isfinite(raw).all():
            first = int(np.flatnonzero(~np.isfinite(raw).all(axis=1))[0])
            raise InputFormatError(
                bodies.source, f"the {name} body in every frame", line=first + 1, found="nan"
            )
        body = Rotation.from_quat(raw)
        neutral = body[window].mean()
        # segment→lab = body→lab · segment→body, with segment→body fixed at neutral.
        segment_in_body = neutral.inv() * Rotation.from_matrix(mocap_axes)
        segments[name] = (body * segment_in_body).as_quat()
    positions = bodies.position_mm / 1000.0
    exercise = Path(path).stem.split("-")[2] if Path(path).stem.count("-") >= 2 else ""
    activity = {
        "CTK": "hiding face",
        "ELK": "flank stretch (lateral bend)",
        "RTK": "torso rotation",
    }
    try:
        return MocapTake.create(
            Path(path).stem,
            time_s=bodies.time_s,
            pelvis_xyzw=segments["Hips"],
            thorax_xyzw=segments["Chest"],
            sacrum_m=positions[:, bodies.index("Hips")],
            upper_site_m=positions[:, bodies.index("Chest")],
            upper_site="Chest rigid body position",
            source=str(path),
            activity=activity.get(exercise, exercise),
        )
    except ConfigurationError as error:
        raise InputFormatError(Path(path), str(error).removeprefix(f"{path}: ")) from None


def mocap_take_paths(data_root: str | os.PathLike[str]) -> list[Path]:
    """Every converted take under ``<data_root>/mocap/*/`` (sorted; indexes left out)."""
    folder = Path(data_root) / "mocap"
    return sorted(p for p in folder.glob("*/*.csv") if p.name != "takes_index.csv")


def keraal_vicon_paths(data_root: str | os.PathLike[str]) -> list[Path]:
    """Every KERAAL Vicon file under ``<data_root>/keraal/`` (sorted)."""
    return sorted((Path(data_root) / "keraal").glob("G3-Vicon-*.txt"))


def _read_index(folder: Path) -> dict[str, dict[str, str]]:
    index = folder / "takes_index.csv"
    if not index.exists():
        return {}
    try:
        with index.open(newline="", encoding="utf-8") as handle:
            return {row["take"]: row for row in csv.DictReader(handle) if row.get("take")}
    except (OSError, UnicodeDecodeError, KeyError, csv.Error):
        return {}


def _position_from_activity(activity: str) -> str:
    return "seated" if "sit-to-stand" in activity.lower() else "standing"
