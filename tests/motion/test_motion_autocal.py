"""Protocol-free calibration (issue 13 item 1): analytic signals with known answers, the
seeded protocol-free simulator, streaming == batch, declared and stored calibrations,
accelerometer-only sensors and every calibration method's honest output."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from motion_analytic import sagittal_sensor, stream_samples
from numpy.typing import NDArray
from scipy.spatial.transform import Rotation

from spinecoach.conventions import (
    CAT_COW_SEATED,
    HIP_HINGE,
    LUMBAR_FLEXION,
    PELVIC_TILT,
    PELVIC_TILT_DEG,
    TRUNK_INCLINATION,
)
from spinecoach.errors import ConfigurationError
from spinecoach.motion import MotionSettings, MotionTracker, SensorSample, motion_process
from spinecoach.motion.autocal import (
    TECHNIQUE_PRIORS,
    AutoCalibrationSettings,
    MovementPrior,
    SensorStream,
    StoredCalibration,
    decide_movement_calibration,
    estimate_axis,
    movement_prior,
)
from spinecoach.motion.flags import FLAG_ACCEL_ONLY, FLAG_LOW_CONFIDENCE, FLAG_NOT_CALIBRATED
from spinecoach.recording import Recording, SensorData
from spinecoach.sim import SensorErrorModel, simulate
from spinecoach.sim.suite import protocol_free_suite

RATE = 50.0
T = np.arange(0, 40.0, 1 / RATE)


def continuous_bends(t: NDArray[np.float64]) -> NDArray[np.float64]:
    """Still for 1 s, then forward bends to 45° and back to 12° of extension without a
    pause (4 s each, eight of them), then still."""
    out = np.zeros_like(t)
    m = (t >= 1.0) & (t < 33.0)
    phase = 2 * np.pi * (t[m] - 1.0) / 4.0
    # 0 → +45 → -12 → 0 within each 4 s cycle (flexion larger than extension).
    wave = np.sin(phase)
    out[m] = np.where(wave > 0, 45.0 * wave, 12.0 * wave)
    return out


def _recording(mount_deg: tuple[float, float, float], *, lower_scale: float = 0.4) -> Recording:
    mount = Rotation.from_euler("xyz", mount_deg, degrees=True)
    lower = sagittal_sensor(
        "lower", T, lambda t: lower_scale * continuous_bends(t), mount, rate_hz=RATE
    )
    upper_mount = Rotation.from_euler("xyz", [-mount_deg[2], mount_deg[0], 90], degrees=True)
    upper = sagittal_sensor("upper", T, continuous_bends, upper_mount, rate_hz=RATE)
    return Recording.create({"lower": lower, "upper": upper})


@pytest.mark.parametrize("mount", [(0, 0, 0), (20, -20, 15), (-15, 18, -20), (170, 5, 90)])
def test_no_protocol_no_pause_angles_match_the_analytic_truth(
    mount: tuple[float, float, float],
) -> None:
    """No annotation, no still → bend → still: the person moves after 1 s without pausing.
    The angles still come out right, from the first frame, whatever the mounting."""
    frames, info = motion_process(_recording(mount))
    calibration = info["calibration"]
    assert calibration["method"] == "movement"
    assert calibration["confidence"] >= 0.8, calibration
    assert set(calibration["windows"]) >= {"neutral_s", "movement_s"}
    start, end = calibration["windows"]["neutral_s"]
    assert 0.0 <= start < end <= 1.05
    assert not (frames.flags & FLAG_NOT_CALIBRATED).any()
    truth = continuous_bends(frames.time_s)
    np.testing.assert_allclose(frames[LUMBAR_FLEXION], 0.6 * truth, atol=0.6)
    np.testing.assert_allclose(frames[PELVIC_TILT_DEG], 0.4 * truth, atol=0.6)
    np.testing.assert_allclose(frames[TRUNK_INCLINATION], truth, atol=1.0)


def test_supine_prior_signs_a_posterior_pelvic_tilt_negative() -> None:
    """Lying supine the pelvic tilt goes posterior: the same one-sided movement that is
    flexion when standing is read as a posterior tilt (negative) with the supine prior."""
    mount = Rotation.from_euler("xyz", (10, -5, 30), degrees=True)
    tilts = lambda t: -np.clip(continuous_bends(t), 0.0, None) / 4.0  # noqa: E731
    lower = sagittal_sensor("lower", T, tilts, mount, rate_hz=RATE)
    frames, info = motion_process(
        Recording.create({"lower": lower}), MotionSettings(position="supine")
    )
    assert info["calibration"]["method"] == "movement"
    np.testing.assert_allclose(frames[PELVIC_TILT_DEG], tilts(frames.time_s), atol=0.6)
    assert np.nanmin(frames[PELVIC_TILT_DEG]) < -10.0


def test_streaming_equals_batch_with_the_protocol_free_calibration() -> None:
    """The tracker holds its frames until the calibration is decided, then emits them all:
    the same frames and numbers as batch, from the first sample on."""
    rec = simulate("flexion-extension", seed=4, reps=4, scenario="protocol-free", rate_hz=50.0)
    assert rec.events == ()
    frames, info = motion_process(rec)
    tracker = MotionTracker(rates_hz={p: s.rate_hz for p, s in rec.sensors.items()})
    samples = sorted(
        (float(s.time_s[i]), p, i) for p, s in rec.sensors.items() for i in range(s.n_samples)
    )
    out = []
    held = 0
    for t, p, i in samples:
        s = rec.sensors[p]
        got = tracker.update(SensorSample(p, t, s.acc_mps2[i], s.gyr_dps[i]))
        if tracker.pending:
            held += 1
            assert got == []
        out += got
    out += tracker.finish()
    assert held > 0  # the decision waited for the movement
    assert tracker.calibration_info is not None
    assert tracker.calibration_info["method"] == info["calibration"]["method"] == "movement"
    assert tracker.calibration_info["windows"] == info["calibration"]["windows"]
    assert len(out) == len(frames)
    np.testing.assert_array_equal([f.time_s for f in out], frames.time_s)
    for name in (LUMBAR_FLEXION, PELVIC_TILT_DEG, TRUNK_INCLINATION):
        np.testing.assert_array_equal([f.angles[name] for f in out], frames[name])
    np.testing.assert_array_equal([f.flags for f in out], frames.flags)


def test_streaming_finish_decides_a_short_recording_like_batch() -> None:
    rec = _recording((5, 5, 5))
    short = Recording.create(
        {
            p: SensorData.from_arrays(
                p, s.time_s[:600], s.acc_mps2[:600], s.gyr_dps[:600], rate_hz=RATE
            )
            for p, s in rec.sensors.items()
        }
    )
    settings = MotionSettings(autocal=AutoCalibrationSettings(early_excursion_deg=90.0))
    frames, info = motion_process(short, settings)
    tracker = MotionTracker(rates_hz={"lower": RATE, "upper": RATE}, settings=settings)
    out = []
    for i in range(600):
        for p in ("lower", "upper"):
            s = short.sensors[p]
            out += tracker.update(SensorSample(p, float(s.time_s[i]), s.acc_mps2[i], s.gyr_dps[i]))
    assert out == [] and tracker.pending  # 12 s, no clear early decision: still held
    out += tracker.finish()
    assert not tracker.pending
    np.testing.assert_array_equal([f.angles[LUMBAR_FLEXION] for f in out], frames[LUMBAR_FLEXION])
    assert info["calibration"]["decided_at_s"] == pytest.approx(
        float(short.sensors["lower"].time_s[-1])
    )


def test_declared_neutral_is_used_and_reported() -> None:
    frames, info = motion_process(_recording((0, 10, 0)), MotionSettings(neutral_s=(0.1, 0.9)))
    assert info["calibration"]["windows"]["neutral_s"] == [0.1, 0.9]
    assert info["calibration"]["source"] == "declared"
    assert "declared window" in info["calibration"]["reason"]
    np.testing.assert_allclose(
        frames[LUMBAR_FLEXION], 0.6 * continuous_bends(frames.time_s), atol=0.6
    )


def test_every_method_says_what_it_did() -> None:
    rec = _recording((0, 0, 0))
    _, none = motion_process(rec, MotionSettings(calibration="none"))
    assert none["calibration"]["method"] == "none"
    assert "switched off" in none["calibration"]["reason"]
    assert "switched off" in none["unavailable"]["lower_sensor"]
    frames, protocol = motion_process(rec, MotionSettings(calibration="protocol"))
    assert protocol["calibration"]["method"] == "protocol"
    assert "no calibration protocol found" in protocol["calibration"]["reason"]
    assert "--calibration auto" in protocol["calibration"]["reason"]
    assert np.isnan(frames[LUMBAR_FLEXION]).all()
    frames, neutral = motion_process(rec, MotionSettings(calibration="neutral-only"))
    assert neutral["calibration"]["method"] == "neutral-only"
    assert neutral["calibration"]["confidence"] <= 0.3
    assert np.isfinite(frames[LUMBAR_FLEXION]).all()
    assert (frames.flags & FLAG_LOW_CONFIDENCE).all()
    with pytest.raises(ConfigurationError, match="unknown calibration method 'magic'"):
        MotionSettings(calibration="magic")
    with pytest.raises(ConfigurationError, match=r"neutral window .* START:END"):
        MotionSettings(neutral_s=(2.0, 1.0))
    with pytest.raises(ConfigurationError, match=r"MovementPrior\.coupling must be"):
        MovementPrior(coupling=0)


def test_stored_calibration_is_reused_when_the_same_sensors_are_worn_again() -> None:
    """A stored flexion axis gives the sign even when the new session cannot tell it (a
    movement as far backward as forward), and only for the same devices."""
    mount = (15, -10, 40)
    _, first = motion_process(_recording(mount))
    stored = StoredCalibration.from_segments(first["calibration"]["segments"])
    again = StoredCalibration.from_json(json.loads(json.dumps(stored.to_json())))
    symmetric = lambda t: np.where(  # noqa: E731
        (t >= 1.0) & (t < 33.0), 30.0 * np.sin(2 * np.pi * (t - 1.0) / 4.0), 0.0
    )
    m = Rotation.from_euler("xyz", mount, degrees=True)
    upper_m = Rotation.from_euler("xyz", [-mount[2], mount[0], 90], degrees=True)
    rec = Recording.create(
        {
            "lower": sagittal_sensor("lower", T, lambda t: 0.3 * symmetric(t), m, rate_hz=RATE),
            "upper": sagittal_sensor("upper", T, symmetric, upper_m, rate_hz=RATE),
        }
    )
    frames, info = motion_process(rec, MotionSettings(stored=again))
    assert info["calibration"]["method"] == "stored"
    assert "stored calibration" in info["calibration"]["reason"]
    np.testing.assert_allclose(frames[LUMBAR_FLEXION], 0.7 * symmetric(frames.time_s), atol=0.6)
    other = StoredCalibration({p: ("another-device", z) for p, (_d, z) in again.z_axes.items()})
    named = Recording.create({p: replace(s, device="my-sensor") for p, s in rec.sensors.items()})
    _, info = motion_process(named, MotionSettings(stored=other))
    assert info["calibration"]["method"] == "movement"
    with pytest.raises(ConfigurationError, match="not a spinecoach calibration file"):
        StoredCalibration.from_json({"sensors": {}})
    with pytest.raises(ConfigurationError, match="z_axis_in_sensor_frame must be three"):
        StoredCalibration.from_json(
            {"spinecoach_calibration": 1, "sensors": {"lower": {"z_axis_in_sensor_frame": [1]}}}
        )


def test_accelerometer_only_sensor_gives_inclination_from_gravity() -> None:
    rec = _recording((10, -10, 25))
    no_gyro = {
        p: SensorData.from_arrays(
            p, s.time_s, s.acc_mps2, np.full_like(s.gyr_dps, np.nan), rate_hz=RATE
        )
        for p, s in rec.sensors.items()
    }
    assert not no_gyro["lower"].has_gyroscope
    frames, info = motion_process(Recording.create(no_gyro))
    assert info["calibration"]["method"] == "movement"
    assert (frames.flags & FLAG_ACCEL_ONLY).all()
    assert np.isnan(frames["axial_rotation_deg"]).all()
    assert "needs gyroscopes" in info["unavailable"]["axial_rotation_deg"]
    assert info["sensors"]["lower"]["gyroscope"] is False
    # 4-s bends: gravity alone is within about 2° (the 1.5 Hz low-pass lags ~0.1 s).
    err = frames[LUMBAR_FLEXION] - 0.6 * continuous_bends(frames.time_s)
    assert float(np.sqrt(np.mean(err**2))) < 2.5
    tracker = MotionTracker(rates_hz={"lower": RATE})
    out = []
    s = no_gyro["lower"]
    for i in range(s.n_samples):
        out += tracker.update(
            SensorSample("lower", float(s.time_s[i]), s.acc_mps2[i], s.gyr_dps[i])
        )
    out += tracker.finish()
    one, _ = motion_process(Recording.create({"lower": s}))
    np.testing.assert_array_equal([f.angles[PELVIC_TILT_DEG] for f in out], one[PELVIC_TILT_DEG])


def test_a_recording_with_no_movement_still_gets_angles_flagged_low_confidence() -> None:
    still = {
        p: SensorData.from_arrays(
            p, T[:300], np.tile(s.acc_mps2[0], (300, 1)), np.zeros((300, 3)), rate_hz=RATE
        )
        for p, s in _recording((0, 0, 0)).sensors.items()
    }
    frames, info = motion_process(Recording.create(still))
    assert info["calibration"]["method"] == "movement"
    assert info["calibration"]["confidence"] < 0.5
    assert "hardly moved" in info["calibration"]["reason"]
    assert np.isfinite(frames[LUMBAR_FLEXION]).all()
    assert (frames.flags & FLAG_LOW_CONFIDENCE).all()


#: A fixed subset of the protocol-free suite: every technique, 25–100 Hz, the real-world
#: profiles, soft-tissue artefact (no placement spread: the gate is about the calibration,
#: not about a sensor sitting over another vertebra).
SUBSET = protocol_free_suite(
    36, seed=0, sensor_errors=SensorErrorModel.real_world(placement_spread=False)
)


def _rep_rmse(rec: Recording, frames: object, info: dict[str, object], name: str) -> float:
    truth = rec.truth
    assert truth is not None
    ft = frames.time_s  # type: ignore[attr-defined]
    est = frames[name]  # type: ignore[index]
    ref = np.interp(ft, truth.time_s, truth.series[name])
    window = info["calibration"]["windows"]["neutral_s"]  # type: ignore[index]
    zero = (ft >= window[0]) & (ft <= window[1])
    est = est + np.nanmean(ref[zero]) - np.nanmean(est[zero])
    during = np.zeros(ft.shape[0], dtype=bool)
    for event in truth.events:
        if event.kind == "rep":
            during |= (ft >= event.start_s) & (ft <= event.end_s)
    ok = during & np.isfinite(est)
    return float(np.sqrt(np.mean((est[ok] - ref[ok]) ** 2)))


def test_protocol_free_suite_subset_calibrates_and_measures() -> None:
    """Every session calibrated from the movement (no protocol, no annotation). Hinge,
    flexion-extension and pelvic tilt: lumbar flexion (pelvic tilt with one sensor) during
    the reps within 3° RMSE pooled and in at least 85 % of sessions, with soft-tissue
    artefact. Cat-cow goes about as far into cat as into cow, so which way is flexion cannot
    be told without a protocol or a stored calibration: any session more than 5° off must
    say so with a low confidence (< 0.5)."""
    one_sided: list[float] = []
    wrong_but_sure: list[tuple[str, float, float]] = []
    for case in SUBSET:
        rec = case.simulate()
        position = rec.meta["position"]
        frames, info = motion_process(
            rec,
            MotionSettings(position=position, movement=movement_prior(position, case.technique)),
        )
        calibration = info["calibration"]
        assert calibration["method"] == "movement", case.name
        name = LUMBAR_FLEXION if "upper" in rec.sensors else PELVIC_TILT_DEG
        assert np.isfinite(frames[name]).mean() > 0.95, case.name
        rmse = _rep_rmse(rec, frames, info, name)
        if not case.technique.startswith("cat-cow"):
            one_sided.append(rmse)
        if rmse > 5.0 and calibration["confidence"] >= 0.5:
            wrong_but_sure.append((case.name, rmse, float(calibration["confidence"])))
    rmses = np.array(one_sided)
    assert len(rmses) >= 20
    assert float(np.sqrt(np.mean(rmses**2))) <= 3.0, rmses
    assert np.mean(rmses <= 3.0) >= 0.85, rmses
    assert wrong_but_sure == []


# --- The pelvis leads (cat-cow, pelvic tilt) ---------------------------------------------

#: The nominal mounting (sensor x up the spine, z out of the skin): rows X, Y, Z.
NOMINAL = np.array([[0.0, 0.0, -1.0], [1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
TEN_HZ = np.arange(0.0, 46.0, 0.02)


def _stream(
    mount: Rotation, flexion_deg: NDArray[np.float64], side_deg: NDArray[np.float64]
) -> SensorStream:
    """Earth-up in the frame of a sensor on a segment that flexes (up moves towards -X) and
    bends sideways (towards +Z); accelerometer = gravity, gyroscope = the tilt rate."""
    axes = mount.apply(NOMINAL)  # the segment's X, Y, Z in sensor axes
    f, s = np.radians(flexion_deg), np.radians(side_deg)
    up = (
        np.cos(f)[:, None] * np.cos(s)[:, None] * axes[1]
        - np.sin(f)[:, None] * axes[0]
        + np.cos(f)[:, None] * np.sin(s)[:, None] * axes[2]
    )
    up /= np.linalg.norm(up, axis=1, keepdims=True)
    rate = np.hypot(np.gradient(flexion_deg, TEN_HZ), np.gradient(side_deg, TEN_HZ))
    gyr = np.column_stack([rate, np.zeros_like(rate), np.zeros_like(rate)])
    return SensorStream(TEN_HZ, up * 9.80665, gyr, up)


def _bends(t: NDArray[np.float64]) -> NDArray[np.float64]:
    """Lateral bends from 24 to 40 s: 30° to the right, 15° to the left, twice (deg)."""
    wave = np.where((t >= 24.0) & (t < 40.0), np.sin(2 * np.pi * (t - 24.0) / 8.0), 0.0)
    return np.where(wave > 0, 30.0 * wave, 15.0 * wave)


def _seated_cat_cow() -> tuple[dict[str, SensorStream], dict[str, NDArray[np.float64]]]:
    """Still 2 s, five 4-s cat-cows (pelvis ±4°, the thorax ∓2° the other way: it hardly
    tilts), still, then lateral bends of the thorax, 30° to the right and 15° to the left,
    twice (the pelvis sensor sees a tenth of them) and rest. Returns the streams and each
    sensor's true Z in sensor axes."""
    t = TEN_HZ
    cycle = np.where((t >= 2.0) & (t < 22.0), np.sin(2 * np.pi * (t - 2.0) / 4.0), 0.0)
    bend = _bends(t)
    mounts = {
        "lower": Rotation.from_euler("xyz", (12, -15, 8), degrees=True),
        "upper": Rotation.from_euler("xyz", (-10, 14, -12), degrees=True),
    }
    streams = {
        "lower": _stream(mounts["lower"], -4.0 * cycle, 0.1 * bend),
        "upper": _stream(mounts["upper"], 2.0 * cycle, bend),
    }
    return streams, {p: m.apply(NOMINAL)[2] for p, m in mounts.items()}


def _angle_deg(a: NDArray[np.float64], b: NDArray[np.float64]) -> float:
    return float(
        np.degrees(np.arccos(np.clip(a @ b / np.linalg.norm(a) / np.linalg.norm(b), -1, 1)))
    )


def test_seated_cat_cow_the_pelvis_leads_and_the_thorax_follows_it_not_its_side_bends() -> None:
    """Seated, the thorax tilts 2° in a cat-cow and 15-30° in a lateral bend: on its own
    excursions its axis would be the frontal one. The pelvis leads, the thorax's axis is the
    direction its tilt follows the pelvis in (opposite ways), and both come out right,
    signed by the documented mounting."""
    streams, true_z = _seated_cat_cow()
    settings = AutoCalibrationSettings()
    alone = estimate_axis(
        streams["upper"].up[:100].mean(axis=0), TEN_HZ, streams["upper"].up, settings
    )
    assert _angle_deg(alone.z_raw, true_z["upper"]) > 60.0  # its own votes: the side bends
    result = decide_movement_calibration(
        streams,
        t0=0.0,
        t_cut=np.inf,
        prior=TECHNIQUE_PRIORS[CAT_COW_SEATED],
        settings=settings,
        final=True,
    )
    assert result is not None
    for placement in ("lower", "upper"):
        assert _angle_deg(result.axes[placement][2], true_z[placement]) < 8.0, result.details
    assert "follows the lower sensor" in str(result.details["upper"]["sign_from"])
    assert "documented mounting" in str(result.details["lower"]["sign_from"])
    assert result.confidence < 0.5  # which way is flexion came from the mounting


def test_a_thorax_that_does_not_follow_the_pelvis_takes_the_documented_mounting() -> None:
    """When the thorax's tilt does not follow the pelvis at all, it is not given its side
    bends' axis: the documented mounting, with a low confidence that says so."""
    streams, _ = _seated_cat_cow()
    upper = _stream(Rotation.identity(), np.zeros_like(TEN_HZ), _bends(TEN_HZ))
    result = decide_movement_calibration(
        {"lower": streams["lower"], "upper": upper},
        t0=0.0,
        t_cut=np.inf,
        prior=TECHNIQUE_PRIORS[CAT_COW_SEATED],
        settings=AutoCalibrationSettings(),
        final=True,
    )
    assert result is not None
    assert _angle_deg(result.axes["upper"][2], NOMINAL[2]) < 1.0
    assert "documented mounting" in str(result.details["upper"]["sign_from"])
    assert result.sensor_confidence["upper"] <= 0.2


def test_a_one_sided_movement_ignores_excursions_mirrored_the_other_way() -> None:
    """Supine, three 6° posterior pelvic tilts against knees rocking 25° to each side three
    times: by vote counts alone the rocks win (each side is a one-sided line as long as the
    tilts'); a one-sided prior drops the mirrored rocks and finds the tilts' line."""
    t = np.arange(0.0, 40.0, 0.1)
    tilt = np.zeros_like(t)
    rock = np.zeros_like(t)
    for k in range(3):
        m = (t >= 2.0 + 4 * k) & (t < 5.0 + 4 * k)
        tilt[m] = 6.0 * np.sin(np.pi * (t[m] - 2.0 - 4 * k) / 3.0)
    for k in range(6):
        m = (t >= 16.0 + 3 * k) & (t < 18.5 + 3 * k)
        rock[m] = (25.0 if k % 2 == 0 else -22.0) * np.sin(np.pi * (t[m] - 16.0 - 3 * k) / 2.5)
    f, s = np.radians(tilt), np.radians(rock)
    up = np.column_stack([np.cos(f) * np.cos(s), np.sin(f), np.cos(f) * np.sin(s)])
    y = np.array([1.0, 0.0, 0.0])
    settings = AutoCalibrationSettings()
    plain = estimate_axis(y, t, up, settings, max_excursion_deg=40.0)
    one_sided = estimate_axis(y, t, up, settings, max_excursion_deg=40.0, one_sided=True)
    # The tilt moves up along sensor y, so its mediolateral axis is along sensor z.
    assert abs(float(plain.z_raw[2])) < 0.5
    assert abs(float(one_sided.z_raw[2])) > 0.95
    assert TECHNIQUE_PRIORS[PELVIC_TILT].one_sided and not TECHNIQUE_PRIORS[HIP_HINGE].one_sided


#: Protocol-free seated cat-cow and pelvic tilt sessions whose flexion axis the movement
#: calibration got wrong (lateral bends, knees rocking) before the pelvis led: case
#: numbers of protocol_free_suite(200, seed=0).
HARD_CASES = (8, 32, 54, 92, 146, 152, 182)


@pytest.mark.parametrize("k", HARD_CASES)
def test_hard_protocol_free_sessions_find_every_flexion_axis(k: int) -> None:
    """Against the simulator's mounting: the pelvis's flexion axis within 15° and the
    thorax's within 30° (it tilts 1-4° in these: soft-tissue artefact is a large share),
    the right way round (seated cat-cow is signed by the documented mounting); they were
    75-170° off."""
    case = protocol_free_suite(200, seed=0)[k]
    rec = case.simulate()
    position = rec.meta["position"]
    _frames, info = motion_process(
        rec, MotionSettings(position=position, movement=movement_prior(position, case.technique))
    )
    for placement, segment in info["calibration"]["segments"].items():
        mount = Rotation.from_quat(
            json.loads(rec.meta[f"{placement}_mount_sensor_to_segment_xyzw"])
        )
        true_z = mount.as_matrix()[2]
        axes = np.asarray(segment["axes_in_sensor_frame"])
        y = axes[1]
        true_z = true_z - (true_z @ y) * y
        limit = 15.0 if placement == "lower" else 30.0
        assert _angle_deg(axes[2], true_z) < limit, (case.name, placement, info["calibration"])


@pytest.mark.parametrize("technique", [CAT_COW_SEATED, PELVIC_TILT])
def test_streaming_equals_batch_when_the_pelvis_leads(technique: str) -> None:
    """The rest posture, the follow regression and the mirrored peaks use only the data
    up to each decision time: the tracker gives batch's frames."""
    rec = simulate(technique, seed=8, reps=3, scenario="protocol-free", rate_hz=25.0)
    position = rec.meta["position"]
    settings = MotionSettings(position=position, movement=movement_prior(position, technique))
    frames, info = motion_process(rec, settings)
    tracker = MotionTracker(
        rates_hz={p: s.rate_hz for p, s in rec.sensors.items()}, settings=settings
    )
    out = stream_samples(tracker, rec)
    assert tracker.calibration_info is not None
    assert tracker.calibration_info["sensors"] == info["calibration"]["sensors"]
    assert len(out) == len(frames)
    for name in (LUMBAR_FLEXION, PELVIC_TILT_DEG):
        np.testing.assert_array_equal([f.angles[name] for f in out], frames[name])
