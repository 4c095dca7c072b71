"""The gauge's bands and the measured hold (spinecoach.exercises.gauge) on made-up
traces whose answer is known by construction, and the engine's holds against the
simulator's truth."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

import spinecoach.exercises.faults as faults_module
import spinecoach.exercises.gauge as gauge_module
from spinecoach.exercises.catalogue import default_catalogue
from spinecoach.exercises.engine import detect_exercise
from spinecoach.exercises.faults import band_miss_deg, quality
from spinecoach.exercises.gauge import HoldMeter, end_bands, gauge_for
from spinecoach.motion import motion_process
from spinecoach.sim import simulate

RATE_HZ = 100.0


def _meter(
    trace: list[tuple[float, float]], *, band_start: float = 8.0, target_s: float = 3.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Feed ``(duration_s, level_deg)`` plateaus, moving linearly between them in 0.5 s,
    all inside one rep; returns the held_s of every frame and the left-early flags."""
    meter = HoldMeter(target_s)
    times, values = [], []
    t, level = 0.0, 0.0
    for duration, target in trace:
        for k in range(int(0.5 * RATE_HZ)):  # the move to the next level
            times.append(t)
            values.append(level + (target - level) * (k + 1) / (0.5 * RATE_HZ))
            t += 1.0 / RATE_HZ
        level = target
        for _ in range(int(duration * RATE_HZ)):
            times.append(t)
            values.append(level)
            t += 1.0 / RATE_HZ
    held, left = [], []
    for time_s, value in zip(times, values, strict=True):
        reading = meter.update(time_s, value, band_start, in_rep=True)
        assert reading is not None  # a rep is under way: a hold applies
        held.append(reading.held_s)
        left.append(meter.left_early)
    return np.array(times), np.array(held), np.array(left)


def test_a_hold_inside_the_band_counts_its_still_time() -> None:
    _, held, left = _meter([(4.0, 10.0), (1.0, 0.0)])
    # Still from 0.5 s; the still window (0.3 s) must see it still first.
    assert held.max() == pytest.approx(4.0 - 0.3, abs=0.05)
    assert not left.any()  # the hold was done: leaving is the release


def test_leaving_the_band_restarts_the_hold_and_is_said() -> None:
    # 1.5 s in the band, a dip out of it, then 2 s back in.
    times, held, left = _meter([(1.5, 10.0), (0.5, 5.0), (2.0, 10.0), (1.0, 0.0)])
    first = held[times < 2.0].max()
    assert first == pytest.approx(1.5 - 0.3, abs=0.05)
    out = (times > 2.1) & (times < 2.5)  # the dip: below the band
    assert (held[out] == 0.0).all()
    second = held[times > 2.5].max()
    assert second == pytest.approx(2.0 - 0.3, abs=0.05)  # restarted, not added up
    assert second < 3.0 and held.max() == second
    assert left.sum() == 2  # the dip, and leaving for good before 3 s


def test_no_band_or_no_rep_no_hold() -> None:
    meter = HoldMeter(3.0)
    assert meter.update(0.0, 10.0, None, in_rep=True) is None
    assert meter.update(0.01, 10.0, 8.0, in_rep=False) is None


def test_past_the_band_is_inside() -> None:
    meter = HoldMeter(3.0)
    readings = [meter.update(k / RATE_HZ, 30.0, 8.0, in_rep=True) for k in range(100)]
    assert all(r is not None and r.inside for r in readings)
    assert readings[-1] is not None and readings[-1].held_s > 0.5


def test_cat_cow_bands_are_both_ends_scaled_from_the_swing_band() -> None:
    spec = default_catalogue().technique("cat-cow")
    cow, cat = end_bands(spec, 16.0, 15.0)
    low, high = spec.target.band(31.0)
    assert cat == pytest.approx((low * 16 / 31, high * 16 / 31))
    assert cow == pytest.approx((-high * 15 / 31, -low * 15 / 31))
    # A rep of half that swing reaches neither end.
    assert band_miss_deg([cow, cat], {"cat_deg": 8.0, "cow_deg": -7.5}) > 0
    assert band_miss_deg([cow, cat], {"cat_deg": 16.0, "cow_deg": -15.0}) == 0.0


def test_a_band_miss_lowers_the_score() -> None:
    full, _ = quality((), {"band_miss_deg": 0.0})
    missed, reasons = quality((), {"band_miss_deg": 3.0})
    assert full == 100 and missed == 78 and "short of the target band" in reasons[0]


def test_the_gauge_is_the_main_signal_in_its_working_direction() -> None:
    spec = default_catalogue().technique("pelvic-tilt")
    gauge = gauge_for(spec)
    assert gauge.angle == "pelvic_tilt_deg" and gauge.direction == -1
    assert gauge.value({"pelvic_tilt_deg": -9.0}) == 9.0  # posterior tilt reads positive


@pytest.mark.parametrize("module", [gauge_module, faults_module])
def test_doctests(module: object) -> None:
    result = doctest.testmod(module)  # type: ignore[arg-type]
    assert result.failed == 0 and result.attempted > 0


def test_batch_holds_equal_the_largest_measured_hold_and_track_the_truth() -> None:
    """Batch detection meters the same holds (no decimation): every rep's hold is what
    the meter measured in the band, within 0.45 s of the simulated hold."""
    rec = simulate("pelvic-tilt", seed=1, profile="novice")
    frames, _ = motion_process(rec)
    result = detect_exercise(frames, "pelvic-tilt", annotations=rec.events)
    assert rec.truth is not None
    holds = [e for e in rec.truth.events if e.kind == "hold"]
    assert len(result.reps) == 10
    for rep in result.reps:
        true = next(h for h in holds if h.start_s - 2.0 <= rep.hold_end_s <= h.end_s + 2.0)
        assert rep.hold_s == pytest.approx(true.end_s - true.start_s, abs=0.45)
        assert rep.hold_end_s - rep.hold_start_s == pytest.approx(rep.hold_s, abs=1e-6)


def test_cat_cow_reps_have_no_hold_and_carry_breath_sync() -> None:
    """A breath-led rep has no hold (NaN: stored as null), its wire record no hold_s
    but in_phase_share and lag_s, and the result's info the session's breath sync."""
    rec = simulate("cat-cow", seed=2, reps=3)
    frames, _ = motion_process(rec)
    result = detect_exercise(frames, "cat-cow", annotations=rec.events)
    assert len(result.reps) == 3
    for rep in result.reps:
        assert np.isnan(rep.hold_s) and np.isnan(rep.hold_start_s)
        wire = rep.as_dict()
        assert "hold_s" not in wire
        assert wire["in_phase_share"] == round(rep.measures["in_phase_share"], 3)
        assert wire["lag_s"] == round(rep.measures["lag_s"], 3)
    breath = result.info["breath"]
    assert breath["lag_s"] == pytest.approx(
        float(np.median([r.measures["lag_s"] for r in result.reps])), abs=1e-3
    )
