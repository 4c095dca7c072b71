"""The program report: a plain-language summary and the progress charts of one person's
program, as a self-contained HTML file (charts embedded as base64 PNG) or a multi-page PDF
(matplotlib's ``PdfPages``: the summary, then one chart a page).

The summary says how morning pain changed against the minimal important change (a fall of
``outcome.mcid_mm`` or ``outcome.mcid_pct`` % of the start, whichever is smaller), the
sessions done, the last decision and why, the medication trend and the function (PSFS)
ratings. This module renders and writes given progress data (pure: no database);
:mod:`spinecoach.services.report` reads the data, and reading never writes to the
database (the engine decides, but nothing is stored). The file is written atomically: a
temporary file beside it, then renamed; a failure leaves no half-written report.

>>> report_format("progress.html"), report_format("progress.PDF")
('html', 'pdf')
"""

from __future__ import annotations

import base64
import html
import io
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spinecoach.errors import ConfigurationError
from spinecoach.program.measures import mean_or_none
from spinecoach.program.recommend import DISCLAIMER

FORMATS = {".html": "html", ".htm": "html", ".pdf": "pdf"}
KIND_TEXT = {
    "progress": "step up a level",
    "hold": "keep going at this level",
    "regress": "step back a level",
    "stop-refer": "pause the exercises and see a clinician",
}


class ReportError(ConfigurationError):
    """The report cannot be made (no program, bad file name, unreadable database)."""


def report_format(out: str | Path) -> str:
    """``html`` or ``pdf`` from the file name's extension (a clear error otherwise)."""
    suffix = Path(out).suffix.lower()
    if suffix not in FORMATS:
        raise ReportError(
            f"--out {str(out)!r}: the report is written as HTML or PDF; give a file name "
            "ending in .html or .pdf, for example report.html"
        )
    return FORMATS[suffix]


@dataclass(frozen=True)
class Summary:
    """The report's plain-language paragraphs (title → sentences)."""

    sections: tuple[tuple[str, tuple[str, ...]], ...]

    def text(self) -> str:
        return "\n\n".join(f"{t}\n" + "\n".join(lines) for t, lines in self.sections)


def _n(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _pain_lines(data: dict[str, Any]) -> tuple[str, ...]:
    po = data["pain_outcome"]
    mcid = data["mcid"]
    base = data["baseline_vas_mm"]
    pain = [
        f"Your morning pain was {_n(base)} mm at the start (0 = no pain, 100 = worst imaginable)."
    ]
    if po["current_vas_mm"] is None:
        pain.append("There are no morning pain ratings yet: do the daily check-in.")
        return tuple(pain)
    pain.append(
        f"The average of your recent mornings is {_n(po['current_vas_mm'])} mm, "
        f"a change of {po['change_mm']:+.0f} mm ({po['change_pct']:+.0f} %)."
    )
    threshold = (
        f"An important change is a fall of {mcid['mm']:g} mm or {mcid['pct']:g} % "
        f"(to {_n(mcid['line_mm'])} mm or below)"
    )
    pain.append(
        f"{threshold}: reached." if po["mcid_reached"] else f"{threshold}: not reached yet."
    )
    return tuple(pain)


def _adherence_lines(data: dict[str, Any]) -> tuple[str, ...]:
    adh = data["adherence_total"]
    full = sum(a["done"] >= a["prescribed"] for a in data["adherence"])
    return (
        f"Day {data['day']} of {data['days']}: {adh['done']} of {adh['prescribed']} "
        f"sessions done ({100 * adh['share']:.0f} %); every session done on {full} of "
        f"{len(data['adherence'])} days.",
    )


def _decision_lines(data: dict[str, Any]) -> tuple[str, ...]:
    decisions = data["decisions"]
    if not decisions:
        return ("No decision has been stored yet.",)
    last = decisions[-1]
    lines = [
        f"Last decision (day {last['day']}, week {last['week']}): "
        f"{KIND_TEXT.get(last['kind'], last['kind'])}. Why:"
    ]
    lines.extend(f"• {r['text']}{_sources(r)}" for r in last["reasons"])
    return tuple(lines)


def _sources(reason: dict[str, Any]) -> str:
    """The sources of a stored reason for the clinician's report (decisions stored
    before sources were kept apart carry them in their text and have none here)."""
    sources = reason.get("sources") or []
    return f" (source: {'; '.join(sources)})" if sources else ""


def _medication_lines(data: dict[str, Any]) -> tuple[str, ...]:
    meds = data["medication"]
    start_doses = data["baseline_doses_per_day"]
    if not meds:
        return (f"{_n(start_doses)} doses a day at the start; none logged since.",)
    first = mean_or_none([m["doses_per_day"] for m in meds[:7]])
    recent = mean_or_none([m["doses_per_day"] for m in meds[-7:]])
    trend = (
        "fewer"
        if recent is not None and start_doses is not None and recent < start_doses
        else "more"
        if recent is not None and start_doses is not None and recent > start_doses
        else "about the same"
    )
    return (
        f"{_n(start_doses)} doses a day at the start; {len(meds)} days logged, "
        f"{_n(first, 1)} a day in the first week logged and {_n(recent, 1)} a day "
        f"recently ({trend} than at the start).",
    )


def _psfs_lines(data: dict[str, Any]) -> tuple[str, ...]:
    psfs = data["psfs"]
    activities = list(dict.fromkeys(p["activity"] for p in psfs))
    lines = []
    for activity in activities:
        rows = [p for p in psfs if p["activity"] == activity]
        latest = rows[-1]
        if len(rows) == 1 or latest["week"] == 0:
            lines.append(f"{activity}: {latest['score']}/10 at the start; no weekly score yet.")
        else:
            lines.append(
                f"{activity}: {rows[0]['score']}/10 at the start, {latest['score']}/10 "
                f"in week {latest['week']}."
            )
    return tuple(lines or ["–"])


def summarise(data: dict[str, Any]) -> Summary:
    """The plain-language summary of :func:`spinecoach.services.program.progress_data`."""
    return Summary(
        (
            ("Pain", _pain_lines(data)),
            ("Sessions done", _adherence_lines(data)),
            ("Last decision", _decision_lines(data)),
            ("Pain medication", _medication_lines(data)),
            ("Function (PSFS, 0 = unable, 10 = as before)", _psfs_lines(data)),
        )
    )


#: One chart of the report: (title, text alternative, matplotlib Figure).
Chart = tuple[str, str, Any]


def _axes(title: str, ylabel: str, xlabel: str = "Program day") -> tuple[Any, Any]:
    """A report-sized figure with one gridded axes, whole numbers on x."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(7.5, 3.6), layout="constrained")
    ax = fig.add_subplot()
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig, ax


def _morning_chart(data: dict[str, Any], last: int) -> Chart:
    fig, ax = _axes("Morning pain", "VAS (mm)")
    days = [m["day"] for m in data["morning_vas"]]
    ax.plot(days, [m["vas_mm"] for m in data["morning_vas"]], "o-", label="morning pain")
    ax.axhline(data["baseline_vas_mm"], color="0.35", ls="--", label="start")
    mcid = data["mcid"]
    ax.axhline(
        mcid["line_mm"],
        color="#2e7d32",
        ls=":",
        label=f"important change ({mcid['mm']:g} mm or {mcid['pct']:g} %)",
    )
    ax.set_ylim(0, 100)
    ax.set_xlim(0.5, last + 0.5)
    ax.legend(loc="upper right", fontsize=8)
    return (
        "Morning pain",
        f"Morning pain over {len(days)} days; start {data['baseline_vas_mm']:g} mm, "
        f"important change at {mcid['line_mm']:g} mm.",
        fig,
    )


def _adherence_chart(data: dict[str, Any], last: int) -> Chart:
    fig, ax = _axes("Sessions done each day", "sessions")
    adh = data["adherence"]
    ax.bar(
        [a["day"] for a in adh], [a["prescribed"] for a in adh], color="0.85", label="prescribed"
    )
    ax.bar([a["day"] for a in adh], [a["done"] for a in adh], color="#2e7d32", label="done")
    ax.set_xlim(0.5, last + 0.5)
    ax.legend(loc="upper right", fontsize=8)
    return (
        "Sessions done each day",
        f"{data['adherence_total']['done']} of {data['adherence_total']['prescribed']} "
        "sessions done.",
        fig,
    )


def _movement_chart(data: dict[str, Any], last: int) -> Chart:
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    sessions = data["sessions"]
    fig = Figure(figsize=(7.5, 4.6), layout="constrained")
    ax1, ax2 = fig.subplots(2, 1, sharex=True)
    ranged = [s for s in sessions if s["mean_range_deg"] is not None]
    ax1.plot([s["day"] for s in ranged], [s["mean_range_deg"] for s in ranged], "o-", c="#0b7285")
    ax1.set_ylabel("range (deg)")
    ax1.set_title("Movement range and rep quality per session")
    rated = [s for s in sessions if s["mean_quality"] is not None]
    ax2.plot([s["day"] for s in rated], [s["mean_quality"] for s in rated], "o-", c="#6741d9")
    ax2.set_ylabel("quality (0–100)")
    ax2.set_ylim(0, 100)
    ax2.set_xlabel("Program day")
    ax2.set_xlim(0.5, last + 0.5)
    for a in (ax1, ax2):
        a.grid(alpha=0.3)
        a.xaxis.set_major_locator(MaxNLocator(integer=True))
    return (
        "Movement range and rep quality",
        f"{len(sessions)} session{'' if len(sessions) == 1 else 's'}: mean range and "
        "mean rep quality of each.",
        fig,
    )


def _medication_chart(data: dict[str, Any], last: int) -> Chart:
    fig, ax = _axes("Pain medication", "doses per day")
    meds = data["medication"]
    ax.bar([m["day"] for m in meds], [m["doses_per_day"] for m in meds], color="#862e9c")
    if data["baseline_doses_per_day"] is not None:
        ax.axhline(data["baseline_doses_per_day"], color="0.35", ls="--", label="at the start")
        ax.legend(loc="upper right", fontsize=8)
    ax.set_xlim(0.5, last + 0.5)
    return ("Pain medication", f"Doses on {len(meds)} logged days.", fig)


def _psfs_chart(data: dict[str, Any], last: int) -> Chart:
    fig, ax = _axes("Function (PSFS) by week", "score (0–10)", "Week (0 = start)")
    for activity in dict.fromkeys(p["activity"] for p in data["psfs"]):
        rows = [p for p in data["psfs"] if p["activity"] == activity]
        ax.plot([p["week"] for p in rows], [p["score"] for p in rows], "o-", label=activity)
    ax.set_ylim(0, 10)
    if data["psfs"]:
        ax.legend(loc="lower right", fontsize=8)
    return ("Function (PSFS)", "Each activity's score by week.", fig)


def _session_pain_chart(data: dict[str, Any], last: int) -> Chart:
    fig, ax = _axes("Pain before and after each session", "VAS (mm)")
    pairs = [
        s
        for s in data["sessions"]
        if s["vas_before_mm"] is not None and s["vas_after_mm"] is not None
    ]
    for s in pairs:
        ax.plot([s["day"], s["day"]], [s["vas_before_mm"], s["vas_after_mm"]], c="0.5")
    ax.plot([s["day"] for s in pairs], [s["vas_before_mm"] for s in pairs], "o", label="before")
    ax.plot([s["day"] for s in pairs], [s["vas_after_mm"] for s in pairs], "s", label="after")
    ax.set_ylim(0, 100)
    ax.set_xlim(0.5, last + 0.5)
    if pairs:
        ax.legend(loc="upper right", fontsize=8)
    rated_text = f"{len(pairs)} session{'' if len(pairs) == 1 else 's'} rated."
    return ("Pain before and after", rated_text, fig)


def report_figures(data: dict[str, Any]) -> list[Chart]:
    """The report's charts: (title, text alternative, matplotlib Figure) each."""
    import matplotlib

    matplotlib.use("Agg")
    last = max(data["day"], 2)
    charts = (
        _morning_chart,
        _adherence_chart,
        _movement_chart,
        _medication_chart,
        _psfs_chart,
        _session_pain_chart,
    )
    return [chart(data, last) for chart in charts]


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def render_html(data: dict[str, Any], summary: Summary, figures: list[tuple[str, str, Any]]) -> str:
    """The self-contained HTML report."""
    esc = html.escape
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>spinecoach program report</title>",
        "<style>body{font:16px/1.45 system-ui,sans-serif;max-width:48rem;margin:1rem auto;"
        "padding:0 1rem;color:#1a1a1a}img{max-width:100%;height:auto}"
        "figure{margin:1.2rem 0}.note{color:#4a4a4a}</style></head><body>",
        "<h1>Your 6-week program report</h1>",
        f"<p>Started {esc(data['started'])}; day {data['day']} of {data['days']}; "
        f"program {esc(data['status'])}.</p>",
    ]
    for title, lines in summary.sections:
        parts.append(f"<h2>{esc(title)}</h2>")
        bullets = [line[2:] for line in lines if line.startswith("• ")]
        prose = [line for line in lines if not line.startswith("• ")]
        parts.extend(f"<p>{esc(line)}</p>" for line in prose)
        if bullets:
            parts.append("<ul>" + "".join(f"<li>{esc(b)}</li>" for b in bullets) + "</ul>")
    parts.append("<h2>Charts</h2>")
    for title, alt, fig in figures:
        encoded = base64.b64encode(_png(fig)).decode("ascii")
        parts.append(
            f'<figure><img src="data:image/png;base64,{encoded}" alt="{esc(title)}: {esc(alt)}">'
            f"<figcaption>{esc(alt)}</figcaption></figure>"
        )
    parts.append(f'<p class="note">{esc(DISCLAIMER)}</p></body></html>')
    return "\n".join(parts) + "\n"


def _summary_page(data: dict[str, Any], summary: Summary) -> Any:
    import textwrap

    from matplotlib.figure import Figure

    fig = Figure(figsize=(8.27, 11.69))
    lines = [
        "Your 6-week program report",
        f"Started {data['started']}; day {data['day']} of {data['days']}; "
        f"program {data['status']}.",
        "",
    ]
    for title, body in summary.sections:
        lines.append(title)
        for line in body:
            lines.extend(textwrap.wrap(line, 95) or [""])
        lines.append("")
    lines.extend(textwrap.wrap(DISCLAIMER, 95))
    fig.text(0.06, 0.96, "\n".join(lines), va="top", family="DejaVu Sans", fontsize=8.5)
    return fig


def _write_atomic(out: Path, write: Any) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{secrets.token_hex(6)}.tmp")
    try:
        write(tmp)
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out


def write_report_file(data: dict[str, Any], out: str | Path) -> Path:
    """Write the report of ``data`` (the program's progress data, see
    :func:`spinecoach.services.report.report_data`) to ``out`` (``.html`` or ``.pdf``),
    atomically; returns the path."""
    fmt = report_format(out)
    out = Path(out)
    summary = summarise(data)
    figures = report_figures(data)
    if fmt == "html":
        text = render_html(data, summary, figures)
        return _write_atomic(out, lambda path: path.write_text(text, encoding="utf-8"))

    from matplotlib.backends.backend_pdf import PdfPages

    def write_pdf(path: Path) -> None:
        with PdfPages(path, metadata={"Title": "spinecoach program report"}) as pdf:
            pdf.savefig(_summary_page(data, summary))
            for _title, _alt, fig in figures:
                pdf.savefig(fig)

    return _write_atomic(out, write_pdf)
