"""Protocol-free scenarios: no calibration protocol, continuous reps, distractors, seated
flexion-extension, single sensors, low rates, real-world profiles and the seeded suite."""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import replace

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from spinecoach.conventions import (
    AXIAL_ROTATION,
    EVENT_CALIBRATION_FUNCTIONAL,
    EVENT_CALIBRATION_NEUTRAL,
    EVENT_CALIBRATION_REP,
    EVENT_DISTRACTOR,
    EVENT_HOLD,
    EVENT_REP,
    EVENT_REST,
    EVENT_SETUP,
    LATERAL_BEND,
    LUMBAR_FLEXION,
    PELVIC_TILT_DEG,
    POSITION_NOMINAL_INCLINATION_DEG,
    PRIMARY_ANGLES,
    TECHNIQUES,
    TRUNK_INCLINATION,
)
from spinecoach.errors import ConfigurationError
from spinecoach.recording import Event, Recording
from spinecoach.sim import (
    PROFILES,
    REAL_WORLD_PROFILES,
    SCENARIOS,
    PerformerProfile,
    Scenario,
    SensorErrorModel,
    protocol_free_suite,
    simulate,
)
from spinecoach.sim.protocol_free import COUPLED_DEG, FAST_PHASE_S
from spinecoach.sim.techniques import TECHNIQUE_POSITIONS

IDEAL = SensorErrorModel.ideal()
CALIBRATION_KINDS = (EVENT_CALIBRATION_FUNCTIONAL, EVENT_CALIBRATION_NEUTRAL, EVENT_CALIBRATION_REP)
# Every technique in every start position it allows.
CASES = [(t, None) for t in TECHNIQUES] + [("flexion-extension", "seated")]
MAIN_SIGNAL = {
    "pelvic-tilt": PELVIC_TILT_DEG,
    "cat-cow": LUMBAR_FLEXION,
    "cat-cow-seated": LUMBAR_FLEXION,
    "hip-hinge": PELVIC_TILT_DEG,
    "flexion-extension": LUMBAR_FLEXION,
}


def _events(rec: Recording, kind: str) -> list[Event]:
    assert rec.truth is not None
    return [e for e in rec.truth.events if e.kind == kind]


def _during(rec: Recording, name: str, event: Event) -> np.ndarray:
    assert rec.truth is not None
    t = rec.truth.time_s
    return rec.truth.series[name][(t >= event.start_s) & (t <= event.end_s)]


@pytest.fixture(scope="module")
def free_sessions() -> list[tuple[str, Recording]]:
    """Protocol-free sessions of every technique and position, several seeds and profiles."""
    out = []
    for (technique, position), seed in itertools.product(CASES, range(3)):
        profile = ("typical", "continuous", "stiff-fast")[seed]
        rec = simulate(
            technique,
            seed=seed,
            reps=3,
            sets=2 if seed == 2 else 1,
            scenario="protocol-free",
            position=position,
            profile=profile,
            sensor_errors=IDEAL,
            rate_hz=50.0,
        )
        out.append((technique, rec))
    return out


# --- arguments ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scenario": "free"}, "unknown scenario 'free'; use one of coached, protocol-free"),
        ({"scenario": 3}, "unknown scenario 3"),
        (
            {"position": "standing"},
            "position 'standing' is not a start position of hip-hinge; use one of seated",
        ),
        ({"position": "seated", "technique": "pelvic-tilt"}, "use one of supine"),
        ({"position": "kneeling", "technique": "flexion-extension"}, "standing, seated"),
        ({"placements": ()}, "placements must name one or both sensors without repeats"),
        ({"placements": ("middle",)}, r"placements must name .* \('lower',\) for a single"),
        ({"placements": ("lower", "lower")}, "placements must name one or both sensors"),
        ({"placements": "lower"}, "placements must name one or both sensors"),
        ({"profile": "sprinter"}, "use one of typical, stiff, .*, continuous, fast, stiff-fast"),
        ({"mount_rotation": {"middle": [0, 0, 0, 1]}}, "unknown placement 'middle'; use lower"),
        ({"mount_rotation": [0, 0, 1]}, r"must be a scipy Rotation or a quaternion \[x, y, z, w\]"),
        ({"mount_rotation": {"upper": "up"}}, r"mount_rotation\['upper'\] must be a scipy"),
    ],
)
def test_bad_options_name_the_option_and_the_fix(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"technique": "hip-hinge", "seed": 0, "reps": 1, **kwargs}
    technique = arguments.pop("technique")
    with pytest.raises(ConfigurationError, match=message):
        simulate(technique, **arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": ""}, "Scenario.name must be a non-empty string"),
        ({"protocol": 1}, "Scenario.protocol must be True or False"),
        ({"rep_duration_s": (4.0, 1.5)}, r"Scenario.rep_duration_s must be a pair \(low, high\)"),
        ({"rep_duration_s": (0.1, 2.0)}, "with 0.5 <= low <= high <= 30"),
        ({"start_still_s": (0.0, 1.0)}, "Scenario.start_still_s must be a pair"),
        ({"lateral_bend_deg": (15.0, math.nan)}, "Scenario.lateral_bend_deg must be a pair"),
        ({"axial_rotation_deg": [20.0, 45.0]}, "Scenario.axial_rotation_deg must be a pair"),
        ({"hold_probability": 1.5}, "Scenario.hold_probability must be a number from 0 to 1"),
        ({"hold_share_max": 0.9}, "Scenario.hold_share_max must be a number from 0 to 0.6"),
        ({"distractor_repeats": (0, 2)}, "Scenario.distractor_repeats must be a pair of whole"),
        ({"distractor_repeats": (1.0, 2)}, "Scenario.distractor_repeats must be a pair of whole"),
    ],
)
def test_bad_scenarios_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Scenario(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"soft_tissue_max_deg": 20.0, "soft_tissue_deg_per_deg": 0.05}, "at most 15"),
        ({"soft_tissue_deg_per_deg": 0.05}, "must be both positive .* or both zero"),
        ({"soft_tissue_max_deg": 3.0}, "must be both positive .* or both zero"),
        ({"soft_tissue_deg_per_deg": 0.8, "soft_tissue_max_deg": 3.0}, "at most 0.5"),
        ({"upper_level_up_max": 4.0}, "upper_level_up_max must be at most 3 vertebral levels"),
        ({"lower_level_up_max": -1.0}, "lower_level_up_max must be zero or positive"),
    ],
)
def test_bad_real_wear_errors_are_refused(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        SensorErrorModel(**kwargs)  # type: ignore[arg-type]


# --- the protocol-free session ---------------------------------------------------------


def test_protocol_free_has_no_calibration_protocol(
    free_sessions: list[tuple[str, Recording]],
) -> None:
    for technique, rec in free_sessions:
        assert rec.events == (), technique  # no annotation at all: there is no coach
        kinds = {e.kind for e in rec.truth.events} if rec.truth else set()
        assert not kinds & {*CALIBRATION_KINDS, EVENT_SETUP}, technique
        assert rec.meta["scenario"] == "protocol-free"
        assert len(_events(rec, EVENT_REP)) == 3 * int(rec.meta["sets"])


def test_movement_starts_after_a_short_still_start(
    free_sessions: list[tuple[str, Recording]],
) -> None:
    starts = []
    for technique, rec in free_sessions:
        assert rec.truth is not None
        moves = [e for e in rec.truth.events if e.kind in (EVENT_REP, EVENT_DISTRACTOR)]
        first = min(e.start_s for e in moves)
        assert 0.3 <= first <= 1.5, technique
        starts.append(first)
        assert json.loads(rec.meta["truth_neutral_window_s"]) == [0.0, round(first, 6)]
        # Truth is still before it and zero on average (the still start is the neutral).
        t = rec.truth.time_s
        before = t < first
        for name in PRIMARY_ANGLES:
            values = rec.truth.series[name][before]
            expected = POSITION_NOMINAL_INCLINATION_DEG[rec.meta["position"]]
            assert values.mean() == pytest.approx(
                expected if name == TRUNK_INCLINATION else 0.0, abs=1e-9
            )
            assert np.ptp(values) < 1.5, (technique, name)
    for seed in range(3, 15):  # seeded, spread over the range
        rec = simulate("hip-hinge", seed=seed, reps=1, sets=1, scenario="protocol-free-reps-only")
        starts.append(_events(rec, EVENT_REP)[0].start_s)
    assert 0.3 <= min(starts) < 0.6 and 1.2 < max(starts) <= 1.5


def _longest_still_s(speed: np.ndarray, rate_hz: float, threshold: float) -> float:
    still = np.concatenate([[0], (speed < threshold).astype(int), [0]])
    edges = np.flatnonzero(np.diff(still))
    runs = edges[1::2] - edges[::2]
    return float(runs.max()) / rate_hz if runs.size else 0.0


def test_reps_follow_each_other_without_a_pause(
    free_sessions: list[tuple[str, Recording]],
) -> None:
    for technique, rec in free_sessions:
        assert rec.truth is not None
        t = rec.truth.time_s
        rate = 1.0 / (t[1] - t[0])
        signal = rec.truth.series[MAIN_SIGNAL[technique]]
        speed = np.abs(np.gradient(signal, t))
        reps = _events(rec, EVENT_REP)
        rests = _events(rec, EVENT_REST)
        for a, b in itertools.pairwise(reps):
            if any(a.end_s <= r.start_s < b.start_s for r in rests):
                continue  # a new set
            assert b.start_s - a.end_s <= 0.5, technique
            # From the truth signal: no still stretch over 0.5 s across the boundary
            # (holds inside a rep are allowed, so look at the second around it).
            around = (t >= a.end_s - 0.5) & (t <= b.start_s + 0.5)
            assert _longest_still_s(speed[around], rate, 2.0) <= 0.5, technique


def test_rep_durations_and_holds(free_sessions: list[tuple[str, Recording]]) -> None:
    durations = []
    held = 0
    for technique, rec in free_sessions:
        reps = _events(rec, EVENT_REP)
        for rep in reps:
            assert 1.5 - 1e-6 <= rep.end_s - rep.start_s <= 4.0 + 1e-6, technique
            durations.append(rep.end_s - rep.start_s)
            assert math.isfinite(rep.value)
        holds = _events(rec, EVENT_HOLD)
        if technique in ("cat-cow", "cat-cow-seated", "hip-hinge"):
            assert holds == []  # no hold is prescribed
        for hold in holds:
            rep = next(r for r in reps if r.start_s <= hold.start_s < r.end_s)
            assert hold.end_s <= rep.end_s + 1e-9
            assert hold.end_s - hold.start_s <= 0.4 * (rep.end_s - rep.start_s) + 1e-6
            held += 1
    assert held >= 3  # some prescribed holds are made, shortened
    assert min(durations) < 2.0 and max(durations) > 3.5  # the whole range is used


def test_timing_faults_are_truth_where_the_criterion_is_met(
    free_sessions: list[tuple[str, Recording]],
) -> None:
    for technique, rec in free_sessions:
        faults = [e for e in rec.truth.events if e.kind == "fault"] if rec.truth else []
        reps = _events(rec, EVENT_REP)
        for fault in faults:
            assert any(r.start_s == fault.start_s and r.end_s == fault.end_s for r in reps)
        if technique in ("flexion-extension", "pelvic-tilt"):
            # No rep of at most 4 s holds the prescribed 5 s or 3 s: all are short-held.
            assert sum(f.label == "short-hold" for f in faults) == len(reps)
        if technique == "flexion-extension":
            # Three movement phases of at least 1 s each take at least 3 s.
            fast = {f.start_s for f in faults if f.label == "too-fast"}
            for rep in reps:
                if rep.start_s not in fast:
                    assert rep.end_s - rep.start_s >= 3 * FAST_PHASE_S
        if technique in ("cat-cow", "cat-cow-seated", "hip-hinge"):
            assert faults == []


def test_distractors_are_lateral_bends_and_rotations_not_flexion(
    free_sessions: list[tuple[str, Recording]],
) -> None:
    for technique, rec in free_sessions:
        assert rec.truth is not None
        distractors = _events(rec, EVENT_DISTRACTOR)
        labels = {d.label for d in distractors}
        assert {
            "lateral-bend-left",
            "lateral-bend-right",
            "axial-rotation-left",
            "axial-rotation-right",
        } <= labels
        last_rep = max(r.end_s for r in _events(rec, EVENT_REP))
        assert sum(d.start_s >= last_rep for d in distractors) >= 4
        for d in distractors:
            assert not any(
                r.start_s < d.end_s and d.start_s < r.end_s for r in _events(rec, EVENT_REP)
            )
            flexion = _during(rec, LUMBAR_FLEXION, d)
            assert np.abs(flexion - flexion[0]).max() < 5.0, (technique, d.label)
            if d.label.startswith("lateral-bend"):
                assert 15.0 - 1.0 <= abs(d.value) <= 35.0 + 1.0
                assert (d.value > 0) == d.label.endswith("right")  # right bend positive
                lateral = _during(rec, LATERAL_BEND, d)
                if rec.meta["position"] in ("standing", "seated"):
                    peak = lateral[np.argmax(np.abs(lateral - lateral[0]))] - lateral[0]
                    assert peak == pytest.approx(d.value, abs=1e-6)
                else:
                    assert np.isnan(lateral).all()  # undefined lying or on hands and knees
                rotation = _during(rec, AXIAL_ROTATION, d)
                assert np.abs(rotation - rotation[0]).max() <= COUPLED_DEG  # coupled motion
            else:
                assert 20.0 - 1.0 <= abs(d.value) <= 45.0 + 1.0
                assert (d.value > 0) == d.label.endswith("left")  # turning left positive
                rotation = _during(rec, AXIAL_ROTATION, d)
                peak = rotation[np.argmax(np.abs(rotation - rotation[0]))] - rotation[0]
                assert peak == pytest.approx(d.value, abs=1e-6)


def test_distractors_before_and_between_sets() -> None:
    rec = simulate(
        "hip-hinge",
        seed=4,
        reps=2,
        sets=3,
        scenario="protocol-free-distractors",
        sensor_errors=IDEAL,
        rate_hz=25.0,
    )
    reps = _events(rec, EVENT_REP)
    distractors = _events(rec, EVENT_DISTRACTOR)
    rests = _events(rec, EVENT_REST)
    assert len(rests) == 2
    assert sum(d.end_s <= reps[0].start_s for d in distractors) == 2
    for rest in rests:
        assert any(rest.end_s <= d.start_s < rest.end_s + 5.0 for d in distractors)
    calm = simulate(
        "hip-hinge", seed=4, reps=2, sets=3, scenario="protocol-free-reps-only", rate_hz=25.0
    )
    assert _events(calm, EVENT_DISTRACTOR) == []
    assert len(_events(calm, EVENT_REP)) == 6


def test_custom_scenario_ranges_are_used() -> None:
    slow = replace(SCENARIOS["protocol-free"], name="slow", rep_duration_s=(5.0, 6.0))
    rec = simulate("pelvic-tilt", seed=1, reps=4, scenario=slow, sensor_errors=IDEAL)
    assert rec.meta["scenario"] == "slow"
    assert all(5.0 - 1e-6 <= r.end_s - r.start_s <= 6.0 + 1e-6 for r in _events(rec, EVENT_REP))


# --- positions, sensors, rates, profiles -------------------------------------------------


def test_flexion_extension_seated_and_standing() -> None:
    for scenario in ("coached", "protocol-free"):
        seated = simulate(
            "flexion-extension",
            seed=5,
            reps=2,
            scenario=scenario,
            position="seated",
            sensor_errors=IDEAL,
        )
        standing = simulate(
            "flexion-extension", seed=5, reps=2, scenario=scenario, sensor_errors=IDEAL
        )
        assert seated.meta["position"] == "seated" and standing.meta["position"] == "standing"
        assert seated.truth is not None and standing.truth is not None
        reps = _events(seated, EVENT_REP)
        for rep in reps:  # seated trunk flexion: 30-55° lumbar flexion, hips on the seat
            assert 30.0 <= rep.value <= 55.0
            assert np.median(_during(seated, "hip_height_m", rep)) == pytest.approx(0.45)
        for rep in _events(standing, EVENT_REP):
            assert np.median(_during(standing, "hip_height_m", rep)) > 0.8
    coached = simulate("flexion-extension", seed=5, reps=2, position="seated")
    assert [e.kind for e in coached.events] == list(CALIBRATION_KINDS)
    assert "scenario" not in coached.meta


def test_single_lower_sensor_reads_what_it_reads_in_a_pair() -> None:
    pair = simulate("flexion-extension", seed=8, reps=2, scenario="protocol-free", rate_hz=50.0)
    alone = simulate(
        "flexion-extension",
        seed=8,
        reps=2,
        scenario="protocol-free",
        rate_hz=50.0,
        placements=("lower",),
    )
    assert list(alone.sensors) == ["lower"]
    assert alone.sensors["lower"].equals(pair.sensors["lower"])
    assert alone.truth is not None and pair.truth is not None and alone.truth.equals(pair.truth)
    assert not any(key.startswith("upper_") for key in alone.meta)
    upper_only = simulate("cat-cow", seed=8, reps=1, placements=["upper"])  # type: ignore[arg-type]
    assert list(upper_only.sensors) == ["upper"]


def test_sensors_turned_on_the_skin() -> None:
    kwargs: dict[str, object] = {
        "seed": 3,
        "reps": 2,
        "scenario": "protocol-free",
        "sensor_errors": IDEAL,
        "rate_hz": 25.0,
    }
    plain = simulate("cat-cow-seated", **kwargs)  # type: ignore[arg-type]
    flipped = simulate(
        "cat-cow-seated",
        mount_rotation={"lower": Rotation.from_euler("x", 180.0, degrees=True)},
        **kwargs,  # type: ignore[arg-type]
    )
    assert flipped.sensors["upper"].equals(plain.sensors["upper"])
    # Turned half a turn about its own x axis: y and z read the other way round.
    expected = plain.sensors["lower"].acc_mps2 * np.array([1.0, -1.0, -1.0])
    assert np.allclose(flipped.sensors["lower"].acc_mps2, expected, atol=1e-9)
    assert "lower_mount_extra_rotation_xyzw" in flipped.meta
    both = simulate("cat-cow-seated", mount_rotation=[0.0, 0.0, 1.0, 0.0], **kwargs)  # type: ignore[arg-type]
    assert not both.sensors["upper"].equals(plain.sensors["upper"])


@pytest.mark.parametrize("rate_hz", [25.0, 50.0])
@pytest.mark.parametrize(("technique", "position"), CASES)
def test_low_rates_work(technique: str, position: str | None, rate_hz: float) -> None:
    rec = simulate(
        technique,
        seed=6,
        reps=2,
        sets=1,
        rate_hz=rate_hz,
        scenario="protocol-free",
        position=position,
        sensor_errors=SensorErrorModel.real_world(),
    )
    assert rec.truth is not None
    expected = round(float(rec.truth.time_s[-1]) * rate_hz) + 1
    assert rec.truth.time_s.shape[0] == expected
    for data in rec.sensors.values():
        assert data.rate_hz == rate_hz
        assert 0.98 * expected <= data.n_samples <= expected
        assert np.all(np.diff(data.time_s) > 0)
        assert np.all(np.isfinite(data.acc_mps2)) and np.all(np.isfinite(data.gyr_dps))
    fast = simulate(technique, seed=6, reps=2, sets=1, scenario="protocol-free", position=position)
    assert fast.truth is not None
    # The movement does not depend on the rate: the same events at every rate.
    assert [(e.kind, e.start_s, e.end_s) for e in rec.truth.events] == [
        (e.kind, e.start_s, e.end_s) for e in fast.truth.events
    ]


def test_real_world_profiles() -> None:
    assert list(PROFILES) == ["typical", "stiff", "hypermobile", "novice", "expert"]
    assert list(REAL_WORLD_PROFILES) == ["continuous", "fast", "stiff-fast"]
    assert all(p.rep_pause_scale == 0.0 for p in REAL_WORLD_PROFILES.values())
    assert REAL_WORLD_PROFILES["stiff-fast"].range_scale == PROFILES["stiff"].range_scale
    assert REAL_WORLD_PROFILES["fast"].tempo_scale < PROFILES["typical"].tempo_scale
    with pytest.raises(ConfigurationError, match="rep_pause_scale must be between 0 and 2"):
        PerformerProfile(rep_pause_scale=-0.5)
    # The coached session of a continuous performer: no pause between reps either.
    rec = simulate("flexion-extension", seed=1, reps=3, profile="continuous", sensor_errors=IDEAL)
    reps = _events(rec, EVENT_REP)
    assert all(b.start_s - a.end_s < 1e-6 for a, b in itertools.pairwise(reps))
    typical = simulate("flexion-extension", seed=1, reps=3, sensor_errors=IDEAL)
    gaps = [b.start_s - a.end_s for a, b in itertools.pairwise(_events(typical, EVENT_REP))]
    assert min(gaps) > 1.0
    assert json.loads(rec.meta["performer_profile"])["rep_pause_scale"] == 0.0
    assert "rep_pause_scale" not in json.loads(typical.meta["performer_profile"])
    # Quick profiles make shorter protocol-free reps than slow ones.
    durations = {}
    for profile in ("stiff-fast", "expert"):
        free = simulate(
            "hip-hinge", seed=2, reps=20, sets=1, profile=profile, scenario="protocol-free"
        )
        durations[profile] = np.mean([r.end_s - r.start_s for r in _events(free, EVENT_REP)])
    # Expected means: 1.5 + 2.5/3 = 2.33 s (tempo 0.5) and 1.5 + 2.5/1.83 = 2.86 s (1.2).
    assert durations["stiff-fast"] < durations["expert"] - 0.2


def test_protocol_free_sessions_are_deterministic() -> None:
    kwargs: dict[str, object] = {
        "seed": 12,
        "reps": 2,
        "scenario": "protocol-free",
        "sensor_errors": SensorErrorModel.real_world(),
        "rate_hz": 50.0,
    }
    a = simulate("cat-cow-seated", **kwargs)  # type: ignore[arg-type]
    b = simulate("cat-cow-seated", **kwargs)  # type: ignore[arg-type]
    c = simulate("cat-cow-seated", **{**kwargs, "seed": 13})  # type: ignore[arg-type]
    assert a.equals(b) and not a.equals(c)


# --- the suite --------------------------------------------------------------------------


def test_suite_spans_techniques_positions_rates_profiles_and_sensors() -> None:
    cases = protocol_free_suite(60, seed=0)
    assert len(cases) == 60
    assert protocol_free_suite(200, seed=0)[:60] == cases
    assert protocol_free_suite(60, seed=1) != cases
    assert not any("mount_rotation" in c for c in cases)
    turned = protocol_free_suite(60, seed=0, axis_conventions=True)
    assert [(c.technique, c.seed, c["rate_hz"], c.placements) for c in turned] == [
        (c.technique, c.seed, c["rate_hz"], c.placements) for c in cases
    ]
    mounts = [tuple(c["mount_rotation"]["upper"]) for c in turned]
    assert len(set(mounts)) > 10  # many of the 24 axis conventions
    for quat in mounts:  # axis-aligned: every column of the matrix is ± a unit axis
        matrix = Rotation.from_quat(quat).as_matrix()
        assert np.allclose(np.sort(np.abs(matrix), axis=0), [[0, 0, 0], [0, 0, 0], [1, 1, 1]])
    assert simulate(**turned[1]).meta["upper_mount_extra_rotation_xyzw"]
    assert {c.technique for c in cases} == set(TECHNIQUES)
    assert {c.kwargs.get("position") for c in cases if c.technique == "flexion-extension"} == {
        "standing",
        "seated",
    }
    assert {c.kwargs["rate_hz"] for c in cases} == {25.0, 50.0, 100.0}
    assert set(REAL_WORLD_PROFILES) <= {c.kwargs["profile"] for c in cases}
    assert any(tuple(c.kwargs.get("placements", ())) == ("lower",) for c in cases)
    assert all(c.kwargs["sensor_errors"] == SensorErrorModel.real_world() for c in cases)
    assert len({c.name for c in cases}) == 60
    for case in cases[:6]:
        rec = simulate(**case)
        assert rec.events == ()
        assert rec.meta["technique"] == case.technique
        assert rec.meta["position"] == case.kwargs.get(
            "position", TECHNIQUE_POSITIONS[case.technique]
        )
        assert len(_events(rec, EVENT_REP)) == case["reps"] * case["sets"]
        assert list(rec.sensors) == list(case.kwargs.get("placements", ("lower", "upper")))
    assert cases[0].simulate().equals(simulate(**cases[0]))
    assert dict(cases[0]) == {
        "technique": cases[0].technique,
        "seed": cases[0].seed,
        **cases[0].kwargs,
    }
    pairs = protocol_free_suite(60, seed=0, single_sensor_share=0.0)
    assert all(c.placements == ("lower", "upper") for c in pairs)
    # Only the sensors change: the same sessions otherwise.
    assert [(c.technique, c.seed, c["rate_hz"]) for c in pairs] == [
        (c.technique, c.seed, c["rate_hz"]) for c in cases
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_sessions": 0}, "n_sessions must be a whole number from 1 to 10000, got 0"),
        ({"n_sessions": 2.0}, "n_sessions must be a whole number"),
        ({"n_sessions": 3, "seed": -2}, "seed must be a non-negative integer, got -2"),
        ({"n_sessions": 3, "scenario": "coached"}, "use a protocol-free scenario"),
        ({"n_sessions": 3, "scenario": "nope"}, "unknown scenario 'nope'"),
        ({"n_sessions": 3, "sensor_errors": "ideal"}, "sensor_errors must be a SensorErrorModel"),
        ({"n_sessions": 3, "single_sensor_share": 2.0}, "single_sensor_share must be a number"),
        ({"n_sessions": 3, "axis_conventions": 1}, "axis_conventions must be True or False"),
    ],
)
def test_bad_suite_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        protocol_free_suite(**kwargs)  # type: ignore[arg-type]
