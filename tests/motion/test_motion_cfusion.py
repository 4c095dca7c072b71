"""Fusion's compiled loop (``spinecoach.motion._cfusion``) against imufusion's per-sample
loop, and the block streaming API against the batch.

The compiled loop runs x-io Fusion's own C sources; it must give imufusion's quaternions
(the requirement: within 0.1°; on this build they are bit-identical) on simulations at 25,
50 and 100 Hz and on real recordings (x-io's 9-axis recording with and without its
magnetometer, the Mobilise-D lower-back recordings), also with dropped samples and gaps.
``SensorFusion.update_block`` must give exactly the batch's quaternions, gap and settling
flags, whatever the block size, and leave the object as n calls of ``update`` would.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from spinecoach.errors import ConfigurationError
from spinecoach.motion import fusion_engine as engine_module
from spinecoach.motion.fusion import (
    FusionSettings,
    ImufusionEngine,
    SensorFusion,
    compiled_fusion_available,
    fusion_quaternions,
    gaps_before,
    new_engine,
    settling_after_gaps,
)
from spinecoach.recording import SensorData
from spinecoach.sim import simulate

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MOBGAP = PROJECT_ROOT.parent / "shared" / "data" / "mobgap"
G_MPS2 = 9.80665


def _fusion_csv_sensor(path: Path) -> SensorData:
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    return SensorData.from_arrays(
        "lower",
        data[:, 0],
        data[:, 4:7] * G_MPS2,
        data[:, 1:4],
        rate_hz=100.0,
        mag_ut=data[:, 7:10],
    )


def _mobgap_sensor(trial: Path, step: int) -> SensorData:
    data = np.genfromtxt(trial / "imu.csv", delimiter=",", names=True)
    acc = np.column_stack([data[f"acc_{a}_g"] for a in "xyz"]) * G_MPS2
    gyr = np.column_stack([data[f"gyr_{a}_dps"] for a in "xyz"])
    mag = np.column_stack([data[f"mag_{a}_uT"] for a in "xyz"])
    return SensorData.from_arrays(
        "lower",
        data["time_s"][::step],
        acc[::step],
        gyr[::step],
        rate_hz=100.0 / step,
        mag_ut=mag[::step],
    )


def _with_holes(sensor: SensorData, seed: int) -> SensorData:
    """Drop 1 % of the samples at random and cut two gaps (1 s and 0.4 s)."""
    rng = np.random.default_rng(seed)
    n = sensor.n_samples
    keep = rng.random(n) > 0.01
    keep[n // 3 : n // 3 + int(sensor.rate_hz)] = False
    keep[2 * n // 3 : 2 * n // 3 + int(0.4 * sensor.rate_hz)] = False
    keep[0] = True
    return SensorData.from_arrays(
        sensor.placement,
        sensor.time_s[keep],
        sensor.acc_mps2[keep],
        sensor.gyr_dps[keep],
        rate_hz=sensor.rate_hz,
        mag_ut=None if sensor.mag_ut is None else sensor.mag_ut[keep],
    )


def _max_angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    """Largest rotation between two (n, 4) quaternion series (w, x, y, z), degrees."""
    ra = Rotation.from_quat(a[:, [1, 2, 3, 0]])
    rb = Rotation.from_quat(b[:, [1, 2, 3, 0]])
    return float(np.degrees((ra.inv() * rb).magnitude()).max())


def _both_paths(
    sensor: SensorData, settings: FusionSettings, monkeypatch: pytest.MonkeyPatch
) -> tuple[np.ndarray, np.ndarray]:
    compiled = fusion_quaternions(sensor, settings)
    with monkeypatch.context() as m:
        m.setattr(engine_module, "_cfusion_module", None)
        reference = fusion_quaternions(sensor, settings)
    return compiled, reference


def test_the_compiled_fusion_is_built_and_used_in_this_project() -> None:
    """CI proves the fast path: the extension is built by the package's own build."""
    from spinecoach.motion import _cfusion

    assert compiled_fusion_available()
    assert isinstance(new_engine(100.0, FusionSettings()), _cfusion.Fusion)
    assert isinstance(
        SensorFusion(rate_hz=100.0, settings=FusionSettings())._engine, _cfusion.Fusion
    )


def test_fallback_uses_imufusion_with_one_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(engine_module, "_cfusion_module", engine_module._CFUSION_UNSET)
    monkeypatch.setitem(sys.modules, "spinecoach.motion._cfusion", None)  # import fails
    with caplog.at_level(logging.WARNING, logger="spinecoach.motion.fusion_engine"):
        first = new_engine(100.0, FusionSettings())
        second = new_engine(50.0, FusionSettings())
    assert isinstance(first, ImufusionEngine) and isinstance(second, ImufusionEngine)
    assert not compiled_fusion_available()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "_cfusion is not built" in warnings[0].getMessage()
    assert "C compiler" in warnings[0].getMessage()


@pytest.mark.parametrize(
    ("technique", "rate_hz"), [("cat-cow", 100.0), ("pelvic-tilt", 50.0), ("hip-hinge", 25.0)]
)
def test_compiled_loop_gives_imufusions_quaternions_on_simulations(
    technique: str, rate_hz: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    rec = simulate(technique, seed=4, rate_hz=rate_hz)
    for placement, sensor in rec.sensors.items():
        for data in (sensor, _with_holes(sensor, seed=7)):
            compiled, reference = _both_paths(data, FusionSettings(), monkeypatch)
            assert _max_angle_deg(compiled, reference) < 0.1, placement
            # Fusion's float32 arithmetic, compiled as imufusion compiles it: the same bits.
            np.testing.assert_array_equal(compiled, reference)


@pytest.mark.parametrize("use_magnetometer", [False, True])
def test_compiled_loop_gives_imufusions_quaternions_on_the_real_xio_recording(
    fusion_csv: Path, use_magnetometer: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    sensor = _fusion_csv_sensor(fusion_csv)
    settings = FusionSettings(use_magnetometer=use_magnetometer)
    for data in (sensor, _with_holes(sensor, seed=3)):
        compiled, reference = _both_paths(data, settings, monkeypatch)
        assert _max_angle_deg(compiled, reference) < 0.1
        np.testing.assert_array_equal(compiled, reference)
    # The two settings differ (the magnetometer is really used by both paths).
    other = fusion_quaternions(sensor, FusionSettings(use_magnetometer=not use_magnetometer))
    assert not np.array_equal(fusion_quaternions(sensor, settings), other)


@pytest.mark.parametrize("step", [1, 2, 4])
def test_compiled_loop_gives_imufusions_quaternions_on_real_lower_back_recordings(
    step: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Mobilise-D trials at 100, 50 and 25 Hz, as recorded and with holes cut."""
    if not MOBGAP.is_dir():
        pytest.skip(f"real recordings not found at {MOBGAP} (../shared/data/mobgap)")
    trials = sorted(p for p in MOBGAP.iterdir() if (p / "imu.csv").is_file())
    assert len(trials) >= 9
    for trial in trials:
        sensor = _mobgap_sensor(trial, step)
        for data in (sensor, _with_holes(sensor, seed=step)):
            compiled, reference = _both_paths(data, FusionSettings(), monkeypatch)
            assert _max_angle_deg(compiled, reference) < 0.1, trial.name
            np.testing.assert_array_equal(compiled, reference, err_msg=trial.name)


def _blocks(
    sensor: SensorData, settings: FusionSettings, size: int
) -> tuple[SensorFusion, np.ndarray, np.ndarray, np.ndarray]:
    fusion = SensorFusion(rate_hz=sensor.rate_hz, settings=settings)
    qs, gaps, settles = [], [], []
    for a in range(0, sensor.n_samples, size):
        b = min(a + size, sensor.n_samples)
        mag = None if sensor.mag_ut is None else sensor.mag_ut[a:b]
        qs.append(
            fusion.update_block(sensor.time_s[a:b], sensor.acc_mps2[a:b], sensor.gyr_dps[a:b], mag)
        )
        gaps.append(fusion.last_gap_before)
        settles.append(fusion.last_settling)
        assert fusion.gap_before == bool(gaps[-1][-1])
        assert fusion.settling == bool(settles[-1][-1])
    return fusion, np.concatenate(qs), np.concatenate(gaps), np.concatenate(settles)


def _per_sample(sensor: SensorData, settings: FusionSettings) -> tuple[SensorFusion, np.ndarray]:
    fusion = SensorFusion(rate_hz=sensor.rate_hz, settings=settings)
    q = np.empty((sensor.n_samples, 4))
    for i in range(sensor.n_samples):
        mag = None if sensor.mag_ut is None else sensor.mag_ut[i]
        q[i] = fusion.update(float(sensor.time_s[i]), sensor.acc_mps2[i], sensor.gyr_dps[i], mag)
    return fusion, q


@pytest.mark.parametrize("rate_hz", [25.0, 100.0])
@pytest.mark.parametrize("size", [1, 10, 997])
def test_update_block_equals_the_batch_on_a_simulation_with_holes(
    rate_hz: float, size: int
) -> None:
    rec = simulate("cat-cow", seed=3, reps=3, rate_hz=rate_hz)
    sensor = _with_holes(rec.sensors["upper"], seed=int(rate_hz) + size)
    settings = FusionSettings()
    batch = fusion_quaternions(sensor, settings)
    gap_ref = gaps_before(sensor.time_s, settings.max_gap_s)
    settle_ref = settling_after_gaps(sensor.time_s, gap_ref, settings.settle_after_gap_s)
    blk, q, gap, settle = _blocks(sensor, settings, size)
    assert gap_ref.sum() == 2 and settle_ref.sum() > 2
    assert blk.initial_bias_dps is not None  # the initial bias seed was found and used
    np.testing.assert_array_equal(q, batch)
    np.testing.assert_array_equal(gap, gap_ref)
    np.testing.assert_array_equal(settle, settle_ref)
    # Blocks leave the object as per-sample updates do: the next samples agree.
    ref, q_ref = _per_sample(sensor, settings)
    np.testing.assert_array_equal(q_ref, batch)
    np.testing.assert_array_equal(ref.initial_bias_dps, blk.initial_bias_dps)
    t_next = float(sensor.time_s[-1]) + np.array([1.0, 2.0, 3.0, 103.0]) / rate_hz
    acc = np.repeat(sensor.acc_mps2[-1:], 4, axis=0)
    gyr = np.repeat(sensor.gyr_dps[-1:], 4, axis=0)
    np.testing.assert_array_equal(
        blk.update_block(t_next, acc, gyr), ref.update_block(t_next, acc, gyr)
    )
    np.testing.assert_array_equal(blk.last_gap_before, [False, False, False, True])
    assert blk.flags() == ref.flags() and blk.internal_states() == ref.internal_states()


def test_update_block_with_the_magnetometer_on_the_real_recording(fusion_csv: Path) -> None:
    sensor = _with_holes(_fusion_csv_sensor(fusion_csv), seed=5)
    settings = FusionSettings(use_magnetometer=True)
    _, q, gap, _ = _blocks(sensor, settings, 64)
    np.testing.assert_array_equal(q, fusion_quaternions(sensor, settings))
    np.testing.assert_array_equal(gap, gaps_before(sensor.time_s, settings.max_gap_s))


def test_update_block_of_a_sensor_without_gyroscope_is_the_accelerometers() -> None:
    rec = simulate("pelvic-tilt", seed=1, reps=2)
    s = rec.sensors["lower"]
    sensor = SensorData.from_arrays(
        "lower", s.time_s, s.acc_mps2, np.full_like(s.gyr_dps, np.nan), rate_hz=s.rate_hz
    )
    fusion, q, _, _ = _blocks(sensor, FusionSettings(), 50)
    assert fusion.accel_only is not None
    np.testing.assert_array_equal(q, fusion_quaternions(sensor, FusionSettings()))


def test_update_block_says_which_argument_has_the_wrong_shape() -> None:
    fusion = SensorFusion(rate_hz=100.0, settings=FusionSettings())
    t = np.arange(4) / 100.0
    with pytest.raises(ConfigurationError, match=r"gyr_dps has shape \(4,\); .* \(4, 3\)"):
        fusion.update_block(t, np.zeros((4, 3)), np.zeros(4))
    with pytest.raises(ConfigurationError, match=r"acc_mps2 has shape \(3, 3\)"):
        fusion.update_block(t, np.zeros((3, 3)), np.zeros((4, 3)))
