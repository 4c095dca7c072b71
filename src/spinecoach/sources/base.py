"""One protocol for every source of live data: :class:`Source`.

A source hands out its items in time order by async iteration: sensor samples
(:class:`~spinecoach.motion.stream.SensorSample`), a camera's angle frames, and
events (calibration windows, breathing phases: :class:`~spinecoach.recording.Event`).
It says how it is doing in :attr:`Source.status` and stops with :meth:`Source.close`
(after which the iteration ends). The live session does not care where the items come
from: the simulator and file replay are the test seams of the live devices and the camera.

Design choice: a :class:`typing.Protocol` (structural, ``runtime_checkable``), so a
source needs no base class and the lower stages stay free of the coach.

>>> from spinecoach.sources.simulated import SimulatedSource
>>> isinstance(SimulatedSource([], []), Source)
True
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Final, Literal, Protocol, TypeVar, runtime_checkable

SourceState = Literal["ready", "running", "closed", "failed"]
#: Every state a source can be in, in the order they come.
SOURCE_STATES: Final[tuple[str, ...]] = ("ready", "running", "closed", "failed")

ItemT_co = TypeVar("ItemT_co", covariant=True)


@dataclass(frozen=True)
class SourceStatus:
    """How a source is doing: ``state`` (ready, running, closed, failed) and ``detail``
    (what a person should know, in words; "" when nothing)."""

    state: SourceState
    detail: str = ""


@runtime_checkable
class Source(Protocol[ItemT_co]):
    """A source of live items (samples, angle frames, events) in time order."""

    @property
    def status(self) -> SourceStatus:
        """How the source is doing now."""
        ...

    def __aiter__(self) -> AsyncIterator[ItemT_co]:
        """The items in time order, until the source ends or is closed."""
        ...

    def close(self) -> None:
        """Stop: the iteration ends after the item under way (idempotent)."""
        ...


__all__ = ["SOURCE_STATES", "Source", "SourceState", "SourceStatus"]
