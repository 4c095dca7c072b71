"""One protocol for every source of live data: :class:`Source`.

A source hands out its items in time order by async iteration: sensor samples
(:class:`~spinecoach.motion.stream.SensorSample`), a camera's frames
(:class:`~spinecoach.camera.source.CameraFrame`: the pose, from which
:mod:`spinecoach.camera.angles` takes the angles), and events (calibration windows,
breathing phases, gaps: :class:`~spinecoach.recording.Event`). It says how it is doing
in :attr:`Source.status` and stops with :meth:`Source.close` (after which the iteration
ends). The live session does not care where the items come from: the simulator and file
replay are the test seams of the live devices and the camera.

Design choice: a :class:`typing.Protocol` (structural, ``runtime_checkable``), so a
source needs no base class and the lower stages stay free of the coach.

The contract every source keeps (``tests/sources/test_source_contract.py`` checks it for
each kind):

* ``status`` is ``ready`` until the iteration starts, ``running`` while it goes on (its
  ``detail`` says how the device is doing: connecting, reconnecting…), ``closed`` after
  the end or :meth:`~Source.close`, ``failed`` (with the reason) after an error.
* Items come in time order (a sample's ``time_s``, an event's ``start_s``, a camera
  frame's ``time_s``).
* A gap (a pause in the feed) is never filled in: the sources fed through a
  :class:`~spinecoach.sources.live.DeviceFeed` report it as an
  :class:`~spinecoach.recording.Event` of kind ``gap`` (over the hole) before the first
  sample after it; the others (simulator, file replay, camera) pass the hole on as a
  jump in the items' times.
* :meth:`~Source.close` ends the iteration within a fraction of a second and frees what
  the source holds (a connection, a poller, a camera); calling it again does nothing.
* A broken input ends the iteration with a :class:`~spinecoach.errors.SpinecoachError`
  that names the problem and the fix (never a hang); the status is then ``failed``.

>>> from spinecoach.sources.simulated import SimulatedSource
>>> isinstance(SimulatedSource([], []), Source)
True
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Final, Literal, Protocol, TypeVar, runtime_checkable

from spinecoach.errors import SpinecoachError

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


class SourceFailedError(SpinecoachError):
    """A live source stopped on a problem it cannot get past (the device says it does
    not send what is needed, it failed for good). The message names the device, the
    problem and what to do."""


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


__all__ = ["SOURCE_STATES", "Source", "SourceFailedError", "SourceState", "SourceStatus"]
