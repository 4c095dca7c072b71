"""Simulated exercise sessions: timeline, events, signs, faults, determinism, arguments."""

from __future__ import annotations

import itertools
import math
from collections import Counter

import numpy as np
import pytest

from spinecoach.conventions import (
    EVENT_CALIBRATION_FUNCTIONAL,
    EVENT_CALIBRATION_NEUTRAL,
    EVENT_FAULT,
    EVENT_HOLD,
    EVENT_REP,
    EVENT_REST,
    EVENT_SETUP,
    LUMBAR_FLEXION,
    PELVIC_TILT_DEG,
    POSITION_NOMINAL_INCLINATION_DEG,
    PRIMARY_ANGLES,
    TECHNIQUES,
    TRUNK_INCLINATION,
    UPPER_INCLINATION,
)
from spinecoach.errors import ConfigurationError
from spinecoach.recording import Event, Recording
from spinecoach.sim import (
    PROFILES,
    TECHNIQUE_FAULTS,
    PerformerProfile,
    SensorErrorModel,
    simulate,
)
from spinecoach.sim.techniques import DEFAULT_REPS, DEFAULT_SETS, TECHNIQUE_POSITIONS


def _neutral_event(rec: Recording) -> Event:
    """The neutral-hold annotation (the functional bends come first in a session)."""
    return next(e for e in rec.events if e.kind == EVENT_CALIBRATION_NEUTRAL)


IDEAL = SensorErrorModel.ideal()


def _events(rec: Recording, kind: str) -> list[Event]:
    assert rec.truth is not None
    return [e for e in rec.truth.events if e.kind == kind]


def _series(rec: Recording, name: str, event: Event) -> np.ndarray:
    assert rec.truth is not None
    t = rec.truth.time_s
    return rec.truth.series[name][(t >= event.start_s) & (t <= event.end_s)]


def _inside(inner: Event, outer: Event) -> bool:
    return outer.start_s - 1e-9 <= inner.start_s and inner.end_s <= outer.end_s + 1e-9


@pytest.fixture(scope="module")
def default_sessions() -> dict[str, Recording]:
    return {technique: simulate(technique, seed=0) for technique in TECHNIQUES}


@pytest.fixture(scope="module")
def novice_sessions() -> list[Recording]:
    return [
        simulate(technique, seed=seed, profile="novice", sensor_errors=IDEAL)
        for technique in TECHNIQUES
        for seed in range(4)
    ]


@pytest.mark.parametrize("technique", TECHNIQUES)
def test_session_structure(technique: str, default_sessions: dict[str, Recording]) -> None:
    rec = default_sessions[technique]
    assert rec.truth is not None
    end = float(rec.truth.time_s[-1])
    # The coach's protocol: standing forward bends first, then the neutral hold in position.
    # then one annotated calibration rep, which is not a truth rep.
    calibration = [e for e in rec.events if not e.kind.startswith("breath-")]
    assert [e.kind for e in calibration] == [
        EVENT_CALIBRATION_FUNCTIONAL,
        EVENT_CALIBRATION_NEUTRAL,
        "calibration-rep",
    ]
    functional, neutral, calibration_rep = calibration
    # Breath-led techniques also log the pacer: one inhale and one exhale per cycle
    # (the calibration rep's cycle included).
    pacer = [e for e in rec.events if e.kind.startswith("breath-")]
    if technique in ("cat-cow", "cat-cow-seated"):
        assert len(pacer) == 2 * (DEFAULT_REPS[technique] * DEFAULT_SETS[technique] + 1)
    else:
        assert pacer == []
    assert calibration_rep.start_s >= neutral.end_s + 2.0 - 1e-9
    assert neutral.end_s - neutral.start_s == pytest.approx(5.0)
    assert functional.start_s == pytest.approx(4.0)
    assert 3 * 4.0 <= functional.end_s - functional.start_s <= 3 * 5.5 + 2.5
    for annotation in rec.events:  # the coach's annotations are also truth
        assert any(annotation.same_as(e) for e in rec.truth.events)
    setups = _events(rec, EVENT_SETUP)
    assert [s.label for s in setups] == ["into-position", "back-to-standing"]
    assert setups[0].start_s == pytest.approx(functional.end_s + 2.0)
    assert setups[0].end_s <= neutral.start_s
    reps = _events(rec, EVENT_REP)
    assert len(reps) == DEFAULT_REPS[technique] * DEFAULT_SETS[technique]
    assert all(r.label == technique and math.isfinite(r.value) for r in reps)
    assert reps[0].start_s >= calibration_rep.end_s + 2.0 - 1e-9
    assert reps[-1].end_s <= setups[1].start_s and setups[1].end_s <= end - 2.0 + 0.01
    assert all(a.end_s <= b.start_s + 1e-9 for a, b in itertools.pairwise(reps))
    for hold in _events(rec, EVENT_HOLD):
        assert any(_inside(hold, rep) for rep in reps)
    for fault in _events(rec, EVENT_FAULT):
        assert fault.label in TECHNIQUE_FAULTS[technique]
        assert any(fault.start_s == r.start_s and fault.end_s == r.end_s for r in reps)
    rests = _events(rec, EVENT_REST)
    assert len(rests) == DEFAULT_SETS[technique] - 1
    meta = rec.meta
    assert meta["technique"] == technique
    assert meta["position"] == TECHNIQUE_POSITIONS[technique]
    assert meta["position"] in POSITION_NOMINAL_INCLINATION_DEG
    assert (meta["seed"], meta["profile"], meta["source"]) == ("0", "typical", "simulator")
    assert meta["simulator_version"]


@pytest.mark.parametrize("technique", TECHNIQUES)
def test_truth_is_zero_and_nominal_at_neutral(
    technique: str, default_sessions: dict[str, Recording]
) -> None:
    rec = default_sessions[technique]
    assert rec.truth is not None
    neutral = _neutral_event(rec)
    for name in PRIMARY_ANGLES:
        values = _series(rec, name, neutral)
        expected = (
            POSITION_NOMINAL_INCLINATION_DEG[rec.meta["position"]]
            if (name == TRUNK_INCLINATION)
            else 0.0
        )
        assert values.mean() == pytest.approx(expected, abs=1e-9)
        assert np.ptp(values) < 1.5  # sway and breathing only
    assert set(PRIMARY_ANGLES) <= set(rec.truth.series)
    for name in ("thoracic_inclination_deg", "breath_volume_norm", "hip_height_m"):
        assert name in rec.truth.series


def test_pelvic_tilt_is_posterior_with_lumbar_flexion(
    default_sessions: dict[str, Recording],
) -> None:
    rec = default_sessions["pelvic-tilt"]
    for rep in _events(rec, EVENT_REP):
        tilt = _series(rec, PELVIC_TILT_DEG, rep)
        flexion = _series(rec, LUMBAR_FLEXION, rep)
        assert rep.value < -5.0  # posterior tilt is negative
        assert tilt.min() == pytest.approx(rep.value + tilt[0], abs=1e-6)
        k = int(np.argmin(tilt))
        assert flexion[k] - flexion[0] > 0.0  # flattening the low back flexes it
    assert rec.truth is not None
    t = rec.truth.time_s
    for hold in _events(rec, EVENT_HOLD):  # exhale while tilting: lungs empty at the hold
        volume = rec.truth.series["breath_volume_norm"]
        assert volume[np.searchsorted(t, hold.start_s)] < 0.05
        assert volume[(t > hold.start_s - 3.0) & (t < hold.start_s)].max() > 0.95
    hip = rec.truth.series["hip_height_m"] if rec.truth else None
    assert hip is not None and hip[len(hip) // 2] == pytest.approx(0.1, abs=0.02)


def test_cat_cow_inhale_is_cow_extension(default_sessions: dict[str, Recording]) -> None:
    for technique in ("cat-cow", "cat-cow-seated"):
        rec = default_sessions[technique]
        assert rec.truth is not None
        reps = _events(rec, EVENT_REP)
        t = rec.truth.time_s
        during = (t >= reps[0].start_s) & (t <= reps[-1].end_s)
        breath = rec.truth.series["breath_volume_norm"][during]
        flexion = rec.truth.series[LUMBAR_FLEXION][during]
        assert np.corrcoef(breath, flexion)[0, 1] < -0.8  # inhale → cow → extension
        assert flexion.min() < -5.0 and flexion.max() > 5.0
        limits = (25.0, 40.0) if technique == "cat-cow" else (16.0, 24.0)
        assert all(limits[0] <= r.value <= limits[1] for r in reps if not _faulted(rec, r))


def test_hip_hinge_moves_the_pelvis_not_the_lumbar_spine(
    default_sessions: dict[str, Recording],
) -> None:
    rec = default_sessions["hip-hinge"]
    for rep in _events(rec, EVENT_REP):
        if _faulted(rec, rep):
            continue
        assert 18.0 <= rep.value <= 45.0 * 1.1
        lumbar = _series(rec, LUMBAR_FLEXION, rep)
        assert np.abs(lumbar - lumbar[0]).max() < 7.0
        trunk = _series(rec, TRUNK_INCLINATION, rep)
        assert trunk.max() - trunk[0] > 15.0  # the trunk inclines forward
    assert len(_events(rec, EVENT_REST)) == 2
    # 20 s × (1 ± 1.5 × the typical profile's 10 % variability)
    assert all(16.9 <= r.end_s - r.start_s <= 23.1 for r in _events(rec, EVENT_REST))


def test_flexion_extension_signs_and_holds(default_sessions: dict[str, Recording]) -> None:
    rec = default_sessions["flexion-extension"]
    for rep in _events(rec, EVENT_REP):
        flexion = _series(rec, LUMBAR_FLEXION, rep)
        tilt = _series(rec, PELVIC_TILT_DEG, rep)
        assert rep.value == pytest.approx(flexion.max() - flexion[0], abs=1e-6)
        assert flexion.min() < -5.0  # extension is negative
        assert tilt.max() == pytest.approx(0.5 * flexion.max(), rel=0.15)  # lumbo-pelvic rhythm
        holds = [h for h in _events(rec, EVENT_HOLD) if _inside(h, rep)]
        assert [h.label for h in holds] == ["flexion", "extension"]
        if not _faulted(rec, rep):
            assert 45.0 * 0.9 <= rep.value <= 60.0 * 1.1
            assert holds[0].end_s - holds[0].start_s >= 5.0
            assert holds[1].end_s - holds[1].start_s >= 3.0


def _faulted(rec: Recording, rep: Event) -> set[str]:
    return {f.label for f in _events(rec, EVENT_FAULT) if f.start_s == rep.start_s}


def _check_fault_criteria(rec: Recording, rep: Event, faults: set[str]) -> None:
    """Each technique's fault criteria hold exactly when the fault was injected."""
    technique = rep.label
    holds = [h for h in _events(rec, EVENT_HOLD) if _inside(h, rep)]
    trunk = _series(rec, UPPER_INCLINATION, rep)
    lumbar = _series(rec, LUMBAR_FLEXION, rep)
    tilt = _series(rec, PELVIC_TILT_DEG, rep)
    if technique == "pelvic-tilt":
        hold_s = holds[0].end_s - holds[0].start_s
        assert ("short-hold" in faults) == (hold_s < 3.0)
        assert ("small-tilt" in faults) == (abs(rep.value) < 5.0)
        assert ("return-too-fast" in faults) == (rep.end_s - holds[0].end_s < 1.0)
        assert ("trunk-compensation" in faults) == (np.abs(trunk - trunk[0]).max() >= 5.0)
        hip = _series(rec, "hip_height_m", rep)
        assert ("bridging" in faults) == (hip.max() - hip[0] >= 0.05)
    elif technique == "hip-hinge":
        assert ("shallow-hinge" in faults) == (rep.value < 15.0)
        assert ("lumbar-rounding" in faults) == (np.abs(lumbar - lumbar[0]).max() >= 12.0)
        assert ("incomplete-return" in faults) == (abs(tilt[-1] - tilt[0]) > 5.0)
    elif technique == "flexion-extension":
        flex_s = holds[0].end_s - holds[0].start_s
        ext_s = holds[1].end_s - holds[1].start_s
        assert ("short-hold" in faults) == (flex_s < 5.0 or ext_s < 3.0)
        assert ("small-range" in faults) == (rep.value < 25.0)
        assert ("too-fast" in faults) == (holds[0].start_s - rep.start_s < 1.0)
    else:
        least = 15.0 if technique == "cat-cow" else 8.0
        assert ("small-range" in faults) == (rep.value < least)
        # Jerk: a 2–4 Hz oscillation shows up in the second difference.
        jerkiness = np.abs(np.diff(lumbar, 2)).max() * 100.0**2
        assert ("jerky" in faults) == (jerkiness > 150.0), jerkiness


def test_faults_are_injected_for_novices_and_meet_their_criteria(
    novice_sessions: list[Recording],
) -> None:
    seen: Counter[str] = Counter()
    for rec in novice_sessions:
        technique = rec.meta["technique"]
        for rep in _events(rec, EVENT_REP):
            faults = _faulted(rec, rep)
            seen.update(f"{technique}:{f}" for f in faults)
            _check_fault_criteria(rec, rep, faults)
    for technique in TECHNIQUES:
        assert sum(n for k, n in seen.items() if k.startswith(technique + ":")) >= 3, seen
    assert len(seen) >= 12, seen  # most fault kinds appear


def test_expert_makes_no_faults() -> None:
    for technique in TECHNIQUES:
        rec = simulate(technique, seed=1, profile="expert", sensor_errors=IDEAL)
        assert _events(rec, EVENT_FAULT) == []
        for rep in _events(rec, EVENT_REP):
            _check_fault_criteria(rec, rep, set())


def test_profiles_scale_the_range() -> None:
    values = {}
    for name in ("stiff", "typical", "hypermobile"):
        rec = simulate("flexion-extension", seed=2, profile=name, sensor_errors=IDEAL)
        values[name] = np.median([r.value for r in _events(rec, EVENT_REP)])
    assert values["stiff"] < values["typical"] < values["hypermobile"]
    assert values["hypermobile"] / values["typical"] == pytest.approx(1.3, rel=0.15)


def test_breath_lag_beyond_one_second_is_a_fault() -> None:
    late = PerformerProfile(name="late", breath_lag_s=1.4, compensation_tendency=0.0)
    rec = simulate("cat-cow", seed=3, reps=3, profile=late, sensor_errors=IDEAL)
    assert [f.label for f in _events(rec, EVENT_FAULT)] == ["breath-out-of-phase"] * 3
    assert rec.meta["profile"] == "late"


def test_reps_and_sets_override_the_dose() -> None:
    rec = simulate("pelvic-tilt", seed=0, reps=3, sets=2, sensor_errors=IDEAL)
    assert len(_events(rec, EVENT_REP)) == 6
    assert len(_events(rec, EVENT_REST)) == 1
    assert (rec.meta["reps"], rec.meta["sets"]) == ("3", "2")


def test_same_arguments_give_bit_identical_recordings() -> None:
    a = simulate("cat-cow", seed=42, reps=2, magnetometer=True)
    b = simulate("cat-cow", seed=42, reps=2, magnetometer=True)
    c = simulate("cat-cow", seed=43, reps=2, magnetometer=True)
    assert a.equals(b)
    assert not a.equals(c)
    assert not np.array_equal(a.sensors["upper"].acc_mps2[:100], c.sensors["upper"].acc_mps2[:100])


def test_body_motion_does_not_depend_on_the_rate() -> None:
    fast = simulate("hip-hinge", seed=9, reps=2, sets=1, rate_hz=100.0, sensor_errors=IDEAL)
    slow = simulate("hip-hinge", seed=9, reps=2, sets=1, rate_hz=50.0, sensor_errors=IDEAL)
    assert fast.truth is not None and slow.truth is not None
    assert np.array_equal(fast.truth.time_s[::2], slow.truth.time_s)
    for name in PRIMARY_ANGLES:
        assert np.allclose(fast.truth.series[name][::2], slow.truth.series[name], atol=0.01)
    assert [e.start_s for e in fast.truth.events] == [e.start_s for e in slow.truth.events]


@pytest.mark.parametrize("rate_hz", [50.0, 100.0])
@pytest.mark.parametrize("technique", TECHNIQUES)
def test_every_technique_runs_at_common_rates(technique: str, rate_hz: float) -> None:
    rec = simulate(technique, seed=5, reps=2, sets=1, rate_hz=rate_hz)
    assert rec.truth is not None
    expected = round(float(rec.truth.time_s[-1]) * rate_hz) + 1
    assert rec.truth.time_s.shape[0] == expected
    for data in rec.sensors.values():
        assert data.rate_hz == rate_hz
        assert 0.99 * expected <= data.n_samples <= expected
        assert np.all(np.isfinite(data.acc_mps2)) and np.all(np.isfinite(data.gyr_dps))
    for name in PRIMARY_ANGLES:
        assert np.all(np.isfinite(rec.truth.series[name]))


def test_lateral_bend_is_undefined_when_lying_and_defined_when_upright(
    default_sessions: dict[str, Recording],
) -> None:
    for technique, rec in default_sessions.items():
        assert rec.truth is not None
        lateral = rec.truth.series["lateral_bend_deg"]
        if rec.meta["position"] in ("supine", "quadruped"):
            assert np.isnan(lateral).all(), technique
        else:
            neutral = _series(rec, "lateral_bend_deg", _neutral_event(rec))
            assert np.isfinite(neutral).all() and abs(neutral.mean()) < 1e-9


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"technique": "plank"}, "unknown technique 'plank'; use one of pelvic-tilt, cat-cow"),
        ({"seed": -1}, "seed must be a non-negative integer, got -1"),
        ({"seed": 1.5}, "seed must be a non-negative integer"),
        ({"seed": True}, "seed must be a non-negative integer"),
        ({"reps": 0}, "reps must be a whole number from 1 to 500, got 0"),
        ({"reps": 2.0}, "reps must be a whole number"),
        ({"sets": 0}, "sets must be a whole number from 1 to 20, got 0"),
        ({"rate_hz": 0.0}, "rate_hz must be a positive, finite number of hertz"),
        ({"rate_hz": -100.0}, "rate_hz must be a positive, finite number of hertz"),
        ({"rate_hz": math.nan}, "rate_hz must be a positive, finite number of hertz"),
        ({"rate_hz": math.inf}, "rate_hz must be a positive, finite number of hertz"),
        ({"rate_hz": "100"}, "rate_hz must be a positive, finite number of hertz"),
        ({"profile": "athlete"}, "unknown profile 'athlete'; use one of typical, stiff"),
        ({"sensor_errors": "ideal"}, "sensor_errors must be a SensorErrorModel"),
        ({"magnetometer": 1}, "magnetometer must be True or False"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"technique": "pelvic-tilt", "seed": 0, **kwargs}
    technique = arguments.pop("technique")
    with pytest.raises(ConfigurationError, match=message):
        simulate(technique, **arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"range_scale": 0.0}, "PerformerProfile.range_scale must be between 0.1 and 3"),
        ({"hold_adherence": 1.5}, "PerformerProfile.hold_adherence must be between 0 and 1"),
        ({"breath_lag_s": 2.0}, "PerformerProfile.breath_lag_s must be between 0 and 1.5"),
        ({"variability": math.nan}, "PerformerProfile.variability must be finite"),
        ({"tempo_scale": "slow"}, "PerformerProfile.tempo_scale must be a number"),
        ({"name": ""}, "PerformerProfile.name must be a non-empty string"),
    ],
)
def test_bad_profiles_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        PerformerProfile(**kwargs)  # type: ignore[arg-type]


def test_builtin_profiles() -> None:
    assert list(PROFILES) == ["typical", "stiff", "hypermobile", "novice", "expert"]
    assert PROFILES["stiff"].range_scale == 0.5
    assert PROFILES["hypermobile"].range_scale == 1.3
    assert PROFILES["novice"].compensation_tendency == 0.3
    assert PROFILES["novice"].breath_lag_s == 0.8
    assert all(name == p.name for name, p in PROFILES.items())
