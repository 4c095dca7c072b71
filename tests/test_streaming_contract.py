"""The contract every streaming class keeps (issue 14 item 7, in the manner of gaitmap's
test mixins): fed the same data, whatever the batching or the interleaving of the
sensors, it gives the batch function's numbers; and its state can be read while it runs.

Each class gets a subclass of :class:`StreamingContract` naming its data, its batch
function, how to feed it and what state it shows. A new streaming class adds a subclass.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cache
from typing import Any

import numpy as np

from spinecoach.conventions import LOWER, PELVIS_HEIGHT_M
from spinecoach.exercises import detect_exercise
from spinecoach.exercises.engine import ExerciseEngine
from spinecoach.motion import (
    FusionSettings,
    MotionSettings,
    MotionTracker,
    SensorSample,
    fusion_process,
    motion_process,
)
from spinecoach.motion.fusion import SensorFusion
from spinecoach.motion.height import HeightEstimator, pelvis_height_m, vertical_acceleration_mps2
from spinecoach.posture import PostureTracker, posture_process
from spinecoach.recording import Recording
from spinecoach.sim import simulate
from spinecoach.sim.activities import simulate_activities


@cache
def _session() -> Recording:
    """A protocol-free flexion-extension session at 50 Hz (no calibration annotations)."""
    return simulate("flexion-extension", seed=3, reps=3, scenario="protocol-free", rate_hz=50.0)


def _interleaved(rec: Recording, lead_s: float) -> Iterator[tuple[str, int]]:
    """(placement, sample index) in arrival order when the upper sensor's samples arrive
    ``lead_s`` later than they were taken (a slower radio): per-sensor time order kept."""
    items = sorted(
        (float(s.time_s[i]) + (lead_s if p != LOWER else 0.0), p, i)
        for p, s in rec.sensors.items()
        for i in range(s.n_samples)
    )
    return ((p, i) for _, p, i in items)


class StreamingContract:
    """Subclasses give ``feeds`` (ways to feed), :meth:`batch`, :meth:`stream` and
    :meth:`state`; outputs are tuples of numpy arrays compared exactly (NaN equal)."""

    feeds: Sequence[Any] = (None,)

    def batch(self) -> tuple[np.ndarray, ...]:
        raise NotImplementedError

    def stream(self, feed: Any) -> tuple[tuple[np.ndarray, ...], Any]:
        """The streamed output and the streaming object after the data."""
        raise NotImplementedError

    def state(self, obj: Any) -> dict[str, Any]:
        """Public state of the object after the data (every value must be set)."""
        raise NotImplementedError

    def test_streaming_equals_batch_however_fed(self) -> None:
        expected = self.batch()
        assert all(a.size for a in expected)
        for feed in self.feeds:
            got, _ = self.stream(feed)
            assert len(got) == len(expected)
            for a, b in zip(got, expected, strict=True):
                np.testing.assert_array_equal(a, b, err_msg=f"fed {feed!r}")

    def test_state_is_inspectable(self) -> None:
        _, obj = self.stream(self.feeds[0])
        state = self.state(obj)
        assert state and all(v is not None for v in state.values()), state


class TestSensorFusion(StreamingContract):
    feeds = ("per sample",)

    def batch(self) -> tuple[np.ndarray, ...]:
        sensor = _session().sensors[LOWER]
        return (fusion_process(sensor, FusionSettings()).quaternion,)

    def stream(self, feed: Any) -> tuple[tuple[np.ndarray, ...], Any]:
        sensor = _session().sensors[LOWER]
        fusion = SensorFusion(rate_hz=sensor.rate_hz, settings=FusionSettings())
        q = [
            fusion.update(float(t), a, g)
            for t, a, g in zip(sensor.time_s, sensor.acc_mps2, sensor.gyr_dps, strict=True)
        ]
        return (np.array(q),), fusion

    def state(self, obj: Any) -> dict[str, Any]:
        return {"gap_before": obj.gap_before, "rate_hz": obj.rate_hz}


class TestMotionTracker(StreamingContract):
    feeds = (0.0, 0.37, 2.0)  # how late the upper sensor's samples arrive (s)

    def batch(self) -> tuple[np.ndarray, ...]:
        frames, _ = motion_process(_session())
        return (frames.time_s, *(frames.angles[k] for k in sorted(frames.angles)), frames.flags)

    def stream(self, feed: Any) -> tuple[tuple[np.ndarray, ...], Any]:
        rec = _session()
        tracker = MotionTracker(rates_hz={p: s.rate_hz for p, s in rec.sensors.items()})
        out = []
        for p, i in _interleaved(rec, float(feed)):
            s = rec.sensors[p]
            out += tracker.update(SensorSample(p, float(s.time_s[i]), s.acc_mps2[i], s.gyr_dps[i]))
        out += tracker.finish()
        names = sorted(out[0].angles)
        columns = tuple(np.array([f.angles[k] for f in out]) for k in names)
        times = np.array([f.time_s for f in out])
        return (times, *columns, np.array([f.flags for f in out], dtype=np.uint8)), tracker

    def state(self, obj: Any) -> dict[str, Any]:
        return {
            "calibrated": obj.calibrated,
            "pending": obj.pending,
            "calibration_info": obj.calibration_info,
        }


class TestHeightEstimator(StreamingContract):
    feeds = ("per sample",)

    def _inputs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        sensor = _session().sensors[LOWER]
        q = fusion_process(sensor, FusionSettings()).quaternion
        return sensor.time_s, sensor.acc_mps2, q, sensor.rate_hz

    def batch(self) -> tuple[np.ndarray, ...]:
        t, acc, q, rate = self._inputs()
        return (pelvis_height_m(t, acc, q, rate_hz=rate, max_gap_s=0.25),)

    def stream(self, feed: Any) -> tuple[tuple[np.ndarray, ...], Any]:
        t, acc, q, rate = self._inputs()
        vertical = vertical_acceleration_mps2(acc, q)
        estimator = HeightEstimator(rate_hz=rate, max_gap_s=0.25)
        out = [estimator.update(float(ti), float(v)) for ti, v in zip(t, vertical, strict=True)]
        return (np.array(out),), estimator

    def state(self, obj: Any) -> dict[str, Any]:
        return {"last_time_s": obj.last_time_s, "filter_state": obj.filter_state}


class TestExerciseEngine(StreamingContract):
    """``detect_exercise`` runs this engine over the frames; the contract keeps any batch
    shortcut added to it honest."""

    feeds = ("per frame",)

    @staticmethod
    @cache
    def _frames() -> Any:
        rec = _session()
        frames, _ = motion_process(rec, MotionSettings(position="standing"))
        return frames

    @staticmethod
    def _summary(result: Any) -> tuple[np.ndarray, ...]:
        reps = np.array([(r.start_s, r.peak_s, r.end_s, r.range_deg) for r in result.reps])
        cues = np.array([c.time_s for c in result.cues])
        discarded = np.array([(d.start_s, d.end_s) for d in result.discarded] or [(0.0, 0.0)])
        return reps, cues if cues.size else np.zeros(1), discarded

    def batch(self) -> tuple[np.ndarray, ...]:
        return self._summary(detect_exercise(self._frames(), "flexion-extension"))

    def stream(self, feed: Any) -> tuple[tuple[np.ndarray, ...], Any]:
        frames = self._frames()
        engine = ExerciseEngine("flexion-extension")
        names = list(frames.angles)
        for k, t in enumerate(frames.time_s.tolist()):
            engine.update(t, {n: float(frames.angles[n][k]) for n in names})
        engine.finish()
        return self._summary(engine.result()), engine

    def state(self, obj: Any) -> dict[str, Any]:
        result = obj.result()
        return {"reps": len(result.reps), "info": dict(result.info)}


class TestPostureTracker(StreamingContract):
    feeds = (1.0, 7.3, 60.0)  # seconds of data per batch

    @staticmethod
    @cache
    def _day() -> Recording:
        schedule = [("standing", 90.0), ("sitting-slouched", 150.0), ("walking", 120.0)]
        return simulate_activities(schedule, seed=5, rate_hz=25.0)

    def batch(self) -> tuple[np.ndarray, ...]:
        result = posture_process(self._day())
        return (result.timeline.start_s, np.array(result.labels))

    def stream(self, feed: Any) -> tuple[tuple[np.ndarray, ...], Any]:
        rec = self._day()
        tracker = PostureTracker(tuple(rec.sensors), annotations=rec.events, meta=rec.meta)
        seconds = []
        step = float(feed)
        end = max(float(s.time_s[-1]) for s in rec.sensors.values())
        start = 0.0
        while start <= end:
            for p, s in rec.sensors.items():
                m = (s.time_s >= start) & (s.time_s < start + step)
                if m.any():
                    seconds += tracker.update(p, s.time_s[m], s.acc_mps2[m], s.gyr_dps[m]).seconds
            start += step
        seconds += tracker.finish().seconds
        labels = np.array([s.label for s in seconds])
        return (np.array([s.start_s for s in seconds]), labels), tracker

    def state(self, obj: Any) -> dict[str, Any]:
        trust = obj.trust()
        return {"trusted": trust.trusted, "calibration": trust.calibration}


def test_the_height_column_is_part_of_the_motion_contract() -> None:
    """The motion contract compares every column the frames carry, the pelvis height too."""
    frames, _ = motion_process(_session())
    assert PELVIS_HEIGHT_M in frames.angles
