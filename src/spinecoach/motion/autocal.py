"""Calibration from whatever the recording holds: no still → bend → still protocol needed.

Real people start moving about a second after the recording starts and do not pause
between reps; their files carry no calibration annotations. This module finds each
sensor's segment frame from the movement itself:

neutral
    The quietest short stretch near the start: the earliest run of at least
    ``neutral_min_s`` (0.2 s) in the first ``neutral_search_s``, within
    ``neutral_drift_deg`` of the posture the recording starts in (a held end of a bend is
    still too, but it is not the neutral), in which every sensor is still (gyroscope
    under ``still_gyr_dps``, acceleration within ``still_acc_mps2`` of gravity; without
    a gyroscope, the accelerometer steady), extended while still up to
    ``neutral_max_s``. Failing that, the quietest 0.2 s there (``"quietest"``); failing
    that, a robust estimate over the session: the median up vector of its quietest fifth
    (``"session"``). The mean earth-up direction in the window is the segment's functional
    superior axis Y (relative angles are zero there), as in the coached calibration.
sagittal axis
    While the person moves, earth-up swings in the sensor frame away from the neutral Y.
    Every excursion (a peak of that tilt) votes for the line of its direction; a line
    scores twice the votes of its busier side plus half those of the other
    (:func:`_vote_direction`). The exercise
    is repeated, and one-sided movements (a hinge, a pelvic tilt) put every rep on the
    same side, while distractors — lateral bends, rotations, knees rocking — are fewer and
    split between left and right however large they are; an axial rotation of an upright
    trunk does not tilt at all. Without clear peaks, the direction of the largest
    asymmetric excursion (``fwd(φ) - fwd(φ + 180°)``) is taken. This is the gravity
    picture of the gyroscope's dominant rotation axis, and it works the same for
    accelerometer-only files.
sign
    Which end of that direction is flexion comes from gravity plus a movement prior
    (:class:`MovementPrior`): upright, the trunk bends further forward than back; supine,
    the pelvic tilt goes posterior; on hands and knees the pelvis tilts posteriorly in the
    cat. A movement as far one way as the other (cat-cow) cannot tell: the documented
    mounting (sensor x up the spine) decides when the axis found is near its left-right
    axis, with a low confidence. The sensor with the clearest asymmetric excursion takes
    its prior (when every sensor moved as far both ways, the one whose plane the other
    follows best: the plane the segments share); a
    sensor whose own movement is symmetric or small is signed by its correlation with that
    one and the prior's coupling (the two segments turn the same way in a bend, opposite ways in a
    cat-cow).
the pelvis leads (cat-cow, pelvic tilt: :attr:`MovementPrior.lower_leads`)
    In these the pelvis tilts through its whole range every rep while the distractors turn
    the spine above it, and the thorax tilts little or not at all in the exercise's plane
    (simulated truth: ±2-4° seated cat-cow and at most 1.5° in a pelvic tilt, against
    15-35° in a seated lateral bend). So the lower sensor is the anchor whatever the
    upper sensor's excursions look like, and the upper one follows it: the regression of
    its tilt on the pelvis's sagittal angle over the moments it tilts less than
    ``max(follow_tilt_min_deg, follow_tilt_factor ×`` the pelvis's excursion``)`` (a lateral
    bend's tilt would otherwise outweigh the cat-cow's), kept from ``follow_min_r``; below
    that the documented mounting gives its axis, with a confidence of 0.2. Their tilts are
    a few degrees, so they are measured from the posture rested in (the median up of the
    still moments within ``rest_near_deg`` of the neutral, when they add up to
    ``rest_min_s``), not from the first quiet 0.2 s, which sits a degree or so off it. A
    symmetric movement (cat-cow, :attr:`MovementPrior.symmetric`) is always signed by the
    documented mounting when the axis found is near its left-right axis (its excursions
    are as large both ways, whichever happened to come out larger) and its peaks count from
    ``symmetric_peak_min_deg`` (a stiff seated cat-cow tilts the pelvis 2.5-4° each way).
    A one-sided movement (the pelvic tilt, :attr:`MovementPrior.one_sided`) never mirrors
    itself, while knees rocking go as far left as right: a peak with one within
    ``mirror_ratio`` of its size the opposite way does not vote.

The decision is causal and taken once: at check times every ``check_every_s`` after the
start, from the data up to that time, as soon as the evidence is clear (two completed
excursions of at least ``early_excursion_deg`` in the same direction, the opposite way
at most ``early_asymmetry`` as far), else at
``axis_window_s`` after the start, else at the end of the data. Batch and streaming take
the same decision on the same data; the streaming tracker holds its frames back until then
and emits them all, so the angles cover the recording from its first sample.

Every result says its ``method``, ``windows``, a ``confidence`` (0–1: the weakest of the
neutral quality, the excursion size and the sign evidence) and a ``reason`` in words.

>>> import numpy as np
>>> prior = POSITION_PRIORS["standing"]
>>> prior.upper, prior.coupling
(1, 1)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from spinecoach.conventions import LOWER
from spinecoach.errors import ConfigurationError
from spinecoach.motion.autocal_axis import (
    axes_from,
    decimated,
    estimate_axis,
    find_neutral,
    neutral_up,
    neutral_window,
    rest_up,
)
from spinecoach.motion.autocal_stored import StoredCalibration
from spinecoach.motion.autocal_types import (
    CALIBRATION_METHODS,
    NOMINAL_SENSOR_AXES,
    POSITION_PRIORS,
    TECHNIQUE_PRIORS,
    AutoCalibrationSettings,
    AxisEstimate,
    FloatArray,
    MovementCalibration,
    MovementPrior,
    NeutralWindow,
    SensorStream,
    movement_prior,
)


def decide_movement_calibration(
    streams: Mapping[str, SensorStream],
    *,
    t0: float,
    t_cut: float,
    prior: MovementPrior,
    settings: AutoCalibrationSettings,
    final: bool,
    declared_neutral: tuple[float, float] | None = None,
) -> MovementCalibration | None:
    """The protocol-free calibration from the data up to ``t_cut``.

    Returns None when ``final`` is False and the evidence is not clear yet; with
    ``final`` it always returns the best estimate with its confidence.
    """
    data = {p: s.until(t_cut) for p, s in streams.items()}
    neutral = neutral_window(data, t0, t_cut, settings, final=final, declared=declared_neutral)
    if neutral is None:
        return None
    ups = {p: neutral_up(s, neutral) for p, s in data.items()}
    if any(u is None for u in ups.values()):
        if not final:
            return None
        missing = ", ".join(p for p, u in ups.items() if u is None)
        raise ConfigurationError(
            f"the neutral window {neutral.start_s:.2f}–{neutral.end_s:.2f} s holds no samples "
            f"of the {missing} sensor; declare a window inside the recording (--neutral "
            "START:END)"
        )
    leads = prior.lower_leads and LOWER in data
    estimates = _axis_estimates(data, ups, t0, prior, settings, leads=leads)
    anchor = _anchor(estimates, prior, leads=leads)
    a = estimates[anchor]
    # Two completed excursions: one could be the first half of a symmetric movement.
    clear = (
        a.excursion_deg >= settings.early_excursion_deg
        and a.asymmetry <= settings.early_asymmetry
        and _excursions(a.theta_raw, a.excursion_deg) >= 2
    )
    if not final and not clear:
        return None
    signs, sign_conf, details, followed = _signs(estimates, anchor, prior, settings, leads=leads)
    axes, confidence = _segment_axes(
        estimates, followed, signs, sign_conf, details, neutral, settings
    )
    decided_at_s = float(min(t_cut, max(float(s.time_s[-1]) for s in data.values())))
    return MovementCalibration(
        axes=axes,
        neutral=neutral,
        movement_s=(float(t0), decided_at_s),
        decided_at_s=decided_at_s,
        confidence=round(min(confidence.values()), 2),
        sensor_confidence={p: round(c, 2) for p, c in confidence.items()},
        reason=_reason(neutral, estimates, confidence, clear),
        details=details,
    )


def _axis_estimates(
    data: Mapping[str, SensorStream],
    ups: Mapping[str, FloatArray | None],
    t0: float,
    prior: MovementPrior,
    settings: AutoCalibrationSettings,
    *,
    leads: bool,
) -> dict[str, AxisEstimate]:
    """Each sensor's sagittal axis from its excursions (every movement counts, before the
    neutral window as well as after it)."""
    move_from = t0 - 1e-9
    vote_settings = settings
    if prior.symmetric:
        # A stiff seated cat-cow tilts the pelvis 2.5-4° each way.
        vote_settings = replace(settings, peak_min_deg=settings.symmetric_peak_min_deg)
    estimates: dict[str, AxisEstimate] = {}
    for placement, stream in data.items():
        y = ups[placement]
        assert y is not None
        times, up = decimated(stream, move_from, settings.decimate_hz)
        # Small movements are measured from the posture rested in (see the notes).
        rest = rest_up(stream, t0, settings, y) if leads else None
        e = estimate_axis(
            y if rest is None else rest,
            times,
            up,
            vote_settings,
            max_excursion_deg=prior.max_excursion_deg,
            one_sided=prior.one_sided,
        )
        estimates[placement] = e if rest is None else replace(e, y_axis=y)
    return estimates


def _anchor(estimates: Mapping[str, AxisEstimate], prior: MovementPrior, *, leads: bool) -> str:
    """The sensor the others are signed by: the lower one when the pelvis leads, else the
    clearest asymmetric excursion."""
    if leads:
        return LOWER
    if max(1.0 - e.asymmetry for e in estimates.values()) > 0.4:
        return max(
            estimates, key=lambda p: estimates[p].excursion_deg * (1.0 - estimates[p].asymmetry)
        )
    if len(estimates) == 2:
        # Every sensor moved about as far both ways (cat-cow): the flexion plane is the
        # one the two segments share (seated, a lateral bend moves the thorax and hardly
        # the pelvis), so the sensor whose plane the other one follows best leads.
        def shared(lead: str) -> float:
            other = next(p for p in estimates if p != lead)
            e = estimates[lead]
            found = estimates[other].follow(
                e.time_s, prior.sign(lead) * e.theta_raw, prior.coupling, 2.0
            )
            return found[1] if found is not None else -1.0

        return max(estimates, key=lambda p: (shared(p), estimates[p].votes))
    return next(iter(estimates))


Details = dict[str, dict[str, float | str]]


def _signs(
    estimates: Mapping[str, AxisEstimate],
    anchor: str,
    prior: MovementPrior,
    settings: AutoCalibrationSettings,
    *,
    leads: bool,
) -> tuple[dict[str, int], dict[str, float], Details, dict[str, FloatArray]]:
    """Which way is flexion for each sensor, how sure, why, and the flexion axes of the
    sensors that follow the anchor."""
    a = estimates[anchor]
    signs: dict[str, int] = {anchor: prior.sign(anchor)}
    sign_conf: dict[str, float] = {anchor: float(np.clip((1.0 - a.asymmetry) / 0.5, 0.0, 1.0))}
    details: Details = {}
    anchor_from = "own excursion (anchor)"
    if a.asymmetry > settings.early_asymmetry or prior.symmetric:
        # As far one way as the other (cat-cow, however the excursions happened to come
        # out): the movement cannot say which way is flexion. Fall back on the documented
        # mounting (sensor x up the spine) when the axis found is near its left-right
        # axis; the confidence stays low either way.
        nominal = NOMINAL_SENSOR_AXES[2] - (NOMINAL_SENSOR_AXES[2] @ a.y_axis) * a.y_axis
        norm = float(np.linalg.norm(nominal))
        along = float(a.z_raw @ nominal) / norm if norm > 1e-6 else 0.0
        if abs(along) >= 0.5:
            signs[anchor] = 1 if along > 0 else -1
            sign_conf[anchor] = min(sign_conf[anchor], 0.45)
            anchor_from = "the documented mounting (the movement is symmetric)"
    followed: dict[str, FloatArray] = {}
    for placement, e in estimates.items():
        if placement == anchor:
            continue
        sign, conf, why, axis = _follower_sign(
            placement, e, anchor, a, signs[anchor], prior, settings, leads=leads
        )
        signs[placement], sign_conf[placement] = sign, conf
        details[placement] = {"sign_from": why}
        if axis is not None:
            followed[placement] = axis
    details.setdefault(anchor, {})["sign_from"] = anchor_from
    return signs, sign_conf, details, followed


def _follower_sign(
    placement: str,
    e: AxisEstimate,
    anchor: str,
    a: AxisEstimate,
    anchor_sign: int,
    prior: MovementPrior,
    settings: AutoCalibrationSettings,
    *,
    leads: bool,
) -> tuple[int, float, str, FloatArray | None]:
    """(sign, confidence, why, flexion axis when it follows the anchor) of a sensor that is
    not the anchor ``a``."""
    own = float(np.clip((1.0 - e.asymmetry) / 0.5, 0.0, 1.0))
    # When the pelvis leads, only the moments the other sensor tilts about as little
    # as the pelvis count: a lateral bend tilts the thorax further than a cat-cow.
    cut = (
        max(settings.follow_tilt_min_deg, settings.follow_tilt_factor * a.excursion_deg)
        if leads
        else None
    )
    follow = e.follow(a.time_s, anchor_sign * a.theta_raw, prior.coupling, 2.0, max_tilt_deg=cut)
    if leads:
        accept = follow is not None and follow[1] >= settings.follow_min_r
    else:
        accept = follow is not None and (
            (follow[1] >= 0.6 and follow[1] >= own) or (e.asymmetry > 0.6 and follow[1] >= 0.3)
        )
    if accept:
        assert follow is not None
        # Its tilt follows the anchor's sagittal angle: the same plane, and the
        # prior's coupling gives the sign.
        conf = float(np.clip(follow[1] / 0.8, 0.0, 1.0))
        return 1, conf, f"follows the {anchor} sensor (r={follow[1]:.2f})", follow[0]
    if leads:
        # Its own excursions are another movement's (the seated thorax tilts 2-4° in
        # a cat-cow, 15-35° in a lateral bend): the documented mounting, unsure.
        r_text = "none" if follow is None else f"r={follow[1]:.2f}"
        why = f"the documented mounting (it hardly follows the {anchor} sensor: {r_text})"
        return 1, 0.2, why, NOMINAL_SENSOR_AXES[2]
    if e.excursion_deg >= 5.0 and e.asymmetry <= 0.6:
        return prior.sign(placement), own, "own excursion", None
    return prior.sign(placement), min(own, 0.3), "movement prior (weak evidence)", None


def _segment_axes(
    estimates: Mapping[str, AxisEstimate],
    followed: Mapping[str, FloatArray],
    signs: Mapping[str, int],
    sign_conf: Mapping[str, float],
    details: Details,
    neutral: NeutralWindow,
    settings: AutoCalibrationSettings,
) -> tuple[dict[str, FloatArray], dict[str, float]]:
    """Each sensor's segment axes and confidence (``details`` gets the figures)."""
    axes: dict[str, FloatArray] = {}
    confidence: dict[str, float] = {}
    for placement, e in estimates.items():
        if e.excursion_deg < settings.min_excursion_deg:
            # No movement to learn from: the nominal mounting's flexion axis.
            axes[placement] = axes_from(e.y_axis, NOMINAL_SENSOR_AXES[2])
            confidence[placement] = 0.1
            details[placement]["sign_from"] = "nominal mounting (the sensor hardly moved)"
        else:
            z = followed.get(placement)
            axes[placement] = axes_from(
                e.y_axis, z if z is not None else signs[placement] * e.z_raw
            )
            axis_q = float(np.clip((e.excursion_deg - 2.0) / 6.0, 0.0, 1.0))
            if placement not in followed and e.votes < 2:
                axis_q = min(axis_q, 0.4)  # one excursion is no evidence of a repeated plane
            confidence[placement] = min(neutral.confidence, axis_q, sign_conf[placement])
        details[placement].update(
            {
                "excursion_deg": round(e.excursion_deg, 1),
                "opposite_share": round(e.asymmetry, 2),
                "sideways_deg": round(e.sideways_deg, 1),
                "confidence": round(confidence[placement], 2),
            }
        )
    return axes, confidence


def _excursions(theta: FloatArray, size_deg: float) -> int:
    """Completed excursions: above 70 % of ``size_deg``, then back under 30 %."""
    count = 0
    out = False
    for v in theta.tolist():
        if not out and v >= 0.7 * size_deg:
            out = True
        elif out and v <= 0.3 * size_deg:
            out = False
            count += 1
    return count


def _reason(
    neutral: NeutralWindow,
    estimates: Mapping[str, AxisEstimate],
    confidence: Mapping[str, float],
    clear: bool,
) -> str:
    where = {
        "still": f"a still stretch at {neutral.start_s:.1f}–{neutral.end_s:.1f} s",
        "declared": f"the declared window {neutral.start_s:.1f}–{neutral.end_s:.1f} s",
        "quietest": f"the quietest stretch at {neutral.start_s:.1f}–{neutral.end_s:.1f} s "
        "(nobody was fully still near the start)",
        "session": "the quietest fifth of the session (no quiet stretch near the start)",
    }[neutral.quality]
    parts = [f"neutral from {where}"]
    for placement, e in estimates.items():
        if confidence[placement] < 0.5:
            if e.excursion_deg < 3.0:
                why = "hardly moved, so its flexion axis is the nominal mounting's"
            elif e.asymmetry > 0.75:
                why = "moved about as far both ways, so which way is forward is uncertain"
            else:
                why = f"moved only {e.excursion_deg:.0f}°"
            parts.append(f"the {placement} sensor {why}")
    if clear:
        parts.append("flexion axis from the first clear forward-backward excursion")
    else:
        parts.append("flexion axis from the movement seen")
    return "; ".join(parts)


__all__ = [
    "CALIBRATION_METHODS",
    "LOWER",
    "NOMINAL_SENSOR_AXES",
    "POSITION_PRIORS",
    "TECHNIQUE_PRIORS",
    "AutoCalibrationSettings",
    "AxisEstimate",
    "MovementCalibration",
    "MovementPrior",
    "NeutralWindow",
    "SensorStream",
    "StoredCalibration",
    "axes_from",
    "decide_movement_calibration",
    "estimate_axis",
    "find_neutral",
    "movement_prior",
    "neutral_window",
]
