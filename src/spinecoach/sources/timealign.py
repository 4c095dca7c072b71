"""Put devices with independent clocks on one timeline.

Every IMU stamps its samples with its own clock. Two clocks differ by an **offset** (they
started counting at different moments) and a **drift** (their crystals tick at slightly
different rates: ±20–100 ppm is usual, so 100 ppm is 180 ms after 30 minutes). The host
(phone or computer) receives each packet at a known host time, later than the device
time stamp of its newest sample by a transport delay that is never negative: BLE
connection intervals, radio retries, the operating system's scheduling and occasional
stalls of hundreds of milliseconds.

Model
    ``host_s = device_s + offset_s + drift_ppm·1e-6·(device_s − device_origin_s)
    + delay_s`` with ``delay_s ≥ 0``.

    Because delays are one-sided, the line is found under the points, not through them:
    the **lower envelope** of ``host − device`` against ``device``. Among all lines that
    lie on or below every pair, :func:`clock_fit` takes the one closest to the points on
    average (the linear program of Moon, Skelly and Towsley, "Estimation and removal of
    clock skew from network delay measurements", IEEE INFOCOM 1999). Its solution is the
    edge of the lower convex hull that spans the mean device time, so a fit costs one pass
    over the pairs and the streaming :class:`ClockAligner` keeps only the hull (a few tens
    of points), with exactly the same answer as the batch fit on the same pairs.

    Late packets, stalls and bursts of queued packets only lie *above* the line and do not
    move it; what sets the accuracy is how often a packet gets through with close to the
    smallest delay, which for BLE is several times a second.

What is and is not estimated
    The estimated offset includes the *smallest* transport delay (it cannot be told apart
    from a clock offset). For aligning two sensors only the difference of their smallest
    delays matters; on the same phone and radio it is below one connection interval and
    usually near zero. A host time stamp that is *early* (a host clock step backwards, a
    packet paired with the wrong time stamp) pulls the envelope down: feed host times from
    a monotonic clock. Drift is modelled as constant; crystal drift changes with
    temperature by a few ppm over a session, which is a few milliseconds over 30 minutes.

Measured residual (``tests/sources/test_timealign.py``)
    Two simulated 100 Hz sensors, 200 ms relative offset and 100 ppm relative drift,
    4 samples per packet, delays exponential with mean 15 ms plus a 200 ms stall about
    every 20 s (holding back the packets behind it), host times truncated to 1 ms,
    30 minutes, 10 seeds: the batch alignment of the second sensor onto the first
    sensor's timeline is within 0.1 ms everywhere (RMS ≤ 0.05 ms; the tests gate 1 ms).
    Streaming, each sample mapped when its packet arrives with only the pairs seen so
    far, is within 10 ms from 0.9 s after both streams started and within 1.8 ms from
    5 s on (RMS ≈ 0.1 ms; the tests gate 10 ms after 2 s and 3 ms after 5 s). With
    arrivals held to BLE connection events (7.5, 30 or 50 ms intervals, 2 ms mean extra
    delay, 5 seeds; a one-off check, not a test) the batch error stayed below 0.7 ms,
    because the packet period and the interval beat against each other. The floor is a
    device whose packets are always ready at the same phase of the connection events:
    its smallest delay, and so the error, can then reach one connection interval.
    Temperature changes of the drift add a few milliseconds over 30 minutes.

Units: seconds everywhere; drift in parts per million (ppm).

>>> import numpy as np
>>> device_s = np.arange(0.0, 60.0, 0.04)
>>> host_s = 100.0 + device_s * (1 + 80e-6) + 0.002 * (np.arange(device_s.size) % 7)
>>> fit = clock_fit(device_s, host_s)
>>> round(fit.offset_s, 6), round(fit.drift_ppm, 3), fit.n_pairs
(100.0, 80.0, 1500)
>>> aligner = ClockAligner()
>>> for d, h in zip(device_s, host_s):
...     aligner.update(float(d), float(h))
>>> abs(aligner.to_host(30.0) - fit.to_host(30.0)) < 1e-9
True
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from spinecoach.errors import ConfigurationError
from spinecoach.recording import Recording, SensorData

FloatArray = NDArray[np.float64]

MIN_PAIRS = 2
"""A drift needs two pairs; more give a better envelope (tens per second are usual)."""


@dataclass(frozen=True)
class ClockFit:
    """One device clock relative to the host clock.

    ``host_s = device_s + offset_s + drift_ppm·1e-6·(device_s − device_origin_s)``.

    ``offset_s`` is ``host − device`` at ``device_origin_s`` (the first pair's device
    time); ``drift_ppm`` is how much faster the host clock runs than the device clock;
    ``span_s`` is the device time covered by the pairs; ``mean_delay_s`` is the mean
    transport delay above the smallest one (how noisy the link was).
    """

    device_origin_s: float
    offset_s: float
    drift_ppm: float
    n_pairs: int
    span_s: float
    mean_delay_s: float

    @overload
    def to_host(self, device_s: float) -> float: ...

    @overload
    def to_host(self, device_s: FloatArray) -> FloatArray: ...

    def to_host(self, device_s: float | FloatArray) -> float | FloatArray:
        """Host time (s) of device time(s) ``device_s`` (s)."""
        rate = self.drift_ppm * 1e-6
        return device_s + self.offset_s + rate * (device_s - self.device_origin_s)

    @overload
    def to_device(self, host_s: float) -> float: ...

    @overload
    def to_device(self, host_s: FloatArray) -> FloatArray: ...

    def to_device(self, host_s: float | FloatArray) -> float | FloatArray:
        """Device time (s) of host time(s) ``host_s`` (s): the inverse of :meth:`to_host`."""
        rate = self.drift_ppm * 1e-6
        return self.device_origin_s + (host_s - self.offset_s - self.device_origin_s) / (1.0 + rate)


class _LowerHull:
    """Lower convex hull of (device, host − device) points arriving in device-time order.

    Coordinates are relative to the first pair so that sums and cross products keep full
    precision with epoch-sized host times.
    """

    def __init__(self) -> None:
        self.origin: tuple[float, float] | None = None
        self.xs: list[float] = []
        self.ys: list[float] = []
        self.n = 0
        self.sum_x = 0.0
        self.sum_y = 0.0
        self.last: tuple[float, float] | None = None

    def add(self, device_s: float, host_s: float) -> None:
        if self.origin is None:
            self.origin = (device_s, host_s - device_s)
        x = device_s - self.origin[0]
        y = (host_s - device_s) - self.origin[1]
        xs, ys = self.xs, self.ys
        # Keep only counter-clockwise turns: a point on or above the chord of its
        # neighbours can never touch the envelope again.
        while (
            len(xs) >= 2
            and (xs[-1] - xs[-2]) * (y - ys[-2]) - (ys[-1] - ys[-2]) * (x - xs[-2]) <= 0.0
        ):
            xs.pop()
            ys.pop()
        xs.append(x)
        ys.append(y)
        self.n += 1
        self.sum_x += x
        self.sum_y += y
        self.last = (device_s, host_s)

    def fit(self, mean_x: float, mean_y: float) -> ClockFit:
        if self.origin is None:
            raise ConfigurationError(
                "no (device_t, host_t) pairs yet; call update() with the first packet first"
            )
        xs, ys = self.xs, self.ys
        if len(xs) == 1:
            slope, intercept = 0.0, ys[0]
        else:
            # The envelope edge that spans the mean device time maximises the line's mean
            # height under the points (the linear program's optimum).
            i = min(max(bisect.bisect_right(xs, mean_x) - 1, 0), len(xs) - 2)
            slope = (ys[i + 1] - ys[i]) / (xs[i + 1] - xs[i])
            intercept = ys[i] - slope * xs[i]
        return ClockFit(
            device_origin_s=self.origin[0],
            offset_s=self.origin[1] + intercept,
            drift_ppm=slope * 1e6,
            n_pairs=self.n,
            span_s=xs[-1],
            mean_delay_s=max(mean_y - (intercept + slope * mean_x), 0.0),
        )


def _check_pairs(device_s: ArrayLike, host_s: ArrayLike) -> tuple[FloatArray, FloatArray]:
    device = np.asarray(device_s, dtype=np.float64)
    host = np.asarray(host_s, dtype=np.float64)
    for name, values in (("device_s", device), ("host_s", host)):
        if values.ndim != 1:
            raise ConfigurationError(
                f"{name} must be one-dimensional (one time per packet), got shape {values.shape}"
            )
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise ConfigurationError(
                f"{name}[{bad[0]}] is {values[bad[0]]}; every time stamp must be a finite "
                "number of seconds"
            )
    if device.shape != host.shape:
        raise ConfigurationError(
            f"device_s has {device.size} times but host_s has {host.size}; pass one "
            "(device time, host receive time) pair per packet"
        )
    if device.size < MIN_PAIRS:
        raise ConfigurationError(
            f"a clock fit needs at least {MIN_PAIRS} (device_s, host_s) pairs, got "
            f"{device.size}; record for longer before aligning"
        )
    step = np.flatnonzero(np.diff(device) <= 0.0)
    if step.size:
        i = int(step[0])
        raise ConfigurationError(
            f"device_s must increase strictly, but device_s[{i + 1}] = {device[i + 1]} "
            f"follows device_s[{i}] = {device[i]}; drop repeated packets and pass them "
            "in the order the device sent them"
        )
    back = np.flatnonzero(np.diff(host) < 0.0)
    if back.size:
        i = int(back[0])
        raise ConfigurationError(
            f"host_s must not decrease, but host_s[{i + 1}] = {host[i + 1]} follows "
            f"host_s[{i}] = {host[i]}; stamp packets with a monotonic host clock"
        )
    return device, host


def clock_fit(device_s: ArrayLike, host_s: ArrayLike) -> ClockFit:
    """Offset and drift of a device clock from its packets' (device, host) time pairs.

    ``device_s``: (n,) device time stamp of each packet (s, usually of its newest
    sample), strictly increasing. ``host_s``: (n,) host receive time of the same packets
    (s, from a monotonic clock), never decreasing. Needs ``n ≥ 2``.

    Raises :class:`~spinecoach.errors.ConfigurationError` naming the first bad pair.

    >>> fit = clock_fit([0.0, 1.0, 2.0, 3.0], [5.010, 6.0, 7.030, 8.0])
    >>> round(fit.offset_s, 3), round(fit.drift_ppm, 1), round(fit.to_host(2.5), 3)
    (5.0, 0.0, 7.5)
    """
    device, host = _check_pairs(device_s, host_s)
    hull = _LowerHull()
    for d, h in zip(device.tolist(), host.tolist(), strict=True):
        hull.add(d, h)
    x = device - device[0]
    y = (host - device) - (host[0] - device[0])
    return hull.fit(float(np.mean(x)), float(np.mean(y)))


@dataclass(frozen=True)
class ClockAlignerState:
    """What a :class:`ClockAligner` holds: pairs seen, envelope size, last pair."""

    n_pairs: int
    hull_size: int
    last_device_s: float
    last_host_s: float


class ClockAligner:
    """Streaming clock fit: feed each packet's ``(device_t, host_t)``, map device times.

    After the same pairs, :meth:`current_fit` equals :func:`clock_fit` (the same
    envelope edge; floating-point sums may differ in the last bits). With a single pair
    the drift is taken as zero. Memory is the lower envelope only.

    >>> aligner = ClockAligner()
    >>> aligner.update(0.0, 10.0)
    >>> aligner.update(1.0, 11.0)
    >>> round(aligner.to_host(0.5), 3), aligner.state.n_pairs
    (10.5, 2)
    """

    def __init__(self) -> None:
        self._hull = _LowerHull()

    def update(self, device_t: float, host_t: float) -> None:
        """Add one packet: device time stamp (s) and host receive time (s)."""
        if not (math.isfinite(device_t) and math.isfinite(host_t)):
            raise ConfigurationError(
                f"update() needs finite times in seconds, got device_t={device_t}, host_t={host_t}"
            )
        last = self._hull.last
        if last is not None:
            if device_t <= last[0]:
                raise ConfigurationError(
                    f"device_t must increase strictly, got {device_t} after {last[0]}; "
                    "drop repeated packets and feed them in the order the device sent them"
                )
            if host_t < last[1]:
                raise ConfigurationError(
                    f"host_t must not decrease, got {host_t} after {last[1]}; stamp packets "
                    "with a monotonic host clock"
                )
        self._hull.add(float(device_t), float(host_t))

    def current_fit(self) -> ClockFit:
        """The fit from every pair so far (raises if there is none yet)."""
        n = max(self._hull.n, 1)
        return self._hull.fit(self._hull.sum_x / n, self._hull.sum_y / n)

    def to_host(self, device_t: float) -> float:
        """Host time (s) of device time ``device_t`` (s) with the current fit."""
        return self.current_fit().to_host(float(device_t))

    @property
    def state(self) -> ClockAlignerState:
        last = self._hull.last or (math.nan, math.nan)
        return ClockAlignerState(
            n_pairs=self._hull.n,
            hull_size=len(self._hull.xs),
            last_device_s=last[0],
            last_host_s=last[1],
        )


def clock_align(
    recording: Recording, fits: Mapping[str, ClockFit], *, reference: str
) -> tuple[Recording, dict[str, Any]]:
    """Re-stamp every sensor onto the ``reference`` sensor's clock.

    ``recording``: each sensor's ``time_s`` is in its own device clock (s). ``fits``:
    placement → :class:`ClockFit` of that device to the common host clock (one per
    sensor). The reference sensor's times are kept; another sensor's time ``t`` becomes
    ``fits[reference].to_device(fits[p].to_host(t))``. Samples are not resampled
    (:func:`spinecoach.motion.process.motion_process` interpolates onto one grid).

    Returns ``(recording, info)``; ``info["sensors"][placement]`` has ``offset_s``,
    ``drift_ppm``, ``n_pairs``, ``mean_delay_s`` and the applied shift at the first and
    last sample (``shift_first_s``, ``shift_last_s``).

    >>> import numpy as np
    >>> t = np.arange(0.0, 10.0, 0.01)
    >>> rec = Recording.create({p: SensorData.from_arrays(p, t, np.zeros((t.size, 3)),
    ...     np.zeros((t.size, 3)), rate_hz=100.0) for p in ("lower", "upper")})
    >>> fits = {"lower": ClockFit(0.0, 50.0, 0.0, 10, 10.0, 0.0),
    ...         "upper": ClockFit(0.0, 50.2, 100.0, 10, 10.0, 0.0)}
    >>> aligned, info = clock_align(rec, fits, reference="lower")
    >>> round(info["sensors"]["upper"]["shift_last_s"], 6)
    0.200999
    """
    if reference not in recording.sensors:
        raise ConfigurationError(
            f"reference sensor {reference!r} is not in the recording; use one of "
            f"{', '.join(recording.sensors)}"
        )
    missing = [p for p in recording.sensors if p not in fits]
    if missing:
        raise ConfigurationError(
            f"no clock fit for sensor(s) {', '.join(missing)}; pass one ClockFit per "
            "sensor (from clock_fit or ClockAligner.current_fit)"
        )
    ref_fit = fits[reference]
    sensors: dict[str, SensorData] = {}
    info_sensors: dict[str, dict[str, float]] = {}
    for placement, data in recording.sensors.items():
        fit = fits[placement]
        if placement == reference:
            new_t = data.time_s
        else:
            new_t = ref_fit.to_device(fit.to_host(data.time_s))
            if new_t.size > 1 and not np.all(np.diff(new_t) > 0.0):
                raise ConfigurationError(
                    f"the clock fits of {placement!r} and {reference!r} do not keep "
                    f"{placement!r}'s samples in order (drift {fit.drift_ppm} ppm); refit "
                    "with more pairs"
                )
        shift = new_t - data.time_s
        sensors[placement] = SensorData.from_arrays(
            placement,
            new_t,
            data.acc_mps2,
            data.gyr_dps,
            rate_hz=data.rate_hz,
            mag_ut=data.mag_ut,
            device=data.device,
        )
        info_sensors[placement] = {
            "offset_s": fit.offset_s,
            "drift_ppm": fit.drift_ppm,
            "n_pairs": float(fit.n_pairs),
            "mean_delay_s": fit.mean_delay_s,
            "shift_first_s": float(shift[0]) if shift.size else 0.0,
            "shift_last_s": float(shift[-1]) if shift.size else 0.0,
        }
    meta = {**recording.meta, "clock_reference": reference}
    aligned = replace(
        recording,
        sensors=MappingProxyType(sensors),
        meta=MappingProxyType(meta),
    )
    return aligned, {"reference": reference, "sensors": info_sensors}


def interpolate_bracketed(
    time_s: FloatArray, grid_t_s: FloatArray, values: FloatArray, *, max_gap_s: float
) -> tuple[NDArray[np.bool_], FloatArray]:
    """Pair one stream's samples with another's: ``values`` (n, 3) sampled at the sorted
    times ``grid_t_s`` (s), linearly interpolated at ``time_s`` (s, sorted, none after
    ``grid_t_s[-1]``) wherever a sample lies on both sides no more than ``max_gap_s``
    apart (or one at exactly that time). Returns the mask of the times paired and the
    values there ((k, 3)); nothing is extrapolated or interpolated over a hole.

    >>> ok, v = interpolate_bracketed(np.array([0.5, 1.5, 2.0]), np.array([0.0, 1.0, 2.0]),
    ...                               np.array([[0.0] * 3, [1.0] * 3, [5.0] * 3]), max_gap_s=1.0)
    >>> ok.tolist(), v[:, 0].tolist()
    ([True, True, True], [0.5, 3.0, 5.0])
    """
    last = len(grid_t_s) - 1
    right = np.searchsorted(grid_t_s, time_s, side="left")
    at_right = grid_t_s[np.minimum(right, last)]
    exact = (right <= last) & (at_right == time_s)
    hole = at_right - grid_t_s[np.maximum(right - 1, 0)]
    ok: NDArray[np.bool_] = exact | ((right > 0) & (hole <= max_gap_s))
    paired: FloatArray = np.column_stack(
        [np.interp(time_s[ok], grid_t_s, values[:, k]) for k in range(3)]
    ).reshape(-1, 3)
    return ok, paired
