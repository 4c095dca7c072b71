"""Vertical displacement of the lower (sacral) sensor: does the pelvis go down?

A squat or a sit-down lowers the pelvis by 0.2–0.5 m; a standing or seated forward bend
(and a seated hip hinge) rotates the pelvis about the hips and its sacrum stays within a
few centimetres of its height. Angles alone cannot tell the two apart (a squat shows
20–50° of lumbar flexion and 10–40° of pelvic tilt), so the exercise detector reads this
estimate to keep squats out of the flexion-extension and hip-hinge reps.

Estimate. The fused orientation (sensor→earth, :mod:`.fusion`) turns each accelerometer
sample into the earth frame; its vertical component minus standard gravity is the
vertical acceleration of the sensor (m/s²). Integrated twice it gives the displacement,
but any bias (the accelerometer's own, its projection changing as the pelvis tilts, a
degree of tilt error) grows quadratically. The double integral is therefore high-passed:
``H(s) = (1/s²) · HP(s)`` with ``HP`` a 3rd-order Butterworth high-pass at
:data:`HEIGHT_CORNER_HZ` (0.1 Hz), i.e. ``H(s) = s / B₃(s)``: a step of acceleration
bias gives a transient that decays instead of a parabola, and a constant bias gives no
offset at all. Discretised with the bilinear transform at the sensor's nominal rate and
run sample by sample as two second-order sections (:class:`HeightEstimator`); the batch
function :func:`pelvis_height_m` runs the very same object over the samples, so batch and
streaming give the same numbers. The filter starts from rest (0 m, no velocity), restarts
so after a gap longer than ``max_gap_s``, and gives NaN for a sample without a finite
accelerometer reading. Starting from rest, a constant bias shows as a slow start-up
transient that decays within about 15 s (a vertical bias of 0.05 m/s² peaks near 2.5 cm
after 5 s, so a rep's start-to-deepest drop sees a few millimetres of it); starting
instead in the steady state of the first reading would remove it, but a take that begins
mid-movement (``vicon_squat`` begins in a forward bend) would then read its first
acceleration as a bias and the bend as a 0.1 m drop.

Choice of the corner (measured on virtual IMUs from motion capture and on the simulator,
see ``tests/exercises/test_exercises_squats.py``): with 0.1 Hz and 3rd order the drop
from a rep's start to its deepest point reads 0.12–0.35 m in the squats of
``vicon_squat`` and of the OpenCap squat takes (true 0.22–0.33 m), at most 0.02 m in the
standing forward bends, and at most 0.03 m in simulated standing and seated
flexion-extension and hip-hinge sessions with real-world sensor errors (25–100 Hz). A
lower corner lets the bias of a tilted sensor through (0.07 Hz: up to 0.05 m in those
simulated reps, 0.05 Hz: up to 0.15 m); 2nd order leaves a constant offset bias/ω² and
lets a bias step through (0.1 Hz: up to 0.06 m); 0.15 Hz attenuates the squats more.

Attenuation (the price of having no drift): a minimum-jerk descent of 0.3 m, held 1 s at
the bottom and risen from again, reads 0.18 m (61 %) for a 1 s descent, 0.15 m (50 %) for
1.5 s, 0.12 m for 2 s, 0.09 m (29 %) for 3 s and 0.05 m for 5 s, the same at 25, 50 and
100 Hz (the unit test in ``tests/motion`` checks these). A real squat or sit-down
(0.2–0.5 m in 1–3 s) therefore reads 0.06–0.3 m, a forward bend a few centimetres.

Units: metres (up positive, relative to where the filter started), seconds, m/s².
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from spinecoach.conventions import STANDARD_GRAVITY_MPS2
from spinecoach.errors import ConfigurationError

FloatArray = NDArray[np.float64]

#: Corner (Hz) of the 3rd-order Butterworth high-pass on the double integral.
HEIGHT_CORNER_HZ = 0.1
#: Order of that high-pass (3: no offset from a constant bias, a bias step decays).
HEIGHT_ORDER = 3


def vertical_acceleration_mps2(acc_mps2: FloatArray, quaternion: FloatArray) -> FloatArray:
    """(n,) earth-frame vertical acceleration (m/s², up positive, gravity removed).

    ``acc_mps2``: (n, 3) specific force in the sensor frame; ``quaternion``: (n, 4)
    sensor→earth (w, x, y, z), earth z up. Written element by element (the third row of
    the rotation matrix) so one row gives the same number as many.
    """
    w, x, y, z = quaternion[:, 0], quaternion[:, 1], quaternion[:, 2], quaternion[:, 3]
    r20 = 2.0 * (x * z - w * y)
    r21 = 2.0 * (y * z + w * x)
    r22 = 1.0 - 2.0 * (x * x + y * y)
    up = r20 * acc_mps2[:, 0] + r21 * acc_mps2[:, 1] + r22 * acc_mps2[:, 2]
    return np.asarray(up - STANDARD_GRAVITY_MPS2, dtype=np.float64)


def height_sections(
    rate_hz: float, corner_hz: float = HEIGHT_CORNER_HZ, order: int = HEIGHT_ORDER
) -> FloatArray:
    """Second-order sections (k, 6) of the discrete ``s^(order-2) / B(s)`` filter."""
    from scipy import signal

    if not (math.isfinite(rate_hz) and rate_hz > 0):
        raise ConfigurationError(f"sensor rate {rate_hz!r} Hz: give a positive rate")
    if not (0.0 < corner_hz < 0.25 * rate_hz) or order < 2:
        raise ConfigurationError(
            f"height filter corner {corner_hz!r} Hz (order {order!r}) at {rate_hz:g} Hz: the "
            "corner must be above 0 and well under the Nyquist frequency, the order at least 2"
        )
    zeros, poles, gain = signal.butter(
        order, 2.0 * math.pi * corner_hz, "highpass", analog=True, output="zpk"
    )
    # Divide by s²: drop two of the high-pass's zeros at s = 0.
    zeros = np.asarray(zeros)[2:]
    dz, dp, dk = signal.bilinear_zpk(zeros, poles, gain, rate_hz)
    return np.asarray(signal.zpk2sos(dz, dp, dk), dtype=np.float64)


class HeightEstimator:
    """Streaming vertical displacement (m) of one sensor from its vertical acceleration.

    ``update(time_s, vertical_mps2)`` per sample, in time order; the same object serves
    the batch function, so both give the same numbers.
    """

    def __init__(
        self, *, rate_hz: float, max_gap_s: float, corner_hz: float = HEIGHT_CORNER_HZ
    ) -> None:
        self._sos = [tuple(float(v) for v in row) for row in height_sections(rate_hz, corner_hz)]
        self._max_gap_s = float(max_gap_s)
        self._state = [[0.0, 0.0] for _ in self._sos]
        self._last_time_s: float | None = None

    @property
    def last_time_s(self) -> float | None:
        """Time (s) of the last sample fed, None before any."""
        return self._last_time_s

    @property
    def filter_state(self) -> tuple[tuple[float, float], ...]:
        """The filter's internal state, one pair per second-order section (0 at rest)."""
        return tuple((st[0], st[1]) for st in self._state)

    def reset(self) -> None:
        """Start again from rest (0 m, no velocity)."""
        for st in self._state:
            st[0] = st[1] = 0.0

    def update(self, time_s: float, vertical_mps2: float) -> float:
        """The displacement (m, up positive) after this sample; NaN for a NaN input."""
        gap = self._last_time_s is not None and time_s - self._last_time_s > self._max_gap_s
        self._last_time_s = time_s
        if gap:
            self.reset()
        if not math.isfinite(vertical_mps2):
            self.reset()
            return math.nan
        x = vertical_mps2
        for (b0, b1, b2, _a0, a1, a2), st in zip(self._sos, self._state, strict=True):
            y = b0 * x + st[0]
            st[0] = b1 * x - a1 * y + st[1]
            st[1] = b2 * x - a2 * y
            x = y
        return x


def pelvis_height_m(
    time_s: FloatArray,
    acc_mps2: FloatArray,
    quaternion: FloatArray,
    *,
    rate_hz: float,
    max_gap_s: float,
    corner_hz: float = HEIGHT_CORNER_HZ,
) -> FloatArray:
    """(n,) vertical displacement (m) of a sensor over a whole recording (batch).

    >>> t = np.arange(500) / 100.0
    >>> acc = np.tile([0.0, 0.0, STANDARD_GRAVITY_MPS2], (500, 1))
    >>> q = np.tile([1.0, 0.0, 0.0, 0.0], (500, 1))
    >>> float(np.abs(pelvis_height_m(t, acc, q, rate_hz=100.0, max_gap_s=0.5)).max()) < 1e-9
    True
    """
    vertical = vertical_acceleration_mps2(acc_mps2, quaternion)
    estimator = HeightEstimator(rate_hz=rate_hz, max_gap_s=max_gap_s, corner_hz=corner_hz)
    out = [estimator.update(t, v) for t, v in zip(time_s.tolist(), vertical.tolist(), strict=True)]
    return np.asarray(out, dtype=np.float64)
