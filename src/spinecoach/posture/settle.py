"""How the posture tracker finds each sensor's up and forward, and when it trusts them.

:class:`AlignmentSettling` is the part of
:class:`~spinecoach.posture.tracker.PostureTracker` that settles the alignment: from the
recording's calibration windows, from a declared neutral window and the documented
mounting, or learnt from the wear (walking, sitting down and getting up), checked against
the walking when declared. It is a mixin: the tracker holds the state (declared below)
and calls these steps while it feeds; they were split from the tracker because they are
one concern with its own rules (:data:`POSTURE_CALIBRATIONS`), not to be used alone.

Design choices: the learnt alignment is judged at whole minutes of data
(:data:`~spinecoach.posture.tracker.LEARN_STEP_S`), so it changes at the same second
however the data were batched; seconds are held (at most :data:`MAX_HOLD_S`) until the
alignment is known, so no second is labelled with axes that are changed later.
"""

from __future__ import annotations

import math
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from spinecoach.conventions import LOWER, UPPER
from spinecoach.errors import CalibrationError, ConfigurationError
from spinecoach.motion.calibration import CalibrationPlan, calibrate_segment
from spinecoach.posture import features as F
from spinecoach.posture.alignment import NOMINAL_AXES, segment_angles, unit_rows
from spinecoach.posture.forward import ForwardEstimate, ForwardLearner
from spinecoach.posture.model import PostureSettings

FloatArray = NDArray[np.float64]
#: Calibration windows ending later than this (s) are ignored (not a start-of-day one).
MAX_CALIBRATION_READY_S: Final = 900.0
#: Seconds held back while waiting for walking to find the neutral without calibration.
MAX_HOLD_S: Final = 1800
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

HeldBlock = tuple[int, dict[str, FloatArray], NDArray[np.bool_]]
"""Seconds held until the alignment is known: (first second, rows per sensor, walking)."""


class AlignmentSettling:
    """The alignment steps of the posture tracker (a mixin; the tracker sets the state)."""

    settings: PostureSettings
    placements: tuple[str, ...]
    _axes: dict[str, FloatArray]
    _messages: list[str]
    _calibration: str
    _plan: CalibrationPlan | None
    _mode: str
    _neutral_window: tuple[float, float] | None
    _neutral_up: dict[str, FloatArray]
    _declared_checked: bool
    _declared_conflict: bool
    _held: list[HeldBlock]
    _held_seconds: int
    _learners: dict[str, ForwardLearner]
    _forward_resolved: bool
    _forward_pending_said: bool
    _forward_method: str
    _next: int | None
    _slouch_deg: float | None
    _slouch_source: str

    def _trusted_alignment(self) -> bool:
        if self._calibration == DECLARED:
            return not self._declared_conflict
        return self._calibration == "annotations" or (
            self._calibration == "learnt" and self._forward_resolved
        )

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
        return axes if up is None else axes_with_up(axes, up, placement)

    def _settle_declared(self) -> None:
        """``neutral-only``: up from the neutral window, forward from the mounting."""
        ups = self._neutral_ups()
        self._axes = {p: axes_with_up(NOMINAL_AXES, ups[p], p) for p in self.placements}
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


def check_alignment(
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


def axes_with_up(axes: FloatArray, up: FloatArray, placement: str) -> FloatArray:
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
