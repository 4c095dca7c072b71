"""Issue 6: "A recording with 10 % of packets lost still gives rep counts equal to the
truth in the exercise validation subset." The simulator drops whole bursts of samples
from each sensor independently (a lost BLE notification or HTTP batch), 10 % of all
samples; the subset is the exercise gate's (every live technique × typical and novice ×
seeds 0 and 1)."""

from __future__ import annotations

import pytest

from spinecoach.exercises.engine import SUPPORTED, detect_exercise
from spinecoach.exercises.validation import validate_exercise
from spinecoach.motion.process import motion_process
from spinecoach.sim import SensorErrorModel, simulate

LOSS_SHARE = 0.10


@pytest.mark.parametrize("burst_max", [4, 10], ids=["packets-1-4", "packets-1-10"])
@pytest.mark.parametrize("technique", SUPPORTED)
def test_ten_percent_packet_loss_keeps_rep_counts(technique: str, burst_max: int) -> None:
    errors = SensorErrorModel(drop_probability=LOSS_SHARE, drop_burst_max=burst_max)
    for profile in ("typical", "novice"):
        for seed in (0, 1):
            rec = simulate(technique, seed=seed, profile=profile, sensor_errors=errors)
            for sensor in rec.sensors.values():
                expected = round(rec.duration_s * sensor.rate_hz) + 1
                lost = 1.0 - sensor.n_samples / expected
                assert 0.07 < lost < 0.14, f"{lost:.1%} of the samples lost, not about 10 %"
            frames, _ = motion_process(rec)
            result = detect_exercise(frames, technique, annotations=rec.events)
            check = validate_exercise(rec, result)
            assert check.reps_detected == check.reps_true, (profile, seed)
