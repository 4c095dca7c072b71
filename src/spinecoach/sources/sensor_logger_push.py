"""Sensor Logger's live HTTP push: parse its messages and join its streams into samples.

Sensor Logger (Kelvin Choi's phone app for iOS and Android) can push a recording live:
Settings (gear icon on the Logger page) → Data Streaming → HTTP Push, URL
``http://COMPUTER:8000/api/ingest/sensor-logger``. Every batch period it POSTs JSON
(PUSHING.md in github.com/tszheichoi/awesome-sensor-logger)::

    {"messageId": 0, "sessionId": "…", "deviceId": "…",
     "payload": [{"name": "accelerometer", "time": 1698501144401773000,
                  "values": {"x": …, "y": …, "z": …}}, …]}

``time`` is UTC in epoch nanoseconds; ``messageId`` counts up per message; ``sessionId``
is one recording; ``deviceId`` one phone. Streams used (units as in the app's UNITS.md,
the same as its CSV export, see :mod:`spinecoach.io.sensor_logger`):

=============================  =========================================  ==========
name                           what                                       unit
=============================  =========================================  ==========
``totalacceleration``          acceleration including gravity (Android)   m/s²
``accelerometer``              acceleration *without* gravity             m/s²
``gravity``                    gravity vector                             m/s²
``accelerometeruncalibrated``  raw acceleration incl. gravity             m/s² (g on iOS)
``gyroscope``                  rotation rate (required)                   rad/s
=============================  =========================================  ==========

Acceleration with gravity is taken from ``totalacceleration`` if the phone sends it,
else ``accelerometer`` + ``gravity`` (gravity interpolated onto the accelerometer's time
stamps and added), else ``accelerometeruncalibrated``. Other streams (orientation,
location, battery, …) are ignored. Signs: iOS reports acceleration and gravity with the
opposite sign to Android unless "Standardise Units & Frames" is on in the app, and a push
does not say which platform sent it, so the ingest URL says it: ``?platform=ios`` negates
acceleration and gravity (and converts an uncalibrated acceleration from g); the default
``android`` uses them as they are.

:class:`PushJoiner` keeps each phone's streams and emits samples at the acceleration's
time stamps once the gyroscope (and gravity) have samples on both sides — linear
interpolation, never extrapolation; the newest samples wait for the next message (the
added latency is at most one batch period, so set the app's batch period to 200 ms or
less for live coaching). A message whose ``sessionId`` differs starts afresh. Messages
that arrive out of order (HTTP requests can overtake each other) are joined by time; a
sample older than what was already emitted is dropped and counted (``PushJoiner.late``,
added to the device's ``late`` count).

One phone's pushes as a :class:`~spinecoach.sources.base.Source`:
:class:`SensorLoggerPushSource` — :meth:`~SensorLoggerPushSource.receive` takes each body
(what the server's ingest route gets) into the phone's
:class:`~spinecoach.sources.live.DeviceFeed` (:func:`ingest_push`: join, count late
samples, say what the phone does not send), and iterating the source gives the feed's
samples (a :class:`~spinecoach.sources.feed_source.FeedSource`: a hole in the pushes as a
``gap`` event). A broken message raises :class:`InputFormatError` from ``receive``
(nothing of it is used, the source goes on); a phone that does not send its gyroscope
sets the feed ``failed`` with the fix, which ends the iteration with that sentence.

>>> msg = parse_push(b'{"messageId": 1, "sessionId": "s", "deviceId": "d", "payload": []}')
>>> msg.device_id, msg.message_id, len(msg.streams)
('d', 1, 0)
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import numpy as np
from numpy.typing import NDArray

from spinecoach.errors import InputFormatError
from spinecoach.sources.feed_source import FeedSource
from spinecoach.sources.live import DeviceFeed, SampleBatch

FloatArray = NDArray[np.float64]

Platform = Literal["android", "ios"]
PLATFORMS: Final = ("android", "ios")

#: Streams this reader uses (lower-case names as the app sends them).
USED_STREAMS: Final = (
    "totalacceleration",
    "accelerometer",
    "gravity",
    "accelerometeruncalibrated",
    "gyroscope",
)
STANDARD_GRAVITY: Final = 9.80665
_ACCELERATION_STREAMS: Final = frozenset(
    {"totalacceleration", "accelerometer", "accelerometeruncalibrated"}
)
#: Largest message accepted (bytes): a 1 s batch of every sensor at 500 Hz is ~1 MB.
MAX_PUSH_BYTES: Final = 8_000_000
#: Samples kept per stream while waiting for the others (a phone that stops sending one
#: stream must not grow memory without bound: ~2 minutes at 100 Hz).
MAX_PENDING: Final = 12_000

_SOURCE: Final = "Sensor Logger push"
_FIX: Final = (
    "send Sensor Logger's HTTP push JSON unchanged: {messageId, sessionId, deviceId, "
    "payload: [{name, time, values: {x, y, z}}]}"
)


@dataclass(frozen=True)
class PushMessage:
    """One parsed push: who sent it and its used streams (time in s, values ``(n, 3)``)."""

    message_id: int | None
    session_id: str
    device_id: str
    streams: dict[str, tuple[FloatArray, FloatArray]]
    ignored: int = 0


def _error(expected: str, found: str, column: str | None = None) -> InputFormatError:
    return InputFormatError(_SOURCE, expected, column=column, found=found, fix=_FIX)


def parse_push(body: bytes | str | dict[str, Any]) -> PushMessage:
    """Parse and check one push body. Raises :class:`InputFormatError` naming the field
    that is wrong (a broken message is refused whole; nothing of it is used)."""
    if isinstance(body, bytes | str):
        if len(body) > MAX_PUSH_BYTES:
            raise _error(f"a message of at most {MAX_PUSH_BYTES} bytes", f"{len(body)} bytes")
        try:
            data = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise _error("a JSON object", f"invalid JSON ({error})") from None
    else:
        data = body
    if not isinstance(data, dict):
        raise _error("a JSON object", type(data).__name__)
    payload = data.get("payload")
    if not isinstance(payload, list):
        raise _error("a 'payload' list", repr(payload)[:40], column="payload")
    device_id = data.get("deviceId")
    if not isinstance(device_id, str) or not device_id:
        raise _error("a 'deviceId' text", repr(device_id), column="deviceId")
    session_id = data.get("sessionId", "")
    if not isinstance(session_id, str):
        raise _error("a 'sessionId' text", repr(session_id), column="sessionId")
    message_id = data.get("messageId")
    if message_id is not None and (isinstance(message_id, bool) or not isinstance(message_id, int)):
        raise _error("a whole-number 'messageId'", repr(message_id), column="messageId")
    rows: dict[str, tuple[list[float], list[tuple[float, float, float]]]] = {}
    ignored = 0
    for index, item in enumerate(payload):
        where = f"payload[{index}]"
        if not isinstance(item, dict):
            raise _error("an object with name, time and values", repr(item)[:40], column=where)
        name = item.get("name")
        if not isinstance(name, str):
            raise _error("a sensor 'name'", repr(name), column=f"{where}.name")
        name = name.lower()
        if name not in USED_STREAMS:
            ignored += 1
            continue
        time_ns = item.get("time")
        if isinstance(time_ns, bool) or not isinstance(time_ns, int | float):
            raise _error("'time' in epoch nanoseconds", repr(time_ns), column=f"{where}.time")
        if not 1e17 < time_ns < 1e20:
            raise _error(
                "'time' in epoch nanoseconds (about 1.7e18 today)",
                repr(time_ns),
                column=f"{where}.time",
            )
        values = item.get("values")
        if not isinstance(values, dict):
            raise _error("'values' with x, y and z", repr(values)[:40], column=f"{where}.values")
        xyz: list[float] = []
        for axis in ("x", "y", "z"):
            value = values.get(axis)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise _error("a number", repr(value), column=f"{where}.values.{axis}")
            if not math.isfinite(value):
                raise _error("a finite number", repr(value), column=f"{where}.values.{axis}")
            xyz.append(float(value))
        times, vals = rows.setdefault(name, ([], []))
        times.append(time_ns / 1e9)
        vals.append((xyz[0], xyz[1], xyz[2]))
    streams: dict[str, tuple[FloatArray, FloatArray]] = {}
    for name, (times, vals) in rows.items():
        t = np.asarray(times, dtype=np.float64)
        v = np.asarray(vals, dtype=np.float64).reshape(-1, 3)
        order = np.argsort(t, kind="stable")
        streams[name] = (t[order], v[order])
    return PushMessage(message_id, session_id, device_id, streams, ignored)


@dataclass
class _Pending:
    time_s: FloatArray = field(default_factory=lambda: np.empty(0))
    values: FloatArray = field(default_factory=lambda: np.empty((0, 3)))

    def add(self, time_s: FloatArray, values: FloatArray) -> None:
        t = np.concatenate([self.time_s, time_s])
        v = np.concatenate([self.values, values])
        order = np.argsort(t, kind="stable")
        t, v = t[order], v[order]
        if len(t) > 1:  # a sample sent twice (a retried request) is kept once
            keep = np.concatenate([[True], np.diff(t) > 0])
            t, v = t[keep], v[keep]
        self.time_s, self.values = t[-MAX_PENDING:], v[-MAX_PENDING:]

    def drop_before(self, time_s: float) -> None:
        """Forget samples no longer needed to interpolate at ``time_s`` or later (the
        last one before it is kept)."""
        index = int(np.searchsorted(self.time_s, time_s, side="right")) - 1
        if index > 0:
            self.time_s, self.values = self.time_s[index:], self.values[index:]


@dataclass(frozen=True)
class JoinedSamples:
    """Samples ready for the device feed: phone time (s), m/s² with gravity, deg/s."""

    time_s: FloatArray
    acc_mps2: FloatArray
    gyr_dps: FloatArray


class PushJoiner:
    """One phone's streams → samples at the acceleration's time stamps (see module)."""

    def __init__(self, platform: Platform = "android") -> None:
        if platform not in PLATFORMS:
            raise ValueError(f"platform must be one of {', '.join(PLATFORMS)}, not {platform!r}")
        self.platform: Platform = platform
        self.session_id: str | None = None
        self._pending: dict[str, _Pending] = {}
        self._emitted_until = -math.inf
        self._seen: set[str] = set()
        self.messages = 0
        #: Acceleration samples that arrived after later ones were emitted (a message
        #: overtaken by the next): dropped, counted here.
        self.late = 0

    def _base(self) -> tuple[str, tuple[str, ...]] | None:
        """The acceleration stream used as the time base, and the streams it needs
        (None until every one of them has samples waiting)."""
        have = {name for name, p in self._pending.items() if len(p.time_s)}
        if "gyroscope" not in have:
            return None
        if "totalacceleration" in have:
            return "totalacceleration", ("gyroscope",)
        if "accelerometer" in have and "gravity" in have:
            return "accelerometer", ("gyroscope", "gravity")
        if "accelerometeruncalibrated" in have:
            return "accelerometeruncalibrated", ("gyroscope",)
        return None

    def missing(self) -> str | None:
        """What the phone does not send that spinecoach needs, judged from every stream
        seen in this recording (None: all there, or nothing seen yet)."""
        have = self._seen
        if not have:
            return None
        if "gyroscope" not in have:
            return "the gyroscope"
        acceleration = {"totalacceleration", "accelerometeruncalibrated"} & have
        if not acceleration and "accelerometer" in have and "gravity" not in have:
            return "gravity (turn on Gravity or Total Acceleration)"
        if not acceleration and "accelerometer" not in have:
            return "the accelerometer"
        return None

    def add(self, message: PushMessage) -> JoinedSamples:
        """Add one message's streams; return every sample that can now be emitted."""
        if self.session_id is not None and message.session_id != self.session_id:
            self._pending.clear()  # a new recording in the app: nothing to join across
            self._seen.clear()
        self.session_id = message.session_id
        self.messages += 1
        for name, (t, v) in message.streams.items():
            self._seen.add(name)
            if name in _ACCELERATION_STREAMS:
                stale = t <= self._emitted_until
                self.late += int(stale.sum())
                t, v = t[~stale], v[~stale]
            self._pending.setdefault(name, _Pending()).add(t, v)
        return self._emit()

    def _emit(self) -> JoinedSamples:
        empty = JoinedSamples(np.empty(0), np.empty((0, 3)), np.empty((0, 3)))
        base = self._base()
        if base is None:
            return empty
        base_name, needed = base
        acc = self._pending[base_name]
        others = [self._pending[name] for name in needed]
        start = max(float(p.time_s[0]) for p in others)
        end = min(float(p.time_s[-1]) for p in others)
        ready = (acc.time_s >= start) & (acc.time_s <= end) & (acc.time_s > self._emitted_until)
        if not ready.any():
            return empty
        t = acc.time_s[ready]
        values = {
            name: np.column_stack([np.interp(t, p.time_s, p.values[:, k]) for k in range(3)])
            for name, p in zip(needed, others, strict=True)
        }
        acc_mps2 = acc.values[ready].copy()
        if "gravity" in values:
            acc_mps2 += values["gravity"]
        if self.platform == "ios":
            acc_mps2 = -acc_mps2
            if base_name == "accelerometeruncalibrated":
                acc_mps2 *= STANDARD_GRAVITY
        gyr_dps = np.degrees(values["gyroscope"])
        self._emitted_until = float(t[-1])
        keep_from = self._emitted_until
        acc_mask = acc.time_s > keep_from
        acc.time_s, acc.values = acc.time_s[acc_mask], acc.values[acc_mask]
        for p in others:
            p.drop_before(keep_from)
        return JoinedSamples(t, acc_mps2, gyr_dps)


def ingest_push(
    feed: DeviceFeed, joiner: PushJoiner, message: PushMessage, *, host_time_s: float | None
) -> tuple[SampleBatch | None, str | None]:
    """One parsed message into the phone's ``feed`` through its ``joiner``: the joined
    samples pushed (at ``host_time_s``, the time the message arrived; None: now), the
    joiner's late samples added to the feed's ``late``, and the feed set ``failed`` with
    the fix when the phone does not send a stream spinecoach needs. Returns (the batch as
    stored or None, what is missing or None); raises :class:`InputFormatError` from the
    feed for samples it cannot take."""
    late_before = joiner.late
    joined = joiner.add(message)
    feed.late += joiner.late - late_before
    missing = joiner.missing()
    if missing is not None and message.streams:
        feed.set_state(
            "failed",
            f"the phone does not send {missing}: turn it on in Sensor Logger's sensor list",
        )
    stored = None
    if len(joined.time_s):
        stored = feed.push(
            joined.time_s, host_time_s=host_time_s, acc_mps2=joined.acc_mps2, gyr_dps=joined.gyr_dps
        )
    return stored, missing


class SensorLoggerPushSource(FeedSource):
    """One phone pushing Sensor Logger messages into ``feed``, as a Source (see the
    module docstring); ``platform`` as the ingest URL's, ``options`` as
    :class:`~spinecoach.sources.feed_source.FeedSource`'s."""

    def __init__(self, feed: DeviceFeed, *, platform: Platform = "android", **options: Any) -> None:
        super().__init__(feed, **options)
        self.joiner = PushJoiner(platform)

    def receive(
        self, body: bytes | str | dict[str, Any], *, host_time_s: float | None = None
    ) -> int:
        """One push body (arrived at ``host_time_s``; None: now) into the feed; the
        number of samples stored. Raises :class:`InputFormatError` naming what is wrong
        with a broken message (nothing of it is used)."""
        stored, _ = ingest_push(self.feed, self.joiner, parse_push(body), host_time_s=host_time_s)
        return 0 if stored is None else len(stored)


def push_messages(
    time_s: FloatArray,
    acc_mps2: FloatArray,
    gyr_dps: FloatArray,
    *,
    start_unix_s: float,
    batch_s: float = 0.2,
    platform: Platform = "android",
    device_id: str = "rehearsal-phone",
    session_id: str = "rehearsal",
    gravity_split: bool = True,
) -> list[dict[str, Any]]:
    """One sensor's samples as the messages Sensor Logger would push (to rehearse the
    ingest without a phone, and in tests).

    Each ``batch_s`` of data becomes one message. With ``gravity_split`` the acceleration
    is sent as the app does by default: ``accelerometer`` without gravity plus
    ``gravity`` (a 0.5 s moving average stands in for the phone's own gravity estimate;
    the two add up to the input exactly); otherwise as ``totalacceleration``. The
    gyroscope goes in rad/s; ``platform="ios"`` flips the acceleration signs as an
    iPhone does.
    """
    t = np.asarray(time_s, dtype=np.float64)
    acc = np.asarray(acc_mps2, dtype=np.float64)
    gyr = np.radians(np.asarray(gyr_dps, dtype=np.float64))
    sign = -1.0 if platform == "ios" else 1.0
    if gravity_split:
        width = max(1, round(0.5 / max(float(np.median(np.diff(t))), 1e-6)))
        kernel = np.ones(width) / width
        padded = np.pad(acc, ((width // 2, width - 1 - width // 2), (0, 0)), mode="edge")
        gravity = np.column_stack([np.convolve(padded[:, k], kernel, "valid") for k in range(3)])
        streams = {"accelerometer": acc - gravity, "gravity": gravity}
    else:
        streams = {"totalacceleration": acc}
    streams = {name: sign * v for name, v in streams.items()}
    streams["gyroscope"] = gyr
    messages: list[dict[str, Any]] = []
    edges = np.arange(t[0], t[-1] + batch_s, batch_s)
    for k, (lo, hi) in enumerate(itertools.pairwise(edges)):
        inside = np.flatnonzero((t >= lo) & (t < hi))
        payload = [
            {
                "name": name,
                "time": round((start_unix_s + float(t[i])) * 1e9),
                "values": {axis: float(values[i, a]) for a, axis in enumerate("xyz")},
            }
            for i in inside
            for name, values in streams.items()
        ]
        messages.append(
            {"messageId": k, "sessionId": session_id, "deviceId": device_id, "payload": payload}
        )
    return messages
