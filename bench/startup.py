"""Start-up time (issue 17 item 5): ``spinecoach --help`` and ``spinecoach serve`` to its
first HTTP 200, against a bare Python (``python -c pass``) and a bare FastAPI app under
uvicorn in the same run, each the median of N fresh processes.

Targets (issue 17): ``--help`` under 0.15 s; ``serve`` answers within 1 s.

Run: .venv/bin/python bench/startup.py [--runs 5]   (about a minute)
"""

from __future__ import annotations

import argparse
import os
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


def run_s(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, timeout=120)
    return time.perf_counter() - start


def first_200_s(argv: list[str], url: str, env: dict[str, str], cwd: str) -> float:
    """Seconds from starting ``argv`` to the first 200 from ``url`` (polled every 10 ms)."""
    start = time.perf_counter()
    process = subprocess.Popen(
        argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        while time.perf_counter() - start < 60.0:
            try:
                if httpx.get(url, timeout=0.5).status_code == 200:
                    return time.perf_counter() - start
            except httpx.HTTPError:
                pass
            if process.poll() is not None:
                raise RuntimeError(f"{argv[:3]} exited with {process.returncode}")
            time.sleep(0.01)
        raise RuntimeError(f"{argv[:3]} did not answer within 60 s")
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
        rows: dict[str, list[float]] = {k: [] for k in ("python", "help", "fastapi", "serve")}
        for _ in range(args.runs):
            rows["python"].append(run_s([python, "-c", "pass"]))
            rows["help"].append(run_s([spinecoach, "--help"]))
            port = free_port()
            bare = [python, "-m", "uvicorn", "bare_app:app", "--port", str(port)]
            rows["fastapi"].append(first_200_s(bare, f"http://127.0.0.1:{port}/", env, folder))
            port = free_port()
            serve = [spinecoach, "serve", "--port", str(port), "--auth", "single-person"]
            rows["serve"].append(
                first_200_s(serve, f"http://127.0.0.1:{port}/api/health", env, folder)
            )
    median = {k: statistics.median(v) for k, v in rows.items()}
    out = table(
        f"Start-up, median of {args.runs} fresh processes ({machine()})",
        ["what", "seconds", "× its baseline", "target"],
    )
    out.add_row("python -c pass (baseline)", f"{median['python']:.3f}", "1.00", "")
    out.add_row(
        "spinecoach --help",
        f"{median['help']:.3f}",
        f"{median['help'] / median['python']:.2f}",
        "< 0.15 s",
    )
    out.add_row("bare FastAPI app to first 200 (baseline)", f"{median['fastapi']:.3f}", "1.00", "")
    out.add_row(
        "spinecoach serve to first 200 (/api/health)",
        f"{median['serve']:.3f}",
        f"{median['serve'] / median['fastapi']:.2f}",
        "< 1 s",
    )
    console.print(out)


if __name__ == "__main__":
    main()
