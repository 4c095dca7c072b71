"""What a live session received and produced and has not stored yet: the buffer between
two commits (:class:`LiveRecorder`, :class:`LiveBatch`), bounded in memory.

Normally a batch lives half a second (:data:`~spinecoach.store.live.FLUSH_INTERVAL_S`).
When commits fail (a full disk, a database locked for too long, an I/O error) the data
stays here and is retried at every commit, so it is written as soon as the database can
be written again. Design choices for that time:

* **Packed once.** A batch whose commit failed is given back (:meth:`LiveRecorder.give_back`)
  and its samples become :class:`PendingBlock` s: per sensor, the compressed float64 rows
  a sample block stores (:func:`sample_rows`; at most 56–80 bytes a sample instead of a
  few hundred as objects), made once. The next commit writes each as its own block, in
  order, before the new samples: the same blocks as without the failure (one per half
  second), bit-identical to what was received, and no retry re-encodes old data.
* **Bounded.** At most :data:`MAX_UNSAVED_SAMPLES` samples (all sensors together),
  :data:`MAX_UNSAVED_FRAMES` camera angle frames and :data:`MAX_UNSAVED_ANNOTATIONS`
  annotations are kept unsaved. Past a bound **the oldest unsaved data is kept and the
  newer data is not**: the stored recording then reads continuously from its start up
  to the bound, misses what came after (one gap, its times in :class:`UnsavedData`) and
  goes on once commits succeed again. The coaching itself never drops anything; reps
  and cues (a few per minute) are always kept, and the final result stores them all.

>>> from spinecoach.motion.stream import SensorSample
>>> recorder = LiveRecorder(1, {"lower": 100.0}, max_unsaved_samples=2)
>>> recorder.add_items([SensorSample("lower", t / 100, (0.0, 0.0, 9.81), (0.0, 0.0, 0.0))
...                     for t in range(3)])
>>> unsaved = recorder.unsaved()
>>> unsaved.samples, unsaved.samples_dropped, unsaved.dropped_from_s
(2, 1, 0.02)
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from spinecoach.conventions import ANGLE_COLUMNS
from spinecoach.errors import ConfigurationError
from spinecoach.exercises.model import Cue, Rep
from spinecoach.motion.stream import SensorSample
from spinecoach.recording import Event
from spinecoach.store.block_codec import encode_rows

#: Most samples (all sensors together) kept unsaved while commits fail: 20 min of two
#: sensors at 100 Hz, at most 19.2 MB as packed rows. Past it the newer samples are not
#: kept (see the module docstring).
MAX_UNSAVED_SAMPLES: Final = 240_000
#: Most camera angle frames kept unsaved: 20 min at 30 frames/s (3.2 MB).
MAX_UNSAVED_FRAMES: Final = 36_000
#: Most annotations (calibration windows, breath phases) kept unsaved.
MAX_UNSAVED_ANNOTATIONS: Final = 10_000
#: Columns of a packed sample row without / with a magnetometer: ``t, acc xyz, gyr xyz``
#: (then ``mag xyz``; NaN for a sample without one).
SAMPLE_COLUMNS: Final = 7
SAMPLE_COLUMNS_MAG: Final = 10


def sample_rows(samples: Sequence[SensorSample]) -> np.ndarray:
    """Samples of one sensor as little-endian float64 rows (7 columns, or 10 when any of
    them has a magnetometer): what a sample block stores, bit for bit."""
    with_mag = any(s.mag_ut is not None for s in samples)
    rows = np.empty((len(samples), SAMPLE_COLUMNS_MAG if with_mag else SAMPLE_COLUMNS), "<f8")
    for i, s in enumerate(samples):
        rows[i, 0] = s.time_s
        rows[i, 1:4] = s.acc_mps2
        rows[i, 4:7] = s.gyr_dps
        if with_mag:
            rows[i, 7:10] = math.nan if s.mag_ut is None else s.mag_ut
    return rows


@dataclass(frozen=True)
class UnsavedData:
    """How much of a live session is not stored yet: ``samples``, ``frames`` (camera)
    and their time span ``span_s`` (s, oldest to newest unsaved); past the bounds,
    ``samples_dropped`` / ``frames_dropped`` were not kept, session times
    ``dropped_from_s`` to ``dropped_to_s`` (None when nothing was dropped);
    ``bound_s``: about how long the bound lasts at the session's rates (None: unknown);
    ``max_samples`` / ``max_frames``: the bounds."""

    samples: int
    frames: int
    span_s: float
    samples_dropped: int
    frames_dropped: int
    dropped_from_s: float | None
    dropped_to_s: float | None
    bound_s: float | None
    max_samples: int
    max_frames: int


@dataclass(frozen=True)
class PendingBlock:
    """Samples of one sensor whose commit failed, encoded as the block that stores them:
    compressed float64 rows (``store.block_codec``; ``n_columns`` 7 or 10), ``first_t`` /
    ``last_t`` (s)."""

    data: bytes
    n_samples: int
    n_columns: int
    first_t: float
    last_t: float

    @classmethod
    def of(cls, samples: Sequence[SensorSample]) -> PendingBlock:
        rows = sample_rows(samples)
        data = encode_rows(rows)
        return cls(data, rows.shape[0], rows.shape[1], float(rows[0, 0]), float(rows[-1, 0]))


@dataclass
class LiveBatch:
    """What a live session received and produced since the last commit; ``pending``:
    samples of earlier batches whose commit failed, encoded (stored before ``samples``)."""

    samples: dict[str, list[SensorSample]] = field(default_factory=dict)
    rates_hz: dict[str, float] = field(default_factory=dict)
    annotations: list[Event] = field(default_factory=list)
    reps: list[Rep] = field(default_factory=list)
    cues: list[Cue] = field(default_factory=list)
    #: Camera angle frames, as row arrays ``(n, len(ANGLE_BLOCK_COLUMNS))`` float64.
    angle_rows: list[np.ndarray] = field(default_factory=list)
    pending: dict[str, list[PendingBlock]] = field(default_factory=dict)

    @property
    def n_samples(self) -> int:
        packed = sum(b.n_samples for blocks in self.pending.values() for b in blocks)
        return packed + sum(len(s) for s in self.samples.values())

    @property
    def n_frames(self) -> int:
        return sum(int(r.shape[0]) for r in self.angle_rows)

    def placements(self) -> list[str]:
        return list(dict.fromkeys([*self.pending, *self.samples]))

    def prepend(self, older: LiveBatch) -> None:
        """Put ``older`` (a batch whose commit failed) in front of this one, its samples
        encoded as pending blocks."""
        for placement in older.placements():
            blocks = list(older.pending.get(placement, []))
            if older.samples.get(placement):
                blocks.append(PendingBlock.of(older.samples[placement]))
            self.pending[placement] = blocks + self.pending.get(placement, [])
        self.angle_rows = older.angle_rows + self.angle_rows
        self.rates_hz = {**older.rates_hz, **self.rates_hz}
        self.annotations = older.annotations + self.annotations
        self.reps = older.reps + self.reps
        self.cues = older.cues + self.cues

    def span_s(self) -> float:
        """Seconds from the oldest to the newest sample or frame in this batch (0: none)."""
        firsts, lasts = [], []
        for placement in self.placements():
            for block in self.pending.get(placement, []):
                firsts.append(block.first_t)
                lasts.append(block.last_t)
            if self.samples.get(placement):
                firsts.append(self.samples[placement][0].time_s)
                lasts.append(self.samples[placement][-1].time_s)
        for rows in self.angle_rows:
            firsts.append(rows[0, 0])
            lasts.append(rows[-1, 0])
        return float(max(lasts) - min(firsts)) if firsts else 0.0


class LiveRecorder:
    """Thread-safe buffer of one live session's data between commits.

    The session's worker thread calls :meth:`add_items` (or, for a camera session,
    :meth:`add_angle_frames`) and :meth:`add_results`; the committing thread calls
    :meth:`take`, then :meth:`committed` after a commit or :meth:`give_back` when it
    failed (so nothing is dropped below the bounds; see the module docstring).
    """

    def __init__(
        self,
        session_id: int,
        rates_hz: Mapping[str, float] | None = None,
        *,
        max_unsaved_samples: int = MAX_UNSAVED_SAMPLES,
        max_unsaved_frames: int = MAX_UNSAVED_FRAMES,
        max_unsaved_annotations: int = MAX_UNSAVED_ANNOTATIONS,
    ) -> None:
        self.session_id = session_id
        self._lock = threading.Lock()
        #: Held while a batch of this session is being committed (one commit at a time).
        self.commit_lock = threading.Lock()
        self._batch = LiveBatch(rates_hz=dict(rates_hz or {}))
        self._reps_taken = 0
        self._cues_taken = 0
        self.next_seq: dict[str, int] = {}
        self.samples_seen = 0
        #: ``seq`` of the next angle block (advanced only by a successful commit).
        self.next_angle_seq = 0
        self.frames_seen = 0
        self._last_frame_t = -math.inf
        self.max_unsaved_samples = max_unsaved_samples
        self.max_unsaved_frames = max_unsaved_frames
        self.max_unsaved_annotations = max_unsaved_annotations
        self._unsaved = {"samples": 0, "frames": 0, "annotations": 0}
        self._dropped = {"samples": 0, "frames": 0}
        self._dropped_s: list[float] = []  # [from, to] once something was dropped

    def set_rate(self, placement: str, rate_hz: float) -> None:
        with self._lock:
            self._batch.rates_hz[placement] = rate_hz

    def _drop(self, kind: str, n: int, first_s: float, last_s: float) -> None:
        self._dropped[kind] += n
        if self._dropped_s:
            self._dropped_s = [min(self._dropped_s[0], first_s), max(self._dropped_s[1], last_s)]
        else:
            self._dropped_s = [first_s, last_s]

    def add_items(self, items: Sequence[SensorSample | Event]) -> None:
        with self._lock:
            batch, unsaved = self._batch, self._unsaved
            for item in items:
                if isinstance(item, Event):
                    if unsaved["annotations"] < self.max_unsaved_annotations:
                        batch.annotations.append(item)
                        unsaved["annotations"] += 1
                    continue
                self.samples_seen += 1
                if unsaved["samples"] >= self.max_unsaved_samples:
                    self._drop("samples", 1, item.time_s, item.time_s)
                    continue
                batch.samples.setdefault(item.placement, []).append(item)
                unsaved["samples"] += 1

    def add_angle_frames(self, time_s: np.ndarray, angles: np.ndarray, flags: np.ndarray) -> None:
        """Camera angle frames for the next commit (copied: the caller may reuse arrays).

        ``time_s`` (n,) seconds on the session clock, strictly increasing (also after the
        frames added before); ``angles`` (n, len(ANGLE_COLUMNS)) degrees in
        :data:`~spinecoach.conventions.ANGLE_COLUMNS` order, NaN where the camera cannot
        see; ``flags`` (n,) uint8 bit masks of :mod:`spinecoach.motion.flags`. Raises
        :class:`~spinecoach.errors.ConfigurationError` naming the argument otherwise,
        and nothing is added.
        """
        times = np.asarray(time_s, dtype=np.float64)
        values = np.asarray(angles, dtype=np.float64)
        marks = np.asarray(flags)
        n = times.shape[0] if times.ndim == 1 else -1
        k = len(ANGLE_COLUMNS)
        if times.ndim != 1:
            raise ConfigurationError(
                f"time_s must be a 1-d array of frame times (s), got shape {times.shape}"
            )
        if values.shape != (n, k):
            raise ConfigurationError(
                f"angles must have shape ({n}, {k}): one row per frame, the columns in "
                f"ANGLE_COLUMNS order ({', '.join(ANGLE_COLUMNS)}); got {values.shape}"
            )
        if marks.shape != (n,):
            raise ConfigurationError(f"flags must have shape ({n},) like time_s, got {marks.shape}")
        if not np.issubdtype(marks.dtype, np.integer):
            raise ConfigurationError(
                f"flags must be uint8 bit masks (0-255), got dtype {marks.dtype}; pass "
                "the FLAG_* values of spinecoach.motion.flags"
            )
        if n and (int(marks.min()) < 0 or int(marks.max()) > 255):
            raise ConfigurationError(
                f"flags must be uint8 bit masks (0-255), got values from {int(marks.min())} "
                f"to {int(marks.max())}; pass the FLAG_* values of spinecoach.motion.flags"
            )
        if n == 0:
            return
        if not np.all(np.isfinite(times)) or np.any(np.diff(times) <= 0):
            raise ConfigurationError(
                "time_s must be finite and strictly increasing (session clock, s); give "
                "each frame its own later time"
            )
        rows = np.empty((n, k + 2), dtype="<f8")
        rows[:, 0] = times
        rows[:, 1 : k + 1] = values
        rows[:, k + 1] = marks.astype(np.uint8)
        with self._lock:
            if times[0] <= self._last_frame_t:
                raise ConfigurationError(
                    f"time_s must go on after the frames added before: the first new frame "
                    f"is at {times[0]!r} s, the last one added at {self._last_frame_t!r} s"
                )
            self._last_frame_t = float(times[-1])
            self.frames_seen += n
            room = max(0, self.max_unsaved_frames - self._unsaved["frames"])
            if room < n:  # past the bound: the oldest unsaved kept, these newer ones not
                self._drop("frames", n - room, float(times[room]), float(times[-1]))
                rows = rows[:room]
            if rows.shape[0]:
                self._batch.angle_rows.append(rows)
                self._unsaved["frames"] += rows.shape[0]

    def add_results(self, reps: Sequence[Rep], cues: Sequence[Cue]) -> None:
        """The engine's reps and cues so far (only the new ones are kept)."""
        with self._lock:
            self._batch.reps.extend(reps[self._reps_taken :])
            self._reps_taken = len(reps)
            self._batch.cues.extend(cues[self._cues_taken :])
            self._cues_taken = len(cues)

    def take(self) -> LiveBatch:
        with self._lock:
            batch = self._batch
            self._batch = LiveBatch(rates_hz=dict(batch.rates_hz))
            return batch

    def give_back(self, batch: LiveBatch) -> None:
        """Keep ``batch`` (its commit failed) for the next commit, its samples packed."""
        with self._lock:
            self._batch.prepend(batch)

    def committed(self, batch: LiveBatch) -> None:
        """``batch`` (taken before) is stored: it no longer counts as unsaved."""
        with self._lock:
            self._unsaved["samples"] -= batch.n_samples
            self._unsaved["frames"] -= batch.n_frames
            self._unsaved["annotations"] -= len(batch.annotations)

    def unsaved(self) -> UnsavedData:
        """How much is not stored yet, and what was not kept (see :class:`UnsavedData`)."""
        with self._lock:
            rate_hz = sum(self._batch.rates_hz.values())
            dropped = self._dropped_s
            return UnsavedData(
                samples=self._unsaved["samples"],
                frames=self._unsaved["frames"],
                span_s=self._batch.span_s(),
                samples_dropped=self._dropped["samples"],
                frames_dropped=self._dropped["frames"],
                dropped_from_s=dropped[0] if dropped else None,
                dropped_to_s=dropped[1] if dropped else None,
                bound_s=self.max_unsaved_samples / rate_hz if rate_hz > 0 else None,
                max_samples=self.max_unsaved_samples,
                max_frames=self.max_unsaved_frames,
            )


__all__ = [
    "MAX_UNSAVED_ANNOTATIONS",
    "MAX_UNSAVED_FRAMES",
    "MAX_UNSAVED_SAMPLES",
    "LiveBatch",
    "LiveRecorder",
    "PendingBlock",
    "UnsavedData",
    "sample_rows",
]
