"""Shared helpers of the benchmark scripts (not part of the package)."""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from rich.console import Console
from rich.table import Table

T = TypeVar("T")
console = Console(width=150)


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def machine() -> str:
    return f"{platform.python_implementation()} {platform.python_version()}, {platform.machine()}"


def table(title: str, columns: list[str]) -> Table:
    t = Table(title=title)
    for i, c in enumerate(columns):
        t.add_column(c, justify="left" if i == 0 else "right")
    return t


#: The real recordings of other labs (``../shared/data`` from the project root; see its
#: README). Benches that read them print a message and skip that part when it is absent.
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
