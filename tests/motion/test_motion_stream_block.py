"""Block feeding of the streaming tracker (issue 17): one sensor's samples at a time in
message-sized blocks of varied sizes (1 to 25 samples, the two sensors' messages
interleaved as they arrive, blocks straddling gaps, calibration windows and the
protocol-free calibration's checks) gives the batch's frames, bit for bit, and the frames
of the same samples fed one at a time; on simulations and on the real recordings.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from spinecoach.conventions import ANGLE_COLUMNS, PELVIS_HEIGHT_M, STANDARD_GRAVITY_MPS2
from spinecoach.errors import ConfigurationError
from spinecoach.motion import FLAG_GAP, AngleFrames, MotionTracker, SensorSample, motion_process
from spinecoach.motion.stream import FrameBlock
from spinecoach.recording import Event, Recording, SensorData
from spinecoach.sim import simulate

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
COLUMNS = (*ANGLE_COLUMNS, PELVIS_HEIGHT_M)

Message = tuple[str, int, int] | Event


def _messages(
    rec: Recording, seed: int, *, max_size: int = 25, live: bool = False
) -> list[Message]:
    """Each sensor's samples cut into blocks of 1 to ``max_size`` samples, sent when their
    last sample is taken (the sensors interleaved); ``live``: the recording's events too,
    each due at its start (a block that straddles one is split there, as a live session
    splits it)."""
    rng = np.random.default_rng(seed)
    keyed: list[tuple[float, int, Message]] = []
    for order, (placement, sensor) in enumerate(rec.sensors.items()):
        t = sensor.time_s
        cuts = np.cumsum(rng.integers(1, max_size + 1, size=t.shape[0]))
        bounds = [0, *cuts[cuts < t.shape[0]].tolist(), t.shape[0]]
        if live:  # a block is split where an event is due
            starts = np.searchsorted(t, [e.start_s for e in rec.events])
            bounds = sorted({*bounds, *starts.tolist()})
        for a, b in itertools.pairwise(bounds):
            keyed.append((float(t[b - 1]), 1 + order, (placement, a, b)))
    if live:
        keyed += [(e.start_s, 0, e) for e in rec.events]
    keyed.sort(key=lambda k: (k[0], k[1]))
    return [m for _, _, m in keyed]


def _feed_blocks(tracker: MotionTracker, rec: Recording, messages: list[Message]) -> FrameBlock:
    out = []
    for message in messages:
        if isinstance(message, Event):
            tracker.add_annotation(message)
            continue
        placement, a, b = message
        s = rec.sensors[placement]
        mag = None if s.mag_ut is None else s.mag_ut[a:b]
        out.append(
            tracker.update_block(placement, s.time_s[a:b], s.acc_mps2[a:b], s.gyr_dps[a:b], mag)
        )
    out.append(tracker.finish_block())
    return FrameBlock.concat(out)


def _feed_samples(tracker: MotionTracker, rec: Recording, messages: list[Message]) -> FrameBlock:
    """The same messages, one sample at a time (``update``)."""
    frames = []
    for message in messages:
        if isinstance(message, Event):
            tracker.add_annotation(message)
            continue
        placement, a, b = message
        s = rec.sensors[placement]
        for i in range(a, b):
            mag = None if s.mag_ut is None else s.mag_ut[i]
            frames += tracker.update(
                SensorSample(placement, float(s.time_s[i]), s.acc_mps2[i], s.gyr_dps[i], mag)
            )
    frames += tracker.finish()
    return FrameBlock(
        np.array([f.time_s for f in frames], dtype=np.float64),
        {name: np.array([f.angles[name] for f in frames]) for name in COLUMNS},
        np.array([f.flags for f in frames], dtype=np.uint8),
    )


def _tracker(rec: Recording, *, live: bool = False) -> MotionTracker:
    return MotionTracker(
        rates_hz={p: s.rate_hz for p, s in rec.sensors.items()},
        position=rec.meta.get("position"),
        annotations=() if live else rec.events,
        auto_calibration=not live,
    )


def _assert_equal(got: FrameBlock, want: FrameBlock | AngleFrames) -> None:
    assert len(got) == len(want)
    np.testing.assert_array_equal(got.time_s, want.time_s)
    for name in COLUMNS:
        np.testing.assert_array_equal(got.angles[name], want.angles[name], err_msg=name)
    np.testing.assert_array_equal(got.flags, want.flags)


def _check(rec: Recording, seed: int, *, max_size: int = 25, live: bool = False) -> FrameBlock:
    """Block feeding equals batch and per-sample feeding; returns the frames."""
    messages = _messages(rec, seed, max_size=max_size, live=live)
    blocks = _feed_blocks(_tracker(rec, live=live), rec, messages)
    samples = _feed_samples(_tracker(rec, live=live), rec, messages)
    _assert_equal(blocks, samples)
    frames, _ = motion_process(rec)
    _assert_equal(blocks, frames)
    return blocks


@pytest.mark.parametrize(
    ("technique", "seed"), [("pelvic-tilt", 0), ("cat-cow", 1), ("hip-hinge", 2)]
)
def test_blocks_equal_batch_with_the_calibration_windows_known(technique: str, seed: int) -> None:
    blocks = _check(simulate(technique, seed=seed, reps=3), seed)
    assert np.isfinite(blocks.angles[ANGLE_COLUMNS[0]]).mean() > 0.5  # calibrated frames


def test_blocks_equal_batch_when_the_coach_announces_the_windows_live() -> None:
    """Annotations added between messages (a block straddling one is split there), as
    the live coach sends them; blocks of 1 sample included."""
    rec = simulate("flexion-extension", seed=3, reps=3)
    assert rec.events
    _check(rec, 3, max_size=4, live=True)
    _check(rec, 4, max_size=40, live=True)


def test_blocks_of_one_sample_equal_batch() -> None:
    rec = simulate("pelvic-tilt", seed=5, reps=2, rate_hz=50.0)
    _check(rec, 5, max_size=1)


def test_blocks_equal_batch_with_the_protocol_free_calibration() -> None:
    """The frames are held until the calibration is decided; a block straddles the
    decision's check time."""
    rec = simulate("flexion-extension", seed=4, reps=4, scenario="protocol-free", rate_hz=50.0)
    assert rec.events == ()
    tracker = _tracker(rec)
    messages = _messages(rec, 4)
    first = messages[0]
    assert not isinstance(first, Event)
    placement, a, b = first
    s = rec.sensors[placement]
    assert len(tracker.update_block(placement, s.time_s[a:b], s.acc_mps2[a:b], s.gyr_dps[a:b])) == 0
    assert tracker.pending
    _check(rec, 4)
    _check(rec, 6, max_size=60)


def _with_dropouts(rec: Recording, holes: list[tuple[float, float, tuple[str, ...]]]) -> Recording:
    """``rec`` without the samples of ``placements`` in each hole (start_s, end_s)."""
    sensors = {}
    for placement, data in rec.sensors.items():
        keep = np.ones(data.n_samples, dtype=np.bool_)
        for start, end, placements in holes:
            if placement in placements:
                keep &= ~((data.time_s >= start) & (data.time_s < end))
        sensors[placement] = SensorData.from_arrays(
            placement,
            data.time_s[keep],
            data.acc_mps2[keep],
            data.gyr_dps[keep],
            rate_hz=data.rate_hz,
            device=data.device,
        )
    return Recording.create(sensors, events=rec.events, meta=rec.meta)


def test_blocks_straddling_gaps_equal_batch() -> None:
    """Short gaps of one sensor and of both (filled frame by frame, flagged) inside and
    across blocks."""
    rec = simulate("pelvic-tilt", seed=7, reps=3)
    end = float(rec.sensors["lower"].time_s[-1])
    holes = [
        (end * 0.55, end * 0.55 + 0.8, ("lower",)),
        (end * 0.7, end * 0.7 + 3.0, ("lower", "upper")),
        (end * 0.8, end * 0.8 + 0.05, ("upper",)),
    ]
    blocks = _check(_with_dropouts(rec, holes), 7)
    assert np.any(blocks.flags & FLAG_GAP)


def test_a_long_gap_in_one_block_gives_the_per_sample_frames() -> None:
    """A jump far beyond :data:`MAX_FILLED_GAP_S` inside one sensor's block: the frames
    are those of per-sample feeding (the gap's first and last frames, not the inside)."""
    rec = simulate("pelvic-tilt", seed=0, reps=2)
    sensors = {}
    cut = float(rec.sensors["lower"].time_s[-1]) * 0.8
    for placement, data in rec.sensors.items():
        t = np.where(data.time_s >= cut, data.time_s + 500.0, data.time_s)
        sensors[placement] = SensorData.from_arrays(
            placement, t, data.acc_mps2, data.gyr_dps, rate_hz=data.rate_hz
        )
    gapped = Recording.create(sensors, events=rec.events, meta=rec.meta)
    messages = _messages(gapped, 8, max_size=30)
    blocks = _feed_blocks(_tracker(gapped), gapped, messages)
    _assert_equal(blocks, _feed_samples(_tracker(gapped), gapped, messages))
    assert len(blocks) < 0.5 * (gapped.sensors["lower"].time_s[-1] * 100.0)


def _fusion_recording() -> Recording:
    path = SHARED_DATA / "fusion" / "sensor_data.csv"
    if not path.is_file():
        pytest.skip(f"real Fusion recording not found at {path} (../shared/data is absent)")
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    sensor = SensorData.from_arrays(
        "lower",
        data[:, 0],
        data[:, 4:7] * STANDARD_GRAVITY_MPS2,
        data[:, 1:4],
        rate_hz=100.0,
        mag_ut=data[:, 7:10],
    )
    return Recording.create({"lower": sensor})


def test_blocks_equal_batch_on_the_real_fusion_recording() -> None:
    """Real noise, bias and magnetometer; the protocol-free calibration of one sensor."""
    rec = _fusion_recording()
    blocks = _check(rec, 11)
    assert (
        np.nanmax(blocks.angles["pelvic_tilt_deg"]) - np.nanmin(blocks.angles["pelvic_tilt_deg"])
        > 5.0
    )


def _mobgap_recordings() -> list[Recording]:
    folder = SHARED_DATA / "mobgap"
    if not folder.is_dir():
        pytest.skip(f"real recordings not found at {folder} (../shared/data/mobgap)")
    out = []
    for trial in sorted(folder.iterdir())[:3]:
        data = np.genfromtxt(trial / "imu.csv", delimiter=",", names=True)
        acc = np.column_stack([data[f"acc_{a}_g"] for a in "xyz"]) * STANDARD_GRAVITY_MPS2
        gyr = np.column_stack([data[f"gyr_{a}_dps"] for a in "xyz"])
        sensor = SensorData.from_arrays("lower", data["time_s"], acc, gyr, rate_hz=100.0)
        out.append(Recording.create({"lower": sensor}, meta={"position": "standing"}))
    return out


def test_blocks_equal_batch_on_real_lower_back_recordings() -> None:
    """Real people standing, walking, sitting down (Mobilise-D lab data, one belt IMU)."""
    for k, rec in enumerate(_mobgap_recordings()):
        _check(rec, 20 + k)


def test_blocks_equal_batch_on_virtual_imus_from_real_motion_capture() -> None:
    from spinecoach.sim.mocap import load_mocap_take, mocap_take_paths, virtual_imu_recording

    paths = mocap_take_paths(SHARED_DATA)
    if not paths:
        pytest.skip(f"real motion capture not found at {SHARED_DATA} (../shared/data is absent)")
    for k, path in enumerate(paths[:2]):
        rec = virtual_imu_recording(load_mocap_take(path), seed=13)
        _check(rec, 30 + k)


def test_update_block_rejects_bad_blocks_with_clear_messages() -> None:
    tracker = MotionTracker(rates_hz={"lower": 100.0})
    t = np.arange(5) / 100.0
    acc = np.tile([0.0, 0.0, STANDARD_GRAVITY_MPS2], (5, 1))
    with pytest.raises(ConfigurationError, match="pass one row of 3 axes per sample"):
        tracker.update_block("lower", t, acc[:, :2], np.zeros((5, 3)))
    with pytest.raises(ConfigurationError, match="pass its rate in rates_hz"):
        tracker.update_block("upper", t, acc, np.zeros((5, 3)))
    with pytest.raises(ConfigurationError, match="feed samples in time order"):
        tracker.update_block("lower", t[::-1].copy(), acc, np.zeros((5, 3)))
    with pytest.raises(ConfigurationError, match="a 1-D array"):
        tracker.update_block("lower", t[:, None], acc, np.zeros((5, 3)))
    tracker.update_block("lower", t, acc, np.zeros((5, 3)))
    with pytest.raises(ConfigurationError, match=r"not after the previous one \(0.04 s\)"):
        tracker.update_block("lower", t, acc, np.zeros((5, 3)))
    assert len(tracker.update_block("lower", t[:0], acc[:0], np.zeros((0, 3)))) == 0
