"""`spinecoach coach`: the terminal coach over the real live-session engine, the simulator
and a throwaway SQLite history; its pure rendering functions with known answers."""

from __future__ import annotations

import doctest
import io
import math
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

import spinecoach.cli.terminal as coach_module
import spinecoach.cli.terminal.display as display_module
import spinecoach.cli.terminal.settings as settings_module
from spinecoach.cli import app
from spinecoach.cli.terminal import CoachError, CoachSettings, CoachView, run_session
from spinecoach.cli.terminal.display import (
    countdown_text,
    gauge_text,
    render_view,
    resample_trace,
    sparkline,
)
from spinecoach.cli.terminal.settings import ask_pain
from spinecoach.coach.events import CueEvent, FrameEvent, LiveEvent, PhaseEvent
from spinecoach.coach.session import LiveSession
from spinecoach.exercises.catalogue import default_catalogue
from spinecoach.exercises.engine import SUPPORTED
from spinecoach.sim import simulate
from spinecoach.sources.simulated import SimulatedSource
from spinecoach.store import db as store_db
from spinecoach.store import repository
from spinecoach.store.models import PainEntry, Person

runner = CliRunner()
SUMMARY = re.compile(r"^(\d+) reps? in (\d+) sets?", re.MULTILINE)


def _url(path: Path) -> str:
    return f"sqlite:///{path}"


def _stored(path: Path) -> list[tuple[int, str, int, dict[str, float]]]:
    """(id, technique, reps, pain by context) of every stored session, read with the
    store's own functions."""
    engine = store_db.make_engine(_url(path))
    try:
        with Session(engine) as db:
            out = []
            for person in db.scalars(select(Person)):
                for record in repository.list_sessions(db, person.id):
                    result = repository.load_result(db, record.id)
                    pains = db.scalars(select(PainEntry).where(PainEntry.session_id == record.id))
                    out.append(
                        (
                            record.id,
                            record.technique,
                            len(result.reps),
                            {p.context: p.vas_mm for p in pains},
                        )
                    )
            return out
    finally:
        engine.dispose()


def _summary_reps(output: str) -> int:
    found = SUMMARY.findall(output)
    assert len(found) == 1, output
    return int(found[0][0])


# --- pure rendering ------------------------------------------------------------------------------
def test_gauge_marks_the_band_and_the_value_cell_by_cell() -> None:
    # 21 cells over 0–20°: cell i is i degrees.
    text = gauge_text(12.0, (5.0, 8.0), low_deg=0.0, high_deg=20.0, width=21)
    expected = ["─"] * 21
    for i in range(5, 9):
        expected[i] = "━"
    expected[12] = "●"
    assert text.plain == "".join(expected)
    inside = gauge_text(6.0, (5.0, 8.0), low_deg=0.0, high_deg=20.0, width=21)
    assert inside.plain.index("●") == 6
    assert inside.plain.count("━") == 3  # the marker covers one band cell
    assert "green" in str(inside.spans[6].style)  # in the band: shown green


def test_gauge_off_scale_and_missing_values() -> None:
    assert gauge_text(-30.0, None, low_deg=-10.0, high_deg=20.0, width=7).plain == "◀──────"
    assert gauge_text(99.0, None, low_deg=-10.0, high_deg=20.0, width=7).plain == "──────▶"
    assert gauge_text(math.nan, (0.0, 20.0), low_deg=0.0, high_deg=20.0, width=5).plain == "━" * 5
    assert gauge_text(None, None, low_deg=0.0, high_deg=1.0, width=3).plain == "───"
    with pytest.raises(CoachError, match="high_deg > low_deg"):
        gauge_text(1.0, None, low_deg=5.0, high_deg=5.0)


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(2.2, "3 s"), (3.0, "3 s"), (0.01, "1 s"), (0.0, "0 s"), (-1.5, "0 s"), (None, "–")],
)
def test_countdown_rounds_up_and_stops_at_zero(seconds: float | None, shown: str) -> None:
    assert countdown_text(seconds) == shown
    assert countdown_text(math.nan) == "–"


def test_sparkline_and_trace_bins() -> None:
    assert sparkline([-1.0, 0.0, 6.0, 14.0, 99.0, None], low=0.0, high=14.0) == "▁▁▄██ "
    points = [(t / 10, t / 10) for t in range(0, 101)]  # value = time, 0–10 s
    bins = resample_trace(points, end_s=10.0, window_s=5.0, width=5)
    assert bins == [6.0, 7.0, 8.0, 9.0, 10.0]  # the last value of each 1 s bin
    assert resample_trace(points, end_s=20.0, window_s=5.0, width=3) == [None] * 3
    with pytest.raises(CoachError, match="high > low"):
        sparkline([1.0], low=2.0, high=2.0)


def test_doctests() -> None:
    results = [
        doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        for module in (coach_module, display_module, settings_module)
    ]
    attempted = sum(result.attempted for result in results)
    assert attempted >= 5 and all(result.failed == 0 for result in results)


# --- the view over real session messages ---------------------------------------------------------
def _messages(technique: str, seed: int, reps: int) -> list[LiveEvent]:
    recording = simulate(technique, seed=seed, reps=reps)
    session = LiveSession(
        technique,
        rates_hz={p: s.rate_hz for p, s in recording.sensors.items()},
        position=recording.meta.get("position"),
    )
    return session.feed(SimulatedSource.from_recording(recording).items)


def _view(technique: str) -> CoachView:
    return CoachView(default_catalogue().technique(technique), planned_reps=2, planned_sets=1)


def _render(view: CoachView) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=110, color_system=None).print(render_view(view))
    return buffer.getvalue()


def test_cat_cow_view_shows_the_pacer_phase_with_its_countdown() -> None:
    view = _view("cat-cow")
    checked = 0
    for message in _messages("cat-cow", seed=2, reps=2):
        view.apply(message)
        b = view.breath
        if isinstance(message, FrameEvent) and b is not None and b.start_s + 1.0 < view.t_s:
            if view.t_s > b.end_s or checked >= 2:
                continue
            label, left, share = view.breath_phase() or ("", math.nan, math.nan)
            want = "Breathe in" if b.kind == "breath-inhale" else "Breathe out"
            assert label == want
            assert left == pytest.approx(b.end_s - view.t_s)
            assert share == pytest.approx((view.t_s - b.start_s) / (b.end_s - b.start_s))
            screen = _render(view)
            assert f"{want}" in screen and countdown_text(left) in screen
            checked += 1 if b.kind == "breath-inhale" else 0
    assert checked == 2


def test_pelvic_tilt_view_counts_the_hold_down_and_marks_the_band() -> None:
    view = _view("pelvic-tilt")
    hold_s = view.technique.dose.hold_s
    seen_hold = False
    for message in _messages("pelvic-tilt", seed=1, reps=2):
        view.apply(message)
        if isinstance(message, CueEvent) and message.key == "hold":
            hold_at = message.t
        if (
            isinstance(message, FrameEvent)
            and view.hold_start_s is not None
            and view.t_s - view.hold_start_s > 1.0
            and not seen_hold
        ):
            left = view.hold_seconds_left()
            assert left == pytest.approx(hold_s - (view.t_s - hold_at))
            assert f"hold {countdown_text(left)}" in _render(view)
            seen_hold = True
    assert seen_hold
    assert view.band_deg is not None and view.practising
    screen = _render(view)
    assert f"target {view.band_deg[0]:.0f}–{view.band_deg[1]:.0f}°" in screen
    assert "Set 1 of 1: rep 2 of 2" in screen


def test_view_step_follows_the_calibration_windows() -> None:
    view = _view("pelvic-tilt")
    assert view.step_text().startswith("Getting ready")
    view.apply(PhaseEvent(kind="calibration-neutral", start_s=10.0, end_s=15.0))
    view.apply(FrameEvent(t=11.2, angles={}, flags=["calibration not done"]))
    assert view.step_text() == "Calibration 2 of 3: get into position and hold still"
    assert view.step_seconds_left() == pytest.approx(3.8)
    screen = _render(view)
    assert "4 s" in screen and "calibration not done" in screen


# --- the command --------------------------------------------------------------------------------
def test_seeded_pelvic_tilt_counts_the_requested_reps_and_saves_them(tmp_path: Path) -> None:
    database = tmp_path / "history.sqlite3"
    requested = 3
    result = runner.invoke(
        app,
        [
            "coach",
            "pelvic-tilt",
            "--seed",
            "1",
            "--reps",
            str(requested),
            "--speed",
            "200",
            "--pain-before",
            "20",
            "--pain-after",
            "12.5",
            "--database",
            _url(database),
        ],
    )
    assert result.exit_code == 0, result.output
    assert _summary_reps(result.output) == requested
    for i in range(1, requested + 1):
        assert f"rep {i} (set 1)" in result.output  # progress lines, not live frames
    assert "╭" not in result.output  # no live panel without a terminal
    (saved,) = _stored(database)
    session_id, technique, reps, pain = saved
    assert f"saved as session {session_id}" in result.output
    assert (technique, reps) == ("pelvic-tilt", requested)
    assert pain == {"before": 20.0, "after": 12.5}


def test_cat_cow_prints_the_pacer_phases(tmp_path: Path) -> None:
    database = tmp_path / "history.sqlite3"
    result = runner.invoke(
        app,
        ["coach", "cat-cow", "--seed", "2", "--reps", "2", "--speed", "500", "--no-save"],
        env={"SPINECOACH_DATABASE_URL": _url(database)},
    )
    assert result.exit_code == 0, result.output
    inhales = re.findall(r"^\s+[\d.]+ s  Breathe in \(\d+ s\)$", result.output, re.MULTILINE)
    exhales = re.findall(r"^\s+[\d.]+ s  Breathe out \(\d+ s\)$", result.output, re.MULTILINE)
    assert len(inhales) >= 2 and len(exhales) >= 2  # the practice cycle and the counted ones
    assert "not saved (--no-save)" in result.output
    assert not database.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["toe-touch"],
            "unknown technique 'toe-touch'; coach takes one of: " + ", ".join(SUPPORTED),
        ),
        (["pelvic-tilt", "--source", "phone"], "use one of: sim"),
        (["pelvic-tilt", "--pain-before", "101"], "--pain-before must be from 0 to 100 mm"),
        (["pelvic-tilt", "--pain-after", "-1"], "--pain-after must be from 0 to 100 mm"),
        (["pelvic-tilt", "--profile", "sloppy"], "unknown performer profile 'sloppy'"),
        (["pelvic-tilt", "--speed", "0"], "--speed must be a replay speed above 0"),
        (["pelvic-tilt", "--reps", "0"], "--reps must be from 1 to 50"),
    ],
)
def test_bad_options_fail_clearly_and_save_nothing(
    tmp_path: Path, args: list[str], message: str
) -> None:
    database = tmp_path / "history.sqlite3"
    # A fast replay first, so a check that let the session run would not take minutes; a
    # later --speed in args wins.
    command = ["coach", args[0], "--speed", "500", *args[1:], "--database", _url(database)]
    result = runner.invoke(app, command)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert not database.exists()


def test_a_malformed_database_url_fails_before_the_session() -> None:
    result = runner.invoke(app, ["coach", "pelvic-tilt", "--database", "not a url"])
    assert result.exit_code == 2
    assert "--database 'not a url' is not a database URL" in " ".join(result.output.split())
    assert "rep 1" not in result.output and "Calibration" not in result.output


def test_ctrl_c_stops_early_and_still_saves_the_partial_summary(tmp_path: Path) -> None:
    database = tmp_path / "history.sqlite3"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "spinecoach",
            "coach",
            "pelvic-tilt",
            "--seed",
            "1",
            "--speed",
            "20",
            "--database",
            _url(database),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if re.search(r"rep 1 \(set 1\)", line):
            process.send_signal(signal.SIGINT)
            break
    rest, errors = process.communicate(timeout=120)
    output = "".join(lines) + rest
    assert process.returncode == 0, errors
    assert "stopped early" in output
    shown = _summary_reps(output)
    assert 1 <= shown < 10  # ten reps were planned
    (saved,) = _stored(database)
    assert saved[1:3] == ("pelvic-tilt", shown)


def test_the_live_panel_is_drawn_on_a_terminal() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=100, color_system=None)
    settings = CoachSettings("cat-cow", seed=3, reps=1, speed=1000.0, save=False)
    outcome = run_session(settings, console)
    screen = buffer.getvalue()
    assert "Cat-cow on hands and knees" in screen
    assert "Breathe in" in screen and "Breathe out" in screen
    assert "target" in screen and "Ctrl+C stops" in screen
    assert not outcome.stopped_early and len(outcome.result.reps) == 1


def test_pain_is_asked_until_it_is_on_the_scale() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=200, color_system=None)
    assert ask_pain(console, "before", stream=io.StringIO("lots\n150\n42\n")) == 42.0
    said = buffer.getvalue()
    assert "'lots' is not a number" in said
    assert "pain must be from 0 to 100 mm" in said
    assert ask_pain(console, "after", stream=io.StringIO("\n")) is None
    assert ask_pain(console, "after", stream=io.StringIO("")) is None  # end of input


def test_coach_help_has_an_example() -> None:
    result = runner.invoke(app, ["coach", "--help"])
    assert result.exit_code == 0
    assert "Example: spinecoach coach" in result.output


def test_keys_pause_resume_and_stop_on_a_terminal_and_restore_it() -> None:
    pty = pytest.importorskip("pty")
    termios = pytest.importorskip("termios")
    import os
    import select
    import time

    master, follower = pty.openpty()
    before = termios.tcgetattr(follower)
    process = subprocess.Popen(
        [sys.executable, "-m", "spinecoach", "coach", "pelvic-tilt", "--speed", "10", "--no-save"],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env={**os.environ, "TERM": "xterm", "COLUMNS": "110", "LINES": "40"},
    )
    os.close(follower)
    seen = b""

    def wait_for(pattern: str, timeout_s: float = 60.0) -> bool:
        nonlocal seen
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            if select.select([master], [], [], 0.1)[0]:
                try:
                    seen += os.read(master, 65536)
                except OSError:  # the child closed the terminal
                    break
                if re.search(pattern, seen.decode(errors="ignore")):
                    return True
        return False

    try:
        assert wait_for("Calibration 1 of 3"), seen
        assert "PAUSED" not in seen.decode(errors="ignore")
        os.write(master, b" ")
        assert wait_for("PAUSED")
        os.write(master, b"p")  # resume
        os.write(master, b"q")  # stop
        assert wait_for("stopped early")
        assert process.wait(timeout=60) == 0
        after = termios.tcgetattr(master)
        assert after[3] == before[3]  # lflag: echo and canonical mode are back
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)


def test_killed_coach_leaves_an_interrupted_session_that_closes_with_its_reps(
    tmp_path: Path,
) -> None:
    """The terminal coach stores as it goes, like the server: SIGKILL after the first rep
    leaves the session with everything up to the last second, closable with its summary."""
    from datetime import UTC, datetime, timedelta

    from spinecoach.services.history import History
    from spinecoach.store.live import STALE_AFTER_S, mark_stale_interrupted
    from spinecoach.web.deps import replay_live_samples

    database = tmp_path / "history.sqlite3"
    args = ["pelvic-tilt", "--seed", "1", "--speed", "8", "--pain-before", "35"]
    process = subprocess.Popen(
        [sys.executable, "-m", "spinecoach", "coach", *args, "--database", _url(database)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if re.search(r"rep 1 \(set 1\)", line):
            break
    time.sleep(1.5)  # more than the last second, which may be lost
    process.kill()
    process.communicate(timeout=30)

    history = History.open(_url(database), replay_samples=replay_live_samples)
    try:
        engine = history.engine
        with Session(engine) as db:
            later = datetime.now(UTC) + timedelta(seconds=STALE_AFTER_S + 1)
            mark_stale_interrupted(db, now=later)
        (entry,) = history.sessions()
        assert entry["status"] == "interrupted"
        assert entry["pain_before_mm"] == 35
        assert len(entry["reps"]) >= 1
        closed = history.close_interrupted(entry["id"])
    finally:
        history.close()
    assert closed["status"] == "completed"
    assert closed["summary"]["interrupted"] is True
    assert closed["summary"]["reps"] >= 1
    assert closed["reps"][0]["range_deg"] == pytest.approx(entry["reps"][0]["range_deg"])


def test_the_terminal_coach_on_a_damaged_history_runs_and_says_not_saved(
    tmp_path: Path,
) -> None:
    """The same behaviour as the server (spinecoach.services.live): the session that
    cannot be stored is coached to its end, and the log says it was not saved."""
    from sqlalchemy import text

    from spinecoach.services.history import History

    history = History.open(_url(tmp_path / "history.sqlite3"))
    with history.engine.begin() as db:
        db.execute(text("PRAGMA foreign_keys=OFF"))
        db.execute(text("DROP TABLE sessions"))
    buffer = io.StringIO()
    console = Console(file=buffer, width=200, color_system=None)
    settings = CoachSettings("pelvic-tilt", seed=2, reps=2, speed=1000.0)
    try:
        outcome = run_session(settings, console, history=history)
    finally:
        history.close()
    log = buffer.getvalue()
    assert "not saved: the session could not be saved to the history" in log
    assert len(outcome.result.reps) == 2 and outcome.session_id is None
