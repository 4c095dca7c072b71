"""Real wear: soft-tissue artefact and sensor placement along the spine."""

from __future__ import annotations

import math
from dataclasses import fields, replace

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from spinecoach.conventions import EVENT_DISTRACTOR, EVENT_REP
from spinecoach.recording import Recording
from spinecoach.sim import SensorErrorModel, simulate
from spinecoach.sim.body import R_UPRIGHT, synthesize_body
from spinecoach.sim.poses import STANDING
from spinecoach.sim.quaternion import about_axis
from spinecoach.sim.real_wear import (
    LEVEL_SPACING_M,
    LUMBAR_LEVELS,
    THORACIC_SHARE_LEVELS,
    placed_segment,
    soft_tissue_rotvec_deg,
)
from spinecoach.sim.timeline import Timeline

IDEAL = SensorErrorModel.ideal()
REAL_WEAR_FIELDS = (
    "soft_tissue_deg_per_deg",
    "soft_tissue_wander",
    "soft_tissue_max_deg",
    "upper_level_down_max",
    "upper_level_up_max",
    "lower_level_up_max",
)
SKIN = replace(IDEAL, soft_tissue_deg_per_deg=0.05, soft_tissue_max_deg=4.0)


def _angle_deg(q: np.ndarray, p: np.ndarray) -> np.ndarray:
    angle: np.ndarray = np.degrees(
        (Rotation.from_quat(q).inv() * Rotation.from_quat(p)).magnitude()
    )
    return angle


def _vector_angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    cos = np.sum(a * b, axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    angle: np.ndarray = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    return angle


def test_realistic_and_ideal_have_no_real_wear_errors() -> None:
    assert {f.name for f in fields(SensorErrorModel)} >= set(REAL_WEAR_FIELDS)
    for model in (SensorErrorModel.realistic(), SensorErrorModel.ideal()):
        assert all(getattr(model, name) == 0.0 for name in REAL_WEAR_FIELDS)
        assert not model.changes_placement
    rec = simulate("cat-cow", seed=1, reps=1)
    assert not any("soft_tissue" in key or "level_offset" in key for key in rec.meta)
    world = SensorErrorModel.real_world()
    assert world.changes_placement
    assert 2.0 <= world.soft_tissue_max_deg <= 4.0
    assert (world.upper_level_down_max, world.upper_level_up_max) == (1.5, 2.5)  # L2..T10


def test_soft_tissue_artefact_follows_the_movement_and_stays_within_its_limit() -> None:
    t = np.arange(0.0, 6.0, 0.01)
    tilt_deg = 60.0 * np.clip(t - 1.0, 0.0, 3.0) / 3.0  # still 1 s, then forward 20°/s
    upright = Rotation.from_matrix(R_UPRIGHT)  # segment Y up, flexing about its Z
    segment = (upright * Rotation.from_quat(about_axis(2, -tilt_deg))).as_quat()
    rng = np.random.default_rng(0)
    artefact = soft_tissue_rotvec_deg(segment, 100.0, SKIN, rng)
    size = np.linalg.norm(artefact, axis=1)
    assert np.all(size[t < 1.0] < 1e-12)  # none in the start posture
    assert size.max() <= SKIN.soft_tissue_max_deg
    # The gain is 0.5-1 × 0.05°/° on the movement's own axis: at 60°, 1.5-3° before the
    # smooth 4° limit, i.e. at least 4·tanh(1.5/4) = 1.43°.
    assert size[-1] >= 4.0 * math.tanh(1.5 / 4.0) - 1e-9
    moving = (t > 1.0) & (t < 4.0)
    assert np.all(np.diff(size[moving]) > 0)  # grows with the tilt (no wander here)
    assert np.abs(np.diff(artefact, axis=0)).max() < 0.05  # smooth: < 0.05° per 10 ms
    assert np.all(soft_tissue_rotvec_deg(segment, 100.0, IDEAL, rng) == 0.0)
    # The low-pass wander varies the gain slowly, still within the limit.
    wandering = replace(SKIN, soft_tissue_wander=1.0)
    varied = soft_tissue_rotvec_deg(segment, 100.0, wandering, np.random.default_rng(0))
    assert np.linalg.norm(varied, axis=1).max() <= 4.0
    assert not np.allclose(varied, artefact)


@pytest.fixture(scope="module")
def skin_pair() -> tuple[Recording, Recording]:
    kwargs: dict[str, object] = {
        "seed": 3,
        "reps": 2,
        "scenario": "protocol-free",
        "rate_hz": 50.0,
    }
    plain = simulate("flexion-extension", sensor_errors=IDEAL, **kwargs)  # type: ignore[arg-type]
    skin = simulate("flexion-extension", sensor_errors=SKIN, **kwargs)  # type: ignore[arg-type]
    return plain, skin


def test_soft_tissue_artefact_turns_the_sensor_by_the_stated_amount(
    skin_pair: tuple[Recording, Recording],
) -> None:
    plain, skin = skin_pair
    assert plain.truth is not None and skin.truth is not None
    assert skin.truth.equals(plain.truth)  # the body does not change
    reps = [e for e in skin.truth.events if e.kind == EVENT_REP]
    for placement in ("lower", "upper"):
        a, b = plain.sensors[placement], skin.sensors[placement]
        assert np.array_equal(a.time_s, b.time_s)
        # Same specific force, turned by the artefact: the angle between the readings is
        # at most the artefact, and the full artefact for a sagittal one (gravity ⊥ axis).
        angle = _vector_angle_deg(a.acc_mps2, b.acc_mps2)
        peak = float(skin.meta[f"{placement}_soft_tissue_peak_deg"])
        assert 0.5 < peak <= 4.0
        assert angle.max() <= peak + 1e-6
        # Still start: only postural sway (±0.5°) moves the skin, by 0.05°/° of it.
        assert angle[a.time_s < reps[0].start_s].max() < 0.05
        in_reps = (a.time_s >= reps[0].start_s) & (a.time_s <= reps[-1].end_s)
        assert angle[in_reps].max() > 0.6 * peak
        assert not np.allclose(a.gyr_dps, b.gyr_dps, atol=0.05)  # it moves the sensor


def test_placement_shares_the_lumbar_and_thoracic_curvature() -> None:
    tl = Timeline(STANDING)
    tl.hold(0.5)
    tl.move(2.0, STANDING.moved(lumbar_deg=40.0, pelvis_deg=20.0, thoracic_deg=12.0))
    body = synthesize_body(tl.finish(np.random.default_rng(1), heading_deg=30.0), 50.0)
    lumbar = _angle_deg(body.pelvis, body.upper)
    thoracic = _angle_deg(body.upper, body.thorax)
    same, site = placed_segment(body, "upper", 0.0)
    assert same is body.upper and site is body.site_m["upper"]
    # Toward L2 (1.5 levels down): 1 − 1.5/6 of the lumbar motion above the pelvis.
    at_l2, site = placed_segment(body, "upper", -1.5)
    assert np.allclose(_angle_deg(body.pelvis, at_l2), (1 - 1.5 / LUMBAR_LEVELS) * lumbar)
    offset = np.linalg.norm(site - body.site_m["upper"], axis=1)
    assert np.allclose(offset, 1.5 * LEVEL_SPACING_M)
    # Toward T10 (2.5 levels up): 2.5/6 of the thorax's rotation on T12/L1 on top.
    at_t10, _ = placed_segment(body, "upper", 2.5)
    assert np.allclose(_angle_deg(body.upper, at_t10), 2.5 / THORACIC_SHARE_LEVELS * thoracic)
    # A belt at L5 (1 level above S1): 1/6 of the lumbar motion.
    belt, _ = placed_segment(body, "lower", 1.0)
    assert np.allclose(_angle_deg(body.pelvis, belt), lumbar / LUMBAR_LEVELS)
    # In the bend the T10 sensor reads more flexion than T12/L1, the L2 one less.
    up = np.array([0.0, 0.0, 1.0])

    def inclination_change(q: np.ndarray) -> float:
        tilt = Rotation.from_quat(q).inv().apply(up)
        return float(np.degrees(np.arccos(np.clip(tilt[-1] @ tilt[0], -1, 1))))

    truth = inclination_change(body.upper)
    assert inclination_change(at_t10) > truth + 3.0
    assert inclination_change(at_l2) < truth - 3.0


def test_real_world_placements_span_l2_to_t10_and_leave_the_rest_alone() -> None:
    levels: dict[str, list[float]] = {"upper": [], "lower": []}
    for seed in range(12):
        rec = simulate(
            "hip-hinge",
            seed=seed,
            reps=1,
            sets=1,
            rate_hz=25.0,
            sensor_errors=SensorErrorModel.real_world(),
            scenario="protocol-free-reps-only",
        )
        for placement in levels:
            levels[placement].append(float(rec.meta[f"{placement}_level_offset"]))
            assert 0.0 < float(rec.meta[f"{placement}_soft_tissue_peak_deg"]) <= 4.0
    assert -1.5 <= min(levels["upper"]) < -0.5 and 1.5 < max(levels["upper"]) <= 2.5
    assert min(levels["lower"]) >= 0.0 and max(levels["lower"]) <= 1.0
    # Upper placement spread alone: the lower sensor and the truth are bit-identical (the
    # truth only gains the spine where the sensors sit).
    spread = replace(SensorErrorModel.realistic(), upper_level_up_max=2.5)
    a = simulate("cat-cow", seed=2, reps=2, scenario="protocol-free", sensor_errors=spread)
    b = simulate("cat-cow", seed=2, reps=2, scenario="protocol-free")
    assert a.sensors["lower"].equals(b.sensors["lower"])
    assert a.truth is not None and b.truth is not None
    assert list(a.truth.series) == [
        *b.truth.series,
        "lumbar_flexion_at_sensors_deg",
        "pelvic_tilt_at_sensors_deg",
    ]
    for name, values in b.truth.series.items():
        assert np.array_equal(a.truth.series[name], values, equal_nan=True)
    assert not a.sensors["upper"].equals(b.sensors["upper"])
    assert any(e.kind == EVENT_DISTRACTOR for e in a.truth.events)


def test_truth_at_the_sensors_when_they_sit_elsewhere() -> None:
    kwargs: dict[str, object] = {"seed": 4, "reps": 2, "scenario": "protocol-free"}
    low = replace(IDEAL, upper_level_down_max=1.5)  # upper sensor between L2 and T12/L1
    rec = simulate("flexion-extension", sensor_errors=low, **kwargs)  # type: ignore[arg-type]
    plain = simulate("flexion-extension", sensor_errors=IDEAL, **kwargs)  # type: ignore[arg-type]
    assert rec.truth is not None and plain.truth is not None
    assert "lumbar_flexion_at_sensors_deg" not in plain.truth.series
    for name, values in plain.truth.series.items():  # the truth itself is unchanged
        assert np.array_equal(rec.truth.series[name], values, equal_nan=True)
    level = float(rec.meta["upper_level_offset"])
    assert -1.5 <= level < 0.0 and float(rec.meta["lower_level_offset"]) == 0.0
    truth = rec.truth.series["lumbar_flexion_deg"]
    at_sensors = rec.truth.series["lumbar_flexion_at_sensors_deg"]
    # The sensor sees (1 + level/6) of the lumbar flexion (evenly shared curvature).
    peak = int(np.argmax(truth))
    assert truth[peak] > 30.0
    assert at_sensors[peak] == pytest.approx((1 + level / LUMBAR_LEVELS) * truth[peak], rel=0.02)
    assert np.array_equal(
        rec.truth.series["pelvic_tilt_at_sensors_deg"], rec.truth.series["pelvic_tilt_deg"]
    )
    skin_only = SensorErrorModel.real_world(placement_spread=False)
    assert not skin_only.spreads_placement and skin_only.soft_tissue_max_deg == 4.0
    rec = simulate("hip-hinge", seed=1, reps=1, sets=1, sensor_errors=skin_only)
    assert rec.truth is not None and "pelvic_tilt_at_sensors_deg" not in rec.truth.series
    assert float(rec.meta["upper_level_offset"]) == 0.0
