"""PNG plots of past sessions for the history page (``GET /api/sessions/{id}/plot.png``).

A plot is the session's main angle over time with its reps, holds, faults and discarded
movements drawn (:func:`spinecoach.exercises.plot.plot_exercise`). The angles come from
the stored recording through the batch pipeline
(:func:`spinecoach.motion.motion_process`, calibrated in the recording's start position
as the CLI does), the reps from the stored result, so the plot shows what was saved.
A camera session has no recording: its stored angle frames
(:func:`spinecoach.store.live.stored_angle_frames`) are the angles the engine was fed,
so they are plotted as they are, and the title says "camera".

* Rendering is CPU work (angle estimation, Matplotlib), so it runs in a worker thread
  (``asyncio.to_thread``), one plot at a time: requests that wait, wait on the event loop
  without holding a worker thread, and Matplotlib's pyplot is never used by two threads
  at once.
* PNGs of ``completed`` sessions are kept in a small in-memory LRU cache (a completed
  session never changes); active or interrupted sessions are drawn afresh each time.
* Only the sessions of the server's person are plotted; any other id is "not found".

>>> import asyncio, tempfile
>>> from spinecoach.services.history import History
>>> with tempfile.TemporaryDirectory() as folder:
...     history = History.open(f"sqlite:///{folder}/demo.sqlite3")
...     plots = SessionPlots(history)
...     try:
...         asyncio.run(plots.png(1))
...     except PlotNotFound as error:
...         print(error)
...     history.close()
no session with id 1 in this history
"""

from __future__ import annotations

import asyncio
import tempfile
from collections import OrderedDict
from datetime import UTC, tzinfo
from pathlib import Path
from typing import Any, Final

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from spinecoach.errors import SpinecoachError
from spinecoach.services.history import History
from spinecoach.store import repository
from spinecoach.store.live import stored_angle_frames
from spinecoach.store.models import SessionRecord

#: How many session PNGs the server keeps in memory (about 50–100 kB each).
PLOT_CACHE_SIZE: Final = 32
#: Figure size (inches, at 110 dpi: 792 × 440 px): narrower than the CLI's plot so the
#: labels stay legible when the page shrinks it to a phone's width.
PLOT_SIZE_IN: Final = (7.2, 4.0)
#: The phone's variant (``?narrow=true``; 396 × 440 px, legend under the axes): shown
#: 350–390 px wide, its 10-point labels stay about 12 px tall.
PHONE_PLOT_SIZE_IN: Final = (3.6, 4.0)


class PlotNotFound(SpinecoachError):
    """There is no plot for this session: unknown session, or neither a stored recording
    nor stored camera angle frames."""


def render_session_plot(
    engine: Engine,
    person_id: int,
    session_id: int,
    *,
    narrow: bool = False,
    tz: tzinfo | None = None,
) -> tuple[bytes, bool]:
    """The PNG of one of ``person_id``'s sessions, and whether it may be cached (the
    session is completed). Blocking: call it in a worker thread. ``narrow``: the phone's
    variant (:data:`PHONE_PLOT_SIZE_IN`, a short title, the legend under the axes).
    The angle is drawn with the live gauge's sign and words (the stored result's
    ``info["gauge"]``; older sessions without it as the motion core gives it) and the
    title gives the start in ``tz`` (None: UTC), as the person saw the session.

    Raises :class:`PlotNotFound` for an unknown session (or another person's) and for a
    session without a stored recording or camera angle frames, and
    :class:`~spinecoach.errors.InputFormatError` for a corrupt stored recording or angle
    block.
    """
    from spinecoach.exercises.catalogue import default_catalogue, start_position
    from spinecoach.exercises.plot import plot_exercise
    from spinecoach.motion import MotionSettings, motion_process

    with Session(engine) as db:
        record = db.get(SessionRecord, session_id)
        if record is None or record.person_id != person_id:
            raise PlotNotFound(f"no session with id {session_id} in this history")
        recording = None
        camera_frames = None
        if record.recording is not None:
            recording = repository.load_recording(db, session_id)
        else:
            camera_frames = stored_angle_frames(db, session_id)
            if camera_frames is None:
                raise PlotNotFound(
                    f"session {session_id} has no stored recording to plot (it was saved "
                    "without one, or has not finished)"
                )
        result = repository.load_result(db, session_id)
        completed = record.status == "completed"
        kind = " — camera" if camera_frames is not None else ""
        started = (
            record.started_utc.replace(tzinfo=UTC)
            if record.started_utc.tzinfo is None
            else record.started_utc
        )
        local = started.astimezone(tz or UTC)
        technique = default_catalogue().technique(record.technique)
        labels = {f.name: f.label for f in technique.faults if f.label}
        title = (
            f"{technique.title}{kind} — {local:%Y-%m-%d %H:%M} {local.tzname() or ''} — "
            f"{len(result.reps)} reps"
        )
        if narrow:  # the page shows the technique and the time beside it
            title = f"{len(result.reps)} reps{kind}"
    if recording is not None:
        position = recording.meta.get("position") or start_position(result.technique)
        settings = MotionSettings(position=position) if position else MotionSettings()
        frames, _info = motion_process(recording, settings)
    else:
        assert camera_frames is not None  # the other branch raised
        frames = camera_frames
    with tempfile.TemporaryDirectory(prefix="spinecoach-plot-") as folder:
        path = plot_exercise(
            frames,
            result,
            Path(folder) / "plot.png",
            title=title,
            size_in=PHONE_PLOT_SIZE_IN if narrow else PLOT_SIZE_IN,
            legend_below=narrow,
            fault_labels=labels,
            **gauge_plot_options(result.info.get("gauge")),
        )
        return path.read_bytes(), completed


def gauge_plot_options(gauge: object) -> dict[str, Any]:
    """The plot's sign and words from a stored result's ``info["gauge"]`` ({} without)."""
    if not isinstance(gauge, dict):
        return {}
    direction = gauge.get("direction")
    label = gauge.get("label")
    options: dict[str, Any] = {}
    if direction in (1, -1, 1.0, -1.0):
        options["direction"] = float(direction)
    if isinstance(label, str) and label:
        options["label"] = label
    return options


class SessionPlots:
    """Session PNGs of one :class:`~spinecoach.services.history.History`, rendered one at a
    time off the event loop, completed ones cached (LRU of ``cache_size``)."""

    def __init__(self, history: History, *, cache_size: int = PLOT_CACHE_SIZE) -> None:
        self.history = history
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[int, int, bool, str], bytes] = OrderedDict()
        self._render = asyncio.Lock()

    def cached(
        self,
        session_id: int,
        *,
        narrow: bool = False,
        tz: tzinfo | None = None,
        person_id: int | None = None,
    ) -> bytes | None:
        """The cached PNG of a session of ``person_id`` (default: the history's person;
        marked recently used), or None. The person is part of the key: a PNG drawn for one
        person is never served to another."""
        person = self.history.person_id if person_id is None else person_id
        key = (person, session_id, narrow, str(tz))
        png = self._cache.get(key)
        if png is not None:
            self._cache.move_to_end(key)
        return png

    async def png(
        self,
        session_id: int,
        *,
        narrow: bool = False,
        tz: tzinfo | None = None,
        person_id: int | None = None,
    ) -> bytes:
        """The PNG of a session of ``person_id`` (default: the history's person; see
        :func:`render_session_plot`; ``narrow``: the phone's variant; ``tz``: the zone of
        the title's time)."""
        person = self.history.person_id if person_id is None else person_id
        png = self.cached(session_id, narrow=narrow, tz=tz, person_id=person)
        if png is not None:
            return png
        async with self._render:
            # Drawn while this one waited?
            png = self.cached(session_id, narrow=narrow, tz=tz, person_id=person)
            if png is not None:
                return png
            options: dict[str, Any] = {"narrow": True} if narrow else {}
            if tz is not None:
                options["tz"] = tz
            drawn, cacheable = await asyncio.to_thread(
                render_session_plot, self.history.engine, person, session_id, **options
            )
            if cacheable:
                self._cache[(person, session_id, narrow, str(tz))] = drawn
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return drawn
