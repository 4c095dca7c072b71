"""Sensor-to-body alignment learnt from the wear itself: "up" and "forward" of a sensor
worn in any orientation (a belt clip, a phone in a waist pouch or pocket, turned about
the vertical by any angle, tilted, upside down).

Up
    The mean direction of the specific force over the walking seconds (walking is found
    from the acceleration magnitude alone, so whatever the orientation): upright, with the
    sensor's own tilt on the body included.
Forward axis
    From walking: the horizontal acceleration that goes with the vertical bounce of the
    steps. Per second the features hold Σ y yᵀ and Σ y(t) y(t + 0.12 s)ᵀ (y: the
    acceleration minus its mean); with P the horizontal projector, ``c0 = P·Σyyᵀ·u`` is
    the horizontal acceleration in phase with the vertical one and
    ``d = P·(Σ y(t)y(t+L)ᵀ − its transpose)·u`` the part a quarter step ahead of it.
    Side-to-side sway runs at the stride frequency (half the step frequency) and does not
    correlate with the bounce; the fore-aft surge runs at the step frequency and does:
    the principal direction of ``c0 c0ᵀ + d dᵀ`` is the fore-aft axis.
Forward sign, two independent cues
    *Gait*: in real walking the trunk speeds up before it rises (the inverted pendulum:
    fastest at double support, slowest at mid-stance), so the forward acceleration leads
    the vertical one by about a quarter step: ``d`` points forward. Measured on the real
    lower-back recordings of ``../shared/data/mobgap`` (9 trials, 3 people): the sign
    agrees in every trial with walking. Used when the quarter-step part is at least
    :attr:`PostureSettings.gait_sign_min_share` of the fore-aft coupling (the simulator's
    gait has no fore-aft surge, so on simulated days this cue is silent).
    *Posture*: sitting tilts the pelvis backwards (≈10–25° from standing) and bending
    tilts it forwards (30–80°, in short bouts): still seconds tilted 8–35° from up vote
    that their direction is backward, brief runs (≤ 60 s) tilted 35–80° vote that theirs
    is forward; only tilts mostly along the fore-aft axis vote. The cue holds when at
    least :attr:`PostureSettings.posture_sign_min_votes` seconds voted with a majority
    of :attr:`PostureSettings.posture_sign_min_share`.
    When both cues hold and disagree the sensor is not trusted; when neither holds yet the
    alignment waits (and the seconds it could not wait for are labelled with the best guess
    and *not trusted*, with the reason).

Without walking there is no up: the nominal mounting is used and nothing is trusted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from spinecoach.posture import features as F
from spinecoach.posture.model import PostureSettings

FloatArray = NDArray[np.float64]

#: Still seconds kept for the posture cue (s); older ones are dropped (bounded memory).
MAX_CUE_SECONDS: Final = 6 * 3600
#: A second is still for the posture cue when its acceleration-magnitude SD is below this.
STILL_ACC_STD_MPS2: Final = 0.3


@dataclass(frozen=True)
class ForwardEstimate:
    """The learnt alignment of one sensor.

    axes: rows X (anterior), Y (superior), Z (right) in sensor coordinates (None without
    walking); resolved: the forward sign is known (trust it); method: the cues used
    (``"gait"``, ``"posture"``, ``"gait+posture"``, or ``""``); reason: why it is not
    resolved (empty when it is); walking_s, votes: the evidence counted; gait_share and
    posture_share: the cues' strengths (0–1, NaN when absent).
    """

    axes: FloatArray | None
    resolved: bool
    method: str
    reason: str
    walking_s: int
    votes: int
    gait_share: float
    posture_share: float


class ForwardLearner:
    """Accumulates one sensor's per-second feature rows and learns up and forward.

    >>> learner = ForwardLearner(PostureSettings())
    >>> learner.estimate().reason.startswith("no walking yet")
    True
    """

    def __init__(self, settings: PostureSettings) -> None:
        self.settings = settings
        self._up_sum = np.zeros(3)
        self._walk_s = 0
        self._gait = np.zeros(F.GAITLAG.stop - F.GAIT0.start)
        self._still_up: list[FloatArray] = []
        self._still_t: list[NDArray[np.int64]] = []
        self._still_n = 0

    @property
    def walking_s(self) -> int:
        return self._walk_s

    def add(self, start: int, rows: FloatArray, walking: NDArray[np.bool_]) -> None:
        """Add feature rows of seconds ``start ..`` and their walking flags."""
        present = rows[:, F.COUNT] > 0
        norm = np.linalg.norm(rows[:, F.ACC], axis=1)
        ok = present & np.isfinite(norm) & (norm > 0)
        walk = walking & ok
        if np.any(walk):
            # Summed second after second (a running sum in time order), so the totals are
            # the same bits however the seconds were batched.
            self._up_sum = _running_sum(self._up_sum, rows[walk][:, F.ACC] / norm[walk][:, None])
            self._walk_s += int(np.count_nonzero(walk))
            gait = np.nan_to_num(rows[walk][:, F.GAIT0.start : F.GAITLAG.stop])
            self._gait = _running_sum(self._gait, gait)
        with np.errstate(invalid="ignore"):
            still = ok & ~walking & (rows[:, F.ACC_STD] < STILL_ACC_STD_MPS2)
        if np.any(still):
            self._still_up.append(rows[still][:, F.ACC] / norm[still][:, None])
            self._still_t.append(start + np.flatnonzero(still).astype(np.int64))
            self._still_n += int(np.count_nonzero(still))
            while self._still_n > MAX_CUE_SECONDS and len(self._still_up) > 1:
                self._still_n -= self._still_up[0].shape[0]
                del self._still_up[0], self._still_t[0]

    def estimate(self, *, guess_axes: FloatArray | None = None) -> ForwardEstimate:
        """The alignment from what was added so far (see the module docstring)."""
        s = self.settings
        nan = float("nan")
        if self._walk_s < s.min_walking_for_check_s:
            return ForwardEstimate(
                guess_axes,
                False,
                "",
                f"no walking yet ({self._walk_s} s of the {s.min_walking_for_check_s} s "
                "needed): up and forward are learnt from walking",
                self._walk_s,
                0,
                nan,
                nan,
            )
        up = self._up_sum / np.linalg.norm(self._up_sum)
        proj = np.eye(3) - np.outer(up, up)
        row = np.zeros(F.N_FEATURES)
        row[F.GAIT0.start : F.GAITLAG.stop] = self._gait
        g0, antisymmetric = F.gait_matrices(row)
        c0 = proj @ g0 @ up
        d = proj @ antisymmetric @ up
        still_up = np.concatenate(self._still_up) if self._still_up else np.empty((0, 3))
        still_t = np.concatenate(self._still_t) if self._still_t else np.empty(0, np.int64)
        axis = _principal(np.outer(c0, c0) + np.outer(d, d), up)
        if axis is None:
            axis = _tilt_axis(still_up, up)
        if axis is None:
            return ForwardEstimate(
                _axes(up, guess_axes[0] if guess_axes is not None else proj[0]),
                False,
                "",
                "no fore-aft movement found yet (walking without a step pattern, no sitting "
                "or bending): forward is not known",
                self._walk_s,
                0,
                nan,
                nan,
            )
        return self._signed(up, axis, c0, d, still_up, still_t, guess_axes)

    def _signed(
        self,
        up: FloatArray,
        axis: FloatArray,
        c0: FloatArray,
        d: FloatArray,
        still_up: FloatArray,
        still_t: NDArray[np.int64],
        guess_axes: FloatArray | None,
    ) -> ForwardEstimate:
        """Which way along the fore-aft ``axis`` is forward: the gait's vote (``c0``,
        ``d``: its symmetric and antisymmetric coupling) and the still tilts' votes."""
        s = self.settings
        coupling = abs(float(c0 @ axis)) + abs(float(d @ axis))
        gait_share = abs(float(d @ axis)) / coupling if coupling > 0 else float("nan")
        gait_sign = 0
        if gait_share >= s.gait_sign_min_share:
            gait_sign = 1 if float(d @ axis) > 0 else -1
        votes, posture_share, posture_sign = _posture_votes(still_up, still_t, up, axis, s)
        signs = {"gait": gait_sign, "posture": posture_sign}
        used = [k for k, v in signs.items() if v != 0]
        if gait_sign and posture_sign and gait_sign != posture_sign:
            return ForwardEstimate(
                _axes(up, axis * gait_sign),
                False,
                "",
                "walking and posture disagree on which way is forward (the gait says one "
                "way, the sitting and bending tilts the other)",
                self._walk_s,
                votes,
                gait_share,
                posture_share,
            )
        if not used:
            guess = axis
            if guess_axes is not None and float(guess_axes[0] @ axis) < 0:
                guess = -axis
            return ForwardEstimate(
                _axes(up, guess),
                False,
                "",
                f"forward not learnt yet: {self._walk_s} s of walking without a clear "
                f"step pattern and {votes} s of sitting or bending tilts "
                f"(needs {s.posture_sign_min_votes} s with a clear majority)",
                self._walk_s,
                votes,
                gait_share,
                posture_share,
            )
        sign = gait_sign or posture_sign
        return ForwardEstimate(
            _axes(up, axis * sign),
            True,
            "+".join(used),
            "",
            self._walk_s,
            votes,
            gait_share,
            posture_share,
        )


def _running_sum(total: FloatArray, rows: FloatArray) -> FloatArray:
    """``total + rows[0] + rows[1] + ...`` in that order."""
    out: FloatArray = np.cumsum(np.vstack([total[None, :], rows]), axis=0)[-1]
    return out


def _axes(up: FloatArray, forward: FloatArray) -> FloatArray:
    """Rows X (anterior), Y (superior), Z (right) from up and a forward hint."""
    y = up / np.linalg.norm(up)
    x = forward - (forward @ y) * y
    x = x / np.linalg.norm(x)
    return np.vstack([x, y, np.cross(x, y)])


def _principal(matrix: FloatArray, up: FloatArray) -> FloatArray | None:
    """Principal horizontal direction of a 3×3 moment, or None when not clear."""
    values, vectors = np.linalg.eigh(matrix)
    if not np.all(np.isfinite(values)) or values[-1] <= 0:
        return None
    if values[-2] > 0.5 * values[-1]:  # no dominant direction
        return None
    axis = vectors[:, -1] - (vectors[:, -1] @ up) * up
    norm = np.linalg.norm(axis)
    return None if norm < 1e-9 else axis / norm


def _tilt_components(still_up: FloatArray, up: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Tilt from up (deg) and horizontal tilt vectors of still seconds."""
    cos = np.clip(still_up @ up, -1.0, 1.0)
    tilt = np.degrees(np.arccos(cos))
    horizontal = still_up - np.outer(still_up @ up, up)
    return tilt, horizontal


def _tilt_axis(still_up: FloatArray, up: FloatArray) -> FloatArray | None:
    """The fore-aft axis from the still tilts (sitting back, bending forward)."""
    if still_up.shape[0] == 0:
        return None
    tilt, horizontal = _tilt_components(still_up, up)
    use = (tilt > 8.0) & (tilt < 80.0)
    if np.count_nonzero(use) < 30:
        return None
    h = horizontal[use]
    h = h / np.linalg.norm(h, axis=1, keepdims=True)
    return _principal(h.T @ h, up)


def _posture_votes(
    still_up: FloatArray,
    still_t: NDArray[np.int64],
    up: FloatArray,
    axis: FloatArray,
    s: PostureSettings,
) -> tuple[int, float, int]:
    """(votes, share of the majority, sign: +1 when ``axis`` is forward, −1, 0 unknown)."""
    if still_up.shape[0] == 0:
        return 0, float("nan"), 0
    tilt, horizontal = _tilt_components(still_up, up)
    along = horizontal @ axis
    across = horizontal @ np.cross(axis, up)
    sagittal = np.abs(along) > np.abs(across)
    sit = sagittal & (tilt > 8.0) & (tilt < 35.0)
    bend_range = sagittal & (tilt >= 35.0) & (tilt < 80.0)
    # Bends are brief: only runs of at most 60 s vote (a reclined sofa does not).
    brief = np.zeros(still_t.shape[0], dtype=np.bool_)
    if np.any(bend_range):
        index = np.flatnonzero(bend_range)
        times = still_t[index]
        breaks = np.flatnonzero(np.diff(times) > 2) + 1
        for run in np.split(index, breaks):
            if still_t[run[-1]] - still_t[run[0]] < 60:
                brief[run] = True
    # Earth "up" seen from a segment that tilts backward moves toward the segment's front:
    # a sitting second has ``along > 0`` when ``axis`` is forward, a bend ``along < 0``.
    forward_votes = int(np.count_nonzero(sit & (along > 0)) + np.count_nonzero(brief & (along < 0)))
    backward_votes = int(
        np.count_nonzero(sit & (along < 0)) + np.count_nonzero(brief & (along > 0))
    )
    votes = forward_votes + backward_votes
    if votes == 0:
        return 0, float("nan"), 0
    share = max(forward_votes, backward_votes) / votes
    if votes < s.posture_sign_min_votes or share < s.posture_sign_min_share:
        return votes, share, 0
    return votes, share, 1 if forward_votes > backward_votes else -1


__all__ = ["ForwardEstimate", "ForwardLearner"]
