"""Simulated working days: plan, truth consistency, slouch labels, mounting, CLI."""

from __future__ import annotations

import doctest
import itertools
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation
from typer.testing import CliRunner

import spinecoach.sim.day
from spinecoach.cli import app
from spinecoach.conventions import (
    EVENT_ACTIVITY,
    EVENT_CALIBRATION_FUNCTIONAL,
    EVENT_CALIBRATION_NEUTRAL,
    EVENT_DESK_BREAK,
    EVENT_SETUP,
    EVENT_SITTING_BOUT,
    LUMBAR_FLEXION,
    POSTURES,
)
from spinecoach.errors import ConfigurationError
from spinecoach.io import read_recording
from spinecoach.recording import Event, Recording
from spinecoach.sim.day import day_truth_summary, simulate_day

SITTING = ("sitting-upright", "sitting-slouched")
HOUR_S = 3600.0


@pytest.fixture(scope="module")
def day() -> Recording:
    return simulate_day(2, hours=16.0, rate_hz=10.0)


def _events(rec: Recording, kind: str) -> list[Event]:
    assert rec.truth is not None
    return [e for e in rec.truth.events if e.kind == kind]


def _label_agreement(rec: Recording) -> float:
    """Share of sitting samples whose truth label agrees with flexion vs the threshold."""
    assert rec.truth is not None
    t = rec.truth.time_s
    flexion = rec.truth.series[LUMBAR_FLEXION]
    threshold = float(rec.meta["slouch_threshold_deg"])
    agree = total = 0
    for event in _events(rec, EVENT_ACTIVITY):
        if event.label in SITTING:
            inside = (t >= event.start_s) & (t < event.end_s)
            slouched = flexion[inside] > threshold
            agree += int(np.sum(slouched == (event.label == "sitting-slouched")))
            total += int(inside.sum())
    return agree / total


def test_day_lasts_the_hours_and_opens_with_the_calibration(day: Recording) -> None:
    assert day.truth is not None
    assert day.truth.time_s[-1] == pytest.approx(16.0 * HOUR_S)
    assert day.duration_s == pytest.approx(16.0 * HOUR_S, abs=0.01)
    assert [e.kind for e in day.events] == [EVENT_CALIBRATION_NEUTRAL, EVENT_CALIBRATION_FUNCTIONAL]
    assert day.meta["kind"] == "working-day"
    assert float(day.meta["day_hours"]) == 16.0
    assert day.meta["position"] == "standing"
    upright = float(day.meta["upright_sitting_flexion_deg"])
    slouched = float(day.meta["slouched_sitting_flexion_deg"])
    threshold = float(day.meta["slouch_threshold_deg"])
    assert upright + 10.0 * 0.6 <= slouched <= upright + 20.0 * 1.3
    assert abs(threshold - 0.5 * (upright + slouched)) <= 1.5 + 1e-6


def test_activity_setup_and_calibration_tile_the_day(day: Recording) -> None:
    assert day.truth is not None
    tiles = sorted(
        (e.start_s, e.end_s)
        for e in day.truth.events
        if e.kind in (EVENT_ACTIVITY, EVENT_SETUP, EVENT_CALIBRATION_FUNCTIONAL)
    )
    assert tiles[0][0] == 0.0
    assert tiles[-1][1] == pytest.approx(16.0 * HOUR_S)
    for (_, end), (start, _) in itertools.pairwise(tiles):
        assert start == pytest.approx(end, abs=1e-6)  # no gap, no overlap
    assert all(end > start for start, end in tiles)
    labels = {e.label for e in _events(day, EVENT_ACTIVITY)}
    assert labels == set(POSTURES)  # every posture occurs
    for setup in _events(day, EVENT_SETUP):
        source, target = setup.label.split("->")
        assert source in POSTURES and target in POSTURES
        assert 1.5 - 1e-9 <= setup.end_s - setup.start_s <= 4.0 + 1e-9


def test_sitting_bouts_cover_exactly_the_sitting_activities(day: Recording) -> None:
    activities = sorted(_events(day, EVENT_ACTIVITY), key=lambda e: e.start_s)
    runs: list[tuple[float, float]] = []
    for event in activities:
        if event.label not in SITTING:
            continue
        if runs and event.start_s == pytest.approx(runs[-1][1], abs=1e-6):
            runs[-1] = (runs[-1][0], event.end_s)  # upright ↔ slouched inside one bout
        else:
            runs.append((event.start_s, event.end_s))
    bouts = sorted(_events(day, EVENT_SITTING_BOUT), key=lambda e: e.start_s)
    assert len(bouts) == len(runs)
    for bout, (start, end) in zip(bouts, runs, strict=True):
        assert bout.start_s == pytest.approx(start, abs=1e-6)
        assert bout.end_s == pytest.approx(end, abs=1e-6)
        assert bout.label in ("desk", "meeting", "meal", "train", "sofa")
    minutes = [(b.end_s - b.start_s) / 60.0 for b in bouts]
    assert min(minutes) >= 5.0 and max(minutes) <= 140.0
    assert max(minutes) >= 45.0  # long desk bouts


def test_desk_breaks_lie_inside_desk_sitting_bouts(day: Recording) -> None:
    breaks = _events(day, EVENT_DESK_BREAK)
    assert breaks, "seed 2 has desk breaks"
    bouts = _events(day, EVENT_SITTING_BOUT)
    reps = _events(day, "rep")
    for item in breaks:
        assert item.label == "cat-cow-seated"
        assert 90.0 <= item.end_s - item.start_s <= 180.0
        home = [b for b in bouts if b.start_s <= item.start_s and item.end_s <= b.end_s]
        assert len(home) == 1 and home[0].label == "desk"
        assert sum(item.start_s <= r.start_s and r.end_s <= item.end_s for r in reps) >= 6
    assert not _events(day, "breath-inhale")  # the pacer annotations are not kept
    assert all(e.kind.startswith("calibration") for e in day.events)


def test_slouch_labels_follow_the_true_lumbar_flexion(day: Recording) -> None:
    assert _label_agreement(day) >= 0.99
    # Drifting bouts are split at the crossings: both labels inside one sitting bout.
    bouts = _events(day, EVENT_SITTING_BOUT)
    mixed = 0
    for bout in bouts:
        labels = {
            e.label
            for e in _events(day, EVENT_ACTIVITY)
            if bout.start_s <= e.start_s and e.end_s <= bout.end_s
        }
        mixed += labels == set(SITTING)
    assert mixed >= 3


def test_totals_are_those_of_an_office_day(day: Recording) -> None:
    summary = day_truth_summary(day)
    posture_h = {k: v / HOUR_S for k, v in summary["posture_s"].items()}
    sitting_h = posture_h["sitting-upright"] + posture_h["sitting-slouched"]
    assert 6.0 <= sitting_h <= 11.0
    assert 0.5 <= posture_h["walking"] <= 4.5
    assert 0.3 <= posture_h["lying-supine"] <= 3.0
    assert 0.1 <= summary["slouched_share"] <= 0.8
    assert summary["sitting_bouts"] >= 6
    assert sum(posture_h.values()) == pytest.approx(16.0, abs=0.2)


def test_days_vary_with_the_seed() -> None:
    summaries = [
        day_truth_summary(simulate_day(seed, hours=16.0, rate_hz=1.0)) for seed in range(4)
    ]
    assert len({s["sitting_bouts"] for s in summaries}) > 1 or len(
        {round(s["longest_bout_s"]) for s in summaries}
    ) == len(summaries)
    assert len({round(s["posture_s"]["sitting-slouched"]) for s in summaries}) == len(summaries)
    for summary in summaries:
        sitting_h = (
            summary["posture_s"]["sitting-upright"] + summary["posture_s"]["sitting-slouched"]
        ) / HOUR_S
        assert 6.0 <= sitting_h <= 11.0


def test_same_seed_gives_the_same_day() -> None:
    a = simulate_day(5, hours=1.0, rate_hz=10.0)
    assert a.equals(simulate_day(5, hours=1.0, rate_hz=10.0))
    assert not a.equals(simulate_day(6, hours=1.0, rate_hz=10.0))


def test_a_short_day_at_100_hz() -> None:
    rec = simulate_day(7, hours=1.0, rate_hz=100.0)
    assert rec.truth is not None
    assert rec.truth.time_s.shape == (360_001,)
    assert rec.sensors["lower"].rate_hz == 100.0
    assert {e.label for e in _events(rec, EVENT_ACTIVITY)} == set(POSTURES)
    assert _label_agreement(rec) >= 0.97  # the 2-minute desk breaks weigh more in 1 h
    slow = simulate_day(7, hours=1.0, rate_hz=10.0)
    assert slow.truth is not None
    # The movement does not depend on the rate: same events, same truth on common samples
    # (up to the neutral-window mean, taken over the samples of each rate).
    assert [(e.kind, e.start_s, e.end_s, e.label) for e in rec.truth.events] == [
        (e.kind, e.start_s, e.end_s, e.label) for e in slow.truth.events
    ]
    np.testing.assert_allclose(
        rec.truth.series[LUMBAR_FLEXION][::10], slow.truth.series[LUMBAR_FLEXION], atol=0.01
    )


def test_mount_rotation_changes_the_sensors_not_the_truth() -> None:
    plain = simulate_day(3, hours=1.0, rate_hz=10.0)
    flipped = simulate_day(
        3,
        hours=1.0,
        rate_hz=10.0,
        mount_rotation={"upper": Rotation.from_euler("z", 180, degrees=True)},
    )
    assert plain.truth is not None and flipped.truth is not None
    assert flipped.truth.equals(plain.truth)
    assert flipped.sensors["lower"].equals(plain.sensors["lower"])
    upper, upper_flipped = plain.sensors["upper"], flipped.sensors["upper"]
    assert not upper_flipped.equals(upper)
    # Upside down about the sensor z axis: x and y change sign, z stays (gravity on x flips).
    assert np.median(upper.acc_mps2[:, 0]) > 5.0 > -5.0 > np.median(upper_flipped.acc_mps2[:, 0])
    assert "upper_mount_extra_rotation_xyzw" in flipped.meta
    assert "lower_mount_extra_rotation_xyzw" not in flipped.meta
    both = simulate_day(3, hours=1.0, rate_hz=10.0, mount_rotation=[0.0, 0.0, 1.0, 0.0])
    assert not both.sensors["lower"].equals(plain.sensors["lower"])


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"hours": 0.5}, "hours must be a number of hours from 1 to 24"),
        ({"hours": float("nan")}, "hours must be a number of hours"),
        ({"rate_hz": 0.0}, "rate_hz must be a positive"),
        ({"mount_rotation": [1.0, 2.0]}, "mount_rotation must be a scipy Rotation or a quaternion"),
        ({"mount_rotation": {"middle": [0, 0, 0, 1]}}, "unknown placement 'middle'"),
        ({"profile": "sloth"}, "unknown profile 'sloth'"),
    ],
)
def test_bad_arguments_name_the_fix(arguments: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        simulate_day(1, **arguments)  # type: ignore[arg-type]


def test_cli_writes_a_readable_day_and_prints_the_summary(tmp_path: Path) -> None:
    out = tmp_path / "day.screc"
    result = CliRunner().invoke(
        app, ["simulate-day", "--seed", "4", "--hours", "2", "--rate", "5", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    rec = read_recording(out)
    assert rec.equals(simulate_day(4, hours=2.0, rate_hz=5.0))
    text = " ".join(result.stdout.split())
    assert "working day, 2.00 h" in text
    assert "time per posture:" in text and "sitting-slouched" in text
    assert "sitting bouts:" in text and "slouched" in text and "desk breaks:" in text
    bad = CliRunner().invoke(app, ["simulate-day", "--hours", "0", "--out", str(out)])
    assert bad.exit_code == 2
    assert "hours must be a number of hours" in bad.output


def test_docstring_examples() -> None:
    result = doctest.testmod(spinecoach.sim.day, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted >= 3


def test_belt_day_has_one_sensor_and_the_same_truth() -> None:
    from spinecoach.sim.activities import BeltWear

    plain = simulate_day(5, hours=1.0, rate_hz=25.0)
    belt = simulate_day(5, hours=1.0, rate_hz=25.0, wear=BeltWear(turn_deg=90.0, tilt_deg=10.0))
    assert tuple(belt.sensors) == ("lower",)
    assert plain.truth is not None and belt.truth is not None
    assert belt.truth.equals(plain.truth)
    assert not belt.sensors["lower"].equals(plain.sensors["lower"])
    assert belt.meta["belt_tilt_deg"] == "10"


def test_day_with_bends() -> None:
    rec = simulate_day(6, hours=3.0, rate_hz=10.0, bends=True)
    assert rec.meta["bends"] == "true"
    labels = [e.label for e in _events(rec, EVENT_ACTIVITY)]
    assert labels.count("bending") >= 2
    assert rec.duration_s == pytest.approx(3 * 3600.0, abs=0.2)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"wear": "belt"}, "wear must be a BeltWear"),
        ({"bends": "yes"}, "bends must be True or False"),
    ],
)
def test_bad_wear_arguments(arguments: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        simulate_day(1, **arguments)  # type: ignore[arg-type]


def test_wear_and_mount_rotation_together_are_refused() -> None:
    from spinecoach.sim.activities import BeltWear

    with pytest.raises(ConfigurationError, match=r"give either wear .* or mount_rotation"):
        simulate_day(1, wear=BeltWear(), mount_rotation=[0.0, 0.0, 1.0, 0.0])
