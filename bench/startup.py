"""Start-up time (issue 17 item 5): ``spinecoach --help`` and ``spinecoach serve`` to its
first HTTP 200, against a bare Python (``python -c pass``) and a bare FastAPI app under
uvicorn in the same run, each the median of N fresh processes.

``serve`` answers before its app has started (``spinecoach.cli.serve_start``): the page
(``GET /``) at once, ``/api/health`` 503 "starting" until the app has started and the
database is migrated, then 200. Both are printed: "first 200" is the page, "ready" the
first 200 of ``/api/health`` (the bare app's ``/`` serves for both). Wall seconds, and the
CPU seconds the process had used by then (its ``/proc/PID/stat``; for ``--help`` the
child's rusage): on a machine others are using, the CPU figures are the steadier ones.

Targets (issue 17): ``--help`` under 0.15 s; ``serve`` answers within 1 s.

Run: .venv/bin/python bench/startup.py [--runs 5]   (about a minute)
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from _common import console, machine, table

BARE_APP = """
from fastapi import FastAPI
app = FastAPI()
@app.get("/")
def root():
    return {"ok": True}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_s(argv: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of running ``argv`` to its end."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, timeout=120)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def cpu_of(pid: int) -> float:
    """CPU seconds (user + system, every thread) process ``pid`` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def first_200s(
    argv: list[str], base: str, paths: tuple[str, str], env: dict[str, str], cwd: str
) -> tuple[float, float, float, float]:
    """Wall and CPU seconds from starting ``argv`` to the first 200 of ``paths[0]`` and
    then of ``paths[1]`` (each polled every 10 ms)."""
    start = time.perf_counter()
    process = subprocess.Popen(
        argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    found: list[float] = []
    try:
        for path in paths:
            while True:
                if time.perf_counter() - start > 60.0:
                    raise RuntimeError(f"{argv[:3]} did not answer {path} within 60 s")
                try:
                    if httpx.get(base + path, timeout=5.0).status_code == 200:
                        found += [time.perf_counter() - start, cpu_of(process.pid)]
                        break
                except httpx.HTTPError:
                    pass
                if process.poll() is not None:
                    raise RuntimeError(f"{argv[:3]} exited with {process.returncode}")
                time.sleep(0.01)
        return found[0], found[1], found[2], found[3]
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per row")
    args = parser.parse_args()
    python = sys.executable
    spinecoach = str(Path(python).with_name("spinecoach"))
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "bare_app.py").write_text(BARE_APP, encoding="utf-8")
        env = {**os.environ, "SPINECOACH_DATABASE_URL": f"sqlite:///{folder}/startup.sqlite3"}
        env["SPINECOACH_AUTH"] = "single-person"
        rows: dict[str, list[tuple[float, ...]]] = {
            k: [] for k in ("python", "help", "fastapi", "serve")
        }
        for _ in range(args.runs):
            rows["python"].append(run_s([python, "-c", "pass"]))
            rows["help"].append(run_s([spinecoach, "--help"]))
            port = free_port()
            bare = [python, "-m", "uvicorn", "bare_app:app", "--port", str(port)]
            base = f"http://127.0.0.1:{port}"
            rows["fastapi"].append(first_200s(bare, base, ("/", "/"), env, folder))
            port = free_port()
            serve = [spinecoach, "serve", "--port", str(port), "--auth", "single-person"]
            base = f"http://127.0.0.1:{port}"
            rows["serve"].append(first_200s(serve, base, ("/", "/api/health"), env, folder))

    def med(key: str, index: int) -> float:
        return statistics.median(row[index] for row in rows[key])

    out = table(
        f"Start-up, median of {args.runs} fresh processes ({machine()}; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)",
        ["what", "wall s", "× its baseline", "CPU s", "CPU × baseline", "target"],
    )

    def add(label: str, key: str, index: int, base_key: str, base_index: int, target: str) -> None:
        wall, cpu = med(key, index), med(key, index + 1)
        base_wall, base_cpu = med(base_key, base_index), med(base_key, base_index + 1)
        out.add_row(
            label,
            f"{wall:.3f}",
            f"{wall / base_wall:.2f}",
            f"{cpu:.3f}",
            f"{cpu / base_cpu:.2f}" if base_cpu > 0 else "",
            target,
        )

    add("python -c pass (baseline)", "python", 0, "python", 0, "")
    add("spinecoach --help", "help", 0, "python", 0, "< 0.15 s")
    add("bare FastAPI app to first 200 (baseline)", "fastapi", 0, "fastapi", 0, "")
    add("spinecoach serve to first 200 (the page, /)", "serve", 0, "fastapi", 0, "< 1 s")
    add("spinecoach serve ready (/api/health 200)", "serve", 2, "fastapi", 0, "")
    console.print(out)


if __name__ == "__main__":
    main()
