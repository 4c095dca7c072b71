"""Command-line interface (filled in below)."""

from __future__ import annotations


def main() -> None:
    raise SystemExit("not yet")
