"""Streaming motion pipeline: one sensor sample in, zero or more angle frames out.

:class:`MotionTracker` does what :func:`spinecoach.motion.motion_process` does, causally,
one ``update(sample)`` at a time, and gives the same numbers when fed the same samples in
time order (a test proves it on simulations and on the real Fusion recording).

Frames come out on the same regular grid as in batch: frame ``k`` at
``start + k / rate`` is emitted as soon as every sensor has a sample at or after it, so the
latency is at most one sample period.

A gap is a gap, never filled frame by frame without bound: when every sensor's data
stops for longer than :data:`MAX_FILLED_GAP_S` (a client whose next batch is 100,000 s
later), the gap's first and last frames come out (NaN angles, ``FLAG_GAP``) and the
identical frames between them are left out, so the work and memory of one sample stay
bounded whatever the jump. The streamed frames are then the batch's frames without the
inside of such a gap (equal wherever both have a frame); shorter gaps are filled exactly
as the batch fills them.

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
from typing import Any

import numpy as np
from numpy.typing import NDArray

from spinecoach.conventions import (
    LOWER,
    PELVIS_HEIGHT_M,
    PLACEMENTS,
    POSITION_NOMINAL_INCLINATION_DEG,
    UPPER,
)
from spinecoach.errors import ConfigurationError
from spinecoach.motion.angles import (
    combine_frames,
    interpolate_frames,
    sensor_values,
)
from spinecoach.motion.autocal import SensorStream, movement_prior
from spinecoach.motion.calibrate import (
    LOW_CONFIDENCE,
    CalibrationOutcome,
    decide,
    is_window_end,
    outcome_from_plan,
    outcome_none,
    resolve_mode,
)
from spinecoach.motion.calibration import (
    AutoCalibrationDetector,
    CalibrationPlan,
    SegmentCalibration,
    plan_from_events,
)
from spinecoach.motion.flags import (
    FLAG_ACCEL_ONLY,
    FLAG_LOW_CONFIDENCE,
    FLAG_NOT_CALIBRATED,
    FLAG_SETTLING,
)
from spinecoach.motion.fusion import SensorFusion, sample_flags, up_from_quaternion
from spinecoach.motion.height import HeightEstimator, vertical_acceleration_mps2
from spinecoach.motion.process import MotionSettings
from spinecoach.recording import Event

FloatArray = NDArray[np.float64]

#: Seconds of recent samples kept for a calibration window announced after the fact.
CALIBRATION_BUFFER_S = 660.0
#: A gap in every sensor's data longer than this (s) is not filled frame by frame: its
#: first and last frames come out (NaN angles, ``FLAG_GAP``) and the frames between them,
#: all the same, are left out. Shorter gaps (a Bluetooth link lost for a few seconds) are
#: filled as the batch does (the watchdog's rehearsed 8-s drop-out shows frame by frame), so
#: streaming equals batch on them.
MAX_FILLED_GAP_S = 10.0


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
    """Clinical angles (deg) at one output time, with the quality flags (bit mask);
    ``angles`` also holds the non-angle ``pelvis_height_m`` (m, :mod:`.height`), as the
    batch frames do."""

    time_s: float
    angles: Mapping[str, float]
    flags: int


@dataclass
class _SensorState:
    fusion: SensorFusion
    device: str = "unknown"
    calibration: SegmentCalibration | None = None
    first_time_s: float | None = None
    last_time_s: float = -np.inf
    history_t: list[float] = field(default_factory=list)
    history_up: list[FloatArray] = field(default_factory=list)
    history_q: list[FloatArray] = field(default_factory=list)
    history_acc: list[FloatArray] = field(default_factory=list)
    history_gyr: list[FloatArray] = field(default_factory=list)
    history_flag: list[int] = field(default_factory=list)
    history_height: list[float] = field(default_factory=list)
    height: HeightEstimator | None = None
    accel_only: bool = False
    recent: deque[tuple[float, FloatArray, int]] = field(default_factory=deque)


class MotionTracker:
    """Live clinical angles from one or two IMUs.

    rates_hz
        Nominal rate of each sensor by placement (``{"lower": 100.0, "upper": 100.0}``).
    annotations
        Calibration windows known in advance (replay); live ones go to
        :meth:`add_annotation`.
    auto_calibration
        Calibrate from the data when no annotation gives the windows (default), with the
        method of ``settings.calibration`` (:mod:`.calibrate`). The protocol-free
        calibration decides once, from the data up to a check time; until then the frames
        are held back, then all emitted, so they cover the stream from its first sample
        (:meth:`finish` decides with whatever came when the stream ends early). Pass False
        when a live coach will announce the windows through :meth:`add_annotation`, so a
        still moment before the announcement is not taken for the neutral posture.
    devices
        Device names by placement, to match a stored calibration (``settings.stored``).
    """

    def __init__(
        self,
        *,
        rates_hz: Mapping[str, float],
        settings: MotionSettings | None = None,
        position: str | None = None,
        annotations: Sequence[Event] = (),
        auto_calibration: bool = True,
        devices: Mapping[str, str] | None = None,
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
            p: _SensorState(
                SensorFusion(rate_hz=r, settings=self.settings.fusion),
                device=(devices or {}).get(p, "unknown"),
                height=(
                    HeightEstimator(rate_hz=r, max_gap_s=self.settings.fusion.max_gap_s)
                    if p == LOWER
                    else None
                ),
            )
            for p, r in sorted(rates_hz.items(), key=lambda kv: PLACEMENTS.index(kv[0]))
        }
        self._annotations: list[Event] = list(annotations)
        self.plan: CalibrationPlan | None = plan_from_events(self._annotations)
        self._detect_on = UPPER if UPPER in self._sensors else LOWER
        mode = resolve_mode(
            self.settings.calibration, self.plan is not None, self.settings.neutral_s is not None
        )
        if not auto_calibration and mode != "none":
            mode = "annotations"
        self.mode = mode
        self._detector: AutoCalibrationDetector | None = (
            AutoCalibrationDetector(rate_hz=rates_hz[self._detect_on])
            if mode == "protocol" and self.plan is None
            else None
        )
        #: The calibration is decided on a schedule and the frames are held until then.
        self._pending = mode in ("movement", "neutral-only")
        self._t0: float | None = None
        self._check_k = 1
        self._grid_start: float | None = None
        self._next_k = 1
        self.calibration_errors: dict[str, str] = {}
        #: ``info["calibration"]`` as :func:`~spinecoach.motion.motion_process` gives it,
        #: once decided.
        self.calibration_info: dict[str, Any] | None = None
        if mode == "none":
            self.calibration_info = outcome_none(
                list(self._sensors),
                "calibration switched off (--calibration none): no clinical angles were computed",
                "none",
            ).info

    # -- inspectable state ---------------------------------------------------------------
    @property
    def calibrations(self) -> dict[str, SegmentCalibration | None]:
        return {p: s.calibration for p, s in self._sensors.items()}

    @property
    def calibrated(self) -> bool:
        return all(s.calibration is not None for s in self._sensors.values())

    @property
    def pending(self) -> bool:
        """True while the protocol-free calibration is not decided (frames held back)."""
        return self._pending

    def add_annotation(self, event: Event) -> None:
        """A calibration window announced live (by the coach) or during replay."""
        self._annotations.append(event)
        if self.plan is None or self.plan.source != "annotations":
            plan = plan_from_events(self._annotations)
            if plan is not None and not any(s.calibration for s in self._sensors.values()):
                self.plan = plan
                self._detector = None
                if self._pending:  # the coach's windows win; release what was held
                    self._pending = False
                    self.mode = "annotations"
                    self._release(calibrated=False)

    def window_samples(
        self, placement: str, start_s: float, end_s: float
    ) -> tuple[FloatArray, FloatArray]:
        """Earth-up (n, 3) in sensor axes and orientation (n, 4) of ``placement``'s samples
        remembered in [``start_s``, ``end_s``] (s): a window for a calibration made outside
        the tracker (:mod:`.calibration_store`). Empty once the sensor is calibrated."""
        state = self._sensors[placement]
        t = np.array(state.history_t, dtype=np.float64)
        keep = np.flatnonzero((t >= start_s) & (t <= end_s))
        ups = np.array([state.history_up[i] for i in keep], dtype=np.float64).reshape(-1, 3)
        quats = np.array([state.history_q[i] for i in keep], dtype=np.float64).reshape(-1, 4)
        return ups, quats

    def use_calibrations(
        self, calibrations: Mapping[str, SegmentCalibration], info: Mapping[str, Any]
    ) -> None:
        """Calibrate every sensor with ``calibrations`` (made outside the tracker, e.g. from
        a kept calibration); the samples from now on get angles. ``info`` becomes
        :attr:`calibration_info` (with the segments). Only for a tracker whose windows
        are announced (``auto_calibration=False``): a pending protocol-free calibration
        would decide over it."""
        if self._pending:
            raise ConfigurationError(
                "use_calibrations needs a tracker made with auto_calibration=False; this one "
                "is still deciding its protocol-free calibration"
            )
        for placement, state in self._sensors.items():
            state.calibration = calibrations[placement]
            self._forget(state)
        self.plan = None
        self._detector = None
        described = dict(info)
        described["segments"] = {p: c.describe() for p, c in calibrations.items()}
        self.calibration_info = described

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
        state.accel_only = state.fusion.accel_only is not None
        up = up_from_quaternion(q[None, :])[0]
        if state.first_time_s is None:
            state.first_time_s = sample.time_s
        state.last_time_s = sample.time_s
        mag = (
            None if sample.mag_ut is None else np.asarray(sample.mag_ut, dtype=np.float64)[None, :]
        )
        flag = int(sample_flags(acc[None, :], gyr[None, :], mag, self.settings.fusion)[0])
        if state.accel_only:
            flag |= FLAG_ACCEL_ONLY
        if state.fusion.settling:
            flag |= FLAG_SETTLING
        height = np.nan
        if state.height is not None:
            vertical = vertical_acceleration_mps2(acc[None, :], q[None, :])
            height = state.height.update(sample.time_s, float(vertical[0]))
        if self._pending:
            self._remember(state, sample.time_s, up, q, acc, gyr, flag, height)
            return self._check_schedule()
        if state.calibration is None:
            self._remember(state, sample.time_s, up, q, acc, gyr, flag, height)
            if self._detector is not None and sample.placement == self._detect_on:
                found = self._detector.update(sample.time_s, gyr, up)
                if found is not None:
                    self.plan = found
                    self._detector = None
            if self.plan is not None and sample.time_s > self.plan.ready_time_s:
                self._calibrate(sample.placement, state, self.plan)
        values = self._values(state, up[None, :], q[None, :])[0]
        if np.isnan(values[0]):
            flag |= FLAG_NOT_CALIBRATED
        elif state.calibration is not None and state.calibration.confidence < LOW_CONFIDENCE:
            flag |= FLAG_LOW_CONFIDENCE
        state.recent.append((sample.time_s, np.append(values, height), flag))
        return self._emit()

    def finish(self) -> list[AngleFrame]:
        """The stream has ended: decide a pending calibration with what came, and emit the
        frames held back (empty when nothing was held)."""
        if not self._pending or self._t0 is None:
            return []
        outcome = decide(
            self.mode,
            self._streams(),
            t_cut=np.inf,
            final=True,
            **self._decide_args(),
        )
        self._apply(outcome)
        return self._emit()

    # -- internals ---------------------------------------------------------------------
    def _values(self, state: _SensorState, up: FloatArray, q: FloatArray) -> FloatArray:
        values = sensor_values(up, q, state.calibration)
        if state.accel_only:
            values[:, 2:] = np.nan  # no heading without a gyroscope: no axial rotation
        return values

    def _decide_args(self) -> dict[str, Any]:
        assert self._t0 is not None
        return {
            "t0": self._t0,
            "nominal": self.nominal_inclination_deg,
            "prior": self.settings.movement or movement_prior(self.position),
            "settings": self.settings.autocal,
            "declared_neutral": self.settings.neutral_s,
            "stored": self.settings.stored,
            "devices": {p: s.device for p, s in self._sensors.items()},
        }

    def _streams(self) -> dict[str, SensorStream]:
        out = {}
        for placement, state in self._sensors.items():
            n = len(state.history_t)
            out[placement] = SensorStream(
                np.array(state.history_t, dtype=np.float64),
                np.array(state.history_acc, dtype=np.float64).reshape(n, 3),
                np.array(state.history_gyr, dtype=np.float64).reshape(n, 3),
                np.array(state.history_up, dtype=np.float64).reshape(n, 3),
                np.array(state.history_q, dtype=np.float64).reshape(n, 4),
            )
        return out

    def _check_schedule(self) -> list[AngleFrame]:
        states = self._sensors.values()
        if self._t0 is None:
            if any(s.first_time_s is None for s in states):
                return []
            self._t0 = max(s.first_time_s for s in states if s.first_time_s is not None)
        settings = self.settings.autocal
        last = min(s.last_time_s for s in states)
        while self._pending:
            t_k = self._t0 + self._check_k * settings.check_every_s
            if t_k > self._t0 + settings.axis_window_s + 1e-9 or t_k > last:
                return []
            final = is_window_end(self._t0, t_k, settings)
            outcome = decide(
                self.mode, self._streams(), t_cut=t_k, final=final, **self._decide_args()
            )
            self._check_k += 1
            if outcome is not None:
                self._apply(outcome)
                return self._emit()
        return []

    def _apply(self, outcome: CalibrationOutcome | None) -> None:
        if outcome is None:
            outcome = outcome_none(
                list(self._sensors),
                "no angles: the recording is too short or holds no usable samples to find a "
                "neutral posture in; record at least a second",
                self.mode,
            )
        for placement, state in self._sensors.items():
            state.calibration = outcome.calibrations.get(placement)
        info = dict(outcome.info)
        info["segments"] = {
            p: c.describe() for p, c in outcome.calibrations.items() if c is not None
        }
        self.calibration_info = info
        self._pending = False
        self._release(calibrated=True)

    def _release(self, *, calibrated: bool) -> None:
        """Move the held samples into the output queue (with their values when calibrated)."""
        for state in self._sensors.values():
            n = len(state.history_t)
            if n == 0:
                continue
            ups = np.array(state.history_up, dtype=np.float64).reshape(n, 3)
            qs = np.array(state.history_q, dtype=np.float64).reshape(n, 4)
            cal = state.calibration if calibrated else None
            saved = state.calibration
            state.calibration = cal
            values = self._values(state, ups, qs)
            state.calibration = saved
            low = cal is not None and cal.confidence < LOW_CONFIDENCE
            values = np.column_stack((values, np.array(state.history_height, dtype=np.float64)))
            for i in range(n):
                flag = state.history_flag[i]
                if np.isnan(values[i, 0]):
                    flag |= FLAG_NOT_CALIBRATED
                elif low:
                    flag |= FLAG_LOW_CONFIDENCE
                state.recent.append((state.history_t[i], values[i], flag))
            if calibrated:
                self._forget(state)

    @staticmethod
    def _forget(state: _SensorState) -> None:
        state.history_t.clear()
        state.history_up.clear()
        state.history_q.clear()
        state.history_acc.clear()
        state.history_gyr.clear()
        state.history_flag.clear()
        state.history_height.clear()

    def _remember(
        self,
        state: _SensorState,
        time_s: float,
        up: FloatArray,
        q: FloatArray,
        acc: FloatArray,
        gyr: FloatArray,
        flag: int,
        height: float = np.nan,
    ) -> None:
        state.history_t.append(time_s)
        state.history_up.append(up)
        state.history_q.append(q)
        state.history_acc.append(acc)
        state.history_gyr.append(gyr)
        state.history_flag.append(flag)
        state.history_height.append(height)
        if not self._pending and time_s - state.history_t[0] > CALIBRATION_BUFFER_S * 1.5:
            cut = int(np.searchsorted(np.array(state.history_t), time_s - CALIBRATION_BUFFER_S))
            del state.history_t[:cut], state.history_up[:cut], state.history_q[:cut]
            del state.history_acc[:cut], state.history_gyr[:cut], state.history_flag[:cut]
            del state.history_height[:cut]

    def _calibrate(self, placement: str, state: _SensorState, plan: CalibrationPlan) -> None:
        streams = {placement: self._streams()[placement]}
        note = (
            "calibration windows from the recording's annotations"
            if plan.source == "annotations"
            else "calibration windows (still, forward bend, still) found in the data"
        )
        outcome = outcome_from_plan(
            plan,
            streams,
            nominal=self.nominal_inclination_deg,
            devices={placement: state.device},
            note=note,
        )
        state.calibration = outcome.calibrations.get(placement)
        error = outcome.info.get(f"{placement}_error")
        if error:
            self.calibration_errors[placement] = str(error)
        info = dict(self.calibration_info or outcome.info)
        if error:
            info[f"{placement}_error"] = error
        info["segments"] = {p: c.describe() for p, c in self.calibrations.items() if c is not None}
        self.calibration_info = info
        self._forget(state)

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
            frame, gap_end_s = self._frame_at(t_k)
            frames.append(frame)
            self._next_k += 1
            if gap_end_s is not None and gap_end_s - t_k > MAX_FILLED_GAP_S:
                self._next_k = max(self._next_k, self._last_k_at_or_before(gap_end_s))

    def _last_k_at_or_before(self, time_s: float) -> int:
        """The grid index of the last frame at or before ``time_s`` (s)."""
        assert self._grid_start is not None
        k = int(np.floor((time_s - self._grid_start) * self.rate_hz))
        while k > 0 and self._grid_start + k / self.rate_hz > time_s:
            k -= 1
        while self._grid_start + (k + 1) / self.rate_hz <= time_s:
            k += 1
        return k

    def _frame_at(self, t_k: float) -> tuple[AngleFrame, float | None]:
        """The frame at grid time ``t_k`` (s), and, when every sensor is in a gap there
        (its bracketing samples more than ``max_gap_s`` apart), the time (s) the first
        sensor's data resumes: every frame up to it is the same NaN gap frame."""
        states = self._sensors
        per_sensor: dict[str, FloatArray] = {}
        height = np.nan
        flags = 0
        gap_end_s: float | None = np.inf
        max_gap_s = self.settings.fusion.max_gap_s
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
                max_gap_s=max_gap_s,
            )
            per_sensor[placement] = values[:, :-1]
            if placement == LOWER:
                height = float(values[0, -1])
            flags |= int(frame_flags[0])
            if gap_end_s is not None and hi[0] - lo[0] > max_gap_s:
                gap_end_s = min(gap_end_s, hi[0])
            else:
                gap_end_s = None
        angles = combine_frames(
            per_sensor.get(LOWER),
            per_sensor.get(UPPER),
            states[LOWER].calibration if LOWER in states else None,
            states[UPPER].calibration if UPPER in states else None,
            self.nominal_inclination_deg,
        )
        row = {k: float(v[0]) for k, v in angles.items()}
        row[PELVIS_HEIGHT_M] = height
        return AngleFrame(t_k, row, flags), gap_end_s
