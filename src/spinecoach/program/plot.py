"""Progress charts of a (simulated) program run, as PNG files.

Same habits as :mod:`spinecoach.motion.plot`: matplotlib is imported inside the function
with the non-interactive Agg backend, and every file is written atomically with
:func:`spinecoach.motion.plot.save_png`.

Three charts: ``vas.png`` (morning VAS and pain after each session over the days, the
start and the MCID line marked), ``levels.png`` (the level in force each day, with the
decisions marked) and ``adherence.png`` (share of sessions done per week).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from spinecoach.motion.plot import save_png

if TYPE_CHECKING:
    from spinecoach.program.simulate import ProgramRun

_KIND_STYLE = {
    "progress": ("^", "#2b8a3e"),
    "regress": ("v", "#e8590c"),
    "stop-refer": ("X", "#c92a2a"),
}


def plot_program(run: ProgramRun, out_dir: Path) -> list[Path]:
    """Write the three charts of ``run`` into ``out_dir``; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p = run.protocol
    title = f"spinecoach — persona {run.persona.name} (seed {run.seed})"
    out_dir = Path(out_dir)
    written: list[Path] = []

    fig, ax = plt.subplots(figsize=(9, 4.2))
    days = [d.day for d in run.days if d.morning_vas_mm is not None]
    vas = [d.morning_vas_mm for d in run.days if d.morning_vas_mm is not None]
    ax.plot(days, vas, "-o", ms=3, color="#1f6fb4", label="morning VAS")
    after = [(d.day, s.vas_after_mm) for d in run.days for s in d.sessions if s.slot == "main"]
    if after:
        ax.plot(*zip(*after, strict=True), ".", color="#868e96", label="after main session")
    base = run.baseline_vas_mm
    mcid = max(base - p.value("outcome.mcid_mm"), base * (1 - p.value("outcome.mcid_pct") / 100))
    ax.axhline(base, color="#495057", lw=1, ls=":", label=f"start {base:.0f} mm")
    ax.axhline(
        mcid,
        color="#2b8a3e",
        lw=1.2,
        ls="--",
        label=f"MCID: {p.value('outcome.mcid_mm'):g} mm or {p.value('outcome.mcid_pct'):g} % "
        f"({p.cite('outcome.mcid_mm')})",
    )
    ax.set_xlabel("program day")
    ax.set_ylabel("pain, VAS (mm)")
    ax.set_ylim(0, 100)
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    written.append(save_png(fig, out_dir / "vas.png"))

    fig, ax = plt.subplots(figsize=(9, 3.6))
    levels = [p.start_level] + [d.prescription.level for d in run.decisions[:-1]]
    ax.step([d.day for d in run.decisions], levels, where="post", color="#1f6fb4")
    for kind, (marker, color) in _KIND_STYLE.items():
        pts = [(d.day, d.prescription.level) for d in run.decisions if d.kind == kind]
        if kind == "stop-refer":
            pts = pts[:1]
        if pts:
            ax.plot(*zip(*pts, strict=True), marker, color=color, ms=9, ls="", label=kind)
    ax.set_yticks([lv.level for lv in p.levels])
    ax.set_xlabel("program day")
    ax.set_ylabel("level")
    ax.set_title(f"{title}: level and decisions")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    written.append(save_png(fig, out_dir / "levels.png"))

    fig, ax = plt.subplots(figsize=(6, 3.6))
    rows = run.week_summaries()
    ax.bar([r["week"] for r in rows], [100 * r["adherence"] for r in rows], color="#74c0fc")
    for key, ls in (("adherence.progress_min_share", "--"), ("adherence.lighter_below_share", ":")):
        ax.axhline(100 * p.value(key), color="#495057", lw=1, ls=ls, label=key.split(".")[1])
    ax.set_ylim(0, 105)
    ax.set_xlabel("week")
    ax.set_ylabel("sessions done (%)")
    ax.set_title(f"{run.persona.name}: adherence")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    written.append(save_png(fig, out_dir / "adherence.png"))
    return written
