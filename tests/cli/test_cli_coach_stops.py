"""The terminal coach refuses a session while the program is stopped and not cleared
(issue 15 item 2: every session-start path; the terminal starts through the runner's
LiveRun.begin), and coaches again once the clearance is recorded."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from spinecoach.cli import app
from spinecoach.cli.terminal import coach
from spinecoach.cli.terminal.settings import CoachSettings
from spinecoach.program.redflags import default_red_flags
from spinecoach.services.history import History
from spinecoach.services.program_status import ProgramStoppedError
from spinecoach.store import program as store_program
from spinecoach.store.models import SessionRecord

runner = CliRunner()


def sessions(history: History) -> int:
    with Session(history.engine) as db:
        return int(db.scalar(select(func.count()).select_from(SessionRecord)) or 0)


def test_the_terminal_coach_refuses_while_stopped_and_coaches_once_cleared(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'history.sqlite3'}"
    history = History.open(url)
    try:
        answers = {f.id: False for f in default_red_flags()} | {"leg-weakness": True}
        with Session(history.engine) as db:
            store_program.onboard(db, history.person_id, answers, None)
        command = ["coach", "pelvic-tilt", "--reps", "1", "--speed", "500", "--database", url]
        refused = runner.invoke(app, [*command, "--pain-before", "20", "--pain-after", "20"])
        assert refused.exit_code != 0, refused.output
        words = " ".join(refused.output.split())
        assert "Your exercise program is stopped because of a warning sign you reported." in words
        assert "record their clearance on the Program page" in words
        assert "Traceback" not in refused.output
        assert sessions(history) == 0
        with Session(history.engine) as db:
            store_program.record_clearance(db, history.person_id, cleared_by="Dr Lee")
        coached = runner.invoke(app, [*command, "--pain-before", "20", "--pain-after", "20"])
        assert coached.exit_code == 0, coached.output
        assert sessions(history) == 1
    finally:
        history.close()


def test_a_stopped_program_is_refused_before_the_pain_question(tmp_path: Path) -> None:
    """At a terminal the refusal comes first: nobody is asked their pain for a session
    that cannot start (pytest's captured stdin fails any read, so asking would raise)."""
    url = f"sqlite:///{tmp_path / 'history.sqlite3'}"
    history = History.open(url)
    try:
        answers = {f.id: False for f in default_red_flags()} | {"leg-weakness": True}
        with Session(history.engine) as db:
            store_program.onboard(db, history.person_id, answers, None)
        console = Console(record=True, width=100)
        settings = CoachSettings("pelvic-tilt", reps=1, speed=500.0, database_url=url)
        with pytest.raises(ProgramStoppedError):
            coach(settings, console, interactive=True)
        assert "Pain before" not in console.export_text()
        assert sessions(history) == 0
    finally:
        history.close()
