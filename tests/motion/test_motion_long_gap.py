"""A long gap in every sensor's data (issue 16: two batches 100,000 s apart made the
tracker fill every frame across the jump, 7 MB/s for minutes): the streaming tracker
gives the gap's first and last frames (NaN, flagged) and leaves out the identical frames
between them, so one sample's work is bounded whatever the jump; everywhere else its
frames are the batch's.
"""

from __future__ import annotations

import time

import numpy as np

from spinecoach.conventions import LUMBAR_FLEXION, PELVIC_TILT_DEG
from spinecoach.motion import FLAG_GAP, MotionTracker, SensorSample, motion_process
from spinecoach.motion.stream import MAX_FILLED_GAP_S
from spinecoach.recording import Event, Recording, SensorData
from spinecoach.sim import simulate

RATE_HZ = 100.0


def _shifted_after(rec: Recording, cut_s: float, jump_s: float) -> Recording:
    """``rec`` with every sample and event from ``cut_s`` on moved ``jump_s`` later: both
    sensors go silent for ``jump_s`` seconds."""
    sensors = {}
    for placement, data in rec.sensors.items():
        t = np.where(data.time_s >= cut_s, data.time_s + jump_s, data.time_s)
        sensors[placement] = SensorData.from_arrays(
            placement, t, data.acc_mps2, data.gyr_dps, rate_hz=data.rate_hz, device=data.device
        )
    events = tuple(
        Event(e.kind, e.start_s + jump_s, e.end_s + jump_s, e.label) if e.start_s >= cut_s else e
        for e in rec.events
    )
    return Recording.create(sensors, events=events, meta=rec.meta)


def _stream(rec: Recording) -> list:
    tracker = MotionTracker(
        rates_hz={p: s.rate_hz for p, s in rec.sensors.items()},
        position=rec.meta["position"],
        annotations=rec.events,
    )
    samples = sorted(
        (float(s.time_s[i]), p, i) for p, s in rec.sensors.items() for i in range(s.n_samples)
    )
    out = []
    for t, p, i in samples:
        s = rec.sensors[p]
        out += tracker.update(SensorSample(p, t, s.acc_mps2[i], s.gyr_dps[i]))
    return out


def test_a_long_gap_gives_its_first_and_last_frames_and_the_batch_elsewhere() -> None:
    rec = simulate("pelvic-tilt", seed=0, reps=3)
    events = [e for e in rec.events if e.kind.startswith("calibration")]
    cut_s = max(e.end_s for e in events) + 4.0  # calibrated before the gap
    jump_s = 60.0
    gapped = _shifted_after(rec, cut_s, jump_s)
    frames, _ = motion_process(gapped)
    out = _stream(gapped)
    rate = frames.rate_hz
    index = np.rint((frames.time_s - frames.time_s[0]) * rate).astype(int)
    streamed = np.rint((np.array([f.time_s for f in out]) - frames.time_s[0]) * rate).astype(int)
    assert np.all(np.isin(streamed, index))  # on the batch's grid, no frame invented
    position = np.searchsorted(index, streamed)
    for name in (PELVIC_TILT_DEG, LUMBAR_FLEXION):
        got = np.array([f.angles[name] for f in out])
        np.testing.assert_array_equal(got, frames[name][position])
    assert [f.flags for f in out] == frames.flags[position].tolist()
    left_out = np.setdiff1d(np.arange(len(index)), position)
    assert len(left_out) > (jump_s - MAX_FILLED_GAP_S) * rate  # the gap's inside only
    assert np.all(frames.flags[left_out] & FLAG_GAP)
    assert np.all(np.isnan(frames[PELVIC_TILT_DEG][left_out]))
    in_gap = [f for f in out if cut_s < f.time_s < cut_s + jump_s - 0.1]
    assert len(in_gap) <= 2 + 0.3 * rate  # the first frame, the last, and the brackets
    assert all(f.flags & FLAG_GAP for f in in_gap[1:])


def test_a_jump_of_100000_s_costs_a_bounded_number_of_frames() -> None:
    tracker = MotionTracker(rates_hz={"lower": RATE_HZ, "upper": RATE_HZ})
    acc, gyr = np.array([0.0, 0.0, 9.81]), np.zeros(3)
    frames = []
    started = time.process_time()
    # A 1,000 s jump first: the old tracker filled it with 100,000 frames (a few seconds)
    # and fails here instead of running for hours on the 100,000 s one.
    for batch, t0 in enumerate((0.0, 1_000.0, 101_000.0)):
        for i in range(100):
            for placement in ("lower", "upper"):
                frames += tracker.update(SensorSample(placement, t0 + i / RATE_HZ, acc, gyr))
        assert len(frames) < 150 * (batch + 1)  # per second of data: 100 frames and two
    spent_s = time.process_time() - started
    for start_s, end_s in ((0.995, 1_000.005), (1_000.995, 101_000.005)):
        across = [f for f in frames if start_s < f.time_s < end_s]
        assert len(across) == 2  # the gap's first and last frames
        assert all(f.flags & FLAG_GAP and np.isnan(f.angles[PELVIC_TILT_DEG]) for f in across)
    assert spent_s < 30.0  # a generous bound: the old code needed hours
