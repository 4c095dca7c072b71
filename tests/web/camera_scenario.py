"""A camera session's video for the web tests: a synthetic person side-on to the camera
doing hip-hinges (landmarks played back by a stand-in pose model; the images go through
the real :class:`~spinecoach.camera.source.CameraSource`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from spinecoach.camera.source import CameraSource, VideoFrame
from spinecoach.camera.synthetic import FPS, ScriptedPoseModel, rep_profile, side_skeleton

REPS = 5
#: The reps start after framing (1 s) and the neutral hold (3 s).
START_S = 6.0


@dataclass
class Scenario:
    """What the next camera session's video shows."""

    seconds: float = START_S + REPS * 10.0 + 2.0
    absent: tuple[float, float] | None = None
    #: Nobody in the picture for the first seconds (the person walks in).
    arrive_s: float = 0.0
    start_s: float = START_S
    made: list[ScriptedPoseModel] = field(default_factory=list)

    def source(self) -> CameraSource:
        t = np.arange(0.0, self.seconds, 1.0 / FPS)
        seq = side_skeleton(rep_profile(t, REPS, 30.0, start_s=self.start_s), seated=True)
        absent = {k for k in range(len(t)) if t[k] < self.arrive_s}
        if self.absent is not None:
            a, b = self.absent
            absent |= {k for k in range(len(t)) if a <= t[k] < b}
        model = ScriptedPoseModel(seq, absent)
        self.made.append(model)
        # Black images: the stand-in model does not look at them; in the absent frames
        # they are what a camera shows with the lens covered.
        frames = [VideoFrame(float(tk), np.zeros((48, 64, 3), np.uint8)) for tk in t]
        return CameraSource("video:synthetic-person.mp4", estimator=model, frames=frames)
