"""Streaming motion pipeline: one sensor sample in, zero or more angle frames out.

:class:`MotionTracker` does what :func:`spinecoach.motion.motion_process` does, causally,
one ``update(sample)`` at a time, and gives the same numbers when fed the same samples in
time order (a test proves it on simulations and on the real Fusion recording).

Frames come out on the same regular grid as in batch: frame ``k`` at
``start + k / rate`` is emitted as soon as every sensor has a sample at or after it, so the
latency is at most one sample period.

>>> import numpy as np
>>> tracker = MotionTracker(rates_hz={"lower": 100.0})
>>> frames = tracker.update(SensorSample("lower", 0.0, np.array([0, 0, 9.81]), np.zeros(3)))
>>> frames
[]
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from spinecoach.conventions import LOWER, PLACEMENTS, POSITION_NOMINAL_INCLINATION_DEG, UPPER
from spinecoach.errors import CalibrationError, ConfigurationError
from spinecoach.motion.angles import (
    combine_frames,
    interpolate_frames,
    sensor_values,
)
from spinecoach.motion.calibration import (
    AutoCalibrationDetector,
    CalibrationPlan,
    SegmentCalibration,
    calibrate_segment,
    plan_from_events,
)
from spinecoach.motion.flags import FLAG_NOT_CALIBRATED, FLAG_SETTLING
from spinecoach.motion.fusion import SensorFusion, sample_flags, up_from_quaternion
from spinecoach.motion.process import MotionSettings
from spinecoach.recording import Event

FloatArray = NDArray[np.float64]

#: Seconds of recent samples kept for a calibration window announced after the fact.
CALIBRATION_BUFFER_S = 660.0


@dataclass(frozen=True)
class SensorSample:
    """One sample of one sensor, in project units (s, m/s², deg/s, µT)."""

    placement: str
    time_s: float
    acc_mps2: FloatArray
    gyr_dps: FloatArray
    mag_ut: FloatArray | None = None


@dataclass(frozen=True)
class AngleFrame:
    """Clinical angles (deg) at one output time, with the quality flags (bit mask)."""

    time_s: float
    angles: Mapping[str, float]
    flags: int


@dataclass
class _SensorState:
    fusion: SensorFusion
    calibration: SegmentCalibration | None = None
    first_time_s: float | None = None
    last_time_s: float = -np.inf
    history_t: list[float] = field(default_factory=list)
    history_up: list[FloatArray] = field(default_factory=list)
    history_q: list[FloatArray] = field(default_factory=list)
    recent: deque[tuple[float, FloatArray, int]] = field(default_factory=deque)


class MotionTracker:
    """Live clinical angles from one or two IMUs.

    rates_hz
        Nominal rate of each sensor by placement (``{"lower": 100.0, "upper": 100.0}``).
    annotations
        Calibration windows known in advance (replay); live ones go to
        :meth:`add_annotation`.
    auto_calibration
        Look for the calibration windows in the data when no annotation gives them
        (default). Pass False when a live coach will announce the windows through
        :meth:`add_annotation`, so a still moment before the announcement is not taken
        for the neutral posture.
    """

    def __init__(
        self,
        *,
        rates_hz: Mapping[str, float],
        settings: MotionSettings | None = None,
        position: str | None = None,
        annotations: Sequence[Event] = (),
        auto_calibration: bool = True,
    ) -> None:
        if not rates_hz:
            raise ConfigurationError("rates_hz needs at least one sensor placement")
        for placement in rates_hz:
            if placement not in PLACEMENTS:
                raise ConfigurationError(
                    f"unknown sensor placement {placement!r}; use one of {', '.join(PLACEMENTS)}"
                )
        self.settings = settings or MotionSettings()
        self.position = self.settings.resolve_position({"position": position or ""})
        self.nominal_inclination_deg = POSITION_NOMINAL_INCLINATION_DEG[self.position]
        self.rate_hz = max(rates_hz.values())
        self._sensors = {
            p: _SensorState(SensorFusion(rate_hz=r, settings=self.settings.fusion))
            for p, r in sorted(rates_hz.items(), key=lambda kv: PLACEMENTS.index(kv[0]))
        }
        self._annotations: list[Event] = list(annotations)
        self.plan: CalibrationPlan | None = plan_from_events(self._annotations)
        self._detect_on = UPPER if UPPER in self._sensors else LOWER
        self._detector: AutoCalibrationDetector | None = (
            AutoCalibrationDetector(rate_hz=rates_hz[self._detect_on])
            if self.plan is None and auto_calibration
            else None
        )
        self._grid_start: float | None = None
        self._next_k = 1
        self.calibration_errors: dict[str, str] = {}

    # -- inspectable state ---------------------------------------------------------------
    @property
    def calibrations(self) -> dict[str, SegmentCalibration | None]:
        return {p: s.calibration for p, s in self._sensors.items()}

    @property
    def calibrated(self) -> bool:
        return all(s.calibration is not None for s in self._sensors.values())

    def add_annotation(self, event: Event) -> None:
        """A calibration window announced live (by the coach) or during replay."""
        self._annotations.append(event)
        if self.plan is None or self.plan.source != "annotations":
            plan = plan_from_events(self._annotations)
            if plan is not None and not any(s.calibration for s in self._sensors.values()):
                self.plan = plan
                self._detector = None

    # -- the per-sample step ---------------------------------------------------------------
    def update(self, sample: SensorSample) -> list[AngleFrame]:
        state = self._sensors.get(sample.placement)
        if state is None:
            raise ConfigurationError(
                f"sample from the {sample.placement!r} sensor, but this tracker was made for "
                f"{', '.join(self._sensors)}; pass its rate in rates_hz"
            )
        if sample.time_s <= state.last_time_s:
            raise ConfigurationError(
                f"{sample.placement} sample at {sample.time_s} s is not after the previous "
                f"one ({state.last_time_s} s); feed samples in time order"
            )
        acc = np.asarray(sample.acc_mps2, dtype=np.float64)
        gyr = np.asarray(sample.gyr_dps, dtype=np.float64)
        q = state.fusion.update(sample.time_s, acc, gyr, sample.mag_ut)
        up = up_from_quaternion(q[None, :])[0]
        if state.first_time_s is None:
            state.first_time_s = sample.time_s
        state.last_time_s = sample.time_s
        if state.calibration is None:
            self._remember(state, sample.time_s, up, q)
            if self._detector is not None and sample.placement == self._detect_on:
                found = self._detector.update(sample.time_s, gyr, up)
                if found is not None:
                    self.plan = found
                    self._detector = None
            if self.plan is not None and sample.time_s > self.plan.ready_time_s:
                self._calibrate(sample.placement, state, self.plan)
        values = sensor_values(up[None, :], q[None, :], state.calibration)[0]
        mag = (
            None if sample.mag_ut is None else np.asarray(sample.mag_ut, dtype=np.float64)[None, :]
        )
        flag = int(sample_flags(acc[None, :], gyr[None, :], mag, self.settings.fusion)[0])
        if np.isnan(values[0]):
            flag |= FLAG_NOT_CALIBRATED
        if state.fusion.settling:
            flag |= FLAG_SETTLING
        state.recent.append((sample.time_s, values, flag))
        return self._emit()

    def _remember(self, state: _SensorState, time_s: float, up: FloatArray, q: FloatArray) -> None:
        state.history_t.append(time_s)
        state.history_up.append(up)
        state.history_q.append(q)
        if time_s - state.history_t[0] > CALIBRATION_BUFFER_S * 1.5:
            cut = int(np.searchsorted(np.array(state.history_t), time_s - CALIBRATION_BUFFER_S))
            del state.history_t[:cut], state.history_up[:cut], state.history_q[:cut]

    def _calibrate(self, placement: str, state: _SensorState, plan: CalibrationPlan) -> None:
        t = np.array(state.history_t)
        ups = np.array(state.history_up)
        qs = np.array(state.history_q)
        n_mask = (t >= plan.neutral[0]) & (t <= plan.neutral[1])
        f_mask = (t >= plan.functional[0]) & (t <= plan.functional[1])
        try:
            state.calibration = calibrate_segment(
                placement,
                ups[n_mask],
                ups[f_mask],
                nominal_inclination_deg=self.nominal_inclination_deg,
                ready_time_s=plan.ready_time_s,
                quat_neutral=qs[n_mask],
            )
        except CalibrationError as error:
            self.calibration_errors[placement] = str(error)
        state.history_t.clear()
        state.history_up.clear()
        state.history_q.clear()

    def _emit(self) -> list[AngleFrame]:
        states = self._sensors
        if self._grid_start is None:
            firsts = [s.first_time_s for s in states.values()]
            if any(f is None for f in firsts):
                return []
            self._grid_start = max(f for f in firsts if f is not None)
        frames: list[AngleFrame] = []
        while True:
            t_k = self._grid_start + self._next_k / self.rate_hz
            if any(s.last_time_s < t_k for s in states.values()):
                return frames
            per_sensor: dict[str, FloatArray] = {}
            flags = 0
            for placement, state in states.items():
                recent = state.recent
                while len(recent) >= 2 and recent[1][0] < t_k:
                    recent.popleft()
                lo = recent[0]
                hi = next(item for item in recent if item[0] >= t_k)
                values, frame_flags = interpolate_frames(
                    np.array([t_k]),
                    np.array([lo[0], hi[0]]),
                    np.vstack([lo[1], hi[1]]),
                    np.array([lo[2], hi[2]], dtype=np.uint8),
                    max_gap_s=self.settings.fusion.max_gap_s,
                )
                per_sensor[placement] = values
                flags |= int(frame_flags[0])
            angles = combine_frames(
                per_sensor.get(LOWER),
                per_sensor.get(UPPER),
                states[LOWER].calibration if LOWER in states else None,
                states[UPPER].calibration if UPPER in states else None,
                self.nominal_inclination_deg,
            )
            frames.append(AngleFrame(t_k, {k: float(v[0]) for k, v in angles.items()}, flags))
            self._next_k += 1
