"""Capacity of the live server: how many two-sensor sessions it holds at p99 ≤ 100 ms.

A load generator in ONE process (asyncio + websockets) opens N live sessions on a real
``spinecoach serve`` on a loopback port; each streams its own simulated two-sensor
recording at real time over ``/ws/live`` as a client with its own sensors would: a
10-sample ``samples`` message of each sensor every 100 ms (100 Hz), the calibration
windows as ``annotation`` messages when their time comes. Latency: from sending the
``samples`` message that completes a frame (the later of the two sensors' messages
holding its time) to receiving that ``frame``. N steps up until p99 passes 100 ms (or
the bounds below). For each step the table prints N, p50, p99, the server's cores used
(CPU time of all its processes over the step's wall time), its memory (resident, all
processes), and the samples stored against those sent (every session's stored
recording read back after its stop). Then the same with one worker per core.

Also printed: the server's CPU per session and per sample at the largest N held, the
projection to an 8-core machine (the issue's goal: 500 sessions), and the generator's
own CPU (it shares the machine's cores with the server: a wall-time measure, taken on a
machine other work may share — see the header line).

Bounded: loopback only; steps of STEP_S seconds; at most MAX_SESSIONS sessions and
MAX_TOTAL_S seconds per server.

Run: .venv/bin/python bench/capacity.py [--steps 10,25,50,...] [--step-s 20] [--workers 1,2]
     (about 6-10 minutes)
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
from sqlalchemy.orm import Session
from websockets.asyncio.client import ClientConnection, connect

from _common import console, machine, table
from spinecoach.recording import Recording
from spinecoach.services import accounts
from spinecoach.sim import simulate
from spinecoach.store import repository
from spinecoach.store.db import make_engine
from spinecoach.web.authz import COOKIE
from spinecoach.web.client_messages import client_messages

TARGET_P99_MS = 100.0
STEPS = (10, 25, 50, 75, 100, 125, 150, 200, 250, 300)
MAX_SESSIONS = 300
MAX_TOTAL_S = 420.0
BATCH = 10
GOAL_CORES, GOAL_SESSIONS = 8, 500


@dataclass
class Stream:
    """One session's messages: texts, and per sensor the last sample time of each."""

    texts: list[tuple[str, str, float, int]]  # (text, placement, last t, samples)


def _streams(n: int) -> list[Stream]:
    """``n`` different simulated sessions (seeds), as client messages at 100 Hz."""
    out = []
    base: list[Recording] = [simulate("pelvic-tilt", seed=s, reps=12) for s in range(4)]
    for k in range(n):
        recording = base[k % len(base)]
        texts = []
        for message in client_messages(recording, batch=BATCH):
            text = json.dumps(message)
            if message["type"] == "samples":
                t = message["t"]
                texts.append((text, message["placement"], float(t[-1]), len(t)))
            else:
                texts.append((text, "", float(message["start_s"]), 0))
        out.append(Stream(texts))
    return out


@dataclass
class Client:
    """What one session sent and measured."""

    sent: dict[str, int] = field(default_factory=dict)
    sent_at: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # (last t, s)
    latencies_ms: list[float] = field(default_factory=list)
    behind: int = 0
    session_id: int | None = None
    error: str = ""


async def _read(ws: ClientConnection, client: Client, measure_from: float) -> None:
    clock = time.perf_counter
    async for text in ws:
        if not isinstance(text, str):
            continue
        if text.startswith('{"type":"frame"'):
            now = clock()
            t = float(text[20 : text.index(",", 20)])
            done = 0.0
            for placement in ("lower", "upper"):
                sent = client.sent_at.get(placement, [])
                k = bisect.bisect_left(sent, (t - 5e-5, -1.0))
                if k >= len(sent):
                    done = -1.0
                    break
                done = max(done, sent[k][1])
            if done > 0 and done >= measure_from:
                client.latencies_ms.append((now - done) * 1e3)
        elif text.startswith('{"type":"behind"'):
            client.behind += 1
        elif text.startswith('{"type":"summary"'):
            client.session_id = json.loads(text).get("session_id")
            return


async def _session(
    url: str, cookie: str, stream: Stream, until: float, measure_from: float, client: Client
) -> None:
    """Stream at real time until ``until`` (perf_counter), then stop; wait for the summary."""
    headers = {"cookie": f"{COOKIE}={cookie}"}
    try:
        async with connect(url, max_size=None, additional_headers=headers) as ws:
            await ws.recv()  # hello
            await ws.send(
                json.dumps({"type": "start", "technique": "pelvic-tilt", "source": "external"})
            )
            reader = asyncio.create_task(_read(ws, client, measure_from))
            began = time.perf_counter()
            t0 = None
            for text, placement, last_t, n in stream.texts:
                if t0 is None:
                    t0 = last_t
                due = began + (last_t - t0)  # a message goes when its last sample is due
                now = time.perf_counter()
                if due > now:
                    await asyncio.sleep(due - now)
                if time.perf_counter() >= until:
                    break
                await ws.send(text)
                if n:
                    client.sent[placement] = client.sent.get(placement, 0) + n
                    client.sent_at.setdefault(placement, []).append((last_t, time.perf_counter()))
            await ws.send('{"type": "stop"}')
            await asyncio.wait_for(reader, 120.0)
    except Exception as error:  # counted: the table says how many failed
        client.error = f"{type(error).__name__}: {error}"


def _server_processes(pid: int) -> list[int]:
    pids = [pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                pids.append(int(entry.name))
    return pids


def _cpu_s(pids: list[int]) -> float:
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _rss_mb(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            continue
    return total


def _stored(url: str, ids: list[int]) -> int:
    engine = make_engine(url)
    try:
        total = 0
        with Session(engine) as db:
            for session_id in ids:
                recording = repository.load_recording(db, session_id)
                total += sum(s.n_samples for s in recording.sensors.values())
        return total
    finally:
        engine.dispose()


@dataclass
class Step:
    n: int
    p50_ms: float
    p99_ms: float
    cores: float
    rss_mb: float
    sent: int
    stored: int
    failed: int
    behind: int
    generator_cores: float
    server_cpu_s: float
    wall_s: float


def _start(url: str, workers: int, folder: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    with socket_port() as port:
        pass
    env = {**os.environ, "SPINECOACH_AUTH": "accounts"}
    env.pop("SPINECOACH_DATABASE_URL", None)
    log = (folder / f"server-{workers}.log").open("ab")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "spinecoach",
            "serve",
            "--port",
            str(port),
            "--database",
            url,
            "--workers",
            str(workers),
            "--source",
            "external",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    http = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{http}/api/health", timeout=1.0).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the server did not start; see " + str(folder))
        time.sleep(0.2)
    return process, http, f"ws://127.0.0.1:{port}/ws/live"


class socket_port:
    def __enter__(self) -> int:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])

    def __exit__(self, *_exc: object) -> None:
        return None


def _run_step(
    ws_url: str,
    url: str,
    cookie: str,
    streams: list[Stream],
    n: int,
    step_s: float,
    pids: list[int],
) -> Step:
    warmup_s = min(5.0, step_s / 3)
    clients = [Client() for _ in range(n)]

    async def main() -> None:
        began = time.perf_counter()
        until = began + step_s
        tasks = []
        for k in range(n):  # started over the first second, as people come
            tasks.append(
                asyncio.create_task(
                    _session(ws_url, cookie, streams[k], until, began + warmup_s, clients[k])
                )
            )
            await asyncio.sleep(1.0 / n)
        await asyncio.gather(*tasks)

    cpu0, gen0, wall0 = _cpu_s(pids), time.process_time(), time.perf_counter()
    rss = [0.0]

    async def sample_rss() -> None:
        while True:
            rss[0] = max(rss[0], _rss_mb(pids))
            await asyncio.sleep(1.0)

    async def both() -> None:
        sampler = asyncio.create_task(sample_rss())
        await main()
        sampler.cancel()

    asyncio.run(both())
    wall = time.perf_counter() - wall0
    cpu, gen = _cpu_s(pids) - cpu0, time.process_time() - gen0
    lat = np.concatenate([np.asarray(c.latencies_ms) for c in clients]) if clients else np.empty(0)
    ids = [c.session_id for c in clients if c.session_id is not None]
    sent = sum(sum(c.sent.values()) for c in clients if c.session_id is not None)
    return Step(
        n=n,
        p50_ms=float(np.percentile(lat, 50)) if lat.size else float("nan"),
        p99_ms=float(np.percentile(lat, 99)) if lat.size else float("nan"),
        cores=cpu / wall,
        rss_mb=rss[0],
        sent=sent,
        stored=_stored(url, ids),
        failed=sum(1 for c in clients if c.session_id is None),
        behind=sum(1 for c in clients if c.behind),
        generator_cores=gen / wall,
        server_cpu_s=cpu,
        wall_s=wall,
    )


def _measure(workers: int, steps: list[int], step_s: float, folder: Path) -> list[Step]:
    url = f"sqlite:///{folder / f'capacity-{workers}.sqlite3'}"
    process, _http, ws_url = _start(url, workers, folder)
    out: list[Step] = []
    try:
        engine = make_engine(url)
        user = accounts.add_user(engine, f"load{workers}", "load password 123", "person")
        cookie = accounts.start_session(engine, user.id)
        engine.dispose()
        time.sleep(2.0)  # every worker up
        pids = _server_processes(process.pid)
        streams = _streams(max(steps))
        began = time.monotonic()
        for n in steps:
            if n > MAX_SESSIONS or time.monotonic() - began > MAX_TOTAL_S:
                break
            step = _run_step(ws_url, url, cookie, streams, n, step_s, pids)
            out.append(step)
            console.print(
                f"  workers {workers}: N {n}: p50 {step.p50_ms:.1f} ms, p99 {step.p99_ms:.1f} ms, "
                f"{step.cores:.2f} cores, failed {step.failed}",
                highlight=False,
            )
            if not step.p99_ms <= TARGET_P99_MS:
                break
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
    return out


def _report(workers: int, rows: list[Step]) -> None:
    t = table(
        f"{workers} server process(es): live two-sensor sessions at 100 Hz, 10-sample messages",
        [
            "N",
            "p50 ms",
            "p99 ms",
            "held",
            "server cores",
            "memory MB",
            "stored / sent",
            "failed",
            "told behind",
            "generator cores",
        ],
    )
    for s in rows:
        held = "yes" if s.p99_ms <= TARGET_P99_MS and not s.failed else "no"
        t.add_row(
            str(s.n),
            f"{s.p50_ms:.1f}",
            f"{s.p99_ms:.1f}",
            held,
            f"{s.cores:.2f}",
            f"{s.rss_mb:.0f}",
            f"{s.stored:,} / {s.sent:,}",
            str(s.failed),
            str(s.behind),
            f"{s.generator_cores:.2f}",
        )
    console.print(t)
    held = [s for s in rows if s.p99_ms <= TARGET_P99_MS and not s.failed]
    if not held:
        console.print("  no step held p99 <= 100 ms")
        return
    best = held[-1]
    per_session = best.server_cpu_s / best.wall_s / best.n
    samples_s = best.sent / best.wall_s
    per_sample_us = best.server_cpu_s / max(1, best.sent) * 1e6
    console.print(
        f"  held: {best.n} sessions (target >= 100). Server CPU per session "
        f"{per_session:.4f} cores ({per_sample_us:.1f} us of CPU per sample, "
        f"{samples_s:,.0f} samples/s); "
        f"projection to {GOAL_CORES} cores (CPU-bound, same cost): "
        f"{GOAL_CORES / per_session:,.0f} sessions (goal {GOAL_SESSIONS}).",
        highlight=False,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", default=",".join(map(str, STEPS)))
    parser.add_argument("--step-s", type=float, default=20.0)
    parser.add_argument("--workers", default=f"1,{os.cpu_count() or 1}")
    args = parser.parse_args()
    steps = [int(x) for x in args.steps.split(",")]
    console.print(
        f"capacity: {machine()}, {os.cpu_count()} cores (wall-time latencies; the "
        f"generator shares the machine), loadavg {os.getloadavg()[0]:.2f}",
        highlight=False,
    )
    with tempfile.TemporaryDirectory() as folder:
        for workers in dict.fromkeys(int(w) for w in args.workers.split(",")):
            _report(workers, _measure(workers, steps, args.step_s, Path(folder)))


if __name__ == "__main__":
    main()
