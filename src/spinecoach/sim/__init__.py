"""The built-in simulator: the default sensor and the test oracle, seeded and deterministic.

A physically modelled body (pelvis, T12/L1 segment and thorax driven by minimum-jerk
keyframes, postural sway, gait and breathing) carries two IMUs — ``"lower"`` over the
sacrum and ``"upper"`` over T12/L1 — with realistic mounting misalignment and MEMS
errors. Each :class:`~spinecoach.recording.Recording` holds the sensor data, the two
calibration windows a live coach would know (``recording.events``) and the
:class:`~spinecoach.recording.GroundTruth`: clinical angles computed from the model's
rotation matrices with the functions of :mod:`spinecoach.conventions`, plus every rep,
hold, rest, setup, activity and injected fault as truth events.

Public API
    :func:`simulate` — one exercise session of a technique (``conventions.TECHNIQUES``).
    :func:`simulate_activities` — everyday postures (``conventions.POSTURES``).
    :func:`simulate_day` — a whole working day of all-day wear (:mod:`spinecoach.sim.day`).
    :data:`PROFILES`, :class:`PerformerProfile` — how the simulated person moves.
    :class:`SensorErrorModel` — sensor error sizes (``realistic()`` default, ``ideal()``).
    :data:`TECHNIQUE_FAULTS` — the injectable form faults and their criteria.

Truth series (names carry units): ``lumbar_flexion_deg`` and ``pelvic_tilt_deg``
(relative to the mean over the neutral window), ``upper_inclination_deg``,
``lower_inclination_deg`` and ``trunk_inclination_deg`` (the position's nominal
inclination plus the change from neutral), ``lateral_bend_deg`` (NaN where a segment is
too far from upright for a frontal inclination), ``axial_rotation_deg`` (model γ),
``thoracic_inclination_deg`` (absolute), ``breath_volume_norm`` (0 end of exhale, 1 end
of inhale) and ``hip_height_m``. Truth is sampled on the true uniform grid; sensor
timestamps carry jitter and dropped samples.

Random streams: the seed feeds independent streams for the body, the lower sensor and
the upper sensor, so the same seed gives the same movement whatever the sensor errors,
the magnetometer setting or the sample rate.

>>> from spinecoach.sim import simulate, SensorErrorModel
>>> rec = simulate("cat-cow", seed=7, reps=2, sensor_errors=SensorErrorModel.ideal())
>>> sorted(rec.sensors), rec.meta["position"]
(['lower', 'upper'], 'quadruped')
"""

from spinecoach.sim.activities import simulate_activities
from spinecoach.sim.day import simulate_day
from spinecoach.sim.profiles import PROFILES, PerformerProfile
from spinecoach.sim.sensors import SensorErrorModel
from spinecoach.sim.techniques import TECHNIQUE_FAULTS, simulate

__all__ = [
    "PROFILES",
    "TECHNIQUE_FAULTS",
    "PerformerProfile",
    "SensorErrorModel",
    "simulate",
    "simulate_activities",
    "simulate_day",
]
