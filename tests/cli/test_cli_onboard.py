"""``spinecoach onboard`` with answers on stdin: a red flag stops (and is recorded), a
clear screening stores the baseline; refused answers are explained and asked again."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session
from typer.testing import CliRunner

from spinecoach.cli import app
from spinecoach.program.redflags import default_red_flags
from spinecoach.store import program as sp
from spinecoach.web.history import History

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
    assert "vas_mm=150.0 is outside the visual analogue scale" in output
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
