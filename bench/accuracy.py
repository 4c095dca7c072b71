"""Accuracy of the clinical angles on seeded simulations with realistic sensor errors.

For every technique and 10 seeds (gyro bias, drift and noise, accelerometer bias and noise,
mounting misalignment up to ±20° per axis, jitter, dropped samples): RMSE of lumbar
flexion, pelvic tilt and trunk inclination against the simulator's ground truth.

Baseline, measured in the same run: the same calibration and angle definitions but the
orientation taken from the accelerometer alone (no gyroscope fusion) — the naive
inclinometer many posture gadgets use. The ratio column is spinecoach's RMSE / baseline.

Targets (issue 2): lumbar flexion RMSE <= 1.5 deg, pelvic tilt RMSE <= 1.0 deg
(the best commercial lumbar sensor publishes 0.7-1.9 deg against optical motion capture).

Run: .venv/bin/python bench/accuracy.py [--seeds N]
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np

from _common import console, machine, table
from spinecoach.conventions import LUMBAR_FLEXION, PELVIC_TILT_DEG, TECHNIQUES, TRUNK_INCLINATION
from spinecoach.motion import MotionSettings, motion_process
from spinecoach.motion.fusion import FusionResult, up_from_quaternion
from spinecoach.sim import simulate
from spinecoach.validate import compare_angles

LIMITS = {LUMBAR_FLEXION: 1.5, PELVIC_TILT_DEG: 1.0}


def accelerometer_only(sensor, settings):  # type: ignore[no-untyped-def]
    acc = sensor.acc_mps2 / np.linalg.norm(sensor.acc_mps2, axis=1, keepdims=True)
    # A quaternion whose "up" is the accelerometer direction: rotate z onto acc.
    z = np.array([0.0, 0.0, 1.0])
    axis = np.cross(np.broadcast_to(z, acc.shape), acc)
    s = np.linalg.norm(axis, axis=1, keepdims=True)
    angle = np.arctan2(s[:, 0], acc[:, 2])
    axis = np.where(s > 1e-12, axis / np.maximum(s, 1e-12), [1.0, 0.0, 0.0])
    # q maps earth->sensor "up"; the sensor->earth quaternion is its conjugate.
    q = np.column_stack([np.cos(angle / 2), -axis * np.sin(angle / 2)[:, None]])
    return FusionResult(
        quaternion=q,
        up=up_from_quaternion(q),
        flags=np.zeros(sensor.n_samples, dtype=np.uint8),
        gap_before=np.zeros(sensor.n_samples, dtype=bool),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args()
    import spinecoach.motion.process as process

    t = table(
        f"Angle RMSE vs ground truth, {args.seeds} seeds per technique ({machine()})",
        [
            "technique",
            "lumbar mean",
            "lumbar max",
            "pelvic mean",
            "pelvic max",
            "trunk mean",
            "baseline lumbar",
            "ratio",
            "gate",
        ],
    )
    all_ok = True
    real_fuse = process.fusion_process
    for technique in TECHNIQUES:
        rmse: dict[str, list[float]] = {
            LUMBAR_FLEXION: [],
            PELVIC_TILT_DEG: [],
            TRUNK_INCLINATION: [],
        }
        base: list[float] = []
        for seed in range(args.seeds):
            rec = simulate(technique, seed=seed)
            assert rec.truth is not None
            frames, _ = motion_process(rec)
            result = compare_angles(frames, rec.truth.time_s, dict(rec.truth.series))
            for name in rmse:
                rmse[name].append(result[name].rmse)
            process.fusion_process = accelerometer_only  # type: ignore[assignment]
            try:
                frames_b, _ = motion_process(
                    rec, dataclasses.replace(MotionSettings(), parallel=False)
                )
            finally:
                process.fusion_process = real_fuse
            base.append(
                compare_angles(frames_b, rec.truth.time_s, dict(rec.truth.series))[
                    LUMBAR_FLEXION
                ].rmse
            )
        ok = all(max(rmse[k]) <= v for k, v in LIMITS.items())
        all_ok &= ok
        t.add_row(
            technique,
            f"{np.mean(rmse[LUMBAR_FLEXION]):.2f}",
            f"{np.max(rmse[LUMBAR_FLEXION]):.2f}",
            f"{np.mean(rmse[PELVIC_TILT_DEG]):.2f}",
            f"{np.max(rmse[PELVIC_TILT_DEG]):.2f}",
            f"{np.mean(rmse[TRUNK_INCLINATION]):.2f}",
            f"{np.mean(base):.2f}",
            f"{np.mean(rmse[LUMBAR_FLEXION]) / np.mean(base):.2f}",
            "pass" if ok else "FAIL",
        )
    console.print(t)
    console.print(
        "targets: lumbar flexion RMSE <= 1.5 deg, pelvic tilt RMSE <= 1.0 deg (every seed)"
    )
    console.print("overall: " + ("[green]pass[/]" if all_ok else "[red]FAIL[/]"))


if __name__ == "__main__":
    main()
