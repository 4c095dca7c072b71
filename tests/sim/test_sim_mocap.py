"""Virtual IMUs from real motion capture (``spinecoach.sim.mocap``).

Analytic takes with known answers fix the frames and signs; the real takes in
``../shared/data/mocap`` and ``../shared/data/keraal`` check the loaders on every file and
the physics of the virtual sensors (static frames read gravity, the gyroscope integrates
to the orientation change, plausible accelerations); seeded reproducibility.
"""

from __future__ import annotations

import csv
import doctest
import json
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from spinecoach.conventions import (
    AXIAL_ROTATION,
    EVENT_CALIBRATION_FUNCTIONAL,
    EVENT_CALIBRATION_NEUTRAL,
    EVENT_REP,
    LATERAL_BEND,
    LUMBAR_FLEXION,
    PELVIC_TILT_DEG,
    STANDARD_GRAVITY_MPS2,
    TRUNK_INCLINATION,
)
from spinecoach.errors import ConfigurationError, InputFormatError
from spinecoach.sim import SensorErrorModel, mocap, mocap_take
from spinecoach.sim import quaternion as quat
from spinecoach.sim.mocap import (
    MocapTake,
    fill_thorax_gaps,
    keraal_recordings,
    keraal_vicon_paths,
    load_keraal_take,
    load_mocap_take,
    mocap_body,
    mocap_take_paths,
    thorax_on_pelvis_flexion_deg,
    virtual_imu_recording,
    with_reference_calibration,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
G = STANDARD_GRAVITY_MPS2
IDEAL = SensorErrorModel.ideal()


def _need_data() -> Path:
    if not (SHARED_DATA / "mocap").is_dir() or not (SHARED_DATA / "keraal").is_dir():
        pytest.skip(f"real motion capture not found at {SHARED_DATA} (../shared/data is absent)")
    return SHARED_DATA


def _take_paths() -> list[Path]:
    return mocap_take_paths(SHARED_DATA) + keraal_vicon_paths(SHARED_DATA)


def _load(path: Path) -> MocapTake:
    return load_keraal_take(path) if path.suffix == ".txt" else load_mocap_take(path)


def _analytic_take(
    pelvis_deg: np.ndarray, thorax_deg: np.ndarray, *, axis: int = 1, rate_hz: float = 100.0
) -> MocapTake:
    """Pelvis and thorax turned by the given angles (deg) about one mocap axis (1 = left)."""
    n = pelvis_deg.shape[0]
    t = np.arange(n) / rate_hz
    pelvis = quat.about_axis(axis, pelvis_deg)
    thorax = quat.about_axis(axis, thorax_deg)
    sacrum = np.tile([0.0, 0.0, 1.0], (n, 1))
    upper = sacrum + quat.rotate(thorax, np.array([-0.05, 0.0, 0.25]))
    return MocapTake.create(
        "analytic",
        time_s=t,
        pelvis_xyzw=pelvis,
        thorax_xyzw=thorax,
        sacrum_m=sacrum,
        upper_site_m=upper,
    )


def _ramp(n: int, start: int, stop: int, peak_deg: float) -> np.ndarray:
    """0, then a smooth (cosine) rise to ``peak_deg`` over [start, stop), then held."""
    out = np.zeros(n)
    k = np.arange(stop - start) / (stop - start)
    out[start:stop] = peak_deg * 0.5 * (1.0 - np.cos(np.pi * k))
    out[stop:] = peak_deg
    return out


# --- analytic: frames and signs ---------------------------------------------------------


@pytest.mark.parametrize("module", [mocap, mocap_take], ids=lambda m: m.__name__)
def test_docstring_examples(module: object) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)  # type: ignore[arg-type]
    assert result.failed == 0 and result.attempted > 0


def test_static_upright_reads_plus_g_on_the_up_axis_and_no_rotation() -> None:
    take = _analytic_take(np.zeros(300), np.zeros(300))
    rec = virtual_imu_recording(take, seed=3, sensor_errors=IDEAL)
    for sensor in rec.sensors.values():
        # Nominal mounting: sensor x along the segment's superior axis.
        np.testing.assert_allclose(sensor.acc_mps2, np.tile([G, 0.0, 0.0], (300, 1)), atol=1e-9)
        np.testing.assert_allclose(sensor.gyr_dps, 0.0, atol=1e-9)


def test_forward_flexion_gives_positive_gyro_y_and_positive_angles() -> None:
    """Thorax bends 30° forward about the mediolateral axis, pelvis still."""
    n = 400
    take = _analytic_take(np.zeros(n), _ramp(n, 150, 300, 30.0))
    rec = virtual_imu_recording(take, seed=1, sensor_errors=IDEAL)
    gyr = rec.sensors["upper"].gyr_dps
    moving = slice(170, 280)
    # Sensor y = segment −Z = left: flexion is a positive rotation about the left axis.
    assert np.all(gyr[moving, 1] > 1.0)
    np.testing.assert_allclose(gyr[moving, [0, 2]], 0.0, atol=1e-6)
    np.testing.assert_allclose(rec.sensors["lower"].gyr_dps, 0.0, atol=1e-9)
    # The gyroscope integrates to the 30° turn.
    assert float(np.sum(gyr[:, 1]) / 100.0) == pytest.approx(30.0, abs=0.05)
    assert take.flexion_reference_deg[-1] == pytest.approx(30.0, abs=1e-9)
    truth = rec.truth
    assert truth is not None
    assert truth.series[LUMBAR_FLEXION][-1] == pytest.approx(30.0, abs=1e-6)
    assert truth.series[TRUNK_INCLINATION][-1] == pytest.approx(30.0, abs=1e-6)
    assert truth.series[PELVIC_TILT_DEG][-1] == pytest.approx(0.0, abs=1e-6)
    # Bent and still: earth-up leans back relative to the segment, towards the skin
    # normal (sensor z = segment −X, posterior): a = g (cos 30°, 0, +sin 30°).
    np.testing.assert_allclose(
        rec.sensors["upper"].acc_mps2[-1],
        [G * np.cos(np.radians(30)), 0.0, G * np.sin(np.radians(30))],
        atol=1e-6,
    )


def test_pelvic_tilt_and_whole_trunk_rotation_keep_lumbar_flexion_zero() -> None:
    n = 400
    angle = _ramp(n, 100, 300, 20.0)
    rec = virtual_imu_recording(_analytic_take(angle, angle), seed=1, sensor_errors=IDEAL)
    truth = rec.truth
    assert truth is not None
    assert truth.series[PELVIC_TILT_DEG][-1] == pytest.approx(20.0, abs=1e-6)
    np.testing.assert_allclose(truth.series[LUMBAR_FLEXION], 0.0, atol=1e-6)
    assert np.all(rec.sensors["lower"].gyr_dps[150:250, 1] > 1.0)


def test_lateral_bend_and_rotation_signs() -> None:
    n = 300
    # Bending to the right is a rotation about the anterior axis (x) by a positive angle.
    bend = virtual_imu_recording(
        _analytic_take(np.zeros(n), _ramp(n, 120, 250, 15.0), axis=0), seed=1, sensor_errors=IDEAL
    )
    # Shoulders turned to the left: a positive rotation about the superior axis (z).
    turn = virtual_imu_recording(
        _analytic_take(np.zeros(n), _ramp(n, 120, 250, 15.0), axis=2), seed=1, sensor_errors=IDEAL
    )
    assert bend.truth is not None and turn.truth is not None
    assert bend.truth.series[LATERAL_BEND][-1] == pytest.approx(15.0, abs=1e-6)
    assert bend.truth.series[LUMBAR_FLEXION][-1] == pytest.approx(0.0, abs=1e-6)
    assert turn.truth.series[AXIAL_ROTATION][-1] == pytest.approx(15.0, abs=1e-6)
    assert turn.truth.series[LUMBAR_FLEXION][-1] == pytest.approx(0.0, abs=1e-6)


def test_flexion_reference_formula() -> None:
    pelvis = quat.about_axis(1, np.array([10.0, 10.0]))
    thorax = quat.multiply(pelvis, quat.about_axis(1, np.array([25.0, -12.0])))
    np.testing.assert_allclose(thorax_on_pelvis_flexion_deg(pelvis, thorax), [25.0, -12.0])


def test_linear_acceleration_of_the_site_is_felt() -> None:
    """A sacrum moving on a known sine: the accelerometer reads it plus gravity."""
    rate = 100.0
    n = 1000
    t = np.arange(n) / rate
    amp, f = 0.05, 1.0  # 5 cm at 1 Hz: peak 1.97 m/s² (well under the 6 Hz low-pass)
    sacrum = np.column_stack([amp * np.sin(2 * np.pi * f * t), np.zeros(n), np.ones(n)])
    still = np.tile([0.0, 0.0, 0.0, 1.0], (n, 1))
    take = MocapTake.create(
        "sine",
        time_s=t,
        pelvis_xyzw=still,
        thorax_xyzw=still,
        sacrum_m=sacrum,
        upper_site_m=sacrum + np.array([0.0, 0.0, 0.3]),
    )
    rec = virtual_imu_recording(take, seed=0, sensor_errors=IDEAL)
    expected = -amp * (2 * np.pi * f) ** 2 * np.sin(2 * np.pi * f * t)
    inner = slice(100, n - 100)
    # World x (forward) = segment X = sensor −z with the nominal mounting.
    acc = rec.sensors["lower"].acc_mps2
    np.testing.assert_allclose(-acc[inner, 2], expected[inner], atol=0.02)
    np.testing.assert_allclose(acc[inner, 0], G, atol=1e-6)


def test_recording_has_no_calibration_annotations_and_names_its_source() -> None:
    rec = virtual_imu_recording(_analytic_take(np.zeros(200), np.zeros(200)), seed=0)
    assert rec.events == ()
    assert rec.meta["source"] == "mocap"
    assert set(rec.sensors) == {"lower", "upper"}
    assert json.loads(rec.meta["reference_neutral_s"]) == [0.0, 1.0]


def test_resampling_to_device_rates() -> None:
    n = 500
    take = _analytic_take(np.zeros(n), _ramp(n, 100, 300, 40.0), rate_hz=120.0)
    for rate in (25.0, 50.0, 100.0):
        rec = virtual_imu_recording(take, seed=2, rate_hz=rate, sensor_errors=IDEAL)
        sensor = rec.sensors["upper"]
        assert sensor.rate_hz == rate
        assert sensor.n_samples == int(np.floor(take.duration_s * rate + 1e-9)) + 1
        # The same 40° turn whatever the rate.
        assert float(np.sum(sensor.gyr_dps[:, 1]) / rate) == pytest.approx(40.0, abs=0.3)


def test_same_seed_same_recording_other_seed_other_errors() -> None:
    take = _analytic_take(np.zeros(300), _ramp(300, 50, 250, 20.0))
    a = virtual_imu_recording(take, seed=11)
    b = virtual_imu_recording(take, seed=11)
    c = virtual_imu_recording(take, seed=12)
    assert a.equals(b)
    assert not a.equals(c)
    assert a.truth is not None and c.truth is not None and a.truth.equals(c.truth)
    # Realistic errors include a mounting misalignment of up to ±20° per axis.
    misalignment = json.loads(a.meta["upper_mount_misalignment_deg"])
    assert max(abs(v) for v in misalignment) <= 20.0
    assert misalignment != json.loads(c.meta["upper_mount_misalignment_deg"])


def test_mount_rotation_turns_the_sensor_not_the_truth() -> None:
    take = _analytic_take(np.zeros(200), np.zeros(200))
    flipped = virtual_imu_recording(
        take,
        seed=0,
        sensor_errors=IDEAL,
        mount_rotation={"lower": Rotation.from_euler("y", 180, degrees=True)},
    )
    np.testing.assert_allclose(flipped.sensors["lower"].acc_mps2[:, 0], -G, atol=1e-9)
    np.testing.assert_allclose(flipped.sensors["upper"].acc_mps2[:, 0], G, atol=1e-9)


# --- errors name the input and the fix ---------------------------------------------------


def test_bad_arguments_are_refused_with_a_message() -> None:
    take = _analytic_take(np.zeros(100), np.zeros(100))
    with pytest.raises(ConfigurationError, match="seed must be a non-negative integer"):
        virtual_imu_recording(take, seed=-1)
    with pytest.raises(ConfigurationError, match="cutoff_hz must be None"):
        virtual_imu_recording(take, seed=0, cutoff_hz=80.0)
    with pytest.raises(ConfigurationError, match="rate_hz must be a positive"):
        virtual_imu_recording(take, seed=0, rate_hz=0.0)
    with pytest.raises(ConfigurationError, match="unknown placement 'middle'"):
        virtual_imu_recording(take, seed=0, mount_rotation={"middle": [0, 0, 0, 1]})
    with pytest.raises(ConfigurationError, match="neutral_s must be"):
        virtual_imu_recording(take, seed=0, neutral_s=(2.0, 1.0))
    with pytest.raises(ConfigurationError, match="take must be a MocapTake"):
        virtual_imu_recording("take.csv", seed=0)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="no flexion excursion above 20°"):
        with_reference_calibration(virtual_imu_recording(take, seed=0))


def test_take_validation_messages() -> None:
    t = np.arange(20) / 100.0
    q = np.tile([0.0, 0.0, 0.0, 1.0], (20, 1))
    p = np.zeros((20, 3))
    with pytest.raises(ConfigurationError, match="at least 10 frames"):
        MocapTake.create(
            "x",
            time_s=t[:5],
            pelvis_xyzw=q[:5],
            thorax_xyzw=q[:5],
            sacrum_m=p[:5],
            upper_site_m=p[:5],
        )
    with pytest.raises(ConfigurationError, match="strictly increasing"):
        MocapTake.create(
            "x", time_s=t[::-1], pelvis_xyzw=q, thorax_xyzw=q, sacrum_m=p, upper_site_m=p
        )
    with pytest.raises(ConfigurationError, match="evenly spaced"):
        MocapTake.create(
            "x", time_s=t**0.5, pelvis_xyzw=q, thorax_xyzw=q, sacrum_m=p, upper_site_m=p
        )
    with pytest.raises(ConfigurationError, match=r"norm 2\.000; quaternions must be unit"):
        MocapTake.create(
            "x", time_s=t, pelvis_xyzw=2 * q, thorax_xyzw=q, sacrum_m=p, upper_site_m=p
        )
    missing = q.copy()
    missing[4] = np.nan
    with pytest.raises(ConfigurationError, match="pelvis orientation is missing at frame 4"):
        MocapTake.create(
            "x", time_s=t, pelvis_xyzw=missing, thorax_xyzw=q, sacrum_m=p, upper_site_m=p
        )
    with pytest.raises(ConfigurationError, match=r"sacrum_m must have shape \(n, 3\)"):
        MocapTake.create(
            "x", time_s=t, pelvis_xyzw=q, thorax_xyzw=q, sacrum_m=p[:, :2], upper_site_m=p
        )


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _good_rows(n: int = 12) -> tuple[list[str], list[list[str]]]:
    header = [
        "time_s",
        "pelvis_qw",
        "pelvis_qx",
        "pelvis_qy",
        "pelvis_qz",
        "thorax_qw",
        "thorax_qx",
        "thorax_qy",
        "thorax_qz",
        "sacrum_x_m",
        "sacrum_y_m",
        "sacrum_z_m",
        "t10_x_m",
        "t10_y_m",
        "t10_z_m",
        "flex_thorax_rel_pelvis_deg",
    ]
    rows = [
        [
            f"{k / 100:.2f}",
            "1",
            "0",
            "0",
            "0",
            "1",
            "0",
            "0",
            "0",
            "0",
            "0",
            "1",
            "0",
            "0",
            "1.3",
            "0",
        ]
        for k in range(n)
    ]
    return header, rows


def test_loader_errors_name_file_line_and_column(tmp_path: Path) -> None:
    header, rows = _good_rows()
    take = load_mocap_take(_write(tmp_path / "ok.csv", header, rows))
    assert take.n_frames == 12 and take.rate_hz == 100.0 and take.upper_site.startswith("t10")
    with pytest.raises(InputFormatError, match="a readable mocap CSV file"):
        load_mocap_take(tmp_path / "absent.csv")
    with pytest.raises(InputFormatError, match="line 1: the columns thorax_qw"):
        load_mocap_take(
            _write(
                tmp_path / "cols.csv",
                [h for h in header if h != "thorax_qw"],
                [r[:5] + r[6:] for r in rows],
            )
        )
    bad = [list(r) for r in rows]
    bad[3][2] = "abc"
    with pytest.raises(InputFormatError, match="line 5, column 'pelvis_qx': a number"):
        load_mocap_take(_write(tmp_path / "text.csv", header, bad))
    bad = [list(r) for r in rows]
    bad[2][1] = "2"
    with pytest.raises(InputFormatError, match="line 4, column 'pelvis_qw': unit quaternions"):
        load_mocap_take(_write(tmp_path / "norm.csv", header, bad))
    bad = [list(r) for r in rows]
    bad[6][-1] = "30"
    with pytest.raises(InputFormatError, match="flex_thorax_rel_pelvis_deg equal to"):
        load_mocap_take(_write(tmp_path / "flex.csv", header, bad))
    bad = [list(r) for r in rows]
    bad[5][0] = "0.01"
    with pytest.raises(InputFormatError, match="strictly increasing"):
        load_mocap_take(_write(tmp_path / "time.csv", header, bad))
    with pytest.raises(InputFormatError, match="at least 10 frames"):
        load_mocap_take(_write(tmp_path / "short.csv", header, rows[:4]))


def test_keraal_recordings_names_a_missing_exercise(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no KERAAL Vicon file for exercise 'ELK'"):
        keraal_recordings(tmp_path, seed=0)


# --- the real takes ----------------------------------------------------------------------


def test_every_take_loads_with_a_plausible_reference() -> None:
    _need_data()
    paths = _take_paths()
    assert len(paths) >= 21
    for path in paths:
        take = _load(path)
        assert take.n_frames >= 100, path.name
        assert take.rate_hz in (50.0, 60.0, 100.0, 120.0), (path.name, take.rate_hz)
        assert np.all(np.isfinite(take.pelvis_xyzw))
        assert np.all(np.isfinite(take.thorax_filled_xyzw))
        assert np.all(np.isfinite(take.sacrum_m)) and np.all(np.isfinite(take.upper_site_m))
        # The upper site sits above the sacrum, 10–60 cm away.
        distance = np.linalg.norm(take.upper_site_m - take.sacrum_m, axis=1)
        assert 0.1 < float(np.median(distance)) < 0.6, (path.name, float(np.median(distance)))
        seen = take.flexion_reference_deg[take.thorax_visible]
        assert float(seen.min()) > -40.0 and float(seen.max()) < 90.0, path.name


def test_index_ranges_match_the_loaded_reference() -> None:
    _need_data()
    for folder in sorted((SHARED_DATA / "mocap").iterdir()):
        with (folder / "takes_index.csv").open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                take = load_mocap_take(folder / f"{row['take']}.csv")
                assert take.n_frames == int(row["n_frames"])
                assert take.rate_hz == pytest.approx(float(row["rate_hz"]))
                assert take.activity == row["activity"]
                flex = take.flexion_reference_deg
                assert float(np.nanmin(flex)) == pytest.approx(float(row["flex_min_deg"]), abs=0.06)
                assert float(np.nanmax(flex)) == pytest.approx(float(row["flex_max_deg"]), abs=0.06)


def test_keraal_takes_are_lateral_bend_and_rotation() -> None:
    _need_data()
    recs = keraal_recordings(SHARED_DATA, seed=0, exercises=("ELK", "RTK"), sensor_errors=IDEAL)
    elk, rtk = recs["ELK"].truth, recs["RTK"].truth
    assert elk is not None and rtk is not None
    bend = elk.series[LATERAL_BEND]
    assert float(np.nanmax(np.abs(bend))) > 15.0
    assert float(np.nanmax(np.abs(rtk.series[AXIAL_ROTATION]))) > 15.0
    # Neither is a flexion-extension movement: no optical flexion excursion above 20°.
    for truth in (elk, rtk):
        assert not [e for e in truth.events if e.kind == EVENT_REP]
        assert float(np.nanmax(np.abs(truth.series[LUMBAR_FLEXION]))) < 25.0


def test_virtual_imus_on_every_take_static_frames_read_gravity() -> None:
    _need_data()
    for path in _take_paths():
        take = _load(path)
        rec = virtual_imu_recording(take, seed=0, sensor_errors=IDEAL)
        body = mocap_body(take)
        for placement, sensor in rec.sensors.items():
            norm = np.linalg.norm(sensor.acc_mps2, axis=1)
            # A person moving about: accelerations stay human (< 3 g; dropping onto the
            # chair in the sit-to-stand takes reaches 2 g).
            assert float(norm.max()) < 3.0 * G and float(norm.min()) > 0.2 * G, path.name
            assert float(np.abs(sensor.gyr_dps).max()) < 500.0, path.name
            # In the earth frame the mean specific force is gravity: the mean linear
            # acceleration is the change of velocity over the take, small for a person
            # who starts and ends in about the same motion (walking: constant speed).
            mount = np.array(json.loads(rec.meta[f"{placement}_mount_sensor_to_segment_xyzw"]))
            earth = quat.rotate(quat.multiply(body.segment(placement), mount), sensor.acc_mps2)
            mean = earth.mean(axis=0)
            assert abs(float(mean[2]) - G) < 0.3 and float(np.hypot(mean[0], mean[1])) < 0.5, (
                path.name,
                placement,
                mean,
            )
    static = virtual_imu_recording(
        load_mocap_take(SHARED_DATA / "mocap" / "nimble" / "opencapS4_static1.csv"),
        seed=0,
        sensor_errors=IDEAL,
    )
    body = mocap_body(load_mocap_take(SHARED_DATA / "mocap" / "nimble" / "opencapS4_static1.csv"))
    for placement, sensor in static.sensors.items():
        inner = slice(20, -20)  # away from the filter's edges
        np.testing.assert_allclose(np.linalg.norm(sensor.acc_mps2[inner], axis=1), G, atol=0.1)
        # Gravity along the sensor's earth-up direction.
        mount = np.array(json.loads(static.meta[f"{placement}_mount_sensor_to_segment_xyzw"]))
        sensor_q = quat.multiply(body.segment(placement), mount)
        up = quat.rotate_inverse(sensor_q, np.array([0.0, 0.0, 1.0]))
        acc = sensor.acc_mps2[inner]
        cos = np.einsum("ij,ij->i", up[inner], acc) / np.linalg.norm(acc, axis=1)
        assert float(np.degrees(np.arccos(np.clip(cos.min(), -1, 1)))) < 0.6


def test_gyroscope_integrates_to_the_orientation_change() -> None:
    _need_data()
    path = SHARED_DATA / "mocap" / "nimble" / "vicon_squat.csv"
    take = load_mocap_take(path)
    rec = virtual_imu_recording(take, seed=0, sensor_errors=IDEAL)
    body = mocap_body(take)
    for placement, sensor in rec.sensors.items():
        mount = np.array(json.loads(rec.meta[f"{placement}_mount_sensor_to_segment_xyzw"]))
        truth_q = quat.multiply(body.segment(placement), mount)
        dt = 1.0 / sensor.rate_hz
        steps = Rotation.from_rotvec(np.radians(sensor.gyr_dps[1:]) * dt)
        q = Rotation.from_quat(truth_q[0])
        errors = []
        for k in range(1, sensor.n_samples):
            q = q * steps[k - 1]
            if k % 60 == 0:
                diff = q.inv() * Rotation.from_quat(truth_q[k])
                errors.append(float(np.degrees(diff.magnitude())))
        # 21 s through two forward bends to ~80° and squats: under 2° of drift in all.
        assert max(errors) < 2.0, (placement, max(errors))


def test_vicon_squat_gaps_filled_for_the_imu_and_nan_in_the_truth() -> None:
    _need_data()
    take = load_mocap_take(SHARED_DATA / "mocap" / "nimble" / "vicon_squat.csv")
    hidden = ~take.thorax_visible
    assert 0.04 < float(hidden.mean()) < 0.08
    assert np.all(np.isnan(take.flexion_reference_deg[hidden]))
    rec = virtual_imu_recording(take, seed=5)
    truth = rec.truth
    assert truth is not None
    nan_share = float(np.isnan(truth.series[LUMBAR_FLEXION]).mean())
    assert 0.04 < nan_share < 0.08
    assert int(rec.meta["thorax_filled_frames"]) == int(hidden.sum())
    for sensor in rec.sensors.values():
        assert np.all(np.isfinite(sensor.acc_mps2)) and np.all(np.isfinite(sensor.gyr_dps))
    # The filled thorax keeps turning smoothly through the gaps (no jump at their edges).
    speed = mocap.angular_speed_dps(take.thorax_filled_xyzw, take.rate_hz)
    assert float(speed.max()) < 400.0
    # Reference excursions: the two forward bends (> 65°) and the squats (< 60°).
    bends = [e for e in truth.events if e.kind == EVENT_REP and e.value > 65.0]
    assert len(bends) == 2
    # What the sensor wears: the optical angle where seen, the fill (deeper) where not.
    worn = truth.series[mocap.LUMBAR_FLEXION_WORN]
    seen = np.isfinite(truth.series[LUMBAR_FLEXION])
    assert np.all(np.isfinite(worn))
    np.testing.assert_allclose(worn[seen], truth.series[LUMBAR_FLEXION][seen], atol=1e-9)
    for bend in bends:
        inside = (truth.time_s >= bend.start_s) & (truth.time_s <= bend.end_s)
        assert float(worn[inside].max()) > bend.value + 2.0


def test_gap_fill_follows_the_spine_markers() -> None:
    """Hide visible stretches of vicon_squat and fill them: with the C7−T10 swing the
    flexion stays within 2.5° of the optical one; slerp alone misses by more."""
    _need_data()
    path = SHARED_DATA / "mocap" / "nimble" / "vicon_squat.csv"
    take = load_mocap_take(path)
    with path.open(encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        cells = np.array([[float(c) if c else np.nan for c in row] for row in reader])
    column = {name: cells[:, i] for i, name in enumerate(header)}
    c7 = np.column_stack([column[f"c7_{a}_m"] for a in "xyz"])
    t10 = np.column_stack([column[f"t10_{a}_m"] for a in "xyz"])
    for lo, hi in ((0.3, 0.85), (2.0, 2.6), (3.3, 3.9), (18.9, 19.5)):
        hide = (take.time_s >= lo) & (take.time_s <= hi)
        q = take.thorax_xyzw.copy()
        q[hide] = np.nan
        with_markers = thorax_on_pelvis_flexion_deg(
            take.pelvis_xyzw, fill_thorax_gaps(q, c7_m=c7, t10_m=t10)
        )
        slerp_only = thorax_on_pelvis_flexion_deg(take.pelvis_xyzw, fill_thorax_gaps(q))
        truth = take.flexion_reference_deg
        assert float(np.abs(with_markers - truth)[hide].max()) < 2.5, (lo, hi)
        assert float(np.abs(slerp_only - truth)[hide].max()) > 4.0, (lo, hi)


def test_reference_calibration_oracle_on_vicon_squat() -> None:
    _need_data()
    rec = virtual_imu_recording(
        load_mocap_take(SHARED_DATA / "mocap" / "nimble" / "vicon_squat.csv"), seed=0
    )
    annotated = with_reference_calibration(rec)
    kinds = [e.kind for e in annotated.events]
    assert kinds == [EVENT_CALIBRATION_NEUTRAL, EVENT_CALIBRATION_FUNCTIONAL]
    neutral, functional = annotated.events
    assert (neutral.start_s, neutral.end_s) == tuple(json.loads(rec.meta["reference_neutral_s"]))
    # The first forward bend, at the start of the take.
    assert functional.start_s < 0.5 and 2.0 < functional.end_s < 3.0
