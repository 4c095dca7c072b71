"""The body model and its building blocks, checked against analytic answers."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from spinecoach.conventions import (
    AXIAL_ROTATION,
    LUMBAR_FLEXION,
    PELVIC_TILT_DEG,
    POSITION_NOMINAL_INCLINATION_DEG,
    UPPER_INCLINATION,
)
from spinecoach.sim import quaternion as quat
from spinecoach.sim.body import (
    R_UPRIGHT,
    BodyMotion,
    second_derivative,
    segment_inclinations_deg,
    synthesize_body,
    truth_series,
)
from spinecoach.sim.poses import NEUTRAL_POSES, SETUP_PATHS, STANDING, Pose, setup_path_back
from spinecoach.sim.timeline import Timeline, min_jerk_interpolate


def _still(pose: Pose) -> Pose:
    return replace(pose, sway=0.0)


def _body(tl: Timeline, *, heading_deg: float = 0.0, rate_hz: float = 100.0) -> BodyMotion:
    return synthesize_body(tl.finish(np.random.default_rng(0), heading_deg=heading_deg), rate_hz)


def test_min_jerk_has_zero_velocity_at_keyframes_and_hits_them() -> None:
    t = np.linspace(0.0, 3.0, 3001)
    key_t = np.array([0.0, 1.0, 3.0])
    key_v = np.array([[0.0, 5.0], [10.0, 5.0], [-2.0, 5.0]])
    v = min_jerk_interpolate(t, key_t, key_v)
    assert v[0, 0] == 0.0 and v[1000, 0] == 10.0 and v[-1, 0] == -2.0
    assert np.all(v[:, 1] == 5.0)
    velocity = np.gradient(v[:, 0], t)
    assert abs(velocity[1000]) < 0.05 and abs(velocity[0]) < 0.05
    # Peak velocity of a minimum-jerk move is 1.875 × the mean velocity.
    assert velocity[:1000].max() == pytest.approx(1.875 * 10.0, rel=1e-3)


def test_quaternion_helpers_agree_with_scipy() -> None:
    rng = np.random.default_rng(1)
    a = Rotation.random(50, random_state=rng)
    b = Rotation.random(50, random_state=rng)
    v = rng.normal(size=(50, 3))
    product = quat.multiply(a.as_quat(), b.as_quat())
    assert np.allclose(Rotation.from_quat(product).as_matrix(), (a * b).as_matrix())
    assert np.allclose(quat.rotate(a.as_quat(), v), a.apply(v))
    assert np.allclose(quat.rotate_inverse(a.as_quat(), v), a.inv().apply(v))
    assert np.allclose(quat.to_rotvec(a.as_quat()), a.as_rotvec())
    assert np.allclose(quat.to_rotvec(-a.as_quat()), a.as_rotvec())  # double cover
    for axis, name in enumerate("xyz"):
        expected = Rotation.from_euler(name, 37.0, degrees=True).as_quat()
        assert np.allclose(quat.about_axis(axis, 37.0), expected)


def test_upright_frame_is_the_documented_one() -> None:
    tl = Timeline(_still(STANDING.moved(pelvis_deg=-30.0, lumbar_deg=30.0)))  # all zero
    tl.hold(1.0)
    body = _body(tl)
    assert np.allclose(Rotation.from_quat(body.pelvis[0]).as_matrix(), R_UPRIGHT, atol=1e-3)
    columns = R_UPRIGHT.T
    assert np.allclose(np.cross(columns[0], columns[1]), columns[2])  # Z = X × Y


@pytest.mark.parametrize("heading_deg", [0.0, 123.0, -75.0])
def test_inclination_is_pelvis_plus_lumbar_at_any_heading(heading_deg: float) -> None:
    tl = Timeline(_still(STANDING))
    tl.move(2.0, _still(STANDING.moved(pelvis_deg=20.0, lumbar_deg=40.0)))
    tl.hold(1.0)
    body = _body(tl, heading_deg=heading_deg)
    lower, _ = segment_inclinations_deg(body.pelvis)
    upper, _ = segment_inclinations_deg(body.upper)
    assert lower[-1] == pytest.approx(50.0, abs=0.01)
    assert upper[-1] == pytest.approx(60.0, abs=0.2)  # ±0.12° of quiet breathing
    assert upper[0] == pytest.approx(0.0, abs=0.2)


@pytest.mark.parametrize("position", sorted(NEUTRAL_POSES))
def test_neutral_upper_inclination_is_the_nominal_one(position: str) -> None:
    pose = NEUTRAL_POSES[position]
    assert pose.pelvis_deg + pose.lumbar_deg == POSITION_NOMINAL_INCLINATION_DEG[position]
    tl = Timeline(_still(pose))
    tl.hold(3.0)
    body = _body(tl)
    upper, _ = segment_inclinations_deg(body.upper)
    lower, _ = segment_inclinations_deg(body.pelvis)
    assert np.allclose(upper, POSITION_NOMINAL_INCLINATION_DEG[position], atol=0.2)
    assert np.allclose(lower, pose.pelvis_deg, atol=1e-6)


def test_truth_lumbar_flexion_is_lambda_minus_neutral_lambda() -> None:
    start = _still(STANDING)
    tl = Timeline(start)
    tl.hold(5.0)
    tl.move(2.0, start.moved(lumbar_deg=45.0, pelvis_deg=22.0))
    tl.hold(2.0)
    tl.move(2.0, start.moved(lumbar_deg=-20.0, pelvis_deg=-5.0))
    tl.hold(1.0)
    plan = tl.finish(np.random.default_rng(3), heading_deg=40.0)
    body = synthesize_body(plan, 100.0)
    truth = truth_series(body, position="standing", neutral_window=(0.0, 5.0))
    lam = min_jerk_interpolate(body.time_s, plan.key_time_s, plan.key_values)[:, 1]
    pelvis = min_jerk_interpolate(body.time_s, plan.key_time_s, plan.key_values)[:, 0]
    assert np.allclose(truth[LUMBAR_FLEXION], lam - start.lumbar_deg, atol=0.2)  # breathing
    assert np.allclose(truth[PELVIC_TILT_DEG], pelvis - start.pelvis_deg, atol=1e-6)
    assert np.allclose(truth[AXIAL_ROTATION], 0.0)
    assert truth[UPPER_INCLINATION][900] == pytest.approx(67.0, abs=0.2)


def test_setup_paths_start_and_end_standing() -> None:
    for position, stages in SETUP_PATHS.items():
        assert (
            stages[-1][0].pelvis_deg == pytest.approx(NEUTRAL_POSES[position].pelvis_deg, abs=1e-9)
            or position == "standing"
        )
        back = setup_path_back(position)
        assert back[-1][0] == STANDING
        assert len(back) == len(stages)


def test_second_derivative_of_a_parabola_is_exact() -> None:
    t = np.arange(100) / 50.0
    x = np.column_stack([3.0 * t**2, -(t**2), np.zeros_like(t)])
    assert np.allclose(second_derivative(x, 1 / 50.0), [[6.0, -2.0, 0.0]])


def test_walking_moves_the_hip_at_walking_speed() -> None:
    walk = replace(STANDING, sway=0.0, walk=1.0)
    tl = Timeline(walk)
    tl.hold(20.0)
    body = _body(tl, heading_deg=90.0)  # facing west: +y in NWU
    distance = body.hip_m[-1] - body.hip_m[0]
    assert distance[1] == pytest.approx(1.3 * 20.0, abs=0.05)
    assert abs(distance[0]) < 0.05
    bob = body.hip_m[:, 2]
    assert bob.max() - bob.min() == pytest.approx(0.03, abs=0.002)
