"""``spinecoach onboard`` with answers on stdin: a red flag stops (and is recorded), a
clear screening stores the baseline; refused answers are explained and asked again. And
``run_screening`` (the ``spinecoach screen`` command's function), fed a fake stdin: a red
flag mid-program stops the program with the during-program advice and is recorded."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from spinecoach.cli import app
from spinecoach.cli.onboard import InputEnded, run_screening
from spinecoach.program.onboarding import make_baseline, make_schedule
from spinecoach.program.redflags import default_red_flags
from spinecoach.services.history import History
from spinecoach.store import program as sp

runner = CliRunner()
N_FLAGS = len(default_red_flags())


def run(url: str, lines: list[str]) -> tuple[int, str]:
    result = runner.invoke(app, ["onboard", "--database", url], input="\n".join(lines) + "\n")
    return result.exit_code, result.output


def test_onboard_red_flag_stops_and_is_recorded(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    answers = ["no"] * N_FLAGS
    answers[2] = "yes"  # fever-unwell
    code, output = run(url, answers)
    assert code == 1, output
    assert "Please do not start the exercise program yet. See a doctor" in output
    assert "Back pain with fever can come from an infection" in output
    assert "Your answers were recorded" in output and "not a medical device" in output
    assert "Where you are today" not in output  # no baseline asked
    history = History.open(url)
    try:
        with Session(history.engine) as db:
            [screening] = sp.list_screenings(db, history.person_id)
            assert screening.result == "stop" and screening.flagged == ["fever-unwell"]
            enrolment = sp.latest_enrolment(db, history.person_id)
            assert enrolment is not None and enrolment.status == "stopped"
    finally:
        history.close()


def test_onboard_stores_the_baseline_and_reasks_bad_answers(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    lines = [
        "maybe",  # not yes/no: asked again
        *["n"] * N_FLAGS,
        "150",  # VAS out of range: asked again
        "45",
        "Putting on socks",
        "12",  # PSFS out of range: asked again
        "3",
        "Lifting groceries",
        "6",
        "",  # no third activity
        "2",  # doses per day
        "06:45",  # morning
        "08:00",
        "16:00",
        "60",
        "phone, camera",
    ]
    code, output = run(url, lines)
    assert code == 0, output
    assert "'maybe': answer yes or no" in output
    assert (
        "vas_mm=150 is outside the 0–100 mm visual analogue scale: give a pain rating from 0"
        in output
    )
    assert "psfs[0].score=12: give a whole number from 0 to 10" in output
    assert "Your 6-week program has started" in output
    assert "desk-break at 15:00 (Monday to Friday)" in output
    history = History.open(url)
    try:
        with Session(history.engine) as db:
            enrolment = sp.active_enrolment(db, history.person_id)
            assert enrolment is not None
            assert enrolment.baseline_vas_mm == 45.0 and enrolment.baseline_doses_per_day == 2
            assert enrolment.schedule == {
                "morning_time": "06:45",
                "work_start": "08:00",
                "work_end": "16:00",
                "desk_break_every_min": 60,
            }
            assert enrolment.sensors == ["phone", "camera"]
            assert sp.baseline_activities(db, enrolment) == [
                "Putting on socks",
                "Lifting groceries",
            ]
    finally:
        history.close()
    # A second onboarding is refused while the program is active.
    code, output = run(url, [])
    assert code == 2 and "already have an active program" in output


def test_onboard_input_ending_early_is_a_clear_error(tmp_path: Path) -> None:
    code, output = run(f"sqlite:///{tmp_path / 'cli.sqlite3'}", ["no", "no"])
    assert code == 2
    assert "the input ended before every onboarding question was answered" in output


# `spinecoach screen` (run_screening): the same questions mid-program ------------------------
def screen_with(monkeypatch: pytest.MonkeyPatch, url: str, lines: list[str]) -> tuple[int, str]:
    """Run :func:`run_screening` with ``lines`` as the terminal's input."""
    out = io.StringIO()
    console = Console(file=out, width=200, force_terminal=False, color_system=None)
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    return run_screening(console, url), out.getvalue()


def start_program(url: str) -> None:
    history = History.open(url)
    try:
        with Session(history.engine) as db:
            baseline = make_baseline(
                vas_mm=40, psfs=[], doses_per_day=0, schedule=make_schedule("07:30"), sensors=[]
            )
            sp.onboard(db, history.person_id, {f.id: False for f in default_red_flags()}, baseline)
    finally:
        history.close()


def test_screen_red_flag_stops_the_program_with_the_during_program_advice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    start_program(url)
    code, output = screen_with(monkeypatch, url, ["n"] * N_FLAGS)
    assert code == 0, output
    assert "none of the warning signs" in output and "carry on with your program" in output
    answers = ["no"] * N_FLAGS
    answers[1] = "yes"  # leg-weakness: an emergency
    code, output = screen_with(monkeypatch, url, ["perhaps", *answers])
    assert code == 1, output
    assert "'perhaps': answer yes or no" in output  # asked again
    assert "Your program is stopped" in output
    assert (
        "Please stop the exercise program for now. Seek medical care now: go to an emergency "
        "department or call your local emergency number." in output
    )
    assert "do not start" not in output
    assert "The exercise program is stopped; start again only when a doctor agrees" in output
    history = History.open(url)
    try:
        with Session(history.engine) as db:
            screenings = sp.list_screenings(db, history.person_id)
            assert [(s.context, s.result) for s in screenings] == [
                ("onboarding", "clear"),
                ("rescreen", "clear"),
                ("rescreen", "stop"),
            ]
            assert screenings[-1].flagged == ["leg-weakness"]
            assert screenings[-1].advice.startswith("Please stop the exercise program for now.")
            enrolment = sp.latest_enrolment(db, history.person_id)
            assert enrolment is not None and enrolment.status == "stopped"
            assert enrolment.stop_reason == "red flag (emergency): leg-weakness"
    finally:
        history.close()


def test_screen_without_a_program_records_and_ends_early_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    code, output = screen_with(monkeypatch, url, ["n"] * N_FLAGS)
    assert code == 0 and "You have no active program; your answers are still recorded" in output
    with pytest.raises(InputEnded, match="the input ended before every onboarding question"):
        screen_with(monkeypatch, url, ["n"])


def test_the_screen_command_stops_the_program_through_the_real_cli(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    start_program(url)
    answers = ["no"] * N_FLAGS
    answers[0] = "yes"
    result = runner.invoke(app, ["screen", "--database", url], input="\n".join(answers) + "\n")
    assert result.exit_code == 1, result.output
    assert "Your program is stopped" in result.output
    help_text = runner.invoke(app, ["screen", "--help"]).output
    assert "Example: spinecoach screen" in help_text
