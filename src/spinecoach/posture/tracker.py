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
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from spinecoach.conventions import (
    LOWER,
    PLACEMENTS,
    STANDARD_GRAVITY_MPS2,
    UPPER,
)
from spinecoach.errors import CalibrationError, ConfigurationError, UnitError
from spinecoach.motion.calibration import calibrate_segment, plan_from_events
from spinecoach.posture import features as F
from spinecoach.posture.alignment import (
    NOMINAL_AXES,
    segment_angles,
    unit_rows,
)
from spinecoach.posture.forward import ForwardEstimate, ForwardLearner
from spinecoach.posture.model import (
    BENDING,
    LYING,
    POSTURE_CLASSES,
    SITTING_SLOUCHED,
    SITTING_UPRIGHT,
    STANDING,
    TRANSITION,
    UNKNOWN,
    UPRIGHT,
    WALKING,
    DeskBreak,
    MinuteSummary,
    PostureSecond,
    PostureSettings,
    PostureUpdate,
    SittingBout,
    SittingBreak,
    TrustReport,
)
from spinecoach.recording import Event

FloatArray = NDArray[np.float64]
CODE: Final[dict[str, int]] = {name: i for i, name in enumerate(POSTURE_CLASSES)}
_SITTING_CODES: Final = (CODE[SITTING_UPRIGHT], CODE[SITTING_SLOUCHED])
#: Calibration windows ending later than this (s) are ignored (not a start-of-day one).
MAX_CALIBRATION_READY_S: Final = 900.0
#: Seconds held back while waiting for walking to find the neutral without calibration.
MAX_HOLD_S: Final = 1800
#: The learnt alignment is judged every this many seconds of data (whole multiples).
LEARN_STEP_S: Final = 60
#: Seconds of context each side of a second for the walking decision (labels lag by it).
WALK_CONTEXT_S: Final = 3
DEFAULT_SLOUCH_DEG: Final = 15.0
#: How the sensors' up and forward are found (``posture --calibration``):
#: ``auto`` the recording's calibration windows, else learnt from the wear; ``protocol``
#: the same here (the CLI refuses a day without calibration windows); ``neutral-only`` up
#: from a neutral window (declared, else the calibration windows' neutral) and forward
#: from the documented mounting; ``none`` up and forward from the documented mounting
#: (sensor x up the spine, z out of the skin). A declared neutral (``neutral_s``) with
#: ``auto`` replaces the up found, and keeps the forward found.
POSTURE_CALIBRATIONS: Final = ("auto", "protocol", "neutral-only", "none")
#: A declared up more than this (deg) off the upright learnt from walking is not trusted.
DECLARED_MAX_TILT_DEG: Final = 12.0
#: The declared alignments the person vouches for (trusted unless the walking check fails).
DECLARED: Final = "declared"


@dataclass
class SecondBlock:
    """Consecutive labelled seconds as arrays (the batch path keeps these)."""

    start_s: FloatArray
    code: NDArray[np.int8]
    lumbar_flexion_deg: FloatArray
    trunk_inclination_deg: FloatArray
    pelvis_inclination_deg: FloatArray
    acc_std_mps2: FloatArray
    trusted: NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.start_s.shape[0])

    def seconds(self) -> tuple[PostureSecond, ...]:
        return tuple(
            PostureSecond(
                start_s=float(self.start_s[i]),
                label=POSTURE_CLASSES[int(self.code[i])],
                lumbar_flexion_deg=float(self.lumbar_flexion_deg[i]),
                trunk_inclination_deg=float(self.trunk_inclination_deg[i]),
                pelvis_inclination_deg=float(self.pelvis_inclination_deg[i]),
                acc_std_mps2=float(self.acc_std_mps2[i]),
                trusted=bool(self.trusted[i]),
            )
            for i in range(len(self))
        )


@dataclass
class BlockUpdate:
    block: SecondBlock | None = None
    minutes: list[MinuteSummary] = field(default_factory=list)
    bouts: list[SittingBout] = field(default_factory=list)
    breaks: list[SittingBreak] = field(default_factory=list)
    desk_breaks: list[DeskBreak] = field(default_factory=list)


class PostureTracker:
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
        self._mode, self._neutral_window = _check_alignment(calibration, neutral_s, self._plan)
        self._neutral_up: dict[str, FloatArray] = {}
        self._declared_checked = False
        self._declared_conflict = False
        self._held: list[tuple[int, dict[str, FloatArray], NDArray[np.bool_]]] = []
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
        # minute state
        self._minute_rows: list[SecondBlock] = []
        # bout state
        self._bout_start: float | None = None
        self._bout_last_sit: float = 0.0
        self._bout_sitting = 0
        self._bout_slouched = 0
        self._gap_run = 0
        self._gap_stand = 0
        self._gap_walk = 0
        self._last_bout_end: float | None = None
        self._between_stand = 0
        self._between_walk = 0
        self.bouts: list[SittingBout] = []
        # desk-break state
        w = self.settings.desk_break_window_s
        self._db_signal = np.full(w - 1, np.nan)
        self._db_start: float | None = None
        self._db_end = 0.0
        self._db_external: list[DeskBreak] = []

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

    def _trusted_alignment(self) -> bool:
        if self._calibration == DECLARED:
            return not self._declared_conflict
        return self._calibration == "annotations" or (
            self._calibration == "learnt" and self._forward_resolved
        )

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
        self._db_external.append(item)
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

    def _learn(self, start: int, block: dict[str, FloatArray], walking: NDArray[np.bool_]) -> None:
        """Feed the forward learners while the alignment is not settled from annotations."""
        if self._calibration == DECLARED:
            # Keep learning: the declared mounting is checked against the wear.
            if self._declared_checked:
                return
        elif self._calibration in ("annotations",) or self._forward_resolved:
            return
        if self._calibration == "pending" and self._plan is not None:
            return
        for p, rows in block.items():
            self._learners[p].add(start, rows, walking)

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

    def _resolve_alignment(self, force: bool) -> bool:
        """Settle the axes when possible; True once settled. Without calibration windows
        the learnt alignment is settled at checkpoints (:meth:`_checkpoint`) or, at the
        end of the data, with whatever was learnt."""
        if self._calibration != "pending":
            return True
        if not force and not self._neutral_seen():
            return False
        if self._mode == "neutral-only":
            self._settle_declared()
            return True
        if self._plan is not None:
            if self._next is None or (self._next < self._plan.ready_time_s and not force):
                return False
            if self._calibrate_from_plan():
                return True
            self._plan = None
            for start, block, walking in self._held:
                self._learn(start, block, walking)
            self._settle_learnt(self._estimates(), at_s=None, force=True)
            return True
        if not force:
            return False
        self._settle_learnt(self._estimates(), at_s=None, force=True)
        return True

    def _estimates(self) -> dict[str, ForwardEstimate]:
        return {p: self._learners[p].estimate(guess_axes=NOMINAL_AXES) for p in self.placements}

    def _checkpoint(self, at_s: int) -> None:
        """At a whole minute of data: settle the learnt alignment when every sensor's
        forward is known (or after MAX_HOLD_S of holding, with the best guess), or, once
        settled on a guess, switch to the learnt axes from this second on."""
        if self._calibration == DECLARED:
            self._check_declared()
        elif self._calibration == "pending" and self._plan is None and self._mode != "neutral-only":
            if not self._neutral_seen() and self._held_seconds < MAX_HOLD_S:
                return
            self._settle_learnt(
                self._estimates(), at_s=None, force=self._held_seconds >= MAX_HOLD_S
            )
        elif self._calibration in ("learnt", "nominal") and not self._forward_resolved:
            estimates = self._estimates()
            if all(e.resolved for e in estimates.values()):
                self._settle_learnt(estimates, at_s=at_s, force=True)

    def _check_declared(self) -> None:
        """Once the wear has taught forward, a declared mounting whose forward is more
        than 45° off it is not trusted (the person's declaration against the steps and
        the sitting tilts), with the reason."""
        if self._declared_checked:
            return
        estimates = self._estimates()
        if not all(e.resolved and e.axes is not None for e in estimates.values()):
            return
        self._declared_checked = True
        for p, e in estimates.items():
            assert e.axes is not None
            up = self._axes[p][1]
            learnt = e.axes[0] - float(e.axes[0] @ up) * up
            norm = float(np.linalg.norm(learnt))
            if norm < 1e-6:
                continue
            off = float(np.degrees(np.arccos(np.clip(self._axes[p][0] @ learnt / norm, -1, 1))))
            tilt = float(np.degrees(np.arccos(np.clip(e.axes[1] @ up, -1.0, 1.0))))
            if tilt > DECLARED_MAX_TILT_DEG:
                self._declared_conflict = True
                self._messages.append(
                    f"the {p} sensor's declared up is {tilt:.0f}° off the upright learnt from "
                    "walking: standing would read as a lean, so the day is not trusted; "
                    "declare a standing window with --neutral START:END or use --calibration "
                    "auto"
                )
            if off > 45.0:
                self._declared_conflict = True
                self._messages.append(
                    f"the {p} sensor's declared forward is {off:.0f}° off the forward learnt "
                    "from the wear: the sensor is not worn as declared, so the day is not "
                    "trusted; use --calibration auto"
                )

    def _settle_learnt(
        self, estimates: dict[str, ForwardEstimate], *, at_s: int | None, force: bool
    ) -> None:
        """Axes from the learners (every sensor resolved: trusted; else, when ``force``,
        the best guess, not trusted, with the reason; else nothing changes)."""
        resolved = all(e.resolved for e in estimates.values())
        if not resolved and not force:
            return
        have_up = all(e.axes is not None for e in estimates.values())
        self._calibration = "learnt" if have_up else "nominal"
        for p, e in estimates.items():
            self._axes[p] = self._declared_up(
                p, e.axes if e.axes is not None else NOMINAL_AXES.copy()
            )
        self._forward_method = ", ".join(
            f"{p}: {e.method}" for p, e in estimates.items() if e.resolved
        )
        when = "" if at_s is None else f"from {at_s} s on: "
        if resolved:
            self._forward_resolved = True
            if at_s is not None:
                self._messages.append(
                    f"{when}up and forward learnt from the wear ({self._forward_method}); the "
                    "seconds before are not trusted"
                )
            return
        if not self._forward_pending_said:
            self._forward_pending_said = True
            reasons = "; ".join(
                f"{p} sensor: {e.reason}" for p, e in estimates.items() if not e.resolved
            )
            self._messages.append(
                f"{reasons} — the posture is labelled with the best guess and not trusted "
                "until forward is learnt (walk for a minute, sit down and get up, or record "
                "the calibration: a still standing hold and slow forward bends)"
            )

    def _neutral_seen(self) -> bool:
        """The declared neutral window has passed (True when there is none)."""
        if self._neutral_window is None:
            return True
        return self._next is not None and self._next >= self._neutral_window[1]

    def _neutral_ups(self) -> dict[str, FloatArray]:
        """Each sensor's mean up over the neutral window (from the held seconds), once."""
        window = self._neutral_window
        if window is None or self._neutral_up:
            return self._neutral_up
        for p in self.placements:
            ups = self._window_ups(p, window)
            if ups.shape[0] == 0:
                raise CalibrationError(
                    f"the neutral window {window[0]:g}–{window[1]:g} s holds no {p} sensor "
                    "data; declare a window inside the recording (--neutral START:END, "
                    "seconds of standing still, upright)"
                )
            up = ups.mean(axis=0)
            self._neutral_up[p] = up / float(np.linalg.norm(up))
        return self._neutral_up

    def _declared_up(self, placement: str, axes: FloatArray) -> FloatArray:
        """``axes`` with their superior axis from the declared neutral window (when one
        was declared), the anterior axis kept as near as possible."""
        if self._mode == "neutral-only" or self._neutral_window is None:
            return axes
        up = self._neutral_ups().get(placement)
        return axes if up is None else _axes_with_up(axes, up, placement)

    def _settle_declared(self) -> None:
        """``neutral-only``: up from the neutral window, forward from the mounting."""
        ups = self._neutral_ups()
        self._axes = {p: _axes_with_up(NOMINAL_AXES, ups[p], p) for p in self.placements}
        self._calibration = DECLARED
        self._forward_resolved = True
        assert self._neutral_window is not None
        a, b = self._neutral_window
        self._messages.append(
            f"up from the neutral window {a:g}–{b:g} s and forward from the documented "
            "mounting (--calibration neutral-only), as declared; the walking check still "
            "applies"
        )

    def _window_ups(self, placement: str, window: tuple[float, float]) -> FloatArray:
        ups = []
        for start, block, _ in self._held:
            rows = block[placement]
            quarters = rows[:, F.QUARTERS].reshape(-1, 4, 3)
            times = start + np.arange(rows.shape[0])[:, None] + (np.arange(4) + 0.5) / 4.0
            inside = (times >= window[0]) & (times <= window[1])
            ups.append(quarters[inside])
        values = np.concatenate(ups) if ups else np.empty((0, 3))
        values = unit_rows(values)
        return values[np.all(np.isfinite(values), axis=1)]

    def _calibrate_from_plan(self) -> bool:
        plan = self._plan
        assert plan is not None
        axes: dict[str, FloatArray] = {}
        bends: dict[str, FloatArray] = {}
        for p in self.placements:
            neutral = self._window_ups(p, plan.neutral)
            functional = self._window_ups(p, plan.functional)
            try:
                cal = calibrate_segment(
                    p,
                    neutral,
                    functional,
                    nominal_inclination_deg=0.0,
                    ready_time_s=plan.ready_time_s,
                )
            except CalibrationError as error:
                self._messages.append(
                    f"calibration failed ({error}); falling back to the walking check"
                )
                return False
            axes[p] = self._declared_up(p, np.array(cal.axes))
            bends[p] = segment_angles(axes[p], functional)[0] if functional.size else functional
        self._axes = axes
        self._calibration = "annotations"
        if self._slouch_deg is None and len(self.placements) == 2:
            n = min(bends[LOWER].shape[0], bends[UPPER].shape[0])
            if n:
                peak = float(np.percentile(bends[UPPER][:n] - bends[LOWER][:n], 98))
                self._slouch_deg = float(np.clip(0.5 * peak, 12.0, 25.0))
                self._slouch_source = "half the lumbar flexion of the calibration bends"
        return True

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
        s = self.settings
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
        ref_rows = block[LOWER] if LOWER in block else block[UPPER]
        mean_tilt = np.nanmean(np.vstack(list(tilt.values())), axis=0) if tilt else nan
        previous = np.concatenate([[self._prev_ref], ref[:-1]])
        with np.errstate(invalid="ignore"):
            lying = mean_tilt > s.lying_tilt_deg
            step = np.abs(ref - previous)
            moving = (ref_rows[:, F.GYR_RMS] > s.transition_gyr_dps) | (
                step > s.transition_step_deg
            )
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
            self._debounce(code, lumbar, pelvis)
            # Plausibility: walking happens upright.
            walk_tilts = np.vstack([t[walking & present] for t in tilt.values()])
        if walk_tilts.size:
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

    def _debounce(self, code: NDArray[np.int8], lumbar: FloatArray, pelvis: FloatArray) -> None:
        """Sitting → standing needs ``stand_confirm_s`` standing seconds in a row unless a
        transition or walking came between: arching the back while sitting (the cow of a
        seated cat-cow) tilts the pelvis like standing for a second or two. Causal."""
        need = self.settings.stand_confirm_s
        stand = CODE[STANDING]
        sit_codes = _SITTING_CODES
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
        out.block = block if out.block is None else _concat(out.block, block)
        self._minutes(block, out)
        self._bouts(block, out)
        self._desk_breaks(block, out)

    def _minutes(self, block: SecondBlock, out: BlockUpdate, *, final: bool = False) -> None:
        if len(block):
            self._minute_rows.append(block)
        if not self._minute_rows:
            return
        rows = concat_blocks(self._minute_rows)
        minute = np.floor(rows.start_s / 60.0)
        edges = np.flatnonzero(np.diff(minute)) + 1
        bounds = [0, *edges.tolist(), len(rows)]
        complete = len(bounds) - 1 if final else len(bounds) - 2
        for i in range(complete):
            a, b = bounds[i], bounds[i + 1]
            out.minutes.append(_summarise(rows, a, b, float(minute[a] * 60.0)))
        keep = bounds[complete]
        self._minute_rows = [_slice(rows, keep, len(rows))] if keep < len(rows) else []

    def _bouts(self, block: SecondBlock, out: BlockUpdate) -> None:
        gap_limit = self.settings.bout_gap_s
        codes = block.code.tolist()
        starts = block.start_s.tolist()
        sit_u, sit_s = CODE[SITTING_UPRIGHT], CODE[SITTING_SLOUCHED]
        stand, walk = CODE[STANDING], CODE[WALKING]
        for code, t in zip(codes, starts, strict=True):
            if code in (sit_u, sit_s):
                if self._bout_start is None:
                    self._bout_start = t
                    self._bout_sitting = self._bout_slouched = 0
                self._bout_last_sit = t
                self._between_stand -= self._gap_stand  # a short gap is inside the bout
                self._between_walk -= self._gap_walk
                self._bout_sitting += 1
                self._bout_slouched += code == sit_s
                self._gap_run = self._gap_stand = self._gap_walk = 0
                continue
            self._between_stand += code == stand
            self._between_walk += code == walk
            if self._bout_start is None:
                continue
            self._gap_run += 1
            self._gap_stand += code == stand
            self._gap_walk += code == walk
            if self._gap_run >= gap_limit:
                self._end_bout(out, stand_after=self._gap_stand, walk_after=self._gap_walk)

    def _end_bout(self, out: BlockUpdate, *, stand_after: int, walk_after: int) -> None:
        assert self._bout_start is not None
        end = self._bout_last_sit + 1.0
        if end - self._bout_start >= self.settings.min_bout_s:
            bout = SittingBout(self._bout_start, end, self._bout_sitting, self._bout_slouched)
            if self._last_bout_end is not None:
                standing = self._between_stand - stand_after
                walking = self._between_walk - walk_after
                if standing + walking > 0:
                    out.breaks.append(
                        SittingBreak(self._last_bout_end, bout.start_s, standing, walking)
                    )
            out.bouts.append(bout)
            self.bouts.append(bout)
            self._last_bout_end = end
            self._between_stand = stand_after
            self._between_walk = walk_after
        self._bout_start = None
        self._gap_run = self._gap_stand = self._gap_walk = 0

    def _desk_breaks(self, block: SecondBlock, out: BlockUpdate, *, final: bool = False) -> None:
        s = self.settings
        w = s.desk_break_window_s
        two = len(self.placements) == 2
        if self.placements == (UPPER,):
            return
        signal = block.lumbar_flexion_deg if two else block.pelvis_inclination_deg
        # Still seconds carry the signal (the arch of a cat-cow can look like standing
        # for a second); +1000 marks sitting ones so one array carries both.
        sitting = np.isin(block.code, _SITTING_CODES)
        still = sitting | np.isin(block.code, (CODE[STANDING], CODE[TRANSITION]))
        values = np.where(still, signal, np.nan) + np.where(sitting, 1000.0, 0.0)
        series = np.concatenate([self._db_signal, values])
        self._db_signal = series[-(w - 1) :]
        if series.shape[0] < w:
            return
        marked = np.lib.stride_tricks.sliding_window_view(series, w)
        sitting_share = np.mean(marked > 500.0, axis=1)
        windows = np.where(marked > 500.0, marked - 1000.0, marked)
        ok = np.all(np.isfinite(windows), axis=1) & (sitting_share >= 0.75)
        active = np.zeros(windows.shape[0], dtype=np.bool_)
        if np.any(ok):
            good = windows[ok]
            p5, p50, p95 = np.percentile(good, [5, 50, 95], axis=1)
            # Crossings with hysteresis (a quarter of the swing each side of the median):
            # a step from upright to slouched crosses once, noise around a level never.
            band = 0.25 * (p95 - p5)
            state = np.zeros(good.shape[0], dtype=np.int8)
            crossings = np.zeros(good.shape[0], dtype=np.int64)
            for column in good.T:
                level = np.where(
                    column > p50 + band, 1, np.where(column < p50 - band, -1, 0)
                ).astype(np.int8)
                flip = (level != 0) & (state != 0) & (level != state)
                crossings += flip
                state = np.where(level != 0, level, state)
            swing_need = s.desk_break_swing_deg if two else 0.5 * s.desk_break_swing_deg
            active[ok] = ((p95 - p5) >= swing_need) & (crossings >= 2 * s.desk_break_min_cycles)
        # Window i ends at second block.start_s[i] (the last w - 1 came from before).
        ends = block.start_s[-active.shape[0] :] + 1.0
        for is_on, end in zip(active.tolist(), ends.tolist(), strict=True):
            if is_on:
                if self._db_start is None:
                    self._db_start = end - w
                self._db_end = end
            elif self._db_start is not None and end - 1.0 > self._db_end:
                self._emit_desk_break(out)
        if final and self._db_start is not None:
            self._emit_desk_break(out)

    def _emit_desk_break(self, out: BlockUpdate) -> None:
        assert self._db_start is not None
        if self._db_end - self._db_start >= self.settings.desk_break_min_s:
            out.desk_breaks.append(DeskBreak(self._db_start, self._db_end, "detected"))
        self._db_start = None

    def _close(self, out: BlockUpdate) -> None:
        empty = empty_block()
        self._minutes(empty, out, final=True)
        if self._bout_start is not None:
            self._end_bout(out, stand_after=self._gap_stand, walk_after=self._gap_walk)
        if self._db_start is not None:
            self._emit_desk_break(out)
        out.desk_breaks.extend(self._db_external)
        self._db_external = []

    def _public(self, out: BlockUpdate) -> PostureUpdate:
        return PostureUpdate(
            seconds=out.block.seconds() if out.block is not None else (),
            minutes=tuple(out.minutes),
            bouts=tuple(out.bouts),
            breaks=tuple(out.breaks),
            desk_breaks=tuple(out.desk_breaks),
        )


def empty_block() -> SecondBlock:
    return SecondBlock(
        np.empty(0),
        np.empty(0, dtype=np.int8),
        np.empty(0),
        np.empty(0),
        np.empty(0),
        np.empty(0),
        np.empty(0, dtype=np.bool_),
    )


def concat_blocks(blocks: list[SecondBlock]) -> SecondBlock:
    if len(blocks) == 1:
        return blocks[0]
    return SecondBlock(*(np.concatenate([getattr(b, f) for b in blocks]) for f in _FIELDS))


_FIELDS: Final = (
    "start_s",
    "code",
    "lumbar_flexion_deg",
    "trunk_inclination_deg",
    "pelvis_inclination_deg",
    "acc_std_mps2",
    "trusted",
)


def _concat(a: SecondBlock, b: SecondBlock) -> SecondBlock:
    return concat_blocks([a, b])


def _slice(block: SecondBlock, a: int, b: int) -> SecondBlock:
    return SecondBlock(*(getattr(block, f)[a:b] for f in _FIELDS))


def _summarise(rows: SecondBlock, a: int, b: int, start_s: float) -> MinuteSummary:
    codes = rows.code[a:b]
    counts = np.bincount(codes, minlength=len(POSTURE_CLASSES))
    seconds = {POSTURE_CLASSES[i]: int(c) for i, c in enumerate(counts.tolist()) if c}
    sit_u, sit_s = int(counts[CODE[SITTING_UPRIGHT]]), int(counts[CODE[SITTING_SLOUCHED]])
    present = codes != CODE[UNKNOWN]
    lumbar = rows.lumbar_flexion_deg[a:b]
    trunk = rows.trunk_inclination_deg[a:b]
    return MinuteSummary(
        start_s=start_s,
        seconds=seconds,
        sitting_s=sit_u + sit_s,
        slouched_s=sit_s,
        mean_lumbar_flexion_deg=_nanmean(lumbar),
        mean_trunk_inclination_deg=_nanmean(trunk),
        trusted=bool(np.all(rows.trusted[a:b][present])) and float(np.mean(present)) >= 0.9,
        coverage=round(float(np.count_nonzero(present)) / 60.0, 4),
    )


def _nanmean(values: FloatArray) -> float:
    ok = np.isfinite(values)
    return float(np.mean(values[ok])) if np.any(ok) else math.nan


__all__ = ["PostureTracker", "SecondBlock"]


def _check_alignment(
    calibration: str, neutral_s: tuple[float, float] | None, plan: Any
) -> tuple[str, tuple[float, float] | None]:
    """(mode, neutral window) from the tracker's arguments, checked."""
    mode = str(calibration).strip().lower()
    if mode not in POSTURE_CALIBRATIONS:
        raise ConfigurationError(
            f"posture calibration {calibration!r} is not a method; use one of: "
            + ", ".join(POSTURE_CALIBRATIONS)
        )
    window: tuple[float, float] | None = None
    if neutral_s is not None:
        try:
            a, b = (float(v) for v in neutral_s)
        except (TypeError, ValueError):
            raise ConfigurationError(
                f"neutral_s must be (start, end) in seconds, got {neutral_s!r}"
            ) from None
        if not (math.isfinite(a) and math.isfinite(b) and 0.0 <= a < b):
            raise ConfigurationError(
                f"neutral_s {neutral_s!r}: start must be at least 0 and before end (s)"
            )
        window = (a, b)
    if mode == "none" and window is not None:
        raise ConfigurationError(
            "--calibration none takes no neutral window: use neutral-only (up from the "
            "window, forward from the mounting) or auto (forward learnt from the wear)"
        )
    if mode == "neutral-only" and window is None:
        if plan is None:
            raise ConfigurationError(
                "--calibration neutral-only needs a neutral window: declare seconds of "
                "standing still, upright, with --neutral START:END (the recording has no "
                "calibration windows to take one from)"
            )
        window = (float(plan.neutral[0]), float(plan.neutral[1]))
    return mode, window


def _axes_with_up(axes: FloatArray, up: FloatArray, placement: str) -> FloatArray:
    """Rows anterior, superior, right with superior = ``up`` and anterior the given one
    made horizontal; refused when that anterior is near vertical (not worn as declared)."""
    forward = axes[0] - float(axes[0] @ up) * up
    norm = float(np.linalg.norm(forward))
    if norm < 0.3:
        raise CalibrationError(
            f"the {placement} sensor's forward axis points almost straight up or down in "
            "the neutral window, so it is not worn as declared; use --calibration auto to "
            "learn up and forward from the wear"
        )
    forward = forward / norm
    return np.vstack([forward, up, np.cross(forward, up)])
