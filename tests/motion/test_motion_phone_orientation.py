"""A phone in a belt or pocket sits any way round: the calibration (standing bends, then
the neutral hold) finds its axes, so the clinical angles do not depend on how it was put
in. Checked by turning the lower sensor's data into arbitrary fixed orientations
(including upside down and back to front), which is what wearing it so measures."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from spinecoach.motion import motion_process
from spinecoach.recording import Recording, SensorData
from spinecoach.sim import simulate

ORIENTATIONS = {
    "upside-down": Rotation.from_euler("x", 180, degrees=True),
    "screen-in-back-to-front": Rotation.from_euler("y", 180, degrees=True),
    "sideways": Rotation.from_euler("z", 90, degrees=True),
    **{f"random-{k}": Rotation.random(random_state=k) for k in range(3)},
}


def _worn(recording: Recording, rotation: Rotation) -> Recording:
    """The recording as if the lower sensor had been worn turned by ``rotation``: each
    vector v measured in the nominal sensor frame reads Rᵀv in the turned one."""
    sensors = dict(recording.sensors)
    data = sensors["lower"]
    matrix = rotation.as_matrix()
    sensors["lower"] = SensorData.from_arrays(
        "lower",
        data.time_s,
        data.acc_mps2 @ matrix,
        data.gyr_dps @ matrix,
        rate_hz=data.rate_hz,
        device=data.device,
    )
    return Recording.create(
        sensors,
        start_utc=recording.start_utc,
        events=recording.events,
        meta=recording.meta,
        truth=recording.truth,
    )


@pytest.mark.parametrize("technique", ["pelvic-tilt", "hip-hinge"])
@pytest.mark.parametrize("name", list(ORIENTATIONS))
def test_angles_do_not_depend_on_how_the_phone_sits(technique: str, name: str) -> None:
    recording = simulate(technique, seed=4, reps=3)
    nominal, _ = motion_process(recording)
    turned, _ = motion_process(_worn(recording, ORIENTATIONS[name]))
    for column in ("pelvic_tilt_deg", "lumbar_flexion_deg"):
        a = nominal.angles[column]
        b = turned.angles[column]
        both = np.isfinite(a) & np.isfinite(b)
        assert both.sum() > 0.8 * np.isfinite(a).sum(), column  # nothing lost
        rms = float(np.sqrt(np.mean((a[both] - b[both]) ** 2)))
        assert rms < 1.0, f"{column}: {rms:.2f} deg RMS between nominal and {name}"
