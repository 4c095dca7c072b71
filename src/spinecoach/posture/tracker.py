"""The streaming posture tracker: sample batches in, seconds, minutes and bouts out.

:class:`PostureTracker` is fed ``(time_s, acc_mps2, gyr_dps)`` batches per placement —
the arrays a live device feed delivers — in any sizes. It keeps only the samples of the
current second, a few per-second rows and small counters, so its memory does not grow
with the length of the day (the batch function :func:`posture_process` feeds whole
files through the same object, chunk by chunk).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from spinecoach.conventions import (
    LOWER,
    PLACEMENTS,
    STANDARD_GRAVITY_MPS2,
    UPPER,
)
from spinecoach.errors import ConfigurationError, UnitError
from spinecoach.motion.calibration import plan_from_events
from spinecoach.posture import features as F
from spinecoach.posture.aggregate import PostureAggregator
from spinecoach.posture.alignment import NOMINAL_AXES, segment_angles, unit_rows
from spinecoach.posture.blocks import (
    CODE,
    SITTING_CODES,
    BlockUpdate,
    SecondBlock,
    concat_blocks,
    empty_block,
)
from spinecoach.posture.forward import ForwardLearner
from spinecoach.posture.model import (
    BENDING,
    LYING,
    SITTING_SLOUCHED,
    SITTING_UPRIGHT,
    STANDING,
    TRANSITION,
    UNKNOWN,
    UPRIGHT,
    WALKING,
    DeskBreak,
    PostureSettings,
    PostureUpdate,
    SittingBout,
    TrustReport,
)
from spinecoach.posture.settle import (
    DECLARED,
    DECLARED_MAX_TILT_DEG,
    MAX_CALIBRATION_READY_S,
    MAX_HOLD_S,
    POSTURE_CALIBRATIONS,
    AlignmentSettling,
    HeldBlock,
    check_alignment,
)
from spinecoach.recording import Event

__all__ = [
    "CODE",
    "DECLARED",
    "DECLARED_MAX_TILT_DEG",
    "DEFAULT_SLOUCH_DEG",
    "LEARN_STEP_S",
    "MAX_CALIBRATION_READY_S",
    "MAX_HOLD_S",
    "POSTURE_CALIBRATIONS",
    "WALK_CONTEXT_S",
    "BlockUpdate",
    "PostureTracker",
    "SecondBlock",
    "concat_blocks",
    "empty_block",
]

FloatArray = NDArray[np.float64]
#: The learnt alignment is judged every this many seconds of data (whole multiples).
LEARN_STEP_S: Final = 60
#: Seconds of context each side of a second for the walking decision (labels lag by it).
WALK_CONTEXT_S: Final = 3
DEFAULT_SLOUCH_DEG: Final = 15.0


class PostureTracker(AlignmentSettling):
    """Streaming posture analysis of one or two trunk sensors.

    placements: the sensors worn (``("lower", "upper")``, ``("lower",)`` or
    ``("upper",)``); annotations: the recording's events (the calibration windows);
    meta: the recording's metadata (``slouch_threshold_deg`` when a simulated day gives
    it). Call :meth:`update` with each batch, :meth:`finish` at the end.

    >>> import numpy as np
    >>> tracker = PostureTracker(("lower",))
    >>> t = np.arange(0, 5, 0.01)
    >>> acc = np.tile([9.81, 0.0, 0.0], (t.size, 1))
    >>> out = tracker.update("lower", t, acc, np.zeros((t.size, 3)))
    >>> len(tracker.finish().seconds) + len(out.seconds)  # held: no walking seen to check
    5
    """

    def __init__(
        self,
        placements: Sequence[str] = (LOWER, UPPER),
        *,
        settings: PostureSettings | None = None,
        annotations: Sequence[Event] = (),
        meta: Mapping[str, str] | None = None,
        calibration: str = "auto",
        neutral_s: tuple[float, float] | None = None,
    ) -> None:
        chosen = tuple(dict.fromkeys(placements))
        if not chosen or any(p not in PLACEMENTS for p in chosen):
            raise ConfigurationError(
                f"placements must be one or both of {', '.join(PLACEMENTS)}, got {placements!r}"
            )
        self.placements = tuple(p for p in PLACEMENTS if p in chosen)
        self.settings = settings or PostureSettings()
        self._buffers = {p: F.SecondFeatureBuffer() for p in self.placements}
        self._rows: dict[str, tuple[int, FloatArray] | None] = {p: None for p in self.placements}
        self._next: int | None = None
        self._axes: dict[str, FloatArray] = {}
        self._messages: list[str] = []
        self._calibration = "pending"
        self._orientation_ok = True
        self._untrusted_labelled = 0
        self._deep_run = 0
        self._units_checked = False
        self._annotations = list(annotations)
        self._plan = plan_from_events(self._annotations)
        if self._plan is not None and self._plan.ready_time_s > MAX_CALIBRATION_READY_S:
            self._plan = None
        self._mode, self._neutral_window = check_alignment(calibration, neutral_s, self._plan)
        self._neutral_up: dict[str, FloatArray] = {}
        self._declared_checked = False
        self._declared_conflict = False
        self._held: list[HeldBlock] = []
        self._raw_walk_tail = np.zeros(WALK_CONTEXT_S, dtype=np.bool_)
        self._held_seconds = 0
        self._learners = {p: ForwardLearner(self.settings) for p in self.placements}
        self._forward_resolved = False
        self._forward_pending_said = False
        self._forward_method = ""
        if self._mode == "none":
            self._axes = {p: NOMINAL_AXES.copy() for p in self.placements}
            self._calibration = DECLARED
            self._forward_resolved = True
            self._messages.append(
                "up and forward from the documented mounting (--calibration none: sensor x "
                "up the spine, z out of the skin), as declared; the walking check still "
                "applies"
            )
        self._walk_checked = 0
        self._walk_bad = 0
        self._slouch_source = "setting"
        threshold = self.settings.slouch_threshold_deg
        if threshold is None and meta is not None and "slouch_threshold_deg" in meta:
            try:
                threshold = float(meta["slouch_threshold_deg"])
                self._slouch_source = "recording metadata"
            except ValueError:
                threshold = None
        self._slouch_deg = threshold
        # classification state
        self._prev_ref: float = math.nan
        self._still_state = ""
        self._stand_run = 0
        self._day = PostureAggregator(self.settings, self.placements)

    # public -----------------------------------------------------------------------------
    @property
    def slouch_threshold_deg(self) -> float:
        """The slouch threshold in use (deg lumbar flexion relative to standing)."""
        return DEFAULT_SLOUCH_DEG if self._slouch_deg is None else self._slouch_deg

    @property
    def alignment_axes(self) -> dict[str, FloatArray]:
        """Per sensor, the body axes in sensor coordinates once settled (rows: anterior,
        superior, right; unit vectors); empty before."""
        return {p: axes.copy() for p, axes in self._axes.items()}

    def trust(self) -> TrustReport:
        """The day's trust so far, with the reasons."""
        two = len(self.placements) == 2
        slouch = (
            f"lumbar flexion above {self.slouch_threshold_deg:.1f}° ({self._slouch_source})"
            if two
            else (
                "pelvic tilt only (one lower sensor): less certain than lumbar flexion"
                if self.placements == (LOWER,)
                else "not available (upper sensor only): sitting and standing are not told "
                "apart, still upright seconds are labelled 'upright'"
            )
        )
        trusted = (
            self._orientation_ok and self._trusted_alignment() and self._untrusted_labelled == 0
        )
        return TrustReport(trusted, self._calibration, slouch, tuple(self._messages))

    def update(self, placement: str, time_s: Any, acc_mps2: Any, gyr_dps: Any) -> PostureUpdate:
        """Add one batch of one sensor; returns what it completed."""
        return self._public(self.feed(placement, time_s, acc_mps2, gyr_dps))

    def finish(self) -> PostureUpdate:
        """End of data: the last partial second, minute, bout and desk break."""
        return self._public(self.feed_end())

    def add_annotation(self, event: Event) -> None:
        """A calibration window announced live (the coach's prompts). Used while the
        alignment is not settled yet; later ones are ignored (one calibration per
        tracker, as in :mod:`spinecoach.motion`)."""
        self._annotations.append(event)
        if self._calibration == "pending" and self._plan is None:
            plan = plan_from_events(self._annotations)
            if plan is not None and plan.ready_time_s <= MAX_CALIBRATION_READY_S:
                self._plan = plan

    def add_desk_break(self, start_s: float, end_s: float, *, reps: int = 0) -> DeskBreak:
        """Record a desk break found elsewhere (the coach's exercise engine during a
        prompted seated cat-cow); it is reported with ``source="coach"``."""
        if not (math.isfinite(start_s) and math.isfinite(end_s)) or end_s < start_s:
            raise ConfigurationError(
                f"a desk break needs finite start_s <= end_s, got {start_s}..{end_s}"
            )
        item = DeskBreak(float(start_s), float(end_s), "coach", int(reps))
        self._day.external.append(item)
        return item

    # feeding ------------------------------------------------------------------------------
    def feed(self, placement: str, time_s: Any, acc_mps2: Any, gyr_dps: Any) -> BlockUpdate:
        if placement not in self._buffers:
            raise ConfigurationError(
                f"this tracker follows the {' and '.join(self.placements)} sensor(s); got a "
                f"batch for {placement!r}. Create it with PostureTracker({placement!r}, ...) "
                "or include it in placements"
            )
        t = np.asarray(time_s, dtype=np.float64)
        acc = np.asarray(acc_mps2, dtype=np.float64)
        gyr = np.asarray(gyr_dps, dtype=np.float64)
        n = t.shape[0] if t.ndim == 1 else -1
        if n < 0 or acc.shape != (n, 3) or gyr.shape != (n, 3):
            raise ConfigurationError(
                f"{placement} batch: time_s must be (n,), acc_mps2 and gyr_dps (n, 3); got "
                f"{t.shape}, {acc.shape}, {gyr.shape}"
            )
        self._buffers[placement].add(t, acc, gyr)
        return self._drain(final=False)

    def feed_end(self) -> BlockUpdate:
        for buffer in self._buffers.values():
            buffer.flush()
        out = self._drain(final=True)
        self._release_held(force=True, out=out)
        self._close(out)
        return out

    def _collect(self) -> None:
        for p, buffer in self._buffers.items():
            first, rows = buffer.take()
            if rows.shape[0] == 0:
                continue
            have = self._rows[p]
            if have is None:
                self._rows[p] = (first, rows)
            else:
                self._rows[p] = (have[0], np.concatenate([have[1], rows]))

    def _drain(self, *, final: bool) -> BlockUpdate:
        self._collect()
        out = BlockUpdate()
        firsts = [r[0] for r in self._rows.values() if r is not None]
        limits = [b.complete_until for b in self._buffers.values()]
        known = [x for x in limits if x is not None]
        if not known or (self._next is None and not firsts):
            return out
        start = self._next if self._next is not None else min(firsts)
        lead = max(known)
        if final:
            stop = lead
        else:
            # Wait for every sensor, but give up on one silent for max_wait_s.
            stop = min(known) if len(known) == len(limits) else start
            stop = max(stop, int(lead - self.settings.max_wait_s))
        label_stop = stop if final else stop - WALK_CONTEXT_S
        if label_stop <= start:
            return out
        block: dict[str, FloatArray] = {}
        ahead: dict[str, FloatArray] = {}
        for p in self.placements:
            rows = np.full((stop - start, F.N_FEATURES), np.nan)
            rows[:, F.COUNT] = 0.0
            have = self._rows[p]
            if have is not None:
                first, data = have
                lo, hi = max(first, start), min(first + data.shape[0], stop)
                if hi > lo:
                    rows[lo - start : hi - start] = data[lo - first : hi - first]
                keep = data[max(0, label_stop - first) :]
                self._rows[p] = (max(first, label_stop), keep) if keep.shape[0] else None
            block[p] = rows[: label_stop - start]
            ahead[p] = rows[label_stop - start :]
        self._next = label_stop
        self._check_units(block)
        walking = self._walking_in_context(block, ahead)
        # Learn and settle minute by minute (at whole multiples of LEARN_STEP_S), so the
        # alignment changes at the same second however the data were batched.
        cuts = [start]
        cuts += list(range((start // LEARN_STEP_S + 1) * LEARN_STEP_S, label_stop, LEARN_STEP_S))
        cuts.append(label_stop)
        for a, b in itertools.pairwise(cuts):
            piece = {p: rows[a - start : b - start] for p, rows in block.items()}
            self._held.append((a, piece, walking[a - start : b - start]))
            self._held_seconds += b - a
            self._learn(a, piece, walking[a - start : b - start])
            if b % LEARN_STEP_S == 0:
                if self._calibration != "pending":
                    self._release_held(force=False, out=out)
                self._checkpoint(b)
        self._release_held(force=False, out=out)
        return out

    # calibration and plausibility -------------------------------------------------------
    def _check_units(self, block: dict[str, FloatArray]) -> None:
        if self._units_checked:
            return
        for p, rows in block.items():
            still = (rows[:, F.COUNT] > 0) & (rows[:, F.ACC_STD] < 0.3)
            if np.count_nonzero(still) < 3:
                return
            magnitude = float(np.median(np.linalg.norm(rows[still, F.ACC], axis=1)))
            if 0.5 <= magnitude <= 2.0:
                raise UnitError(
                    f"{p} sensor: the acceleration at rest is {magnitude:.2f}, which is 1 g in "
                    "g units; acc_mps2 must be in m/s² — multiply by 9.80665 (or read the "
                    "file with its unit option)"
                )
            if not 0.6 * STANDARD_GRAVITY_MPS2 <= magnitude <= 1.4 * STANDARD_GRAVITY_MPS2:
                raise UnitError(
                    f"{p} sensor: the acceleration at rest is {magnitude:.3g} m/s², expected "
                    "about 9.81 m/s² (gravity); check the unit of acc_mps2"
                )
        self._units_checked = True

    def _walking_raw(self, block: dict[str, FloatArray]) -> NDArray[np.bool_]:
        """Seconds that look like steps on their own (whatever the orientation)."""
        s = self.settings
        ref = block[LOWER] if LOWER in block else block[UPPER]
        lo, hi = s.walking_crossings_per_s
        with np.errstate(invalid="ignore"):
            return np.asarray(
                (ref[:, F.ACC_STD] > s.walking_acc_std_mps2)
                & (ref[:, F.CROSSINGS] >= lo)
                & (ref[:, F.CROSSINGS] <= hi),
                dtype=np.bool_,
            )

    def _walking_in_context(
        self, block: dict[str, FloatArray], ahead: dict[str, FloatArray]
    ) -> NDArray[np.bool_]:
        """Walking = step-like seconds closed over 1-s gaps (a turn, a stumble), then
        trimmed by a second at the end (the last, slowing step and the stop still move
        the trunk like a step; on the real walks of mobgap this agrees best with the
        reference bouts, and the start is not trimmed so short walks keep their
        seconds): each second looks :data:`WALK_CONTEXT_S` seconds back and ahead, so
        labels lag the data by that much, the same in every batching."""
        raw = self._walking_raw(block)
        raw_ahead = self._walking_raw(ahead)
        k = WALK_CONTEXT_S
        pad = np.zeros(k - raw_ahead.shape[0], dtype=np.bool_)
        seq = np.concatenate([self._raw_walk_tail, raw, raw_ahead, pad])
        self._raw_walk_tail = np.concatenate([self._raw_walk_tail, raw])[-k:]
        dilated = seq.copy()
        dilated[1:-1] = seq[:-2] | seq[1:-1] | seq[2:]
        closed = dilated.copy()
        closed[2:-2] = dilated[1:-3] & dilated[2:-2] & dilated[3:-1]
        walking = closed[3:-3] & closed[4:-2]
        return np.asarray(walking, dtype=np.bool_)

    # labelling ---------------------------------------------------------------------------
    def _release_held(self, *, force: bool, out: BlockUpdate) -> None:
        if not self._held or not self._resolve_alignment(force):
            return
        held, self._held, self._held_seconds = self._held, [], 0
        for start, block, walking in held:
            labelled = self._label(start, block, walking)
            self._after_label(labelled, out)

    def _label(
        self, start: int, block: dict[str, FloatArray], walking: NDArray[np.bool_]
    ) -> SecondBlock:
        n = next(iter(block.values())).shape[0]
        inc: dict[str, FloatArray] = {}
        tilt: dict[str, FloatArray] = {}
        present = np.ones(n, dtype=np.bool_)
        for p, rows in block.items():
            present &= rows[:, F.COUNT] > 0
            inc[p], tilt[p] = segment_angles(self._axes[p], unit_rows(rows[:, F.ACC]))
        nan = np.full(n, np.nan)
        pelvis = inc.get(LOWER, nan)
        trunk = inc.get(UPPER, nan)
        lumbar = trunk - pelvis
        ref = pelvis if LOWER in inc else trunk
        with np.errstate(invalid="ignore"):
            code = self._classify(block, inc, tilt, walking, present)
            self._debounce(code, lumbar, pelvis)
            # Plausibility: walking happens upright.
            walk_tilts = np.vstack([t[walking & present] for t in tilt.values()])
        if walk_tilts.size:
            self._check_walking_upright(start, walk_tilts)
        if n:
            self._prev_ref = float(ref[-1])
        lumbar = np.where(present, lumbar, np.nan)
        trusted = present & self._orientation_ok & self._trusted_alignment()
        self._untrusted_labelled += int(np.count_nonzero(present & ~trusted))
        acc_std = (
            np.nanmax(np.vstack([rows[:, F.ACC_STD] for rows in block.values()]), axis=0)
            if np.any(present)
            else nan
        )
        return SecondBlock(
            start_s=start + np.arange(n, dtype=np.float64),
            code=code,
            lumbar_flexion_deg=lumbar,
            trunk_inclination_deg=np.where(present, trunk, np.nan),
            pelvis_inclination_deg=np.where(present, pelvis, np.nan),
            acc_std_mps2=np.asarray(acc_std, dtype=np.float64),
            trusted=np.asarray(trusted, dtype=np.bool_),
        )

    def _classify(
        self,
        block: dict[str, FloatArray],
        inc: dict[str, FloatArray],
        tilt: dict[str, FloatArray],
        walking: NDArray[np.bool_],
        present: NDArray[np.bool_],
    ) -> NDArray[np.int8]:
        """The posture code of each second from the segments' inclinations ``inc`` and
        sideways tilts ``tilt`` (deg), before debouncing."""
        s = self.settings
        n = present.shape[0]
        nan = np.full(n, np.nan)
        pelvis = inc.get(LOWER, nan)
        lumbar = inc.get(UPPER, nan) - pelvis
        ref = pelvis if LOWER in inc else inc[UPPER]
        ref_rows = block[LOWER] if LOWER in block else block[UPPER]
        mean_tilt = np.nanmean(np.vstack(list(tilt.values())), axis=0) if tilt else nan
        previous = np.concatenate([[self._prev_ref], ref[:-1]])
        lying = mean_tilt > s.lying_tilt_deg
        step = np.abs(ref - previous)
        moving = (ref_rows[:, F.GYR_RMS] > s.transition_gyr_dps) | (step > s.transition_step_deg)
        code = np.full(n, CODE[UPRIGHT], dtype=np.int8)
        if LOWER in inc:
            sitting = pelvis < s.sitting_pelvis_deg
            code[:] = CODE[STANDING]
            if len(self.placements) == 2:
                slouched = lumbar > self.slouch_threshold_deg
            else:
                slouched = pelvis < s.pelvis_slouch_deg
            code[sitting & ~slouched] = CODE[SITTING_UPRIGHT]
            code[sitting & slouched] = CODE[SITTING_SLOUCHED]
        code[moving] = CODE[TRANSITION]
        code[lying & ~walking] = CODE[LYING]
        # A deep forward bend: the reference segment far forward, mostly sagittal.
        ref_tilt = tilt[LOWER] if LOWER in tilt else tilt[UPPER]
        forward = (ref > s.bending_deg) & (ref > 0.7 * ref_tilt) & ~walking & present
        code[forward & (ref_tilt < s.bending_max_tilt_deg)] = CODE[BENDING]
        # Beyond bending_max_tilt_deg forward: a stoop to the floor while brief, lying
        # face down once it lasts (causal: the run so far decides).
        deep = forward & (ref_tilt >= s.bending_max_tilt_deg)
        run = self._deep_run
        for i, is_deep in enumerate(deep.tolist()):
            run = run + 1 if is_deep else 0
            if is_deep:
                code[i] = CODE[LYING] if run > s.prone_confirm_s else CODE[BENDING]
        self._deep_run = run
        code[walking] = CODE[WALKING]
        code[~present] = CODE[UNKNOWN]
        return code

    def _check_walking_upright(self, start: int, walk_tilts: FloatArray) -> None:
        """While walking the trunk is upright: a sensor reading it tilted has moved (the
        posture after that is not trusted, with the reason)."""
        s = self.settings
        bad = np.any(walk_tilts > s.walking_max_tilt_deg, axis=0)
        self._walk_checked += int(bad.shape[0])
        self._walk_bad += int(np.count_nonzero(bad))
        if (
            self._orientation_ok
            and self._walk_checked >= s.min_walking_for_check_s
            and self._walk_bad > 0.5 * self._walk_checked
        ):
            self._orientation_ok = False
            self._messages.append(
                f"from {start:.0f} s on: while walking a sensor reads the trunk more than "
                f"{s.walking_max_tilt_deg:.0f}° from upright — it has moved, turned or come "
                "off; the posture after this point is not trusted. Re-attach it and "
                "record a new calibration"
            )

    def _debounce(self, code: NDArray[np.int8], lumbar: FloatArray, pelvis: FloatArray) -> None:
        """Sitting → standing needs ``stand_confirm_s`` standing seconds in a row unless a
        transition or walking came between: arching the back while sitting (the cow of a
        seated cat-cow) tilts the pelvis like standing for a second or two. Causal."""
        need = self.settings.stand_confirm_s
        stand = CODE[STANDING]
        sit_codes = SITTING_CODES
        two = len(self.placements) == 2
        threshold = self.slouch_threshold_deg
        for i, c in enumerate(code.tolist()):
            if c in sit_codes:
                self._still_state, self._stand_run = "sitting", 0
            elif c == stand:
                if self._still_state == "sitting":
                    self._stand_run += 1
                    if self._stand_run < need:
                        slouched = (
                            lumbar[i] > threshold
                            if two
                            else pelvis[i] < self.settings.pelvis_slouch_deg
                        )
                        code[i] = CODE[SITTING_SLOUCHED] if slouched else CODE[SITTING_UPRIGHT]
                        continue
                self._still_state, self._stand_run = "standing", 0
            elif c != CODE[UNKNOWN]:
                self._still_state, self._stand_run = "", 0

    # aggregation ---------------------------------------------------------------------------
    def _after_label(self, block: SecondBlock, out: BlockUpdate) -> None:
        out.block = block if out.block is None else concat_blocks([out.block, block])
        self._day.add(block, out)

    def _close(self, out: BlockUpdate) -> None:
        self._day.close(out)

    @property
    def bouts(self) -> list[SittingBout]:
        """The sitting bouts ended so far."""
        return self._day.bouts

    def _public(self, out: BlockUpdate) -> PostureUpdate:
        return PostureUpdate(
            seconds=out.block.seconds() if out.block is not None else (),
            minutes=tuple(out.minutes),
            bouts=tuple(out.bouts),
            breaks=tuple(out.breaks),
            desk_breaks=tuple(out.desk_breaks),
        )
