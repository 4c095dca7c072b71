"""Calibrate once, not every session (issue 15 item 6), over a real WebSocket with the
seeded simulator: the first session calibrates fully and keeps its calibration; the next
one with the same (simulated) sensors makes the 5-s neutral check instead of the forward
bends and measures the same angles; a desk break with the kept calibration lasts its
sets plus the check.

The server here keeps its own history (a fresh SQLite file for this module), so the
first session of the module is the person's first."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from web_client import LiveServer, collect_until, receive, send, serve
from websockets.sync.client import connect

from spinecoach.conventions import (
    EVENT_CALIBRATION_CHECK,
    EVENT_CALIBRATION_FUNCTIONAL,
    EVENT_REP,
    LUMBAR_FLEXION,
    PELVIC_TILT_DEG,
)
from spinecoach.recording import Recording
from spinecoach.services.calibration import CalibrationKey, load_calibration
from spinecoach.sim import simulate
from spinecoach.store.db import make_engine
from spinecoach.web.settings import Settings

SEED = 7


@pytest.fixture(scope="module")
def server_and_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('kept') / 'spinecoach.sqlite3'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SPINECOACH_DATABASE_URL", url)
        for server in serve(Settings(sim_speed=10_000.0)):
            yield server, url


def _session(server: LiveServer, technique: str, **start: Any) -> list[dict[str, Any]]:
    with connect(server.ws_url, max_size=None) as ws:
        receive(ws)
        send(ws, type="start", technique=technique, source="sim", seed=SEED, **start)
        return collect_until(ws, "summary", timeout_s=120.0)


def _of(messages: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [m for m in messages if m["type"] == kind]


def _rmse_deg(messages: list[dict[str, Any]], recording: Recording, angle: str) -> float:
    """RMSE (deg) of the session's calibrated frames against the simulator's truth."""
    frames = [m for m in _of(messages, "frame") if m["angles"][angle] is not None]
    assert len(frames) > 500
    t = np.array([f["t"] for f in frames])
    measured = np.array([f["angles"][angle] for f in frames])
    truth = np.interp(t, recording.truth.time_s, recording.truth.series[angle])
    return float(np.sqrt(np.mean((measured - truth) ** 2)))


def _kept_wear(url: str) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        devices = {p: f"spinecoach-sim:{SEED}" for p in ("lower", "upper")}
        kept = load_calibration(engine, 1, CalibrationKey("sim", ("lower", "upper"), devices))
    finally:
        engine.dispose()
    assert kept is not None, "the first session kept no calibration"
    assert kept.position == "supine" and kept.ranges_deg["pelvic-tilt"] > 3.0
    return dict(kept.wear)


def test_first_session_calibrates_fully_the_next_checks_in_five_seconds(
    server_and_db: tuple[LiveServer, str],
) -> None:
    server, url = server_and_db
    first = _session(server, "pelvic-tilt")
    kinds = [m["kind"] for m in _of(first, "annotation")]
    assert EVENT_CALIBRATION_FUNCTIONAL in kinds and EVENT_CALIBRATION_CHECK not in kinds
    assert _of(first, "calibration-check") == []
    wear = _kept_wear(url)
    assert set(wear) == {"lower", "upper"}

    second = _session(server, "pelvic-tilt")
    kinds = [m["kind"] for m in _of(second, "annotation")]
    assert kinds[0] == EVENT_CALIBRATION_CHECK
    assert EVENT_CALIBRATION_FUNCTIONAL not in kinds  # no forward bends
    assert "calibration-rep" not in kinds and "calibration-neutral" not in kinds
    [verdict] = _of(second, "calibration-check")
    assert verdict["passed"] is True
    assert verdict["message"].startswith("Sensors in place — using your calibration from ")
    check = _of(second, "annotation")[0]
    assert check["end_s"] - check["start_s"] == pytest.approx(5.0)
    assert _of(second, "state")[-1]["calibrated"] is True
    summary = _of(second, "summary")[0]["result"]
    assert len(summary["reps"]) == 10
    assert summary["info"]["personal_range_source"] == "given"  # the kept range

    # The same angles: both sessions against the simulator's truth.
    first_rec = simulate("pelvic-tilt", seed=SEED)
    second_rec = simulate(
        "pelvic-tilt", seed=SEED, calibration="check", mount_misalignment_deg=wear
    )
    for angle in (LUMBAR_FLEXION, PELVIC_TILT_DEG):
        before = _rmse_deg(first, first_rec, angle)
        after = _rmse_deg(second, second_rec, angle)
        assert before < 2.0, (angle, before)
        assert after < 2.0, (angle, after)
        assert abs(after - before) < 2.0


def test_desk_break_with_a_kept_calibration_lasts_its_sets_plus_the_check(
    server_and_db: tuple[LiveServer, str],
) -> None:
    server, url = server_and_db
    if not _of(_session(server, "pelvic-tilt"), "summary"):  # keeps one if none yet
        pytest.fail("no summary")
    wear = _kept_wear(url)
    messages = _session(server, "cat-cow-seated")
    [verdict] = _of(messages, "calibration-check")
    assert verdict["passed"] is True  # kept lying on the back, checked sitting
    kinds = {m["kind"] for m in _of(messages, "annotation")}
    assert EVENT_CALIBRATION_FUNCTIONAL not in kinds
    recording = simulate(
        "cat-cow-seated", seed=SEED, calibration="check", mount_misalignment_deg=wear
    )
    reps = [e for e in recording.truth.events if e.kind == EVENT_REP]
    sets_s = reps[-1].end_s - reps[0].start_s
    last_t = float(_of(messages, "frame")[-1]["t"])
    before_sets_s = reps[0].start_s
    # The prescribed sets plus the check: 0.5 s, 5 s still, 0.5 s, the sets, 0.5 s.
    assert 5.0 < before_sets_s < 7.0
    assert last_t - sets_s < 9.5
    full = simulate("cat-cow-seated", seed=SEED)
    full_reps = [e for e in full.truth.events if e.kind == EVENT_REP]
    assert full_reps[0].start_s - before_sets_s > 25.0  # the bends, setup, hold, practice rep
    assert len(_of(messages, "summary")[0]["result"]["reps"]) == len(reps)


def test_asked_to_calibrate_fully_the_kept_calibration_is_not_checked_but_renewed(
    server_and_db: tuple[LiveServer, str],
) -> None:
    """``"recalibrate": true`` (the page's "Calibrate fully this time"): with a kept
    calibration there is no check, the whole protocol runs, and its result is kept."""
    server, url = server_and_db
    if not _of(_session(server, "pelvic-tilt", reps=2), "summary"):  # keeps one if none yet
        pytest.fail("no summary")
    _kept_wear(url)
    messages = _session(server, "cat-cow-seated", reps=2, recalibrate=True)
    assert _of(messages, "calibration-check") == []
    kinds = [m["kind"] for m in _of(messages, "annotation")]
    assert EVENT_CALIBRATION_CHECK not in kinds and EVENT_CALIBRATION_FUNCTIONAL in kinds
    assert len(_of(messages, "summary")[0]["result"]["reps"]) == 2
    engine = make_engine(url)
    try:
        devices = {p: f"spinecoach-sim:{SEED}" for p in ("lower", "upper")}
        kept = load_calibration(engine, 1, CalibrationKey("sim", ("lower", "upper"), devices))
    finally:
        engine.dispose()
    assert kept is not None and kept.position == "seated"  # renewed sitting
