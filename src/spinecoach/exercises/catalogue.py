"""The technique catalogue: doses, target bands, form-fault rules, breathing and cues.

Clinical thresholds are data. They live in a versioned TOML file shipped with the
package (``spinecoach/data/techniques.toml``, described in ``docs/techniques.md``) and
are read into frozen dataclasses by :func:`load_catalogue`, which validates the whole
file: a mistake fails with a :class:`~spinecoach.errors.CatalogueError` naming the file,
the entry and the field (``techniques.pelvic-tilt.faults[2].threshold``), what was found
and what was expected. Nothing is read at import time; :func:`default_catalogue` is the
cached packaged catalogue for callers.

Units: seconds (``_s``), degrees (``_deg``) of the technique's main signal, shares
(0–1). Every fault rule compares one of the :data:`MEASURES` of a rep with a threshold
in that measure's unit.

>>> catalogue = load_catalogue()
>>> tilt = catalogue.technique("pelvic-tilt")
>>> tilt.dose.reps, tilt.dose.hold_s, tilt.main_signal, tilt.direction
(10, 3.0, 'pelvic_tilt_deg', -1)
>>> tilt.target.band(10.0)  # a person whose posterior tilt reaches 10°
(7.0, 10.0)
>>> tilt.fault("return-too-fast").is_fault(0.6)  # a 0.6 s return
True
>>> tilt.cue("hold", seconds=3)
'Hold… 3'
"""

from __future__ import annotations

import functools
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from spinecoach.errors import CatalogueError
from spinecoach.exercises.catalogue_reader import CatalogueReader
from spinecoach.exercises.datafile import CATALOGUE_FILE, parse_toml, read_toml
from spinecoach.exercises.technique import (
    BREATHING_PATTERNS,
    CATALOGUE_VERSION,
    COMPARISONS,
    CUE_PLACEHOLDERS,
    DEFAULT_CUE_MIN_INTERVAL_S,
    MAX_CUE_CHARS,
    MAX_DURATION_S,
    MAX_INSTRUCTION_CHARS,
    MEASURES,
    REQUIRED_CUES,
    TECHNIQUE_CUES,
    UNITS,
    Breathing,
    BreathingPattern,
    Catalogue,
    Comparison,
    Dose,
    FaultRule,
    Measure,
    TargetBand,
    Technique,
    Unit,
)

__all__ = [
    "BREATHING_PATTERNS",
    "CATALOGUE_VERSION",
    "COMPARISONS",
    "CUE_PLACEHOLDERS",
    "DEFAULT_CUE_MIN_INTERVAL_S",
    "MAX_CUE_CHARS",
    "MAX_DURATION_S",
    "MAX_INSTRUCTION_CHARS",
    "MEASURES",
    "REQUIRED_CUES",
    "TECHNIQUE_CUES",
    "UNITS",
    "Breathing",
    "BreathingPattern",
    "Catalogue",
    "Comparison",
    "Dose",
    "FaultRule",
    "Measure",
    "TargetBand",
    "Technique",
    "Unit",
    "default_catalogue",
    "load_catalogue",
    "packaged_catalogue_text",
    "start_position",
]


def packaged_catalogue_text() -> str:
    """The text of the catalogue shipped with spinecoach (a start for an edited copy)."""
    return _packaged_file().read_text(encoding="utf-8")


def load_catalogue(path: Path | str | None = None) -> Catalogue:
    """Read and validate a catalogue file; ``None`` reads the packaged one.

    Raises :class:`~spinecoach.errors.CatalogueError` (a ``ConfigurationError``) naming
    the file, the field and the fix when anything is wrong.
    """
    if path is None:
        resource = _packaged_file()
        source = str(resource)
        try:
            raw = resource.read_bytes()
        except OSError as exc:
            raise CatalogueError(source, "", "cannot read the packaged catalogue") from exc
        data = parse_toml(raw, source)
    else:
        source = str(path)
        data = read_toml(path, CATALOGUE_FILE)
    return CatalogueReader(source).catalogue(data)


@functools.lru_cache(maxsize=1)
def default_catalogue() -> Catalogue:
    """The packaged catalogue, read and validated once (cached)."""
    return load_catalogue()


def start_position(technique: str) -> str | None:
    """The usual start position of ``technique`` in the packaged catalogue, or None for a
    name it does not have (the catalogue is the one place that says it)."""
    found = default_catalogue().techniques.get(technique)
    return None if found is None else found.position


def _packaged_file() -> Traversable:
    return resources.files("spinecoach") / "data" / "techniques.toml"
