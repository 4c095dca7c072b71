"""The blocks the streaming tracker (:mod:`.stream`) works on, and its frame grid.

Block processing (issue 17). A sample costs what the library costs only when Python does
not run per sample; so a block of one sensor's samples goes through each step at once:

* fusion: :meth:`~spinecoach.motion.fusion.SensorFusion.update_block` (n quaternions, with
  the per-sample gap and settling flags), exactly n calls of ``update``;
* per-sample work: earth-up, quality flags, segment values (:func:`.angles.sensor_values`)
  and the vertical acceleration are numpy over the block, with the very functions batch
  runs over the whole recording (element by element, so one row and many give the same
  bits);
* frames: the grid times every sensor has reached are interpolated together
  (:func:`.angles.interpolate_frames`, :func:`.angles.combine_frames`, batch's functions),
  at most :data:`EMIT_CHUNK` at a time so a jump stays bounded, and come out as a
  :class:`FrameBlock` of columns; ``update`` returns them as :class:`AngleFrame` objects.
  The recent samples each sensor keeps for the interpolation are arrays (a block is
  appended, the samples no future frame brackets are cut off).

What stays per sample, and why: the pelvis-height filter (a recursive filter, 3 sections
of scalar arithmetic per sample, the same object batch runs); the live calibration detector
(:class:`~.calibration.AutoCalibrationDetector`, a state machine) while it looks for the
windows; and the protocol-free calibration's schedule, whose check times are compared
per sample (a float comparison) so a decision sees exactly the samples it saw when fed one
by one. The rest of the calibration logic is per block: a block is split where a sensor
becomes calibrated (the first sample after the windows are ready) and the part before is
remembered as a whole for the calibration (the history is kept as a list of blocks).
Emitting a block's frames after all of its samples rather than after each one changes
nothing: a frame depends only on the samples bracketing it and on the calibrations, and a
sample's values are fixed when it comes in.

The types: a :class:`SensorSample` (one sample, what sources give), an
:class:`AngleFrame` (one output frame) and a :class:`FrameBlock` (consecutive frames as
columns); the tracker's own per-sensor state (:class:`SensorState`, with its
:class:`SampleHistory` for the calibration) and a fused block (:class:`FusedBlock`);
:class:`FrameGrid` emits the frames.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from spinecoach.conventions import LOWER, PELVIS_HEIGHT_M, UPPER
from spinecoach.errors import ConfigurationError
from spinecoach.motion.angles import N_VALUES, combine_frames, interpolate_frames
from spinecoach.motion.calibration import SegmentCalibration
from spinecoach.motion.fusion import SensorFusion
from spinecoach.motion.height import HeightEstimator

FloatArray = NDArray[np.float64]
FlagArray = NDArray[np.uint8]

#: A gap in every sensor's data longer than this (s) is not filled frame by frame: its
#: first and last frames come out (NaN angles, ``FLAG_GAP``) and the frames between them,
#: all the same, are left out. Shorter gaps (a Bluetooth link lost for a few seconds) are
#: filled as the batch does (the watchdog's rehearsed 8-s drop-out shows frame by frame), so
#: streaming equals batch on them.
MAX_FILLED_GAP_S = 10.0
#: Most frames interpolated at once (a bound on the work past the start of a long gap).
EMIT_CHUNK = 512

EMPTY_T = np.zeros(0, dtype=np.float64)


@dataclass(frozen=True)
class SensorSample:
    """One sample of one sensor, in project units (s, m/s², deg/s, µT)."""

    placement: str
    time_s: float
    acc_mps2: FloatArray
    gyr_dps: FloatArray
    mag_ut: FloatArray | None = None


class SampleBlock:
    """One sensor's message of n samples as arrays (``time_s`` (n,), ``acc_mps2``,
    ``gyr_dps``, ``mag_ut`` (n, 3) or None) with its per-sample :class:`BlockSample`
    items: a live session hands the items on (the web backlog counts and skips them one
    by one) and the tracker takes the arrays back by slicing instead of re-stacking the
    items (which cost more than the tracker's own work on a 10-sample message)."""

    __slots__ = ("acc_mps2", "gyr_dps", "mag_ut", "placement", "samples", "time_s")

    def __init__(
        self,
        placement: str,
        time_s: FloatArray,
        acc_mps2: FloatArray,
        gyr_dps: FloatArray,
        mag_ut: FloatArray | None = None,
    ) -> None:
        self.placement = placement
        self.time_s = time_s
        self.acc_mps2 = acc_mps2
        self.gyr_dps = gyr_dps
        self.mag_ut = mag_ut
        new, block = object.__new__, BlockSample
        samples: list[BlockSample] = []
        for i, t in enumerate(time_s.tolist()):
            sample = new(block)
            sample.__dict__.update(placement=placement, time_s=t, block=self, index=i)
            samples.append(sample)
        #: The block's samples, in order (sample ``i`` is ``samples[i]``).
        self.samples = samples

    def __len__(self) -> int:
        return len(self.samples)


class BlockSample(SensorSample):
    """A :class:`SensorSample` of a :class:`SampleBlock` (``block.samples[index]``),
    made by the block: its ``placement`` and ``time_s`` set directly, its rows read from
    the block's arrays when asked (a dataclass ``__init__`` and three row views per
    sample cost more than the tracker's work on it)."""

    block: SampleBlock
    index: int

    @property
    def acc_mps2(self) -> FloatArray:
        row: FloatArray = self.block.acc_mps2[self.index]
        return row

    @property
    def gyr_dps(self) -> FloatArray:
        row: FloatArray = self.block.gyr_dps[self.index]
        return row

    @property
    def mag_ut(self) -> FloatArray | None:
        mag = self.block.mag_ut
        return None if mag is None else mag[self.index]


#: Samples on their way to the tracker: one sample, or ``(block, a, b)``: the samples
#: ``a:b`` of a message's :class:`~spinecoach.motion.stream_blocks.SampleBlock`.
Piece = SensorSample | tuple[SampleBlock, int, int]


def piece_first_time(piece: Piece) -> float:
    return float(piece[0].time_s[piece[1]]) if isinstance(piece, tuple) else piece.time_s


def piece_last_time(piece: Piece) -> float:
    return float(piece[0].time_s[piece[2] - 1]) if isinstance(piece, tuple) else piece.time_s


def piece_no_mag(piece: Piece) -> bool:
    return (piece[0] if isinstance(piece, tuple) else piece).mag_ut is None


def cut_piece(piece: Piece, end_s: float) -> tuple[Piece, Piece] | None:
    """``piece`` cut after its last sample at or before ``end_s`` (None: none is)."""
    if not isinstance(piece, tuple):
        return None
    block, a, b = piece
    at = a + int(np.searchsorted(block.time_s[a:b], end_s, side="right"))
    return None if at == a else ((block, a, at), (block, at, b))


def piece_arrays(
    part: Sequence[Piece],
) -> tuple[str, FloatArray, FloatArray, FloatArray, FloatArray | None]:
    """One sensor's pieces (all with or all without the magnetometer) as the arrays of
    :meth:`MotionTracker.update_block`: a whole piece's are slices of its message."""
    first = part[0]
    if len(part) == 1 and isinstance(first, tuple):
        block, a, b = first
        mag = block.mag_ut
        return (
            block.placement,
            block.time_s[a:b],
            block.acc_mps2[a:b],
            block.gyr_dps[a:b],
            None if mag is None else mag[a:b],
        )
    samples = [
        sample
        for piece in part
        for sample in (
            piece[0].samples[piece[1] : piece[2]] if isinstance(piece, tuple) else [piece]
        )
    ]
    no_mag = samples[0].mag_ut is None
    return (
        samples[0].placement,
        np.array([s.time_s for s in samples], dtype=np.float64),
        np.array([s.acc_mps2 for s in samples], dtype=np.float64),
        np.array([s.gyr_dps for s in samples], dtype=np.float64),
        None if no_mag else np.array([s.mag_ut for s in samples], dtype=np.float64),
    )


@dataclass(frozen=True)
class AngleFrame:
    """Clinical angles (deg) at one output time, with the quality flags (bit mask);
    ``angles`` also holds the non-angle ``pelvis_height_m`` (m, :mod:`.height`), as the
    batch frames do."""

    time_s: float
    angles: Mapping[str, float]
    flags: int


@dataclass(frozen=True)
class FrameBlock:
    """Consecutive angle frames as columns: ``time_s`` (m,) s, ``angles`` by name (each
    (m,), deg; ``pelvis_height_m`` in m) and ``flags`` (m,) bit masks."""

    time_s: FloatArray
    angles: Mapping[str, FloatArray]
    flags: FlagArray

    def __len__(self) -> int:
        return int(self.time_s.shape[0])

    def frames(self) -> list[AngleFrame]:
        """The same frames as :class:`AngleFrame` objects (what ``update`` returns)."""
        names = list(self.angles)
        columns = [self.angles[name].tolist() for name in names]
        rows = zip(*columns, strict=True) if columns else ([] for _ in self.time_s)
        return [
            AngleFrame(t, dict(zip(names, row, strict=True)), f)
            for t, row, f in zip(self.time_s.tolist(), rows, self.flags.tolist(), strict=True)
        ]

    @staticmethod
    def empty() -> FrameBlock:
        return FrameBlock(EMPTY_T, {}, np.zeros(0, dtype=np.uint8))

    @staticmethod
    def concat(blocks: Sequence[FrameBlock]) -> FrameBlock:
        """One block of ``blocks`` in order (the empty ones left out)."""
        kept = [b for b in blocks if len(b)]
        if not kept:
            return FrameBlock.empty()
        if len(kept) == 1:
            return kept[0]
        return FrameBlock(
            np.concatenate([b.time_s for b in kept]),
            {name: np.concatenate([b.angles[name] for b in kept]) for name in kept[0].angles},
            np.concatenate([b.flags for b in kept]),
        )


class SampleHistory:
    """One sensor's remembered samples for the calibration, kept as a list of blocks:
    times (s), earth-up (n, 3), quaternion (n, 4), accelerometer (n, 3), gyroscope (n, 3),
    flags and pelvis height (m)."""

    def __init__(self) -> None:
        self._blocks: list[tuple[NDArray[Any], ...]] = []
        self.n = 0

    def append(self, *columns: NDArray[Any]) -> None:
        if columns[0].shape[0]:
            self._blocks.append(columns)
            self.n += int(columns[0].shape[0])

    def arrays(self) -> tuple[NDArray[Any], ...]:
        """(time, up, q, acc, gyr, flag, height) of every remembered sample."""
        if not self._blocks:
            return (
                EMPTY_T,
                np.zeros((0, 3)),
                np.zeros((0, 4)),
                np.zeros((0, 3)),
                np.zeros((0, 3)),
                np.zeros(0, dtype=np.uint8),
                EMPTY_T,
            )
        if len(self._blocks) > 1:
            joined = tuple(np.concatenate(parts) for parts in zip(*self._blocks, strict=True))
            self._blocks = [joined]
        return self._blocks[0]

    def first_time_s(self) -> float:
        return float(self._blocks[0][0][0])

    def drop_before(self, time_s: float) -> None:
        """Forget the samples before ``time_s`` (s)."""
        columns = self.arrays()
        cut = int(np.searchsorted(columns[0], time_s))
        self._blocks = [tuple(c[cut:] for c in columns)]
        self.n -= cut

    def clear(self) -> None:
        self._blocks.clear()
        self.n = 0


@dataclass
class SensorState:
    fusion: SensorFusion
    device: str = "unknown"
    calibration: SegmentCalibration | None = None
    first_time_s: float | None = None
    last_time_s: float = -np.inf
    history: SampleHistory = field(default_factory=SampleHistory)
    height: HeightEstimator | None = None
    accel_only: bool = False
    # The samples future frames may bracket: times (s), values (m, 7) and flags.
    recent_t: FloatArray = field(default_factory=lambda: EMPTY_T)
    recent_v: FloatArray = field(default_factory=lambda: np.zeros((0, N_VALUES + 1)))
    recent_f: FlagArray = field(default_factory=lambda: np.zeros(0, dtype=np.uint8))

    def add_recent(self, time_s: FloatArray, values: FloatArray, flags: FlagArray) -> None:
        if self.recent_t.shape[0] == 0:
            self.recent_t, self.recent_v, self.recent_f = time_s, values, flags
            return
        self.recent_t = np.concatenate((self.recent_t, time_s))
        self.recent_v = np.concatenate((self.recent_v, values))
        self.recent_f = np.concatenate((self.recent_f, flags))


@dataclass(frozen=True)
class FusedBlock:
    """One sensor's block after fusion: everything but the calibration-dependent values."""

    time_s: FloatArray
    up: FloatArray
    q: FloatArray
    acc: FloatArray
    gyr: FloatArray
    flags: FlagArray
    height: FloatArray

    def history(self, a: int, b: int) -> tuple[NDArray[Any], ...]:
        return (
            self.time_s[a:b],
            self.up[a:b],
            self.q[a:b],
            self.acc[a:b],
            self.gyr[a:b],
            self.flags[a:b],
            self.height[a:b],
        )


def as_rows(name: str, values: Any, n: int) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (n, 3):
        raise ConfigurationError(
            f"{name} has shape {array.shape}; pass one row of 3 axes per sample, ({n}, 3)"
        )
    return array


class FrameGrid:
    """The output grid of a :class:`~.stream.MotionTracker`: frame ``k`` at
    ``start + k / rate_hz``, ``start`` the time every sensor has begun; which frames are
    out, and the frames of a block of grid indices (interpolated and combined at once,
    long gaps cut short)."""

    def __init__(self, *, rate_hz: float, max_gap_s: float, nominal_inclination_deg: float) -> None:
        self.rate_hz = rate_hz
        self.max_gap_s = max_gap_s
        self.nominal_inclination_deg = nominal_inclination_deg
        self._grid_start: float | None = None
        self._next_k = 1

    def emit(self, states: Mapping[str, SensorState]) -> FrameBlock:
        """Every frame on the grid that every sensor has reached and that is not out yet."""
        if self._grid_start is None:
            firsts = [s.first_time_s for s in states.values()]
            if any(f is None for f in firsts):
                return FrameBlock.empty()
            self._grid_start = max(f for f in firsts if f is not None)
        blocks: list[FrameBlock] = []
        while True:
            reached = min(s.last_time_s for s in states.values())
            k_last = min(self.last_k_at_or_before(reached), self._next_k + EMIT_CHUNK - 1)
            if k_last < self._next_k:
                return FrameBlock.concat(blocks)
            block, skip_to = self._frames(states, np.arange(self._next_k, k_last + 1))
            blocks.append(block)
            self._next_k = k_last + 1 if skip_to is None else skip_to

    def last_k_at_or_before(self, time_s: float) -> int:
        """The grid index of the last frame at or before ``time_s`` (s)."""
        assert self._grid_start is not None
        k = int(np.floor((time_s - self._grid_start) * self.rate_hz))
        while k > 0 and self._grid_start + k / self.rate_hz > time_s:
            k -= 1
        while self._grid_start + (k + 1) / self.rate_hz <= time_s:
            k += 1
        return k

    def _frames(
        self, states: Mapping[str, SensorState], ks: NDArray[np.int64]
    ) -> tuple[FrameBlock, int | None]:
        """The frames of grid indices ``ks`` (every sensor has reached them), and, when
        one of them starts a long gap in every sensor (:data:`MAX_FILLED_GAP_S`), the
        block ends there and the grid index to go on from is returned: the last frame at
        or before the first sensor's data resumes (every frame up to it is the same NaN
        gap frame)."""
        assert self._grid_start is not None
        grid = self._grid_start + ks / self.rate_hz
        m = int(ks.shape[0])
        max_gap_s = self.max_gap_s
        brackets: dict[str, NDArray[np.intp]] = {}
        maybe_gap = True  # every sensor has an interval over max_gap_s among the brackets
        for placement, state in states.items():
            hi = np.searchsorted(state.recent_t, grid, side="left")
            brackets[placement] = hi
            span = state.recent_t[hi[-1]] - state.recent_t[hi[0] - 1]
            maybe_gap = maybe_gap and bool(span > max_gap_s)
        long_gap: NDArray[np.intp] = np.zeros(0, dtype=np.intp)
        gap_end = grid
        if maybe_gap:
            all_gap = np.ones(m, dtype=np.bool_)
            gap_end = np.full(m, np.inf)
            for placement, state in states.items():
                hi = brackets[placement]
                t_hi = state.recent_t[hi]
                all_gap &= t_hi - state.recent_t[hi - 1] > max_gap_s
                gap_end = np.minimum(gap_end, t_hi)
            long_gap = np.flatnonzero(all_gap & (gap_end - grid > MAX_FILLED_GAP_S))
        skip_to: int | None = None
        if long_gap.size:
            j = int(long_gap[0])
            m = j + 1
            grid = grid[:m]
            skip_to = max(int(ks[j]) + 1, self.last_k_at_or_before(float(gap_end[j])))
        per_sensor: dict[str, FloatArray] = {}
        height = np.full(m, np.nan)
        flags = np.zeros(m, dtype=np.uint8)
        for placement, state in states.items():
            values, frame_flags = interpolate_frames(
                grid, state.recent_t, state.recent_v, state.recent_f, max_gap_s=max_gap_s
            )
            per_sensor[placement] = values[:, :-1]
            if placement == LOWER:
                height = values[:, -1]
            flags |= frame_flags
            # Keep from the sample before the last frame: the next frames are later.
            keep = int(brackets[placement][m - 1]) - 1
            if keep > 0:
                state.recent_t = state.recent_t[keep:]
                state.recent_v = state.recent_v[keep:]
                state.recent_f = state.recent_f[keep:]
        angles = combine_frames(
            per_sensor.get(LOWER),
            per_sensor.get(UPPER),
            states[LOWER].calibration if LOWER in states else None,
            states[UPPER].calibration if UPPER in states else None,
            self.nominal_inclination_deg,
        )
        angles[PELVIS_HEIGHT_M] = np.asarray(height, dtype=np.float64)
        return FrameBlock(grid, angles, flags), skip_to
