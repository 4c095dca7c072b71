"""Keyframe timelines: what the simulated body does when, before any sampling.

A session or day is planned as keyframes (time s, :class:`~spinecoach.sim.poses.Pose`)
joined by minimum-jerk (quintic) transitions, a breath track (normalised lung volume
keyframes), and the events that describe it. Everything here is independent of the
sampling rate, so the same seed gives the same motion at 50 Hz and at 100 Hz; the body
model (:mod:`spinecoach.sim.body`) samples the plan on a uniform grid.

>>> import numpy as np
>>> t = np.array([0.0, 0.5, 1.0])
>>> min_jerk_interpolate(t, np.array([0.0, 1.0]), np.array([[0.0], [10.0]]))[:, 0].tolist()
[0.0, 5.0, 10.0]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from spinecoach.sim.poses import Pose

FloatArray = NDArray[np.float64]
Measure = Literal["peak", "swing"]

_QUIET_DEPTH = 0.4  # respiratory motion of quiet breathing relative to a paced deep breath


def min_jerk_interpolate(t: FloatArray, key_t: FloatArray, key_v: FloatArray) -> FloatArray:
    """Interpolate keyframes ``(key_t[k], key_v[k])`` with minimum-jerk segments.

    Each segment follows ``s(τ) = 10τ³ − 15τ⁴ + 6τ⁵`` (Flash & Hogan 1985), so velocity
    and acceleration are zero at every keyframe and continuous everywhere. Times outside
    the keyframes hold the first or last value.

    ``t`` (n,) increasing, ``key_t`` (k,) non-decreasing, ``key_v`` (k, c) → (n, c). The
    loop runs over keyframe segments (contiguous slices of ``t``), never over samples.
    """
    out = np.empty((t.shape[0], key_v.shape[1]))
    bounds = np.searchsorted(t, key_t, side="left")
    out[: bounds[0]] = key_v[0]
    for k in range(key_t.shape[0] - 1):
        i0, i1 = int(bounds[k]), int(bounds[k + 1])
        if i1 <= i0:
            continue
        span = key_t[k + 1] - key_t[k]
        tau = (t[i0:i1] - key_t[k]) / span
        s = tau**3 * (10.0 + tau * (-15.0 + 6.0 * tau))
        out[i0:i1] = key_v[k] + s[:, None] * (key_v[k + 1] - key_v[k])
    out[bounds[-1] :] = key_v[-1]
    return out


class MinJerkSampler:
    """:func:`min_jerk_interpolate` of fixed keyframes, evaluated block by block.

    Gives bit for bit the values of :func:`min_jerk_interpolate` at any times ``t``
    (sample ``t`` belongs to the last keyframe segment starting at or before it), so a
    long recording can be sampled in blocks without an (n, channels) array in memory.

    >>> import numpy as np
    >>> sampler = MinJerkSampler(np.array([0.0, 1.0]), np.array([[0.0], [10.0]]))
    >>> sampler.sample(np.array([0.5, 2.0]))[:, 0].tolist()
    [5.0, 10.0]
    """

    def __init__(self, key_t: FloatArray, key_v: FloatArray) -> None:
        self.key_t = key_t
        self.key_v = key_v
        self.span = key_t[1:] - key_t[:-1]
        self.step = key_v[1:] - key_v[:-1]

    def sample(self, t: FloatArray) -> FloatArray:
        """Values (len(t), channels) at the times ``t`` (s, increasing)."""
        last = self.key_t.shape[0] - 1
        segment = np.searchsorted(self.key_t, t, side="right") - 1
        out = np.empty((t.shape[0], self.key_v.shape[1]))
        before = segment < 0
        after = segment >= last
        if before.any() or after.any():
            inside = ~(before | after)
            out[before] = self.key_v[0]
            out[after] = self.key_v[-1]
            if inside.any():
                out[inside] = self._between(t[inside], segment[inside])
            return out
        out[:] = self._between(t, segment)
        return out

    def _between(self, t: FloatArray, segment: NDArray[np.intp]) -> FloatArray:
        # The operations of min_jerk_interpolate, element by element (same rounding).
        tau = (t - self.key_t[segment]) / self.span[segment]
        s = tau**3 * (10.0 + tau * (-15.0 + 6.0 * tau))
        out: FloatArray = self.key_v[segment] + s[:, None] * self.step[segment]
        return out


@dataclass(frozen=True)
class PlannedEvent:
    """An event of the plan; ``measure`` asks for its value from the truth series.

    ``measure = (series, "peak")`` → signed largest change of the series from its value at
    ``start_s``; ``(series, "swing")`` → largest absolute difference between the value at
    ``end_s`` and any value in the event (the excursion of a cycle that starts where the
    previous one ended).
    """

    kind: str
    start_s: float
    end_s: float
    label: str = ""
    measure: tuple[str, Measure] | None = None
    annotate: bool = False  # also an annotation a live coach would know


@dataclass(frozen=True)
class Oscillators:
    """Seeded continuous motion added on top of the keyframes.

    Postural sway is a sum of three slow sinusoids per channel (pelvis sagittal, pelvis
    lateral, lumbar); peak amplitudes are about 0.5°, 0.4° and 0.2° at ``sway = 1``
    (quiet-standing sway, e.g. Winter 1995).
    """

    sway_freq_hz: FloatArray  # (3 channels, 3 components)
    sway_phase_rad: FloatArray
    sway_amp_deg: FloatArray
    gait_phase_rad: float
    jerk_freq_hz: float

    @classmethod
    def draw(cls, rng: np.random.Generator) -> Oscillators:
        freq = rng.uniform(0.04, 0.35, size=(3, 3))
        phase = rng.uniform(0.0, 2.0 * np.pi, size=(3, 3))
        weights = rng.uniform(0.5, 1.0, size=(3, 3))
        peak = np.array([0.5, 0.4, 0.2])[:, None]
        amp = peak * weights / weights.sum(axis=1, keepdims=True)
        return cls(
            sway_freq_hz=freq,
            sway_phase_rad=phase,
            sway_amp_deg=amp,
            gait_phase_rad=float(rng.uniform(0.0, 2.0 * np.pi)),
            jerk_freq_hz=float(rng.uniform(2.0, 4.0)),
        )

    def sway_deg(self, t: FloatArray, channel: int) -> FloatArray:
        """Sway (deg) of ``channel`` (0 pelvis sagittal, 1 pelvis lateral, 2 lumbar)."""
        arg = 2.0 * np.pi * self.sway_freq_hz[channel][None, :] * t[:, None]
        waves = self.sway_amp_deg[channel] * np.sin(arg + self.sway_phase_rad[channel])
        out: FloatArray = waves.sum(axis=1)
        return out


@dataclass(frozen=True)
class MotionPlan:
    """A finished, rate-independent plan: keyframes, breath track, events."""

    key_time_s: FloatArray  # (k,)
    key_values: FloatArray  # (k, len(POSE_CHANNELS))
    breath_time_s: FloatArray  # (b,)
    breath_values: FloatArray  # (b, 2): normalised volume, respiratory depth
    heading_deg: float
    oscillators: Oscillators
    events: tuple[PlannedEvent, ...]
    duration_s: float


class Timeline:
    """Builder of a :class:`MotionPlan`, appended to in time order.

    >>> from spinecoach.sim.poses import STANDING
    >>> tl = Timeline(STANDING)
    >>> tl.hold(4.0)
    4.0
    >>> tl.move(2.0, STANDING.moved(lumbar_deg=30.0))
    6.0
    >>> tl.pose.lumbar_deg
    0.0
    """

    def __init__(self, start: Pose) -> None:
        self._times: list[float] = [0.0]
        self._poses: list[Pose] = [start]
        self._events: list[PlannedEvent] = []
        self._breaths: list[tuple[float, float, float, float]] = []

    @property
    def now(self) -> float:
        """Time (s) of the last keyframe."""
        return self._times[-1]

    @property
    def pose(self) -> Pose:
        """The pose at :attr:`now`."""
        return self._poses[-1]

    def move(self, duration_s: float, pose: Pose) -> float:
        """Move to ``pose`` over ``duration_s`` (minimum jerk); returns the new time."""
        self._times.append(self.now + max(float(duration_s), 1e-3))
        self._poses.append(pose)
        return self.now

    def move_until(self, time_s: float, pose: Pose) -> float:
        """Move to ``pose`` arriving at absolute ``time_s`` (s)."""
        return self.move(time_s - self.now, pose)

    def hold(self, duration_s: float) -> float:
        """Stay in the current pose (sway continues) for ``duration_s``."""
        return self.move(duration_s, self.pose)

    def hold_until(self, time_s: float) -> float:
        """Stay in the current pose until absolute ``time_s`` (s)."""
        return self.hold(time_s - self.now)

    def event(
        self,
        kind: str,
        start_s: float,
        end_s: float,
        *,
        label: str = "",
        measure: tuple[str, Measure] | None = None,
        annotate: bool = False,
    ) -> None:
        """Record an event over ``[start_s, end_s]`` (s)."""
        self._events.append(PlannedEvent(kind, start_s, end_s, label, measure, annotate))

    def drop_events(self, kinds: tuple[str, ...], since_s: float) -> None:
        """Forget the events of these kinds that start at or after ``since_s`` (s)."""
        self._events = [e for e in self._events if not (e.kind in kinds and e.start_s >= since_s)]

    def paced_breath(self, start_s: float, inhale_s: float, exhale_s: float) -> None:
        """A deep, paced breath: volume 0 → 1 over the inhale, 1 → 0 over the exhale."""
        self._breaths.append((start_s, inhale_s, exhale_s, 1.0))

    def finish(self, rng: np.random.Generator, *, heading_deg: float) -> MotionPlan:
        """Fill quiet breathing around the paced breaths and freeze the plan."""
        duration = self.now
        breath_t: list[float] = []
        breath_v: list[tuple[float, float]] = []

        def add(time_s: float, volume: float, depth: float) -> None:
            if breath_t and time_s <= breath_t[-1] + 1e-9:
                return
            breath_t.append(time_s)
            breath_v.append((volume, depth))

        def quiet_until(end_s: float) -> None:
            start = breath_t[-1] if breath_t else 0.0
            while True:  # one breath of about 4 s per loop: a few per minute, not per sample
                inhale = float(rng.uniform(1.4, 1.9))
                exhale = float(rng.uniform(2.1, 2.9))
                if start + inhale + exhale > end_s:
                    break
                add(start, 0.0, _QUIET_DEPTH)
                add(start + inhale, 1.0, _QUIET_DEPTH)
                add(start + inhale + exhale, 0.0, _QUIET_DEPTH)
                start += inhale + exhale

        add(0.0, 0.0, _QUIET_DEPTH)
        for start, inhale, exhale, depth in sorted(self._breaths):
            quiet_until(start)
            add(start, 0.0, depth)
            add(start + inhale, 1.0, depth)
            add(start + inhale + exhale, 0.0, depth)
        quiet_until(duration)
        add(duration, 0.0, _QUIET_DEPTH)
        events = sorted(self._events, key=lambda e: (e.start_s, e.end_s))
        return MotionPlan(
            key_time_s=np.array(self._times, dtype=np.float64),
            key_values=np.array([p.as_tuple() for p in self._poses], dtype=np.float64),
            breath_time_s=np.array(breath_t, dtype=np.float64),
            breath_values=np.array(breath_v, dtype=np.float64),
            heading_deg=float(heading_deg),
            oscillators=Oscillators.draw(rng),
            events=tuple(events),
            duration_s=duration,
        )
