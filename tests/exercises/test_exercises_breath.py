"""The breathing pacer, movement-to-breath synchronisation and respiration from the upper
sensor: pacer known answers and the logged-pacer round trip, lag recovery on synthetic
cat-cow cycles that mimic the simulator, inverted cycles, the breathing rate on seeded
simulations against the truth, and every error path with its message."""

from __future__ import annotations

import doctest
import itertools
import math
from dataclasses import dataclass, replace

import numpy as np
import pytest

import spinecoach.exercises.breath as breath_module
from spinecoach.conventions import EVENT_BREATH_EXHALE, EVENT_BREATH_INHALE, UPPER_INCLINATION
from spinecoach.errors import ConfigurationError
from spinecoach.exercises.breath import (
    REASON_MOVEMENT,
    BreathPacer,
    PacerTrack,
    breath_sync,
    estimate_respiration,
    pacer_from_events,
)
from spinecoach.exercises.catalogue import default_catalogue
from spinecoach.motion import motion_process
from spinecoach.recording import Event, Recording
from spinecoach.sim import PROFILES, SensorErrorModel, simulate
from spinecoach.sim.timeline import min_jerk_interpolate

FloatArray = np.ndarray
RATE_HZ = 100.0


def _min_jerk(tau: float) -> float:
    return tau**3 * (10.0 - 15.0 * tau + 6.0 * tau**2)


# --- the pacer ---------------------------------------------------------------------------


def test_pacer_phase_known_answers() -> None:
    pacer = BreathPacer(inhale_s=3.0, exhale_s=4.0, start_s=10.0)
    assert pacer.cycle_s == 7.0
    assert pacer.phase(9.0) == ("waiting", 0.0, 0)
    assert pacer.phase(10.0) == ("inhale", 0.0, 0)
    assert pacer.phase(11.5) == ("inhale", 0.5, 0)
    assert pacer.phase(13.0) == ("exhale", 0.0, 0)
    assert pacer.phase(15.0) == ("exhale", 0.5, 0)
    assert pacer.phase(17.0) == ("inhale", 0.0, 1)
    name, progress, cycle = pacer.phase(24.5)  # 2 cycles + 0.5 s into the inhale
    assert (name, cycle) == ("inhale", 2)
    assert progress == pytest.approx(0.5 / 3.0)


def test_pacer_volume_is_minimum_jerk_and_periodic() -> None:
    pacer = BreathPacer(inhale_s=3.0, exhale_s=4.0, start_s=1.0)
    times = [0.0, 1.0, 1.75, 2.5, 4.0, 5.0, 6.0, 8.0]
    expected = [0.0, 0.0, _min_jerk(0.25), 0.5, 1.0, 1.0 - _min_jerk(0.25), 0.5, 0.0]
    assert pacer.volume(times) == pytest.approx(expected, abs=1e-12)
    t = np.linspace(1.0, 8.0, 701)
    assert pacer.volume(t + 7.0 * 3) == pytest.approx(pacer.volume(t), abs=1e-9)
    # Zero flow at every phase boundary (the shape the simulator breathes with).
    flow = np.gradient(pacer.volume(t), t)
    assert np.abs(flow[[0, 300, -1]]).max() < 0.01  # inhale start, inhale end, exhale end
    assert flow[150] == pytest.approx(1.875 / 3.0, rel=1e-3)  # peak flow mid-inhale
    assert pacer.volume(np.zeros((2, 3))).shape == (2, 3)
    assert float(pacer.volume(2.5)) == pytest.approx(0.5)


def test_pacer_events_are_the_logged_schedule() -> None:
    pacer = BreathPacer(inhale_s=2.5, exhale_s=3.5, start_s=4.0)
    events = pacer.events(3)
    assert [e.kind for e in events] == [EVENT_BREATH_INHALE, EVENT_BREATH_EXHALE] * 3
    assert events[0].start_s == 4.0 and events[-1].end_s == pytest.approx(22.0)
    for a, b in itertools.pairwise(events):
        assert a.end_s == b.start_s  # contiguous, exactly
    durations = [e.end_s - e.start_s for e in events]
    assert durations == pytest.approx([2.5, 3.5] * 3)
    assert pacer.events(0) == ()


def test_pacer_for_technique_scales_with_tempo() -> None:
    cat_cow = default_catalogue().technique("cat-cow")
    assert BreathPacer.for_technique(cat_cow) == BreathPacer(3.0, 4.0, 0.0)
    slow = BreathPacer.for_technique(cat_cow, start_s=12.0, tempo=1.5)
    assert (slow.inhale_s, slow.exhale_s, slow.start_s) == (4.5, 6.0, 12.0)
    fast = BreathPacer.for_technique(cat_cow, tempo=0.5)
    assert fast.cycle_s == pytest.approx(3.5)


@pytest.mark.parametrize("tempo", [0.0, -1.0, math.nan, math.inf])
def test_pacer_tempo_must_be_positive(tempo: float) -> None:
    cat_cow = default_catalogue().technique("cat-cow")
    with pytest.raises(ConfigurationError, match="tempo must be a positive multiplier"):
        BreathPacer.for_technique(cat_cow, tempo=tempo)
    with pytest.raises(ConfigurationError, match="tempo must be a number"):
        BreathPacer.for_technique(cat_cow, tempo=True)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"inhale_s": 0.0, "exhale_s": 4.0}, "inhale_s must be a positive, finite number"),
        ({"inhale_s": 3.0, "exhale_s": -1.0}, "exhale_s must be a positive, finite number"),
        ({"inhale_s": math.nan, "exhale_s": 4.0}, "inhale_s must be a positive, finite number"),
        ({"inhale_s": "3", "exhale_s": 4.0}, "inhale_s must be a number of seconds"),
        ({"inhale_s": 3.0, "exhale_s": 4.0, "start_s": math.inf}, "start_s must be a finite"),
    ],
)
def test_pacer_rejects_bad_durations(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        BreathPacer(**kwargs)  # type: ignore[arg-type]


def test_pacer_rejects_bad_cycles_and_times() -> None:
    pacer = BreathPacer(3.0, 4.0)
    with pytest.raises(ConfigurationError, match="cycles must be a whole number"):
        pacer.events(-1)
    with pytest.raises(ConfigurationError, match="cycles must be a whole number"):
        pacer.events(2.5)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="time_s must be a finite number"):
        pacer.phase(math.nan)


# --- the pacer as logged -----------------------------------------------------------------


def test_pacer_track_round_trip_from_events() -> None:
    pacer = BreathPacer(inhale_s=3.0, exhale_s=4.0, start_s=5.0)
    events = list(pacer.events(4))
    shuffled = [Event("rep", 0.0, 40.0), *events[::-1], Event("calibration-neutral", 1.0, 2.0)]
    track = pacer_from_events(shuffled)
    assert track is not None
    assert track.phases == tuple(
        ("inhale" if e.kind == EVENT_BREATH_INHALE else "exhale", e.start_s, e.end_s)
        for e in events
    )
    t = np.linspace(5.0, 33.0, 2801)
    assert track.volume(t) == pytest.approx(pacer.volume(t), abs=1e-9)
    outside = track.volume([4.9, 33.1])
    assert np.isnan(outside).all()
    assert track.covers(5.0, 33.0)
    assert track.covers(12.0, 12.0)
    assert not track.covers(4.9, 10.0)
    assert not track.covers(30.0, 33.5)


def test_pacer_track_irregular_cycles_and_gaps() -> None:
    track = PacerTrack(
        (
            ("inhale", 0.0, 2.0),
            ("exhale", 2.0, 6.0),
            ("inhale", 6.01, 9.0),  # a 10 ms logging gap: still one schedule
            ("exhale", 9.0, 12.0),
            ("inhale", 30.0, 33.0),  # the pacer stopped between sets
            ("exhale", 33.0, 37.0),
        )
    )
    assert track.volume([1.0, 4.0, 6.005, 7.505, 10.5]) == pytest.approx([0.5, 0.5, 0.0, 0.5, 0.5])
    assert np.isnan(track.volume([20.0, 29.9, 37.1])).all()
    assert track.covers(0.0, 12.0)
    assert not track.covers(10.0, 31.0)
    assert track.covers(30.0, 37.0)


def test_pacer_track_reproduces_the_simulated_paced_breath() -> None:
    rec = simulate("cat-cow", seed=4, reps=3, sensor_errors=SensorErrorModel.ideal())
    assert rec.truth is not None
    track = pacer_from_events(rec.events)
    assert track is not None
    assert len(track.phases) == 2 * (1 + 3)  # the calibration rep and the set
    truth_t = rec.truth.time_s
    inside = np.zeros(truth_t.shape, dtype=bool)
    for _, start, end in track.phases:
        inside |= (truth_t >= start) & (truth_t <= end)
    logged = track.volume(truth_t[inside])
    assert logged == pytest.approx(rec.truth.series["breath_volume_norm"][inside], abs=1e-6)


def test_pacer_from_events_without_breath_annotations() -> None:
    assert pacer_from_events([]) is None
    assert pacer_from_events([Event("rep", 0.0, 5.0)]) is None


@pytest.mark.parametrize(
    ("phases", "message"),
    [
        ((("inhale", 0.0, 3.0), ("exhale", 2.0, 6.0)), r"phases\[1\] \(exhale, from 2 s\)"),
        ((("hold", 0.0, 3.0),), r"phases\[0\] names phase 'hold'; use 'inhale' or 'exhale'"),
        ((("inhale", 3.0, 3.0),), r"phases\[0\] \(inhale\) must end after it starts"),
        ((("inhale", 0.0),), r"phases\[0\] must be a \(phase, start_s, end_s\) tuple"),
        ((("inhale", 0.0, math.nan),), r"phases\[0\] end_s must be a finite number"),
    ],
)
def test_pacer_track_rejects_bad_phases(phases: tuple[object, ...], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        PacerTrack(phases)  # type: ignore[arg-type]


def test_pacer_track_error_messages() -> None:
    with pytest.raises(ConfigurationError, match="has no duration; log each breath phase"):
        pacer_from_events([Event(EVENT_BREATH_INHALE, 2.0, 2.0)])
    overlapping = [Event(EVENT_BREATH_INHALE, 0.0, 3.0), Event(EVENT_BREATH_EXHALE, 1.0, 5.0)]
    with pytest.raises(ConfigurationError, match="pass the phases in time order without"):
        pacer_from_events(overlapping)
    track = PacerTrack((("inhale", 0.0, 3.0),))
    with pytest.raises(ConfigurationError, match=r"end_s \(1 s\) is before start_s \(2 s\)"):
        track.covers(2.0, 1.0)


# --- movement-to-breath synchronisation ----------------------------------------------------


@dataclass(frozen=True)
class CatCow:
    """A synthetic cat-cow set that follows a logged pacer, like the simulator does."""

    time_s: FloatArray
    lumbar_deg: FloatArray
    track: PacerTrack
    cycle_starts_s: FloatArray  # inhale starts, and the end of the last exhale
    lags_s: FloatArray  # per cycle

    def window(self, cycle: int, margin_s: float = 2.5) -> tuple[FloatArray, ...]:
        start, end = self.cycle_starts_s[cycle], self.cycle_starts_s[cycle + 1]
        inside = (self.time_s >= start - margin_s) & (self.time_s <= end + margin_s)
        t = self.time_s[inside]
        return t, self.lumbar_deg[inside], self.track.volume(t)


def cat_cow(
    seed: int,
    lag_s: float,
    *,
    cycles: int = 5,
    inverted: tuple[int, ...] | range = (),
    lag_jitter: float = 0.05,
    noise_deg: float = 0.05,
    sway_deg: float = 0.5,
) -> CatCow:
    """Cycles of inhale 3 s / exhale 4 s (each ±15 %); the movement leaves neutral after
    the lag, reaches cow (lumbar extension ≈ −15°) at the end of the inhale + lag and cat
    (≈ +16°) at the end of the exhale + lag with minimum-jerk moves (lag ±5 % per cycle, as
    the simulator's typical performer); an inverted cycle swaps cow and cat. Then 0.05°
    white noise and a slow sway (three sinusoids at 0.04–0.35 Hz, ±0.5° in all)."""
    rng = np.random.default_rng(seed)
    inhale = 3.0 * (1.0 + rng.uniform(-0.15, 0.15, cycles))
    exhale = 4.0 * (1.0 + rng.uniform(-0.15, 0.15, cycles))
    lags = lag_s * (1.0 + rng.uniform(-lag_jitter, lag_jitter, cycles))
    starts = 2.0 + np.concatenate([[0.0], np.cumsum(inhale + exhale)])
    key_t, key_v = [0.0, starts[0] + lags[0]], [0.0, 0.0]
    events = []
    for k in range(cycles):
        scale = rng.uniform(0.9, 1.1)
        cow, cat = -15.0 * scale, 16.0 * scale
        first, second = (cat, cow) if k in inverted else (cow, cat)
        key_t += [starts[k] + inhale[k] + lags[k], starts[k + 1] + lags[k]]
        key_v += [first, second]
        events += [
            Event(EVENT_BREATH_INHALE, starts[k], starts[k] + inhale[k]),
            Event(EVENT_BREATH_EXHALE, starts[k] + inhale[k], starts[k + 1]),
        ]
    end = starts[-1] + lags[-1]
    key_t += [end + 2.0, end + 4.0]
    key_v += [0.0, 0.0]
    t = np.arange(0.0, end + 4.0, 1.0 / RATE_HZ)
    lumbar = min_jerk_interpolate(t, np.array(key_t), np.array(key_v)[:, None])[:, 0]
    freq = rng.uniform(0.04, 0.35, 3)
    phase = rng.uniform(0.0, 2.0 * np.pi, 3)
    weight = rng.uniform(0.5, 1.0, 3)
    waves = np.sin(2.0 * np.pi * freq[:, None] * t[None, :] + phase[:, None])
    lumbar = lumbar + (sway_deg * weight / weight.sum()) @ waves
    lumbar = lumbar + rng.normal(0.0, noise_deg, t.shape)
    track = pacer_from_events(events)
    assert track is not None
    return CatCow(t, lumbar, track, starts, lags)


def test_breath_sync_recovers_the_lag_within_a_tenth_of_a_second() -> None:
    errors = []
    for lag in np.arange(0.0, 1.81, 0.1):
        for seed in range(4):
            session = cat_cow(seed, float(lag))
            for cycle in range(5):
                sync = breath_sync(*session.window(cycle))
                assert not sync.inverted, f"clean cycle called inverted (lag {lag:.1f} s)"
                errors.append(sync.lag_s - session.lags_s[cycle])
    worst = float(np.max(np.abs(errors)))
    assert worst <= 0.1, f"largest lag error {worst:.3f} s"
    assert float(np.sqrt(np.mean(np.square(errors)))) < 0.04


def test_breath_sync_on_an_irregular_time_base_with_gaps() -> None:
    session = cat_cow(7, 0.8)
    t, lumbar, _ = session.window(2)
    rng = np.random.default_rng(1)
    jittered = t + rng.uniform(-0.003, 0.003, t.shape)  # still strictly increasing
    lumbar = lumbar.copy()
    lumbar[300:320] = np.nan  # a 0.2 s dropout
    sync = breath_sync(jittered, lumbar, session.track.volume(jittered))
    assert sync.lag_s == pytest.approx(session.lags_s[2], abs=0.1)


def test_breath_sync_finds_an_inverted_cycle_between_normal_ones() -> None:
    for lag in np.arange(0.0, 1.81, 0.3):
        for seed in range(3):
            session = cat_cow(seed, float(lag), inverted=(2,))
            sync = breath_sync(*session.window(2))
            assert sync.inverted, f"inverted cycle missed at lag {lag:.1f} s (seed {seed})"
            assert sync.lag_s == math.inf
            assert sync.correlation < 0.0
            assert sync.in_phase_share < 0.1
            assert not breath_sync(*session.window(1)).inverted  # its neighbours are fine
            assert not breath_sync(*session.window(3)).inverted


def test_breath_sync_whole_set_inverted() -> None:
    for lag in (0.0, 0.5, 1.0):
        session = cat_cow(3, lag, inverted=range(5))
        for cycle in range(5):
            sync = breath_sync(*session.window(cycle))
            assert sync.inverted and sync.lag_s == math.inf
            assert sync.in_phase_share < 0.1 + 0.2 * lag  # a late movement agrees a little


def test_breath_sync_in_phase_share() -> None:
    exact = cat_cow(0, 0.0, lag_jitter=0.0, noise_deg=0.0, sway_deg=0.0)
    following = breath_sync(*exact.window(2))
    assert following.in_phase_share == pytest.approx(1.0)
    assert following.lag_s == pytest.approx(0.0, abs=0.01)
    assert following.correlation > 0.99
    assert breath_sync(*cat_cow(0, 0.0).window(2)).in_phase_share > 0.97
    late = breath_sync(*cat_cow(0, 1.8).window(2))
    assert 0.3 < late.in_phase_share < 0.8  # late movement goes the wrong way for a while
    inverted = cat_cow(0, 0.0, noise_deg=0.0, sway_deg=0.0, inverted=range(5))
    assert breath_sync(*inverted.window(2)).in_phase_share < 0.05


def test_breath_sync_expected_sign_and_no_movement() -> None:
    t = np.arange(0.0, 14.0, 0.01)
    volume = BreathPacer(3.0, 4.0, start_s=3.0).volume(t)
    rising = 20.0 * BreathPacer(3.0, 4.0, start_s=3.5).volume(t)  # extends with the breath
    sync = breath_sync(t, rising, volume, expected_sign=1.0)
    assert sync.lag_s == pytest.approx(0.5, abs=0.01) and not sync.inverted
    assert breath_sync(t, rising, volume).inverted  # cat-cow's sign: the wrong way
    still = breath_sync(t, np.full(t.shape, 3.0), volume)
    assert math.isnan(still.lag_s) and not still.inverted
    assert math.isnan(still.in_phase_share)


def test_breath_sync_uses_the_estimated_breath_as_the_reference() -> None:
    t = np.arange(0.0, 40.0, 0.01)
    pacer = BreathPacer(3.0, 4.0, start_s=0.5)
    upper = -90.0 - 0.3 * pacer.volume(t) + 0.02 * np.random.default_rng(3).normal(size=t.size)
    estimate = estimate_respiration(t, upper, sampling_rate_hz=RATE_HZ)
    assert estimate.usable and estimate.phase_volume is not None
    movement = -20.0 * BreathPacer(3.0, 4.0, start_s=1.0).volume(t)  # 0.5 s late
    inside = (t >= 14.5 - 2.5) & (t <= 21.5 + 2.5)
    sync = breath_sync(t[inside], movement[inside], estimate.phase_volume[inside])
    assert sync.lag_s == pytest.approx(0.5, abs=0.15)


def test_breath_sync_on_simulated_cat_cow_through_the_motion_pipeline() -> None:
    """Cycles of seeded cat-cow sessions (faults injected often), measured on the motion
    pipeline's lumbar flexion against the logged pacer, as the exercise engine will."""
    profile = replace(PROFILES["typical"], compensation_tendency=0.6)
    steady_errors, inverted_found, inverted_true = [], 0, 0
    for seed in range(8):
        rec = simulate("cat-cow", seed=seed, reps=6, profile=profile)
        assert rec.truth is not None
        frames, _ = motion_process(rec)
        track = pacer_from_events(rec.events)
        assert track is not None
        reps = [e for e in rec.truth.events if e.kind == "rep"]
        faulty = {e.start_s for e in rec.truth.events if e.kind == "fault"}
        truth_t, truth_lumbar = rec.truth.time_s, rec.truth.series["lumbar_flexion_deg"]
        previous: tuple[bool, float] | None = None  # (inverted, lag) of the cycle before
        for (_, start, turn), (_, _, end) in zip(
            track.phases[::2], track.phases[1::2], strict=True
        ):
            rep = next((r for r in reps if start - 0.01 <= r.start_s <= start + 2.0), None)
            if rep is None:  # the calibration rep
                previous = None
                continue
            # The simulated person reaches cow (cat when inverted) 1 s after the inhale.
            inverted = bool(
                np.interp(turn + 1.0, truth_t, truth_lumbar)
                > np.interp(end + 1.0, truth_t, truth_lumbar)
            )
            lag = rep.end_s - end  # the cycle ends at cat, at the end of the exhale + lag
            inside = (frames.time_s >= start - 2.5) & (frames.time_s <= end + 2.5)
            t = frames.time_s[inside]
            sync = breath_sync(t, frames["lumbar_flexion_deg"][inside], track.volume(t))
            if inverted:
                inverted_true += 1
                inverted_found += sync.inverted
            elif (
                rep.start_s not in faulty
                and previous is not None
                and not previous[0]
                and abs(previous[1] - lag) < 0.3  # a steady lag: the truth is unambiguous
            ):
                assert not sync.inverted
                steady_errors.append(sync.lag_s - lag)
            previous = (inverted, lag)
    assert inverted_true >= 4 and inverted_found == inverted_true
    assert len(steady_errors) >= 10
    assert float(np.max(np.abs(steady_errors))) <= 0.1


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (([0.0, 0.1, 0.2], [1.0, 2.0], [0.0, 0.5, 1.0]), {}, "movement_deg has 2 values but"),
        (([0.0, 0.1, 0.2], [1.0, 2.0, 3.0], [0.0, 1.0]), {}, "pacer_volume has 2 values but"),
        (([0.0, 0.1, 0.2], [math.nan] * 3, [0.0, 0.5, 1.0]), {}, "movement_deg holds no finite"),
        (([0.0, 0.1, 0.2], [1.0, 2.0, 3.0], [math.nan] * 3), {}, "pacer_volume holds no finite"),
        (([0.0, 0.2, 0.1], [1.0, 2.0, 3.0], [0.0, 0.5, 1.0]), {}, "strictly increasing"),
        (([0.0, 0.1], [1.0, 2.0], [0.0, 1.0]), {}, "at least 3 frames"),
        (([[0.0, 0.1, 0.2]], [1.0, 2.0, 3.0], [0.0, 0.5, 1.0]), {}, "time_s must be one-dim"),
        (([0.0, 0.1, 0.2], ["a", "b", "c"], [0.0, 0.5, 1.0]), {}, "movement_deg must be an arr"),
        (([0.0, 0.1, 0.2], [1.0, 2.0, 3.0], [0.0, 0.5, 1.0]), {"expected_sign": 0}, "1 or -1"),
        (([0.0, 0.1, 0.2], [1.0, 2.0, 3.0], [0.0, 0.5, 1.0]), {"max_lag_s": 0.0}, "max_lag_s"),
    ],
)
def test_breath_sync_rejects_bad_input(
    args: tuple[object, ...], kwargs: dict[str, float], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        breath_sync(*args, **kwargs)  # type: ignore[arg-type]


# --- respiration from the upper sensor ---------------------------------------------------


def _truth_rate_bpm(rec: Recording, start_s: float, end_s: float) -> float:
    """Count the true breath cycles: rising mid-volume crossings over the span they cover."""
    assert rec.truth is not None
    inside = (rec.truth.time_s >= start_s) & (rec.truth.time_s <= end_s)
    t, volume = rec.truth.time_s[inside], rec.truth.series["breath_volume_norm"][inside]
    rising = np.flatnonzero((volume[:-1] < 0.5) & (volume[1:] >= 0.5))
    return 60.0 * (rising.size - 1) / float(t[rising[-1]] - t[rising[0]])


def _upper_window(
    rec: Recording, start_s: float, end_s: float
) -> tuple[FloatArray, FloatArray, float]:
    """Frames of the motion pipeline's upper inclination (deg) over [start_s, end_s]."""
    frames, _ = motion_process(rec)
    inside = (frames.time_s >= start_s) & (frames.time_s <= end_s)
    return frames.time_s[inside], frames[UPPER_INCLINATION][inside], frames.rate_hz


@pytest.mark.parametrize("errors", ["ideal", "realistic"])
def test_respiration_rate_on_the_simulated_quiet_rest(errors: str) -> None:
    model = SensorErrorModel.ideal() if errors == "ideal" else SensorErrorModel.realistic()
    for seed in range(3):
        rec = simulate("pelvic-tilt", seed=seed, reps=2, sets=2, sensor_errors=model)
        assert rec.truth is not None
        rest = next(e for e in rec.truth.events if e.kind == "rest")  # lying still, ≈ 20 s
        t, upper, rate_hz = _upper_window(rec, rest.start_s, rest.end_s)
        estimate = estimate_respiration(t, upper, sampling_rate_hz=rate_hz)
        assert estimate.usable, estimate.reason
        assert estimate.reason == "ok"
        truth = _truth_rate_bpm(rec, rest.start_s, rest.end_s)
        assert estimate.rate_bpm == pytest.approx(truth, abs=2.0)
        # The sign: the upper inclination falls on the inhale, so the estimate follows the
        # true volume.
        assert estimate.phase_volume is not None
        true_volume = np.interp(t, rec.truth.time_s, rec.truth.series["breath_volume_norm"])
        assert np.corrcoef(estimate.phase_volume, true_volume)[0, 1] > 0.6
        assert np.nanmin(estimate.phase_volume) >= 0.0
        assert np.nanmax(estimate.phase_volume) <= 1.0


def test_respiration_around_the_simulated_neutral_hold() -> None:
    rec = simulate("pelvic-tilt", seed=1, reps=1, sensor_errors=SensorErrorModel.ideal())
    hold = next(e for e in rec.events if e.kind == "calibration-neutral")
    t, upper, rate_hz = _upper_window(rec, hold.start_s, hold.end_s - 0.05)
    # The angles only exist once the calibration (which ends with this hold) is ready.
    with pytest.raises(ConfigurationError, match="upper_inclination_deg holds no finite value"):
        estimate_respiration(t, upper, sampling_rate_hz=rate_hz)
    # The stillness after it, before the calibration rep, is too short to count breaths.
    rep = next(e for e in rec.events if e.kind == "calibration-rep")
    t, upper, rate_hz = _upper_window(rec, hold.end_s + 0.05, rep.start_s)
    estimate = estimate_respiration(t, upper, sampling_rate_hz=rate_hz)
    assert not estimate.usable and math.isnan(estimate.rate_bpm)
    assert estimate.reason.startswith("window too short")


def test_respiration_is_unusable_during_a_cat_cow_set() -> None:
    rec = simulate("cat-cow", seed=2, reps=3)
    assert rec.truth is not None
    reps = [e for e in rec.truth.events if e.kind == "rep"]
    t, upper, rate_hz = _upper_window(rec, reps[0].start_s, reps[-1].end_s)
    estimate = estimate_respiration(t, upper, sampling_rate_hz=rate_hz)
    assert not estimate.usable
    assert estimate.reason == REASON_MOVEMENT
    assert (
        estimate.reason == "movement dominates the upper sensor; the pacer is the breath reference"
    )
    assert estimate.phase_volume is None and math.isnan(estimate.rate_bpm)


@pytest.mark.parametrize("rate_bpm", [6.0, 12.0, 15.0, 24.0, 30.0])
def test_respiration_rate_of_analytic_breathing(rate_bpm: float) -> None:
    t = np.arange(0.0, 60.0, 1.0 / 50.0)
    volume = 0.5 - 0.5 * np.cos(2.0 * np.pi * rate_bpm / 60.0 * t)
    noise = 0.01 * np.random.default_rng(0).normal(size=t.size)
    estimate = estimate_respiration(t, 88.0 - 0.2 * volume + noise, sampling_rate_hz=50.0)
    assert estimate.usable
    assert estimate.rate_bpm == pytest.approx(rate_bpm, abs=0.2)
    assert estimate.phase_volume is not None
    middle = (t > 10.0) & (t < 50.0)
    assert np.corrcoef(estimate.phase_volume[middle], volume[middle])[0, 1] > 0.95


def _quiet_breathing(seconds: float = 40.0) -> tuple[FloatArray, FloatArray]:
    t = np.arange(0.0, seconds, 0.01)
    return t, -90.0 - 0.2 * BreathPacer(1.7, 2.5).volume(t)


def test_respiration_unusable_reasons() -> None:
    t, upper = _quiet_breathing()
    assert estimate_respiration(t, upper, sampling_rate_hz=RATE_HZ).usable

    short = estimate_respiration(t[:900], upper[:900], sampling_rate_hz=RATE_HZ)
    assert not short.usable and short.reason.startswith("window too short")
    tiny = estimate_respiration(t[:300], upper[:300], sampling_rate_hz=RATE_HZ)
    assert (
        tiny.reason == "window too short (3.0 s) to count 3 breaths; pass at least 4 s of stillness"
    )

    moved = upper + np.where(t > 20.0, 5.0, 0.0)
    assert estimate_respiration(t, moved, sampling_rate_hz=RATE_HZ).reason == REASON_MOVEMENT

    shifted = upper + np.where(t > 20.0, 2.0, 0.0)
    shift = estimate_respiration(t, shifted, sampling_rate_hz=RATE_HZ)
    assert not shift.usable
    assert shift.reason.startswith("the posture shifted by 2.")
    assert "(at most 1.5° allowed); breathing is read from still windows" in shift.reason

    noise = -90.0 + 0.1 * np.random.default_rng(5).normal(size=t.size)
    flat = estimate_respiration(t, noise, sampling_rate_hz=RATE_HZ)
    assert not flat.usable and flat.reason.startswith("no clear breathing rhythm")

    gappy = upper.copy()
    gappy[1000:1600] = np.nan
    missing = estimate_respiration(t, gappy, sampling_rate_hz=RATE_HZ)
    assert (
        missing.reason
        == "15 % of the frames are missing (at most 10 % allowed); choose a window without gaps"
    )

    few = upper.copy()
    few[1000:1100] = np.nan  # a short gap is bridged
    assert estimate_respiration(t, few, sampling_rate_hz=RATE_HZ).usable


@pytest.mark.parametrize(
    ("time_s", "upper", "rate_hz", "message"),
    [
        (np.arange(10.0), np.zeros(9), 100.0, "upper_inclination_deg has 9 values but time_s"),
        (np.arange(10.0), np.full(10, np.nan), 100.0, "holds no finite value"),
        (np.arange(10.0), np.zeros(10), 0.0, "sampling_rate_hz must be a positive number"),
        (np.arange(10.0), np.zeros(10), math.nan, "sampling_rate_hz must be a positive number"),
        (np.arange(10.0), np.zeros(10), 1.0, r"too low for breathing up to 0.7 Hz; pass frames"),
        (np.zeros(10), np.zeros(10), 100.0, "time_s must be strictly increasing"),
        (np.array([0.0, np.nan, 2.0]), np.zeros(3), 100.0, "time_s must be finite"),
    ],
)
def test_respiration_rejects_bad_input(
    time_s: FloatArray, upper: FloatArray, rate_hz: float, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        estimate_respiration(time_s, upper, sampling_rate_hz=rate_hz)


def test_docstring_examples() -> None:
    result = doctest.testmod(breath_module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0
