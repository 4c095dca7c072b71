"""The simulator as a live source: a simulated recording's samples and annotations in
time order (:class:`SimulatedSource`).

A hole in the recording (a simulated drop-out) is passed on as the jump in the items'
times; items out of order or without a time are refused (:class:`ConfigurationError`).
The replay's pacing (``speed`` × real time, pauses, silences) is the coach's
(:func:`spinecoach.coach.replay_pump.replay_simulation`); this source only orders the items
and satisfies the :class:`~spinecoach.sources.base.Source` protocol (its async
iteration gives them all at once, unpaced).

>>> from spinecoach.sim import simulate
>>> source = SimulatedSource.from_recording(simulate("pelvic-tilt", seed=1, reps=1))
>>> source.times_s == sorted(source.times_s), source.status.state
(True, 'ready')
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

from spinecoach.errors import ConfigurationError
from spinecoach.motion.stream import SensorSample
from spinecoach.recording import Event, Recording
from spinecoach.sources.base import SourceState, SourceStatus

#: One item of a sensor source: a sample, or a window (calibration, breathing phase).
Item = SensorSample | Event


@dataclass
class SimulatedSource:
    """A simulated recording's samples and annotations in time order.

    An annotation comes due at its start: the coach prompts the window (a neutral hold,
    the calibration rep, a pacer phase) and knows its planned end when it does.
    ``meta`` is the recording's (e.g. how its sensors were worn, which a kept
    calibration remembers for the next simulated session).
    """

    times_s: list[float]
    items: list[Item]
    _state: SourceState = field(default="ready", repr=False)
    meta: Mapping[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if len(self.times_s) != len(self.items):
            raise ConfigurationError(
                f"SimulatedSource needs one time per item, got {len(self.times_s)} times for "
                f"{len(self.items)} items; make it with SimulatedSource.from_recording"
            )
        later = next(
            (k for k in range(1, len(self.times_s)) if self.times_s[k] < self.times_s[k - 1]), None
        )
        if later is not None:
            raise ConfigurationError(
                f"SimulatedSource items must be in time order: item {later} at "
                f"{self.times_s[later]} s comes after one at {self.times_s[later - 1]} s; "
                "make it with SimulatedSource.from_recording"
            )

    @classmethod
    def from_recording(cls, recording: Recording) -> SimulatedSource:
        keyed: list[tuple[float, int, str, Item]] = [
            (event.start_s, 0, event.kind, event) for event in recording.events
        ]
        for placement, sensor in recording.sensors.items():
            mag = sensor.mag_ut
            keyed.extend(
                (
                    float(t),
                    1,
                    placement,
                    SensorSample(
                        placement,
                        float(t),
                        sensor.acc_mps2[i],
                        sensor.gyr_dps[i],
                        None if mag is None else mag[i],
                    ),
                )
                for i, t in enumerate(sensor.time_s)
            )
        keyed.sort(key=lambda k: (k[0], k[1], k[2]))
        return cls([k[0] for k in keyed], [k[3] for k in keyed], meta=dict(recording.meta))

    @property
    def status(self) -> SourceStatus:
        """``ready`` until iterated, ``running``, then ``closed`` (at the end or closed)."""
        return SourceStatus(self._state)

    async def __aiter__(self) -> AsyncIterator[Item]:
        if self._state == "closed":
            return
        self._state = "running"
        for item in self.items:
            if self.status.state == "closed":  # closed while iterating
                return
            yield item
        self._state = "closed"

    def close(self) -> None:
        """End the iteration (after the item under way); idempotent."""
        self._state = "closed"


__all__ = ["Item", "SimulatedSource"]
