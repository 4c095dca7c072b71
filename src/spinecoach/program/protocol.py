"""The 6-week protocol as data: levels, phases, safe bounds and the progression rules.

The protocol lives in a versioned TOML file shipped with the package
(``spinecoach/data/program.toml``, described in ``docs/program.md``). :func:`load_protocol`
reads it into frozen dataclasses and validates the whole file: every level must lie inside
the safe bounds, the safe bounds must contain the technique catalogue's own dose, and a
mistake fails with a :class:`~spinecoach.errors.CatalogueError` naming the file and the
field (``levels[2].exercises.hip-hinge.reps``), what was expected and what was found.
Nothing is read at import time; :func:`default_protocol` is the cached packaged protocol.

Units: VAS in mm (0–100), durations in seconds (``_s``) or minutes (``_min``), shares
0–1 (``range_share`` is the share of the person's own range the target aims for).

>>> protocol = default_protocol()
>>> protocol.weeks, protocol.start_level, protocol.top_level
(6, 1, 6)
>>> protocol.rule("pain.amber_max_rise_mm").value
20.0
>>> protocol.level(2).exercise("hip-hinge").sets
3
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from spinecoach.exercises.catalogue import Catalogue, default_catalogue
from spinecoach.exercises.datafile import PROGRAM_FILE, read_toml
from spinecoach.program.protocol_model import (
    PROGRAM_TECHNIQUES,
    PROGRAM_VERSION,
    RULES,
    SLOTS,
    Bounds,
    ExerciseDose,
    Level,
    Phase,
    Protocol,
    Rule,
    Slot,
    Variant,
)
from spinecoach.program.protocol_reader import ProtocolReader

__all__ = [
    "PROGRAM_TECHNIQUES",
    "PROGRAM_VERSION",
    "RULES",
    "SLOTS",
    "Bounds",
    "ExerciseDose",
    "Level",
    "Phase",
    "Protocol",
    "Rule",
    "Slot",
    "Variant",
    "default_protocol",
    "load_protocol",
    "parse_protocol",
]


def load_protocol(
    path: Path | Traversable | None = None, *, catalogue: Catalogue | None = None
) -> Protocol:
    """Read and validate a program file; ``None`` reads the packaged one.

    ``catalogue`` (default: the packaged one) is what the safe bounds are checked against.
    Raises :class:`~spinecoach.errors.CatalogueError` naming the file, field and fix.
    """
    if path is None:
        return default_protocol()
    return parse_protocol(read_toml(path, PROGRAM_FILE), str(path), catalogue=catalogue)


@functools.cache
def default_protocol() -> Protocol:
    """The packaged protocol, read and validated once (cached)."""
    path = resources.files("spinecoach").joinpath("data", "program.toml")
    return load_protocol(path)


def parse_protocol(
    data: Mapping[str, Any], source: str = "program.toml", *, catalogue: Catalogue | None = None
) -> Protocol:
    """Validate the parsed TOML of a program file (see ``data/program.toml``)."""
    return ProtocolReader(source, catalogue or default_catalogue()).protocol(data)
