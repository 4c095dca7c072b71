"""The exercise engine: clinical angles → reps, holds, phases, quality and faults.

Streaming: :class:`ExerciseEngine` (``update(time_s, angles)``); batch:
:func:`detect_exercise` on a whole :class:`~spinecoach.motion.AngleFrames`.
"""

from spinecoach.exercises.engine import SUPPORTED, ExerciseEngine, detect_exercise
from spinecoach.exercises.model import Cue, Discarded, ExerciseResult, Fault, Rep, SetSummary

__all__ = [
    "SUPPORTED",
    "Cue",
    "Discarded",
    "ExerciseEngine",
    "ExerciseResult",
    "Fault",
    "Rep",
    "SetSummary",
    "detect_exercise",
]
