"""Camera angles into the exercise engine: a synthetic skeleton doing hip-hinges and
flexion-extensions is counted rep for rep by spinecoach.exercises."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest

from spinecoach.camera import engine_map as engine_map_module
from spinecoach.camera.angles import CameraAngleSettings, CameraAngleTracker, camera_angles
from spinecoach.camera.engine_map import (
    CameraEngineMapper,
    MapperSettings,
    camera_coaching,
    camera_session_angles,
)
from spinecoach.camera.synthetic import FPS, SIZE, side_skeleton
from spinecoach.camera.synthetic import rep_profile as profile
from spinecoach.conventions import (
    LOWER_INCLINATION,
    LUMBAR_FLEXION,
    PELVIC_TILT_DEG,
    TRUNK_INCLINATION,
)
from spinecoach.errors import ConfigurationError
from spinecoach.exercises import ExerciseEngine, detect_exercise
from spinecoach.motion.flags import FLAG_GAP, FLAG_NOT_CALIBRATED

# Without the silhouette, lumbar_flexion_deg is NaN for a whole hip-hinge rep: the
# lumbar measure is NaN and not judged (no warning: faults.rep_measures guards it).


def test_module_doctests() -> None:
    assert doctest.testmod(engine_map_module).failed == 0


@pytest.mark.parametrize("facing", ["right", "left"])
def test_n_hip_hinges_on_camera_are_n_reps(facing: str) -> None:
    t = np.arange(0.0, 4.0 + 5 * 10.0 + 2.0, 1.0 / FPS)
    seq = side_skeleton(profile(t, 5, 30.0), seated=True, facing=facing)
    angles, _ = camera_angles(seq)
    frames, info = camera_session_angles(angles, "hip-hinge")
    assert info["main_signal"] == PELVIC_TILT_DEG
    assert info["neutral_deg"]["hip_flexion_deg"] == pytest.approx(90.0, abs=0.5)
    # Relative to neutral, the hip's forward rotation is the hinge; the lumbar spine and
    # the pelvis' own inclination are not seen without the silhouette.
    assert np.nanmax(frames[PELVIC_TILT_DEG]) == pytest.approx(30.0, abs=1.0)
    assert np.all(np.isnan(frames[LUMBAR_FLEXION]))
    assert np.all(np.isnan(frames[LOWER_INCLINATION]))
    assert np.all(frames.flags[: int(1.9 * FPS)] & FLAG_NOT_CALIBRATED)
    result = detect_exercise(frames, "hip-hinge")
    assert len(result.reps) == 5
    for rep in result.reps:
        assert rep.range_deg == pytest.approx(30.0, abs=2.0)
        assert rep.hold_s == pytest.approx(2.0, abs=0.6)
        assert "shallow-hinge" not in [f.name for f in rep.faults]


def test_streaming_gives_the_batch_reps() -> None:
    t = np.arange(0.0, 4.0 + 3 * 10.0 + 2.0, 1.0 / FPS)
    seq = side_skeleton(profile(t, 3, 25.0), seated=True)
    angles, _ = camera_angles(seq)
    frames, _ = camera_session_angles(angles, "hip-hinge")
    batch = detect_exercise(frames, "hip-hinge")
    tracker = CameraAngleTracker(CameraAngleSettings(), image_size=SIZE)
    mapper = CameraEngineMapper("hip-hinge")
    engine = ExerciseEngine("hip-hinge")
    for k in range(seq.n_frames):
        sample = tracker.update(float(seq.time_s[k]), seq.landmarks[k], seq.visibility[k])
        out, _ = mapper.update(sample.time_s, sample.angles)
        for name in out:
            expected = frames[name][k]
            assert out[name] == pytest.approx(expected, nan_ok=True)
        engine.update(sample.time_s, out)
    streamed = engine.result()
    assert [r.peak_s for r in streamed.reps] == [r.peak_s for r in batch.reps]
    assert len(streamed.reps) == 3


def test_n_flexion_extensions_on_camera_are_n_reps() -> None:
    t = np.arange(0.0, 4.0 + 3 * 17.0 + 3.0, 1.0 / FPS)
    seq = side_skeleton(profile(t, 3, 80.0, extension_deg=20.0), seated=False)
    angles, _ = camera_angles(seq)
    frames, info = camera_session_angles(angles, "flexion-extension")
    assert info["main_signal"] == LUMBAR_FLEXION
    assert np.nanmin(frames[LUMBAR_FLEXION]) == pytest.approx(-20.0, abs=1.0)
    result = detect_exercise(frames, "flexion-extension")
    assert len(result.reps) == 3
    for rep in result.reps:
        assert rep.range_deg == pytest.approx(80.0, abs=3.0)
        assert rep.extension_range_deg == pytest.approx(20.0, abs=2.0)


def test_the_back_curvature_stands_for_lumbar_flexion_in_cat_cow() -> None:
    n = 120
    t = np.arange(n) / FPS
    seq = side_skeleton(np.full(n, 88.0), seated=False)
    angles, _ = camera_angles(seq)
    curvature = 10.0 * np.sin(2 * np.pi * t / 2.0)
    curvature[:60] = 5.0  # the neutral hold
    confidence = np.ones(n)
    confidence[100] = 0.1  # a frame whose mask is unsure: not seen
    settings = MapperSettings(neutral_window=(0.0, 1.5), smoothing=None)
    frames, info = camera_session_angles(
        angles,
        "cat-cow",
        back_curvature_deg=curvature,
        curvature_confidence=confidence,
        settings=settings,
    )
    assert info["neutral_deg"]["back_curvature_deg"] == pytest.approx(5.0)
    np.testing.assert_allclose(frames[LUMBAR_FLEXION][60:100], curvature[60:100] - 5.0)
    assert math.isnan(frames[LUMBAR_FLEXION][100])
    assert frames.flags[100] & FLAG_GAP
    assert np.all(np.isnan(frames[PELVIC_TILT_DEG]))
    assert np.nanmedian(frames[TRUNK_INCLINATION]) == pytest.approx(88.0, abs=1.0)
    assert np.all(frames.flags[:45] & FLAG_NOT_CALIBRATED)


def test_what_the_camera_cannot_coach_is_refused_plainly() -> None:
    with pytest.raises(ConfigurationError, match="the camera cannot coach pelvic-tilt: A camera"):
        camera_coaching("pelvic-tilt")
    with pytest.raises(ConfigurationError, match="Use a motion sensor"):
        CameraEngineMapper("pelvic-tilt")
    with pytest.raises(ConfigurationError, match="unknown technique 'plank'"):
        camera_coaching("plank")
    seq = side_skeleton(np.zeros(10), seated=True)
    angles, _ = camera_angles(seq)
    with pytest.raises(ConfigurationError, match="cat-cow from a camera needs the back's"):
        camera_session_angles(angles, "cat-cow")
    with pytest.raises(ConfigurationError, match=r"must have shape \(10,\)"):
        camera_session_angles(angles, "cat-cow-seated", back_curvature_deg=np.zeros(3))
    with pytest.raises(ConfigurationError, match="neutral_s must be positive"):
        MapperSettings(neutral_s=0.0)
    with pytest.raises(ConfigurationError, match="neutral_window must be"):
        MapperSettings(neutral_window=(3.0, 1.0))


def test_every_coached_technique_names_a_camera_signal_for_its_main_signal() -> None:
    for technique in ("hip-hinge", "flexion-extension", "cat-cow", "cat-cow-seated"):
        coaching = camera_coaching(technique)
        assert coaching.main_signal in coaching.signals
        assert ExerciseEngine(technique).spec.main_signal == coaching.main_signal
