"""``spinecoach report``: the HTML holds the numbers and the charts, the PDF has a summary
page and one page per chart, a bad extension or a missing program is a clear error, and
reading the report never writes a decision."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from spinecoach.cli import app
from spinecoach.program.onboarding import make_baseline, make_schedule
from spinecoach.program.redflags import default_red_flags
from spinecoach.program.report import ReportError, report_format
from spinecoach.services.history import History
from spinecoach.services.report import write_report
from spinecoach.store import program as sp
from spinecoach.store.models import ProgramDecision

runner = CliRunner()
N_CHARTS = 6


def enrolled(tmp_path: Path) -> str:
    """A database whose local person started 3 days ago at 60 mm and now reports 40 mm."""
    url = f"sqlite:///{tmp_path / 'report.sqlite3'}"
    history = History.open(url)
    start = datetime.now(UTC) - timedelta(days=2)
    try:
        with Session(history.engine) as db:
            baseline = make_baseline(
                vas_mm=60,
                psfs=[("Putting on socks", 3)],
                doses_per_day=3,
                schedule=make_schedule("07:30", None, None),
                sensors=[],
            )
            no = {f.id: False for f in default_red_flags()}
            sp.onboard(db, history.person_id, no, baseline, now=start)
            for d, (vas, doses) in enumerate([(50, 2), (44, 2), (40, 1)]):
                when = start + timedelta(days=d, minutes=5)
                sp.daily_checkin(
                    db,
                    history.person_id,
                    vas_mm=vas,
                    doses_per_day=doses,
                    taken_on=when.date(),
                    now=when,
                )
            sp.add_weekly_psfs(db, history.person_id, {"Putting on socks": 6})
            sp.add_decision(
                db,
                sp.latest_enrolment(db, history.person_id).id,  # type: ignore[union-attr]
                week=1,
                kind="hold",
                prescription={"level": 1, "since_day": 1, "decision": {"day": 2}},
                reasons=[{"code": "keep-going", "text": "day 2: keep going", "data": {}}],
                decided_utc=start + timedelta(days=1),
            )
    finally:
        history.close()
    return url


def decisions(url: str) -> int:
    history = History.open(url)
    try:
        with Session(history.engine) as db:
            return int(db.scalar(select(func.count()).select_from(ProgramDecision)) or 0)
    finally:
        history.close()


def test_html_report_has_the_numbers_and_charts(tmp_path: Path) -> None:
    url = enrolled(tmp_path)
    out = tmp_path / "out" / "report.html"
    result = runner.invoke(app, ["report", "--database", url, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "report written to" in result.output
    text = out.read_text(encoding="utf-8")
    assert "Your morning pain was 60 mm at the start" in text
    # Mean of the 3 mornings 50, 44, 40 = 44.7 mm: −15 mm (−26 %), the MCID reached.
    assert "45 mm, a change of -15 mm (-26 %)" in text
    assert "An important change is a fall of 15 mm or 30 % (to 45 mm or below): reached." in text
    assert "Day 3 of 42" in text
    assert "Last decision (day 2, week 1): keep going at this level" in text
    assert "<li>day 2: keep going</li>" in text
    assert "3 doses a day at the start; 3 days logged" in text
    assert "Putting on socks: 3/10 at the start, 6/10 in week 1." in text
    assert "not a medical device" in text
    assert text.count('src="data:image/png;base64,') == N_CHARTS
    assert "http://" not in text and "https://" not in text  # self-contained
    assert not list(out.parent.glob(".*.tmp"))
    assert decisions(url) == 1  # reading never stores a decision


def test_pdf_report_has_a_page_per_chart(tmp_path: Path) -> None:
    url = enrolled(tmp_path)
    out = write_report(url, tmp_path / "report.pdf")
    data = out.read_bytes()
    assert data.startswith(b"%PDF")
    pages = re.findall(rb"/Type\s*/Page\b(?!s)", data)
    assert len(pages) == 1 + N_CHARTS


def test_bad_extension_is_a_clear_error(tmp_path: Path) -> None:
    assert report_format("a.HTM") == "html"
    with pytest.raises(ReportError, match=r"ending in \.html or \.pdf, for example report\.html"):
        report_format("report.docx")
    result = runner.invoke(app, ["report", "--database", "sqlite://", "--out", "report.txt"])
    assert result.exit_code == 2
    assert "--out 'report.txt': the report is written as HTML or PDF" in result.output
    assert not Path("report.txt").exists()


def test_no_enrolment_is_a_clear_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    History.open(url).close()  # the local person, no program
    out = tmp_path / "report.html"
    result = runner.invoke(app, ["report", "--database", url, "--out", str(out)])
    assert result.exit_code == 2
    assert "no report: person 1 has no program; complete onboarding first" in result.output
    assert not out.exists()
    with pytest.raises(ReportError, match="no person with id 7"):
        write_report(url, out, person_id=7)
