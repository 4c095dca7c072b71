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
    :data:`PROFILES`, :data:`REAL_WORLD_PROFILES`, :class:`PerformerProfile` — how the
    simulated person moves.
    :data:`SCENARIOS`, :class:`Scenario` — how the session runs (coached or not).
    :class:`SensorErrorModel` — sensor error sizes (``realistic()`` default, ``ideal()``,
    ``real_world()``).
    :func:`protocol_free_suite`, :class:`SuiteCase` — seeded session lists for tests and
    benches.
    :data:`TECHNIQUE_FAULTS` — the injectable form faults and their criteria.

What real data each option reproduces (recordings of other labs that broke spinecoach,
issue 13):

=====================================  ================================================
option                                 what the real recordings showed
=====================================  ================================================
``scenario="protocol-free"``           no still → forward bend → still protocol and no
                                       annotation; movement starts 0.3–1.5 s after the
                                       recording starts; reps back to back, 1.5–4 s
                                       each; then lateral bends and axial rotations
                                       (also before and between sets)
``position="seated"``                  seated trunk flexion-extension (also standing)
``profile="continuous"``               no pause between reps, holds mostly skipped
``profile="fast"``, ``"stiff-fast"``   reps down to 1.5 s; small and quick reps
``SensorErrorModel.real_world()``      skin and sensor moving a few degrees against
                                       the bone with the movement (soft-tissue
                                       artefact); upper sensor anywhere from L2 to T10,
                                       lower up to L5; noisier sensors of other brands,
                                       looser timestamps
``placements=("lower",)``              one belt-worn sensor only
``mount_rotation=...``                 other brands' axes, sensors worn turned or
                                       upside down (``protocol_free_suite(...,
                                       axis_conventions=True)``)
``rate_hz=25.0`` / ``50.0``            25 and 50 Hz devices
=====================================  ================================================

Truth series (names carry units): ``lumbar_flexion_deg`` and ``pelvic_tilt_deg``
(relative to the mean over the neutral window — the coached neutral hold, or the still
start of a protocol-free session), ``upper_inclination_deg``,
``lower_inclination_deg`` and ``trunk_inclination_deg`` (the position's nominal
inclination plus the change from neutral), ``lateral_bend_deg`` (NaN where a segment is
too far from upright for a frontal inclination), ``axial_rotation_deg`` (model γ),
``thoracic_inclination_deg`` (absolute), ``breath_volume_norm`` (0 end of exhale, 1 end
of inhale) and ``hip_height_m``. Truth is sampled on the true uniform grid; sensor
timestamps carry jitter and dropped samples. The truth is always the T12/L1 and sacral
segments, wherever the sensors sit; with a placement spread it also holds
``lumbar_flexion_at_sensors_deg`` and ``pelvic_tilt_at_sensors_deg`` (the spine where
the sensors sit: the best an estimator can do from them).

Random streams: the seed feeds independent streams for the body, the lower sensor and
the upper sensor, so the same seed gives the same movement whatever the sensor errors,
the magnetometer setting, the sensors simulated or the sample rate.

>>> from spinecoach.sim import simulate, SensorErrorModel
>>> rec = simulate("cat-cow", seed=7, reps=2, sensor_errors=SensorErrorModel.ideal())
>>> sorted(rec.sensors), rec.meta["position"]
(['lower', 'upper'], 'quadruped')
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spinecoach.conventions import lazy_exports

if TYPE_CHECKING:
    from spinecoach.exercises.vocabulary import TECHNIQUE_FAULTS
    from spinecoach.sim.activities import simulate_activities
    from spinecoach.sim.day import simulate_day
    from spinecoach.sim.profiles import PROFILES, REAL_WORLD_PROFILES, PerformerProfile
    from spinecoach.sim.scenarios import SCENARIOS, Scenario
    from spinecoach.sim.sensors import SensorErrorModel
    from spinecoach.sim.suite import SuiteCase, protocol_free_suite
    from spinecoach.sim.techniques import simulate

#: Where each name this package offers lives: its module is imported on first use (PEP 562),
#: so importing the package (a server, the command line) does not load the body model and
#: scipy until a simulation runs (issue 17: quick start).
_WHERE = {
    "TECHNIQUE_FAULTS": "spinecoach.exercises.vocabulary",
    "simulate_activities": "spinecoach.sim.activities",
    "simulate_day": "spinecoach.sim.day",
    "PROFILES": "spinecoach.sim.profiles",
    "REAL_WORLD_PROFILES": "spinecoach.sim.profiles",
    "PerformerProfile": "spinecoach.sim.profiles",
    "SCENARIOS": "spinecoach.sim.scenarios",
    "Scenario": "spinecoach.sim.scenarios",
    "SensorErrorModel": "spinecoach.sim.sensors",
    "SuiteCase": "spinecoach.sim.suite",
    "protocol_free_suite": "spinecoach.sim.suite",
    "simulate": "spinecoach.sim.techniques",
}


#: A name of :data:`__all__`, imported from its module on first use.
__getattr__ = lazy_exports("spinecoach.sim", _WHERE, globals())


__all__ = [
    "PROFILES",
    "REAL_WORLD_PROFILES",
    "SCENARIOS",
    "TECHNIQUE_FAULTS",
    "PerformerProfile",
    "Scenario",
    "SensorErrorModel",
    "SuiteCase",
    "protocol_free_suite",
    "simulate",
    "simulate_activities",
    "simulate_day",
]
