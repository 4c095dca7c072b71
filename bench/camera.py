"""Camera trunk angles (BlazePose landmarks) against optical motion capture (KERAAL).

For each KERAAL exercise (ELK flank stretch = lateral bend, CTK "hiding face", RTK torso
rotation; one healthy participant, one correct trial each): the camera's
``trunk_lateral_bend_deg`` (hip midpoint → shoulder midpoint from vertical, frontal view)
against the Vicon Hips → Chest line in the frontal plane, with each system zeroed at its
own first second of quiet standing and the lag found by cross-correlation (±0.5 s). No gain
or offset is fitted. Columns: RMSE, bias (camera − reference), Bland–Altman 95 % limits of
agreement, Pearson r, frames compared, lag used (reference time = camera time + lag).

Rows per exercise:
* ``spinecoach`` — the method as shipped (un-mirrored, 16:9 frames, one-euro smoothing,
  neutral zero);
* baselines measured in the same run: ``raw`` (no smoothing), ``no neutral`` (no neutral
  zeroing), ``square pixels`` (normalised coordinates taken as square, as when the video
  size is unknown);
* ``vs orientation`` — the same camera angle against the Chest body's *orientation*
  relative to the Hips body (frontal component): a different quantity (the chord of a
  curved spine turns about half as much as its end), shown for honesty.

The sagittal angles are not compared: the KERAAL camera faces the person, and they are
flagged "wrong view". Axial rotation (RTK) is out of the image plane and not measured.

Target (issue 8): ELK lateral bend RMSE <= 5 deg and r >= 0.9. Published camera systems
report 4-13 deg RMSE against optical motion capture for trunk angles.

Throughput (issue 8: pose + angles + exercise engine >= 25 frames/s at 640x480 on this
machine). A 640x480, 30 fps mp4 of ``N_FRAMES`` frames is written with OpenCV from real
photographs of people that ship inside installed packages (scikit-image's astronaut,
matplotlib's Grace Hopper), each frame shifted and zoomed a little so the pose model tracks
as on a real video. Then, through ``CameraSource("video:PATH")``, frames/s of
(a) OpenCV decoding alone (a pose model that returns "no person"), the baseline;
(b) decoding + MediaPipe Pose (complexity 1, with the segmentation mask);
(c) the full pipeline: (b) + CameraAngleTracker + the silhouette's back curvature on the
mask + CameraEngineMapper("hip-hinge") + ExerciseEngine, as the live coach runs it.
Each is the best of ``REPEATS`` runs (the machine is shared), the model loaded beforehand.
It needs the camera extra (numpy < 2): run with .venv-camera/bin/python (make camera-venv).

Run: .venv-camera/bin/python bench/camera.py (the KERAAL table also runs in .venv)
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from _common import console, machine, table
from spinecoach.camera.angles import (
    TRUNK_LATERAL_BEND_DEG,
    CameraAngleSettings,
    CameraAngleTracker,
    camera_angles,
)
from spinecoach.camera.compare import compare_with_reference
from spinecoach.camera.keraal import (
    CHEST_HIPS_LATERAL_BEND_DEG,
    read_keraal_blazepose,
    read_keraal_reference,
)

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "keraal"
EXERCISES = {"ELK": "flank stretch", "CTK": "hiding face", "RTK": "torso rotation"}
PUBLISHED = "4-13"

WIDTH, HEIGHT = 640, 480
FPS = 30.0
N_FRAMES = 300
REPEATS = 3
TARGET_FPS = 25.0
TECHNIQUE = "hip-hinge"


def keraal() -> None:
    t = table(
        f"camera trunk lateral bend vs Vicon (deg; published camera systems {PUBLISHED} deg "
        f"RMSE; target ELK RMSE <= 5, r >= 0.9) — {machine()}",
        ["exercise / variant", "RMSE", "bias", "95% LoA", "r", "n", "lag s"],
    )
    for code, what in EXERCISES.items():
        bp = DATA / f"G3-BP-{code}-P1T1-Unknown-C-0.json"
        vicon = DATA / f"G3-Vicon-{code}-P1T1-Unknown-C-0.txt"
        if not bp.exists():
            console.print(f"[yellow]skipped {code}: {bp} not found[/]")
            continue
        seq = read_keraal_blazepose(bp)
        square = dataclasses.replace(seq, image_size=None)
        ref_t, ref = read_keraal_reference(vicon)
        shipped, _ = camera_angles(seq)
        raw, _ = camera_angles(seq, settings=CameraAngleSettings(smoothing=None))
        sq, _ = camera_angles(square)
        name = TRUNK_LATERAL_BEND_DEG
        variants = [
            ("spinecoach", shipped.angles, ref[name], True),
            ("raw (no smoothing)", raw.angles, ref[name], True),
            ("no neutral zero", shipped.angles, ref[name], False),
            ("square pixels", sq.angles, ref[name], True),
            ("vs orientation", shipped.angles, ref[CHEST_HIPS_LATERAL_BEND_DEG], True),
        ]
        for label, cam, reference, calibrate in variants:
            result = compare_with_reference(
                seq.time_s, {name: cam[name]}, ref_t, {name: reference}, calibrate=calibrate
            )
            if name not in result.angles:
                t.add_row(f"{code} ({what}): {label}", "—", "—", "—", "—", "0", "—")
                continue
            a = result.angles[name]
            bound = "*" if result.lag_at_bound else ""
            t.add_row(
                f"{code} ({what}): {label}",
                f"{a.rmse:.2f}",
                f"{a.bias:+.2f}",
                f"[{a.loa[0]:+.1f}, {a.loa[1]:+.1f}]",
                f"{a.r:.3f}",
                str(a.n),
                f"{result.lag_s:+.3f}{bound}",
            )
    console.print(t)
    console.print("* lag at the edge of the ±0.5 s search: no clear match (little movement).")


# --- throughput ---------------------------------------------------------------------------


def shipped_photos() -> list[np.ndarray]:
    """Photographs of people inside installed packages (RGB uint8), no download."""
    import matplotlib.image
    import skimage.data
    from matplotlib import cbook

    with cbook.get_sample_data("grace_hopper.jpg") as file:
        hopper = np.asarray(matplotlib.image.imread(file))[..., :3]
    return [np.ascontiguousarray(skimage.data.astronaut()), np.ascontiguousarray(hopper)]


def write_bench_video(path: Path) -> Path:
    """N_FRAMES frames at 640x480: each photo for half the video, fitted to the height,
    with a slow sway (±12 px) and zoom (0.9-1.0) so consecutive frames differ."""
    import cv2

    photos = shipped_photos()
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (WIDTH, HEIGHT))
    per_photo = math.ceil(N_FRAMES / len(photos))
    for k in range(N_FRAMES):
        photo = photos[min(k // per_photo, len(photos) - 1)]
        phase = 2.0 * math.pi * k / 90.0
        zoom = 0.95 + 0.05 * math.sin(phase)
        h, w = photo.shape[:2]
        scale = HEIGHT / h * zoom
        size = (round(w * scale), round(h * scale))
        resized = cv2.resize(photo, size, interpolation=cv2.INTER_AREA)
        frame = np.zeros((HEIGHT, WIDTH, 3), dtype=np.uint8)
        x0 = (WIDTH - size[0]) // 2 + round(12.0 * math.sin(0.7 * phase))
        y0 = HEIGHT - size[1]
        xa, xb = max(x0, 0), min(x0 + size[0], WIDTH)
        frame[y0:, xa:xb] = resized[:, xa - x0 : xb - x0]
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


class NoPose:
    """A pose model that finds nobody: the source's decode path alone."""

    def estimate(self, image: Any) -> Any:
        from spinecoach.camera.source import NO_PERSON

        return NO_PERSON

    def close(self) -> None:
        pass


def warm_estimator() -> Any:
    """MediaPipe Pose with its graph built (the first image loads the model)."""
    from spinecoach.camera.source import MediaPipePoseEstimator

    estimator = MediaPipePoseEstimator()
    estimator.estimate(np.zeros((HEIGHT, WIDTH, 3), dtype=np.uint8))
    return estimator


def decoded(path: Path, estimator: Any) -> Iterator[Any]:
    from spinecoach.camera.source import CameraSource

    return iter(CameraSource(f"video:{path}", estimator=estimator))


def run_decode(path: Path) -> tuple[int, float]:
    return sum(1 for _ in decoded(path, NoPose())), math.nan


def run_pose(path: Path) -> tuple[int, float]:
    return sum(1 for frame in decoded(path, warm_estimator()) if frame.pose.found), math.nan


def run_pipeline(path: Path) -> tuple[int, float]:
    """Pose, angles, back curvature, engine mapping and the exercise engine, per frame.
    Returns the frames with a person and the seconds spent after the pose model."""
    from spinecoach.camera.angles import forward_sign
    from spinecoach.camera.engine_map import CameraEngineMapper
    from spinecoach.camera.landmarks import LEFT_HIP, LEFT_SHOULDER, RIGHT_HIP, RIGHT_SHOULDER
    from spinecoach.camera.silhouette import back_curvature
    from spinecoach.exercises import ExerciseEngine

    tracker = CameraAngleTracker(image_size=(WIDTH, HEIGHT))
    mapper = CameraEngineMapper(TECHNIQUE)
    engine = ExerciseEngine(TECHNIQUE)
    missing = np.full((33, 3), np.nan)
    unseen = np.zeros(33)
    found = 0
    after_pose_s = 0.0
    for frame in decoded(path, warm_estimator()):
        start = time.perf_counter()
        pose = frame.pose
        curvature, confidence = math.nan, 0.0
        if pose.landmarks is None or pose.visibility is None:
            sample = tracker.update(frame.time_s, missing, unseen)
        else:
            found += 1
            sample = tracker.update(frame.time_s, pose.landmarks, pose.visibility)
            if pose.segmentation_mask is not None:
                xy = pose.landmarks[:, :2] * [WIDTH, HEIGHT]
                facing = "right" if forward_sign(xy) > 0 else "left"
                back = back_curvature(
                    pose.segmentation_mask,
                    shoulder_xy=0.5 * (xy[LEFT_SHOULDER] + xy[RIGHT_SHOULDER]),
                    hip_xy=0.5 * (xy[LEFT_HIP] + xy[RIGHT_HIP]),
                    facing=facing,
                )
                curvature, confidence = back.curvature_deg, back.confidence
        angles, _ = mapper.update(frame.time_s, sample.angles, curvature, confidence)
        engine.update(frame.time_s, angles)
        after_pose_s += time.perf_counter() - start
    engine.result()
    return found, after_pose_s


def best_fps(runs: list[Any], path: Path) -> list[tuple[float, tuple[int, float]]]:
    """Frames/s of each run (best of REPEATS rounds; the runs take turns in each round,
    so a burst of load elsewhere on the machine does not favour one), and what its best
    round returned."""
    best = [math.inf] * len(runs)
    results: list[tuple[int, float]] = [(0, math.nan)] * len(runs)
    for _ in range(REPEATS):
        for i, run in enumerate(runs):
            start = time.perf_counter()
            result = run(path)
            elapsed = time.perf_counter() - start
            if elapsed < best[i]:
                best[i], results[i] = elapsed, result
    return [(N_FRAMES / b, r) for b, r in zip(best, results, strict=True)]


def throughput() -> None:
    if importlib.util.find_spec("mediapipe") is None or importlib.util.find_spec("cv2") is None:
        console.print(
            "[yellow]camera throughput skipped: mediapipe is not installed in this venv; "
            "run with .venv-camera/bin/python (make camera-venv)[/]"
        )
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = write_bench_video(Path(tmp) / "people-640x480.mp4")
        load = os.getloadavg()[0]
        measured = best_fps([run_decode, run_pose, run_pipeline], path)
    (decode_fps, _), (pose_fps, (pose_found, _)), (full_fps, (full_found, after_s)) = measured
    t = table(
        f"camera throughput, {WIDTH}x{HEIGHT} mp4 of {N_FRAMES} frames from shipped photos "
        f"(best of {REPEATS}; target (c) >= {TARGET_FPS:.0f} frames/s) — {machine()}, "
        f"{os.cpu_count()} CPUs, load average {load:.1f} at the start",
        ["stage", "frames/s", "ms/frame", "vs (a)", "person found", "target"],
    )
    rows = [
        ("(a) OpenCV decode (baseline)", decode_fps, "—", ""),
        ("(b) decode + MediaPipe pose", pose_fps, f"{pose_found}/{N_FRAMES}", ""),
        (
            f"(c) (b) + angles + back curvature + engine ({TECHNIQUE})",
            full_fps,
            f"{full_found}/{N_FRAMES}",
            "pass" if full_fps >= TARGET_FPS else "FAIL",
        ),
    ]
    for label, fps, found, verdict in rows:
        t.add_row(
            label, f"{fps:.1f}", f"{1000.0 / fps:.1f}", f"{fps / decode_fps:.3f}", found, verdict
        )
    console.print(t)
    console.print(
        f"(c) spent {1000.0 * after_s / N_FRAMES:.2f} ms/frame after the pose model (angles, "
        "back curvature, engine mapping, exercise engine); the rest is decoding and pose."
    )


def main() -> None:
    keraal()
    throughput()


if __name__ == "__main__":
    main()
