"""The exercise engine: clinical angles → reps, holds, phases, quality and faults.

First increment: rep segmentation with position awareness and hold measurement for the
hold techniques (:mod:`spinecoach.exercises.detect`).
"""

from spinecoach.exercises.detect import SPECS, HoldRepDetector, Rep, detect_reps

__all__ = ["SPECS", "HoldRepDetector", "Rep", "detect_reps"]
