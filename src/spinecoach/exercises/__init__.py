"""The exercise engine: clinical angles → reps, holds, phases, quality and faults.

Streaming: :class:`ExerciseEngine` (``update(time_s, angles)``); batch:
:func:`detect_exercise` on a whole :class:`~spinecoach.motion.AngleFrames`. The doses,
target bands, fault thresholds and cues are data: :func:`load_catalogue` /
:func:`default_catalogue` (``spinecoach/data/techniques.toml``).
"""

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
