"""`spinecoach coach --source camera:N|video:PATH`: the terminal coach over the web page's
camera pump and coach. A video of a synthetic person (landmarks played back by a stand-in
pose model; the images go through the real
:class:`~spinecoach.camera.source.CameraSource`) is coached step by step, its reps counted
and stored with source ``camera``; leaving the picture pauses it. Without the camera extra
(this environment has neither OpenCV nor MediaPipe) and for pelvic tilts the real command
stops at once with the fix."""

from __future__ import annotations

import dataclasses
import importlib.util
import io
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from spinecoach.camera.live import UNSEEN_PAUSE_S
from spinecoach.camera.source import CameraSource, VideoFrame
from spinecoach.camera.synthetic import FPS, ScriptedPoseModel, rep_profile, side_skeleton
from spinecoach.cli import app
from spinecoach.cli.terminal import CoachError, CoachSettings, CoachView, coach, run_session
from spinecoach.cli.terminal.display import progress_line, render_view
from spinecoach.coach.camera import MAX_BATCH
from spinecoach.coach.events import CameraEvent, StateEvent
from spinecoach.coach.replay_pump import ReplayControl
from spinecoach.exercises.catalogue import default_catalogue
from spinecoach.store import db as store_db
from spinecoach.store.models import PainEntry, SessionRecord

runner = CliRunner()
#: The person's hinges; the first is the practice rep (not counted).
HINGES = 5
#: The hinges start after framing (1 s) and the neutral hold (3 s), one every 10 s.
START_S = 6.0
VIDEO = "video:synthetic-person.mp4"
#: Replay speed of the video in the tests (58 s of video in about 2 s).
FAST = 50.0
INSTALL = 'pip install "spinecoach[camera]"'


@dataclass
class Video:
    """A side-on video of a seated person hinging HINGES times, 30° each; nobody in the
    picture during ``absent`` (s)."""

    seconds: float = START_S + HINGES * 10.0 + 2.0
    absent: tuple[float, float] | None = None
    models: list[ScriptedPoseModel] = field(default_factory=list)

    def source(self) -> CameraSource:
        t = np.arange(0.0, self.seconds, 1.0 / FPS)
        seq = side_skeleton(rep_profile(t, HINGES, 30.0, start_s=START_S), seated=True)
        gone = set()
        if self.absent is not None:
            a, b = self.absent
            gone = {k for k in range(len(t)) if a <= t[k] < b}
        model = ScriptedPoseModel(seq, gone)
        self.models.append(model)
        # Black images: the stand-in model does not look at them.
        frames = [VideoFrame(float(tk), np.zeros((48, 64, 3), np.uint8)) for tk in t]
        return CameraSource(VIDEO, estimator=model, frames=frames)


def _console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=200), out


def _camera_extra_installed() -> bool:
    return any(importlib.util.find_spec(name) for name in ("cv2", "mediapipe"))


# --- a whole session ----------------------------------------------------------------------------
def test_a_camera_hip_hinge_session_is_coached_and_stored(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'history.sqlite3'}"
    video = Video()
    console, out = _console()
    settings = CoachSettings(
        "hip-hinge",
        source=VIDEO,
        speed=FAST,
        pain_before_mm=20.0,
        pain_after_mm=10.0,
        database_url=url,
    )
    outcome = coach(settings, console, interactive=False, camera_source=video.source)
    text = out.getvalue()
    # Progress lines: the camera's steps in order, what it sees, the calibration windows.
    steps = re.findall(r"camera step: (\w+)", text)
    assert steps == ["framing", "neutral", "practice", "sets"], text
    assert "camera: in the picture, framed" in text
    assert "Camera calibration: hold still in the start position" in text
    assert "calibration done" in text
    assert "╭" not in text.split("summary")[0]  # progress lines, no live panel
    # Five hinges: the first is the practice rep, the other four are counted.
    rep_lines = re.findall(r"^\s+[\d.]+ s  rep (\d) \(set 1\): range ([\d.]+)°", text, re.M)
    assert [int(i) for i, _ in rep_lines] == [1, 2, 3, 4]
    assert len(outcome.result.reps) == HINGES - 1
    for rep in outcome.result.reps:
        assert rep.range_deg == pytest.approx(30.0, abs=2.0)
        assert rep.start_s > START_S + 10.0 - 1.0  # none from the practice hinge
    assert not outcome.stopped_early
    assert re.search(r"^4 reps in 1 set", text, re.M)
    assert video.models[-1].closed  # the pose model is released at the end
    # Stored like a camera session from the web page: source, camera, result, pain.
    engine = store_db.make_engine(url)
    try:
        with Session(engine) as db:
            (record,) = db.scalars(select(SessionRecord))
            assert f"saved as session {record.id}" in text
            assert (record.source, record.status) == ("camera", "completed")
            assert record.technique == "hip-hinge"
            assert record.live_config["camera"] == VIDEO
            assert record.summary.get("ended") == "the video ended"
            assert len(record.reps) == HINGES - 1
            pains = db.scalars(select(PainEntry).where(PainEntry.session_id == record.id))
            assert {p.context: p.vas_mm for p in pains} == {"before": 20.0, "after": 10.0}
    finally:
        engine.dispose()


def test_leaving_the_picture_pauses_and_no_rep_spans_it() -> None:
    # The third hinge (the second counted) runs from 26 to 32 s; the person is gone 28-31 s.
    absent = (START_S + 22.0, START_S + 25.0)
    video = Video(absent=absent)
    console, out = _console()
    settings = CoachSettings("hip-hinge", source=VIDEO, speed=FAST, save=False)
    outcome = run_session(settings, console, camera_source=video.source)
    text = out.getvalue()
    paused = re.search(r"^\s+([\d.]+) s  paused: the camera cannot see you", text, re.M)
    assert paused, text
    # Unseen for UNSEEN_PAUSE_S pauses; the pump says so after its batch of frames (at
    # most MAX_BATCH of them: more when the machine is busy).
    late_s = UNSEEN_PAUSE_S + MAX_BATCH / FPS + 0.1
    assert absent[0] <= float(paused.group(1)) <= absent[0] + late_s
    assert "camera: Nobody is in the picture" in text
    resumed = re.search(r"^\s+([\d.]+) s  resumed", text, re.M)
    assert resumed and absent[1] <= float(resumed.group(1)) <= absent[1] + late_s
    reps = outcome.result.reps
    assert len(reps) == HINGES - 2  # the practice hinge, and the one cut by the absence
    for rep in reps:
        assert rep.end_s < absent[0] or rep.start_s > absent[1]


def test_stop_ends_a_camera_session_with_its_summary() -> None:
    """Ctrl+C or q stop through the same control: the pump stops, the camera is released
    and the partial session is summarised."""
    video = Video()
    control = ReplayControl()
    console, out = _console()
    settings = CoachSettings("hip-hinge", source=VIDEO, speed=5.0, save=False)
    timer = threading.Timer(1.0, control.stop)
    timer.start()
    try:
        outcome = run_session(settings, console, control=control, camera_source=video.source)
    finally:
        timer.cancel()
    assert outcome.stopped_early
    assert len(outcome.result.reps) == 0
    assert outcome.session_time_s < 20.0  # well before the video's 58 s
    assert video.models[-1].closed
    assert "camera step: framing" in out.getvalue()


def test_pause_holds_the_coaching_and_says_so() -> None:
    """Space or p on a terminal pause through the control: the pump stops coaching (the
    camera stays live) and the session says paused, then resumed."""
    video = Video()
    control = ReplayControl()
    console, out = _console()
    settings = CoachSettings("hip-hinge", source=VIDEO, speed=5.0, save=False)
    timers = [
        threading.Timer(0.5, control.pause),
        threading.Timer(1.5, control.resume),
        threading.Timer(2.5, control.stop),
    ]
    for timer in timers:
        timer.start()
    try:
        outcome = run_session(settings, console, control=control, camera_source=video.source)
    finally:
        for timer in timers:
            timer.cancel()
    lines = out.getvalue().splitlines()
    paused = [k for k, line in enumerate(lines) if re.search(r" s  .*paused$", line)]
    resumed = [k for k, line in enumerate(lines) if re.search(r" s  resumed$", line)]
    assert paused and resumed and paused[0] < resumed[0], out.getvalue()
    # Nothing was coached while paused: the session's clock stood still (the video's
    # next frames then come about 5 s later).
    at = [float(line.split(" s ")[0]) for line in lines[paused[0] : resumed[0] + 1]]
    assert max(at) == min(at)
    assert outcome.stopped_early


def test_a_webcam_that_stops_ends_the_session_with_what_was_done(tmp_path: Path) -> None:
    """A webcam (not a video) whose images stop: the coach says so, shows the summary and
    stores the session with why it ended."""
    url = f"sqlite:///{tmp_path / 'history.sqlite3'}"
    video = Video(seconds=START_S + 2 * 10.0)

    def webcam() -> CameraSource:
        played = video.source()
        frames = list(played._frames or ())
        return CameraSource("camera:0", estimator=video.models[-1], frames=frames)

    console, out = _console()
    settings = CoachSettings("hip-hinge", source="camera:0", database_url=url)
    outcome = coach(settings, console, interactive=False, camera_source=webcam)
    text = out.getvalue()
    assert "camera: camera:0 stopped delivering images" in text
    assert "what was done so far is in the summary" in text
    assert len(outcome.result.reps) == 1  # the practice hinge and one counted
    engine = store_db.make_engine(url)
    try:
        with Session(engine) as db:
            (record,) = db.scalars(select(SessionRecord))
            assert (record.source, record.status) == ("camera", "completed")
            assert record.live_config["camera"] == "camera:0"
            assert "stopped delivering images" in record.summary["ended"]
    finally:
        engine.dispose()


# --- what the person sees on a terminal ---------------------------------------------------------
def test_the_live_panel_shows_the_camera_and_why_it_paused() -> None:
    technique = default_catalogue().technique("hip-hinge")
    view = CoachView(technique, planned_reps=8, planned_sets=1, camera_source=VIDEO)
    framed = CameraEvent(
        step="sets", person=True, framed=True, messages=[], view="side", fps=30.0, source=VIDEO
    )
    view.apply(framed)
    screen = _screen(view)
    assert "camera" in screen and "in the picture, framed (30 images/s)" in screen
    assert VIDEO in screen and "Set 1 of 1" in screen
    gone = dataclasses.replace(
        framed, person=False, framed=False, messages=["Nobody is in the picture."]
    )
    state = StateEvent(
        calibrated=True,
        position="seated",
        reps=2,
        set=1,
        paused=True,
        paused_reason="out-of-frame",
    )
    assert progress_line(state, view) == (
        "    0.0 s  calibration done; position: seated; paused: the camera cannot see you; "
        "it goes on when you are back in the picture"
    )
    view.apply(state)
    assert progress_line(gone, view) == "    0.0 s  camera: Nobody is in the picture."
    view.apply(gone)
    screen = _screen(view)
    assert "Nobody is in the picture. (30 images/s)" in screen
    assert "PAUSED" in screen and "the camera cannot see you" in screen


def _screen(view: CoachView) -> str:
    console = Console(file=io.StringIO(), width=140, force_terminal=True, color_system=None)
    console.print(render_view(view))
    assert isinstance(console.file, io.StringIO)
    return console.file.getvalue()


# --- what the camera cannot do ------------------------------------------------------------------
@pytest.mark.parametrize("source", ["camera:0", "video:missing.mp4"])
def test_without_the_camera_extra_the_command_says_how_to_install_it(
    tmp_path: Path, source: str
) -> None:
    if _camera_extra_installed():
        pytest.skip("this check is for an environment without OpenCV and MediaPipe")
    database = tmp_path / "history.sqlite3"
    result = runner.invoke(
        app,
        ["coach", "hip-hinge", "--source", source, "--database", f"sqlite:///{database}"],
    )
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())
    assert said.startswith(f"error: --source {source}: the camera source needs MediaPipe")
    assert INSTALL in said  # the brackets survive the terminal's markup
    assert "--source sim" in said and "--source ble:ADDRESS" in said and "phyphox" in said
    assert "Traceback" not in result.output
    assert not database.exists()  # refused before the history is opened


def test_a_camera_cannot_coach_pelvic_tilts() -> None:
    with pytest.raises(CoachError, match="the camera cannot coach pelvic-tilt") as raised:
        CoachSettings("pelvic-tilt", source="video:x.mp4")
    assert "Use a motion sensor" in str(raised.value)
    result = runner.invoke(app, ["coach", "pelvic-tilt", "--source", "video:x.mp4"])
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())
    assert said.startswith("error: the camera cannot coach pelvic-tilt: A camera sees")
    assert "Use a motion sensor" in said
    assert "A camera can coach cat-cow, cat-cow-seated, flexion-extension, hip-hinge" in said
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ("camera:x", "a webcam is camera:N"),
        ("video:", "a video file is video:PATH"),
        ("phone", "camera:N (webcam N) or video:PATH (a video file)"),
    ],
)
def test_malformed_camera_sources_are_refused_with_the_fix(source: str, says: str) -> None:
    with pytest.raises(CoachError, match=re.escape(says)):
        CoachSettings("hip-hinge", source=source)


def test_coach_help_lists_the_camera_sources() -> None:
    result = runner.invoke(app, ["coach", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    said = " ".join(result.output.split())
    assert "camera:N (webcam N" in said and "video:PATH (a video file" in said
    assert INSTALL in said
