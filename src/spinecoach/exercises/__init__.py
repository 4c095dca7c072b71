"""The exercise engine: clinical angles → reps, holds, phases, quality and faults.

Streaming: :class:`ExerciseEngine` (``update(time_s, angles)``); batch:
:func:`detect_exercise` on a whole :class:`~spinecoach.motion.AngleFrames`. The doses,
target bands, fault thresholds and cues are data: :func:`load_catalogue` /
:func:`default_catalogue` (``spinecoach/data/techniques.toml``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spinecoach.conventions import lazy_exports

if TYPE_CHECKING:
    from spinecoach.exercises.catalogue import (
        CATALOGUE_VERSION,
        MEASURES,
        Breathing,
        Catalogue,
        Dose,
        FaultRule,
        Measure,
        TargetBand,
        Technique,
        default_catalogue,
        load_catalogue,
        packaged_catalogue_text,
    )
    from spinecoach.exercises.engine import SUPPORTED, ExerciseEngine, detect_exercise
    from spinecoach.exercises.model import Cue, Discarded, ExerciseResult, Fault, Rep, SetSummary

#: Where each name this package offers lives: its module is imported on first use (PEP 562),
#: so the catalogue alone does not load the engine, motion and scipy (issue 17:
#: quick start).
_WHERE = {
    "CATALOGUE_VERSION": "spinecoach.exercises.catalogue",
    "MEASURES": "spinecoach.exercises.catalogue",
    "Breathing": "spinecoach.exercises.catalogue",
    "Catalogue": "spinecoach.exercises.catalogue",
    "Dose": "spinecoach.exercises.catalogue",
    "FaultRule": "spinecoach.exercises.catalogue",
    "Measure": "spinecoach.exercises.catalogue",
    "TargetBand": "spinecoach.exercises.catalogue",
    "Technique": "spinecoach.exercises.catalogue",
    "default_catalogue": "spinecoach.exercises.catalogue",
    "load_catalogue": "spinecoach.exercises.catalogue",
    "packaged_catalogue_text": "spinecoach.exercises.catalogue",
    "SUPPORTED": "spinecoach.exercises.engine",
    "ExerciseEngine": "spinecoach.exercises.engine",
    "detect_exercise": "spinecoach.exercises.engine",
    "Cue": "spinecoach.exercises.model",
    "Discarded": "spinecoach.exercises.model",
    "ExerciseResult": "spinecoach.exercises.model",
    "Fault": "spinecoach.exercises.model",
    "Rep": "spinecoach.exercises.model",
    "SetSummary": "spinecoach.exercises.model",
}


#: A name of :data:`__all__`, imported from its module on first use.
__getattr__ = lazy_exports("spinecoach.exercises", _WHERE, globals())


__all__ = [
    "CATALOGUE_VERSION",
    "MEASURES",
    "SUPPORTED",
    "Breathing",
    "Catalogue",
    "Cue",
    "Discarded",
    "Dose",
    "ExerciseEngine",
    "ExerciseResult",
    "Fault",
    "FaultRule",
    "Measure",
    "Rep",
    "SetSummary",
    "TargetBand",
    "Technique",
    "default_catalogue",
    "detect_exercise",
    "load_catalogue",
    "packaged_catalogue_text",
]
