"""Streaming motion pipeline: sensor samples in, angle frames out, one block at a time.

:class:`MotionTracker` does what :func:`spinecoach.motion.motion_process` does, causally,
and gives the same numbers when fed the same samples in time order (tests prove it on
simulations and on the real recordings): one sample at a time (:meth:`MotionTracker.update`)
or one sensor's block of samples at a time (:meth:`MotionTracker.update_block`, what a
live client's ``samples`` message carries), in blocks of any size.

Frames come out on the same regular grid as in batch: frame ``k`` at
``start + k / rate`` is emitted as soon as every sensor has a sample at or after it, so the
latency is at most one sample period (one block, when fed by blocks).

A gap is a gap, never filled frame by frame without bound: when every sensor's data
stops for longer than :data:`MAX_FILLED_GAP_S` (a client whose next batch is 100,000 s
later), the gap's first and last frames come out (NaN angles, ``FLAG_GAP``) and the
identical frames between them are left out, so the work and memory of one sample stay
bounded whatever the jump. The streamed frames are then the batch's frames without the
inside of such a gap (equal wherever both have a frame); shorter gaps are filled exactly
as the batch fills them.

Block processing (issue 17): what a block goes through at once and what stays per sample
is written in :mod:`.stream_blocks`, with the block types and the frame grid.

Cost (``bench/streaming.py``): per sample a few microseconds of CPU in 10-sample blocks,
against about 140 µs one sample at a time before (issue 17).

>>> import numpy as np
>>> tracker = MotionTracker(rates_hz={"lower": 100.0})
>>> frames = tracker.update(SensorSample("lower", 0.0, np.array([0, 0, 9.81]), np.zeros(3)))
>>> frames
[]
>>> t = np.arange(1, 11) / 100.0
>>> block = tracker.update_block("lower", t, np.tile([0, 0, 9.81], (10, 1)), np.zeros((10, 3)))
>>> len(block)  # held back: the protocol-free calibration has not decided yet
0
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from spinecoach.conventions import (
    LOWER,
    PLACEMENTS,
    POSITION_NOMINAL_INCLINATION_DEG,
    UPPER,
)
from spinecoach.errors import ConfigurationError
from spinecoach.motion.angles import (
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
from spinecoach.motion.stream_blocks import (
    EMIT_CHUNK,
    MAX_FILLED_GAP_S,
    AngleFrame,
    FrameBlock,
    FrameGrid,
    FusedBlock,
    SensorSample,
    SensorState,
    as_rows,
)
from spinecoach.recording import Event

FloatArray = NDArray[np.float64]
FlagArray = NDArray[np.uint8]

#: Seconds of recent samples kept for a calibration window announced after the fact.
CALIBRATION_BUFFER_S = 660.0


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
            p: SensorState(
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
        self._grid = FrameGrid(
            rate_hz=self.rate_hz,
            max_gap_s=self.settings.fusion.max_gap_s,
            nominal_inclination_deg=self.nominal_inclination_deg,
        )
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
        t, up, q, *_ = self._sensors[placement].history.arrays()
        keep = (t >= start_s) & (t <= end_s)
        return up[keep].reshape(-1, 3), q[keep].reshape(-1, 4)

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
            state.history.clear()
        self.plan = None
        self._detector = None
        described = dict(info)
        described["segments"] = {p: c.describe() for p, c in calibrations.items()}
        self.calibration_info = described

    # -- the streaming steps -----------------------------------------------------------------
    def update(self, sample: SensorSample) -> list[AngleFrame]:
        """One sample; returns the frames it completes (usually none or one)."""
        mag = None if sample.mag_ut is None else np.asarray(sample.mag_ut)[None, :]
        return self.update_block(
            sample.placement,
            np.array([sample.time_s], dtype=np.float64),
            np.asarray(sample.acc_mps2, dtype=np.float64)[None, :],
            np.asarray(sample.gyr_dps, dtype=np.float64)[None, :],
            mag,
        ).frames()

    def update_block(
        self,
        placement: str,
        time_s: FloatArray,
        acc_mps2: FloatArray,
        gyr_dps: FloatArray,
        mag_ut: FloatArray | None = None,
    ) -> FrameBlock:
        """One sensor's block of n samples in time order: ``time_s`` (n,) s, ``acc_mps2``
        (n, 3) m/s², ``gyr_dps`` (n, 3) deg/s, ``mag_ut`` (n, 3) µT or None. Returns the
        frames the block completes; the same frames, in total, as n calls of
        :meth:`update` (see the module notes)."""
        state = self._sensors.get(placement)
        if state is None:
            raise ConfigurationError(
                f"sample from the {placement!r} sensor, but this tracker was made for "
                f"{', '.join(self._sensors)}; pass its rate in rates_hz"
            )
        t = np.asarray(time_s, dtype=np.float64)
        if t.ndim != 1:
            raise ConfigurationError(
                f"time_s has shape {t.shape}; pass one time (s) per sample, a 1-D array"
            )
        n = int(t.shape[0])
        acc = as_rows("acc_mps2", acc_mps2, n)
        gyr = as_rows("gyr_dps", gyr_dps, n)
        mag = None if mag_ut is None else as_rows("mag_ut", mag_ut, n)
        if n == 0:
            return FrameBlock.empty()
        if not (t[0] > state.last_time_s and (n == 1 or bool((t[1:] > t[:-1]).all()))):
            previous = np.concatenate(([state.last_time_s], t[:-1]))
            i = int(np.flatnonzero(~(t > previous))[0])
            raise ConfigurationError(
                f"{placement} sample at {float(t[i])} s is not after the previous "
                f"one ({float(previous[i])} s); feed samples in time order"
            )
        block = self._fuse(state, t, acc, gyr, mag)
        if state.first_time_s is None:
            state.first_time_s = float(t[0])
        start = 0
        if self._pending:
            start = self._pending_part(state, block)
        state.last_time_s = float(t[-1])
        if start < n:
            self._calibration_part(placement, state, block, start)
        if self._pending:
            return FrameBlock.empty()
        return self._grid.emit(self._sensors)

    def finish(self) -> list[AngleFrame]:
        """The stream has ended: decide a pending calibration with what came, and emit the
        frames held back (empty when nothing was held)."""
        return self.finish_block().frames()

    def finish_block(self) -> FrameBlock:
        """:meth:`finish` as a :class:`FrameBlock`."""
        if not self._pending or self._t0 is None:
            return FrameBlock.empty()
        outcome = decide(
            self.mode,
            self._streams(),
            t_cut=np.inf,
            final=True,
            **self._decide_args(),
        )
        self._apply(outcome)
        return self._grid.emit(self._sensors)

    # -- internals ---------------------------------------------------------------------
    def _fuse(
        self,
        state: SensorState,
        t: FloatArray,
        acc: FloatArray,
        gyr: FloatArray,
        mag: FloatArray | None,
    ) -> FusedBlock:
        """Orientation, earth-up, quality flags and pelvis height of a block's samples."""
        q = state.fusion.update_block(t, acc, gyr, mag)
        state.accel_only = state.fusion.accel_only is not None
        up = up_from_quaternion(q)
        flags = sample_flags(acc, gyr, mag, self.settings.fusion)
        if state.accel_only:
            flags |= np.uint8(FLAG_ACCEL_ONLY)
        settling = state.fusion.last_settling
        if settling.any():
            flags |= np.where(settling, FLAG_SETTLING, 0).astype(np.uint8)
        if state.height is not None:
            vertical = vertical_acceleration_mps2(acc, q)
            step = state.height.update
            height = np.array(
                [step(ti, vi) for ti, vi in zip(t.tolist(), vertical.tolist(), strict=True)],
                dtype=np.float64,
            )
        else:
            height = np.full(t.shape[0], np.nan)
        return FusedBlock(t, up, q, acc, gyr, flags, height)

    def _pending_part(self, state: SensorState, block: FusedBlock) -> int:
        """Remember the block while the protocol-free calibration is undecided, deciding on
        its schedule; returns the index of the first sample after the decision (the
        block's length when still undecided)."""
        t = block.time_s
        n = int(t.shape[0])
        done = 0
        for i, ti in enumerate(t.tolist()):
            state.last_time_s = ti
            if not self._check_due():
                continue
            state.history.append(*block.history(done, i + 1))
            done = i + 1
            self._check_schedule()
            if not self._pending:
                return done
        state.history.append(*block.history(done, n))
        return n

    def _check_due(self) -> bool:
        """A scheduled check of the protocol-free calibration can run now."""
        states = self._sensors.values()
        t0 = self._t0
        if t0 is None:
            if any(s.first_time_s is None for s in states):
                return False
            t0 = max(s.first_time_s for s in states if s.first_time_s is not None)
        settings = self.settings.autocal
        t_k = t0 + self._check_k * settings.check_every_s
        if t_k > t0 + settings.axis_window_s + 1e-9:
            return False
        return all(s.last_time_s >= t_k for s in states)

    def _calibration_part(
        self, placement: str, state: SensorState, block: FusedBlock, start: int
    ) -> None:
        """The samples ``start:`` of a block, not pending: remembered and calibrated when
        the sensor is not yet, then their values go to the frames' queue."""
        t = block.time_s
        n = int(t.shape[0])
        i = start
        while i < n and state.calibration is None:
            stop = n  # the first sample whose arrival calibrates the sensor, if any
            plan_from = i
            detector = self._detector
            if detector is not None and placement == self._detect_on:
                plan_from = n
                gyr, up = block.gyr, block.up
                for k in range(i, n):
                    found = detector.update(float(t[k]), gyr[k], up[k])
                    if found is not None:
                        self.plan, self._detector = found, None
                        plan_from = k
                        break
            plan = self.plan
            if plan is not None and plan_from < n:
                stop = plan_from + int(
                    np.searchsorted(t[plan_from:], plan.ready_time_s, side="right")
                )
            last = min(stop + 1, n)
            self._remember(state, block, i, last)
            self._queue(state, block, i, min(stop, n))
            if stop >= n:
                return
            assert plan is not None
            self._calibrate(placement, state, plan)
            self._queue(state, block, stop, stop + 1)
            i = stop + 1
        if i < n:
            self._queue(state, block, i, n)

    def _remember(self, state: SensorState, block: FusedBlock, a: int, b: int) -> None:
        """Remember samples ``a:b`` for a calibration, keeping the last
        :data:`CALIBRATION_BUFFER_S` (cut, as one sample at a time would, when the history
        grows past 1.5 times that)."""
        if b <= a:
            return
        history = state.history
        history.append(*block.history(a, b))
        if self._pending:
            return
        t = block.time_s
        while True:
            first = history.first_time_s()
            over = np.flatnonzero(t[a:b] - first > CALIBRATION_BUFFER_S * 1.5)
            if not over.size:
                return
            at = a + int(over[0])
            history.drop_before(float(t[at]) - CALIBRATION_BUFFER_S)
            a = at + 1

    def _queue(self, state: SensorState, block: FusedBlock, a: int, b: int) -> None:
        """Values and flags of samples ``a:b`` with the sensor's calibration now, into the
        frames' queue."""
        if b <= a:
            return
        values, flags = self._valued(
            state, block.up[a:b], block.q[a:b], block.flags[a:b], state.calibration
        )
        state.add_recent(block.time_s[a:b], np.column_stack((values, block.height[a:b])), flags)

    def _valued(
        self,
        state: SensorState,
        up: FloatArray,
        q: FloatArray,
        flags: FlagArray,
        calibration: SegmentCalibration | None,
    ) -> tuple[FloatArray, FlagArray]:
        """Segment values (n, 6) with ``calibration`` and the samples' flags with the
        calibration's (not calibrated, low confidence)."""
        values = sensor_values(up, q, calibration)
        if state.accel_only:
            values[:, 2:] = np.nan  # no heading without a gyroscope: no axial rotation
        out = flags.copy()
        missing = np.isnan(values[:, 0])
        if calibration is None or missing.any():
            out[missing] |= np.uint8(FLAG_NOT_CALIBRATED)
        if calibration is not None and calibration.confidence < LOW_CONFIDENCE:
            out[~missing] |= np.uint8(FLAG_LOW_CONFIDENCE)
        return values, out

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
            t, up, q, acc, gyr, *_ = state.history.arrays()
            out[placement] = SensorStream(t, acc, gyr, up, q)
        return out

    def _check_schedule(self) -> None:
        """Run the protocol-free calibration's checks that are due (see :meth:`_check_due`)."""
        states = self._sensors.values()
        if self._t0 is None:
            if any(s.first_time_s is None for s in states):
                return
            self._t0 = max(s.first_time_s for s in states if s.first_time_s is not None)
        settings = self.settings.autocal
        last = min(s.last_time_s for s in states)
        while self._pending:
            t_k = self._t0 + self._check_k * settings.check_every_s
            if t_k > self._t0 + settings.axis_window_s + 1e-9 or t_k > last:
                return
            final = is_window_end(self._t0, t_k, settings)
            outcome = decide(
                self.mode, self._streams(), t_cut=t_k, final=final, **self._decide_args()
            )
            self._check_k += 1
            if outcome is not None:
                self._apply(outcome)

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
            if state.history.n == 0:
                continue
            t, ups, qs, _acc, _gyr, flags, height = state.history.arrays()
            cal = state.calibration if calibrated else None
            values, out = self._valued(state, ups, qs, flags, cal)
            state.add_recent(t, np.column_stack((values, height)), out)
            if calibrated:
                state.history.clear()

    def _calibrate(self, placement: str, state: SensorState, plan: CalibrationPlan) -> None:
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
        state.history.clear()


__all__ = [
    "CALIBRATION_BUFFER_S",
    "EMIT_CHUNK",
    "MAX_FILLED_GAP_S",
    "AngleFrame",
    "FrameBlock",
    "MotionTracker",
    "SensorSample",
]
