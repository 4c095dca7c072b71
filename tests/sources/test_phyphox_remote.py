"""phyphox remote access over real HTTP: a fake phyphox on 127.0.0.1 serves a simulated
recording with phyphox's rules, and :class:`PhyphoxRemoteSource` polls it into a feed.

The fake phyphox (``FakePhyphox``) follows the app's remote server (phyphox-android
``RemoteServer.java``): ``/config`` lists the inputs and their buffers; ``/get`` answers
``full``, a threshold ``T`` or ``T|reference`` (values whose reference time is above
``T`` nudged up by one unit of the 8th significant digit) or the last value (empty
parameter), writes 8 significant digits and ``null`` for NaN, and sends everything
(``full``) once after a clear; ``/control?cmd=start|stop``. The accelerometer and the
gyroscope have their own time stamps (the gyroscope 3.1 ms later and 50 ppm faster).
Data become visible as the test releases them (virtual phone time, 2 s steps).
"""

from __future__ import annotations

import asyncio
import contextlib
import doctest
import functools
import json
import math
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import pytest

from spinecoach.recording import SensorData
from spinecoach.sim import simulate
from spinecoach.sources import phyphox_config, phyphox_remote
from spinecoach.sources.live import DeviceFeed, DeviceState
from spinecoach.sources.phyphox_config import PhyphoxExperimentError, phyphox_experiment
from spinecoach.sources.phyphox_remote import NOT_MEASURING, PhyphoxRemoteSource

ACC = ("accX", "accY", "accZ", "acc_time")
GYR = ("gyrX", "gyrY", "gyrZ", "gyr_time")
FAST_BACKOFF = (0.05, 0.1)
POLL_S = 0.01


def _round8(values: np.ndarray) -> np.ndarray:
    """phyphox writes 8 significant digits ("0.#######E0")."""
    flat = [float(f"{v:.7e}") if math.isfinite(v) else math.nan for v in values.ravel()]
    return np.array(flat).reshape(values.shape)


@functools.cache
def _lower_sensor() -> SensorData:
    return simulate("pelvic-tilt", seed=0, reps=2).sensors["lower"]


@dataclass
class Run:
    """One measurement as phyphox holds it (rounded as it sends it)."""

    acc_t: np.ndarray
    acc: np.ndarray  # m/s² with g
    gyr_t: np.ndarray
    gyr_radps: np.ndarray

    @classmethod
    def from_recording(cls, start_s: float = 0.0, stop_s: float = math.inf) -> Run:
        sensor = _lower_sensor()
        keep = (sensor.time_s >= start_s) & (sensor.time_s < stop_s)
        t = sensor.time_s[keep] - start_s + (0.0007 if start_s else 0.0)
        acc, gyr_dps = sensor.acc_mps2[keep], sensor.gyr_dps[keep]
        gyr_t = t * (1 + 50e-6) + 0.0031
        gyr = np.column_stack([np.interp(gyr_t, t, gyr_dps[:, k]) for k in range(3)])
        return cls(_round8(t), _round8(acc), _round8(gyr_t), _round8(np.radians(gyr)))

    def expected(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What the feed must receive: acc samples with gyroscope on both sides, the
        gyroscope linearly interpolated onto them in deg/s; rows with NaN left out."""
        acc_ok = np.isfinite(self.acc).all(axis=1)
        gyr_ok = np.isfinite(self.gyr_radps).all(axis=1)
        gt, g = self.gyr_t[gyr_ok], self.gyr_radps[gyr_ok]
        t = self.acc_t[acc_ok]
        inside = (t >= gt[0]) & (t <= gt[-1])
        t = t[inside]
        gyr = np.degrees(np.column_stack([np.interp(t, gt, g[:, k]) for k in range(3)]))
        return t, self.acc[acc_ok][inside], gyr


class FakePhyphox:
    """phyphox's remote server, run from a :class:`Run`, on a free loopback port."""

    def __init__(self, run: Run, *, gyroscope: bool = True, title: str = "spinecoach") -> None:
        self.run = run
        self.gyroscope = gyroscope
        self.title = title
        self.released_s = -math.inf
        self.measuring = True
        self.session = "a1b2c3"
        self.force_full = False
        self.bad_answers: list[str] = []
        self.commands: list[str] = []
        self.gyr_served_until = -math.inf
        self.reads = 0  # /get answers served, so a test can wait for the poller to look
        self.lock = threading.Lock()
        self.port = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- the test's controls ---------------------------------------------------------------
    def release(self, until_s: float) -> int:
        """Make the data up to ``until_s`` visible; returns how many reads came before."""
        with self.lock:
            self.released_s = until_s
            return self.reads

    def restart(self, run: Run, *, how: str) -> None:
        """The person clears the data and measures again: ``full`` (phyphox's forced full
        update), ``session`` (a new session id) or ``consumed`` (a browser took the full
        update, the poller must notice the time went back)."""
        with self.lock:
            self.run = run
            self.released_s = -math.inf
            self.gyr_served_until = -math.inf
            self.force_full = how == "full"
            if how == "session":
                self.session = "d4e5f6"

    def start(self) -> None:
        handler = type("Handler", (_Handler,), {"phone": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # -- what phyphox answers --------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        inputs = [{"source": "accelerometer", "outputs": _outputs(ACC)}]
        names = list(ACC)
        if self.gyroscope:
            inputs.append({"source": "gyroscope", "outputs": _outputs(GYR)})
            names += GYR
        return {
            "crc32": "0badc0de",
            "title": self.title,
            "localTitle": self.title,
            "category": "Raw Sensors",
            "buffers": [{"name": n, "size": 0} for n in names],
            "inputs": inputs,
            "export": [],
        }

    def _columns(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Buffer name → (visible values, their time)."""
        r = self.run
        acc_n = int(np.searchsorted(r.acc_t, self.released_s, side="right"))
        gyr_n = int(np.searchsorted(r.gyr_t, self.released_s, side="right"))
        acc_t, gyr_t = r.acc_t[:acc_n], r.gyr_t[:gyr_n]
        columns = {ACC[3]: (acc_t, acc_t)}
        columns |= {ACC[k]: (r.acc[:acc_n, k], acc_t) for k in range(3)}
        if self.gyroscope:
            columns[GYR[3]] = (gyr_t, gyr_t)
            columns |= {GYR[k]: (r.gyr_radps[:gyr_n, k], gyr_t) for k in range(3)}
        return columns

    def get(self, query: list[tuple[str, str]]) -> str:
        self.reads += 1
        if self.bad_answers:
            kind = self.bad_answers.pop(0)
            if kind == "garbage":
                return '{"buffer": {"accX": {"size": 0, "updateMode": "partial", "buf'
            query = [(name, value) for name, value in query if name != "gyrX"]
        columns = self._columns()
        parts = []
        seen: set[str] = set()
        for name, value in query:
            if name in seen or name not in columns:
                continue
            seen.add(name)
            values, own_time = columns[name]
            if value == "":
                mode, shown = "single", values[-1:] if len(values) else np.array([math.nan])
            elif value == "full" or self.force_full:
                mode, shown = "full", values
            else:
                threshold_text, _, reference = value.partition("|")
                threshold = float(threshold_text)
                if threshold != 0:
                    threshold += 10 ** math.floor(math.log10(abs(threshold) / 1e7))
                ref_time = columns[reference][0] if reference else own_time
                n = min(len(values), len(ref_time))
                mode, shown = "partial", values[:n][ref_time[:n] > threshold]
            if name == GYR[3] and len(shown) and mode != "single":
                self.gyr_served_until = max(self.gyr_served_until, float(np.nanmax(shown)))
            text = ",".join("null" if not math.isfinite(v) else f"{v:.7E}" for v in shown)
            parts.append(f'"{name}":{{"size":0,"updateMode":"{mode}", "buffer":[{text}]}}')
        if query:
            self.force_full = False
        status = (
            f'"session":"{self.session}", "measuring":{json.dumps(self.measuring)}, '
            '"timedRun":false, "countDown":0'
        )
        return '{"buffer":{\n' + ",\n".join(parts) + '\n},\n"status":{\n' + status + "\n}\n}\n"

    def control(self, query: dict[str, str]) -> str:
        cmd = query.get("cmd", "")
        self.commands.append(cmd)
        if cmd in ("start", "stop"):
            self.measuring = cmd == "start"
            return '{"result": true}'
        return '{"result": false}'


def _outputs(names: tuple[str, ...]) -> list[dict[str, str]]:
    return [{c: n} for c, n in zip(("x", "y", "z", "t"), names, strict=True)]


class _Handler(BaseHTTPRequestHandler):
    phone: FakePhyphox

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qsl(url.query, keep_blank_values=True)
        with self.phone.lock:
            if url.path == "/config":
                body = json.dumps(self.phone.config())
            elif url.path == "/get":
                body = self.phone.get(query)
            elif url.path == "/control":
                body = self.phone.control(dict(query))
            else:
                self.send_error(404)
                return
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # keep the test output quiet
        pass


class RecordingFeed(DeviceFeed):
    """A feed that remembers every state and every push (with the newest gyroscope
    time the fake phyphox had sent by then)."""

    def __init__(self, phone: FakePhyphox) -> None:
        super().__init__("phyphox:test", kind="phyphox", name="Phone (phyphox)")
        self.phone = phone
        self.states: list[tuple[DeviceState, str]] = []
        self.pushes: list[tuple[np.ndarray, np.ndarray, np.ndarray, float]] = []

    def set_state(self, state: DeviceState, detail: str) -> None:
        if not self.states or self.states[-1] != (state, detail):
            self.states.append((state, detail))
        super().set_state(state, detail)

    def push(self, device_times_s: Any, **kwargs: Any) -> Any:
        with self.phone.lock:
            gyr_until = self.phone.gyr_served_until
        self.pushes.append(
            (
                np.array(device_times_s),
                np.array(kwargs["acc_mps2"]),
                np.array(kwargs["gyr_dps"]),
                gyr_until,
            )
        )
        return super().push(device_times_s, **kwargs)

    def pushed(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not self.pushes:
            return np.empty(0), np.empty((0, 3)), np.empty((0, 3))
        t, acc, gyr, _ = zip(*self.pushes, strict=True)
        return np.concatenate(t), np.concatenate(acc), np.concatenate(gyr)


@pytest.fixture(scope="module")
def recording() -> Run:
    run = Run.from_recording()
    run.acc[500, 1] = math.nan  # phyphox's null: that sample is dropped
    run.gyr_radps[800, 2] = math.nan  # interpolated across its neighbours instead
    return run


@pytest.fixture
def phone(recording: Run) -> Any:
    server = FakePhyphox(recording)
    server.start()
    yield server
    server.stop()


async def _until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("timed out waiting for the poller")
        await asyncio.sleep(0.005)


async def _release(
    phone: FakePhyphox, until_s: float, *, from_s: float = 0.0, step_s: float = 2.0
) -> None:
    """Release the phone's data from ``from_s`` up to ``until_s`` (phone time) in steps,
    each one after the poller has read the one before (at least 20 ms apart), so a busy
    machine cannot merge the steps into one read."""
    t = from_s
    while t < until_s:
        t = min(until_s, t + step_s)
        before = phone.release(t)
        await asyncio.sleep(0.02)
        await _until(lambda before=before: phone.reads > before)


def _run(source: PhyphoxRemoteSource, scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    async def main() -> None:
        task = asyncio.create_task(source.run())
        try:
            await scenario()
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    asyncio.run(main())


def _source(phone: FakePhyphox, feed: DeviceFeed, **kwargs: Any) -> PhyphoxRemoteSource:
    return PhyphoxRemoteSource(
        phone.url, feed, poll_interval_s=POLL_S, backoff=FAST_BACKOFF, **kwargs
    )


def _check_equal(feed: RecordingFeed, run: Run) -> None:
    t, acc, gyr = feed.pushed()
    want_t, want_acc, want_gyr = run.expected()
    np.testing.assert_array_equal(t, want_t)
    np.testing.assert_array_equal(acc, want_acc)
    np.testing.assert_allclose(gyr, want_gyr, rtol=0, atol=1e-6)


def test_samples_equal_the_recording_and_nothing_is_extrapolated(
    phone: FakePhyphox, recording: Run
) -> None:
    feed = RecordingFeed(phone)
    source = _source(phone, feed)
    want_t, _, _ = recording.expected()

    async def scenario() -> None:
        await _release(phone, 80.0, step_s=4.0)
        await _until(lambda: feed.samples == len(want_t))

    _run(source, scenario)
    _check_equal(feed, recording)
    assert len(feed.pushes) > 10  # many increments, not one full read at the end
    for device_t, _, _, gyr_until in feed.pushes:
        assert device_t[-1] <= gyr_until  # never past the newest gyroscope sample
    assert source.nan_dropped == 2
    assert source.unpaired == 1  # the first acc sample lies before the first gyroscope one
    assert source.malformed == source.restarts == 0
    assert feed.gaps == feed.late == 0
    assert feed.states[0] == ("connecting", f"connecting to phyphox at {phone.url}")
    assert ("connected", "receiving data from phyphox experiment 'spinecoach'") in feed.states
    assert feed.states[-1] == ("disconnected", "stopped polling phyphox")


def test_outage_reconnects_and_loses_nothing(phone: FakePhyphox, recording: Run) -> None:
    feed = RecordingFeed(phone)
    source = _source(phone, feed)
    want_t, _, _ = recording.expected()

    async def scenario() -> None:
        await _release(phone, 30.0)
        await _until(lambda: feed.samples > 0 and feed.pushes[-1][0][-1] > 29.0)
        phone.stop()  # the phone leaves the Wi-Fi for a second, and keeps measuring
        await _until(lambda: feed.status().state == "reconnecting")
        phone.release(50.0)
        await asyncio.sleep(1.0)
        phone.start()
        await _release(phone, 80.0, from_s=50.0)
        await _until(lambda: feed.samples == len(want_t))

    _run(source, scenario)
    _check_equal(feed, recording)
    states = [s for s, _ in feed.states]
    down = states.index("reconnecting")
    assert "connected" in states[down:]
    assert feed.states[down] == (
        "reconnecting",
        f"phyphox at {phone.url} not reachable: is remote access on and the phone on the "
        "same Wi-Fi?",
    )
    assert feed.gaps == 0  # phyphox kept the data: all of it arrived after the outage


@pytest.mark.parametrize("how", ["full", "session", "consumed"])
def test_restarted_measurement_goes_on_with_a_gap(phone: FakePhyphox, how: str) -> None:
    first, second = Run.from_recording(0.0, 12.0), Run.from_recording(30.0, 42.0)
    phone.restart(first, how="full")
    feed = RecordingFeed(phone)
    source = _source(phone, feed)
    n_first, n_second = len(first.expected()[0]), len(second.expected()[0])

    async def scenario() -> None:
        await _release(phone, 12.0)
        await _until(lambda: feed.samples == n_first)
        phone.restart(second, how=how)
        await _release(phone, 12.0, step_s=1.0)
        await _until(lambda: feed.samples == n_first + n_second)

    _run(source, scenario)
    t, acc, gyr = feed.pushed()
    assert np.all(np.diff(t) > 0)  # time keeps increasing across the restart
    assert feed.late == 0  # nothing of the new run was dropped as a duplicate
    assert feed.gaps == 1
    assert source.restarts == 1
    want_t, want_acc, want_gyr = second.expected()
    np.testing.assert_allclose(t[n_first:] - t[n_first], want_t - want_t[0], atol=1e-9)
    np.testing.assert_array_equal(acc[n_first:], want_acc)
    np.testing.assert_allclose(gyr[n_first:], want_gyr, rtol=0, atol=1e-6)
    assert t[n_first] - t[n_first - 1] > 0.1


def test_experiment_without_gyroscope_fails_with_the_fix(recording: Run) -> None:
    phone = FakePhyphox(recording, gyroscope=False, title="Acceleration with g")
    phone.start()
    try:
        feed = RecordingFeed(phone)
        source = _source(phone, feed)

        async def scenario() -> None:
            phone.release(5.0)
            await _until(lambda: feed.status().state == "failed")

        _run(source, scenario)
    finally:
        phone.stop()
    assert feed.states[-2] == (
        "failed",
        "The phyphox experiment 'Acceleration with g' records no gyroscope; spinecoach "
        "needs both: in phyphox tap + → “Simple experiment”, tick the accelerometer (with "
        "g, not linear acceleration) and the gyroscope, save it, open it and allow remote "
        "access there (docs/phone-setup-phyphox.md).",
    )
    assert feed.samples == 0


def test_malformed_answers_are_counted_and_survived(phone: FakePhyphox, recording: Run) -> None:
    feed = RecordingFeed(phone)
    source = _source(phone, feed)
    want_t, _, _ = recording.expected()

    async def scenario() -> None:
        await _release(phone, 20.0)
        await _until(lambda: feed.samples > 0)
        phone.bad_answers = ["garbage", "missing"]
        await _release(phone, 80.0, from_s=20.0, step_s=4.0)
        await _until(lambda: feed.samples == len(want_t))

    _run(source, scenario)
    _check_equal(feed, recording)  # nothing invented, nothing lost
    assert source.malformed == 2
    assert source.last_problem == "buffer 'gyrX' missing from phyphox's answer"
    details = [d for s, d in feed.states if s == "connected"]
    assert (
        "receiving data from phyphox experiment 'spinecoach'; 1 bad response from phyphox "
        "skipped (last: /get answered something that is not JSON)"
    ) in details


def test_not_measuring_says_press_play(phone: FakePhyphox) -> None:
    phone.measuring = False
    feed = RecordingFeed(phone)
    source = _source(phone, feed)

    async def scenario() -> None:
        await _until(lambda: feed.status().detail == NOT_MEASURING)

    _run(source, scenario)
    assert feed.states[-2] == ("connected", "phyphox is not measuring: press play in the app")
    assert phone.commands == []


def test_resumed_pause_is_a_gap(phone: FakePhyphox, recording: Run) -> None:
    feed = RecordingFeed(phone)
    source = _source(phone, feed)
    want_t, _, _ = recording.expected()

    async def scenario() -> None:
        await _release(phone, 20.0)
        await _until(lambda: feed.samples > 0 and feed.pushes[-1][0][-1] > 19.0)
        phone.measuring = False  # paused: phyphox's time stands still, the host's does not
        await _until(lambda: feed.status().detail == NOT_MEASURING)
        await asyncio.sleep(0.2)
        phone.measuring = True
        await _release(phone, 80.0, from_s=20.0, step_s=4.0)
        await _until(lambda: feed.samples == len(want_t))

    _run(source, scenario)
    t, acc, _ = feed.pushed()
    np.testing.assert_array_equal(acc, recording.expected()[1])
    assert np.all(np.diff(t) > 0)
    assert feed.gaps == 1 and feed.late == 0 and source.restarts == 0


def test_start_measurement_presses_play_once(phone: FakePhyphox) -> None:
    phone.measuring = False
    feed = RecordingFeed(phone)
    source = _source(phone, feed, start_measurement=True)

    async def scenario() -> None:
        await _until(lambda: phone.measuring)
        await _release(phone, 4.0)
        await _until(lambda: feed.samples > 0)

    _run(source, scenario)
    assert phone.commands == ["start"]


def test_experiment_errors_name_what_is_missing() -> None:
    linear = {
        "title": "Acceleration (without g)",
        "inputs": [{"source": "linear_acceleration", "outputs": _outputs(ACC)}],
    }
    with pytest.raises(PhyphoxExperimentError, match=r"records acceleration without g and no "):
        phyphox_experiment(linear)
    by_names = {"title": "Old", "buffers": [{"name": n, "size": 0} for n in ACC + GYR]}
    assert phyphox_experiment(by_names).acc.time == "acc_time"


def test_docstring_examples() -> None:
    modules = (phyphox_remote, phyphox_config)
    assert sum(doctest.testmod(m, raise_on_error=True).attempted for m in modules) >= 3
