"""Program simulation: each persona gets the decisions a physiotherapist would expect,
the run is deterministic, and the CLI prints the issue's JSON shape and writes charts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spinecoach.cli import app
from spinecoach.errors import ConfigurationError
from spinecoach.program.painmodel import PainModel, PainResponse
from spinecoach.program.simulate import ProgramRun, simulate_program


@pytest.fixture(scope="module")
def runs() -> dict[str, ProgramRun]:
    return {
        name: simulate_program(name, seed=0)
        for name in ("responder", "flare", "non-adherent", "red-flag")
    }


def _decisions(run: ProgramRun) -> list[str]:
    return [w["decision"] for w in run.week_summaries()]


def test_responder_progresses_through_the_phases_and_reaches_the_mcid(
    runs: dict[str, ProgramRun],
) -> None:
    run = runs["responder"]
    assert _decisions(run) == ["progress"] * 5 + ["hold"]
    rows = run.week_summaries()
    assert [r["level"] for r in rows] == [2, 3, 4, 5, 6, 6]
    assert [r["phase"] for r in rows][-1] == "consolidate"
    assert rows[-1]["reasons"][0].startswith("all criteria met at the top level 6")
    assert not any(d.kind in ("regress", "stop-refer") for d in run.decisions)
    out = run.as_dict()
    assert out["mcid_reached"] is True
    assert out["vas_change_mm"] <= -15.0 or out["vas_change_pct"] <= -30.0
    # long slouched sitting in the persona's posture data → more desk breaks
    assert "desk-breaks" in [s["kind"] for s in out["recommended"]["suggestions"]]


def test_flare_is_regressed_within_one_session_and_recovers(
    runs: dict[str, ProgramRun],
) -> None:
    run = runs["flare"]
    flare_day = run.persona.pain.flare_day
    assert flare_day == 17
    decision = next(d for d in run.decisions if d.day == flare_day)
    assert decision.kind == "regress"
    assert decision.reasons[0].code == "pain-rise-red"
    assert decision.reasons[0].data["day"] == flare_day
    level_before = next(d for d in run.decisions if d.day == flare_day - 1).prescription.level
    assert decision.prescription.level == level_before - 1
    # the very next session is done at the lower level
    next_main = next(
        g for g in run.days if g.day > flare_day and any(s.slot == "main" for s in g.sessions)
    )
    in_force = next(d for d in run.decisions if d.day == next_main.day - 1).prescription
    assert in_force.level == level_before - 1
    # no progression in the flare week; progression resumes afterwards
    assert _decisions(run)[:3] == ["progress", "progress", "regress"]
    assert _decisions(run)[3:] == ["progress"] * 3
    assert not any(d.kind == "stop-refer" for d in run.decisions)
    # pain recovers: below the pre-flare week and the MCID is reached by the end
    rows = run.week_summaries()
    assert rows[-1]["vas_mm"] < rows[1]["vas_mm"]
    assert run.as_dict()["mcid_reached"] is True


def test_non_adherent_gets_a_lighter_plan_and_reminders_never_progression(
    runs: dict[str, ProgramRun],
) -> None:
    run = runs["non-adherent"]
    assert not any(d.kind == "progress" for d in run.decisions)
    assert _decisions(run)[0] == "regress"
    assert run.decisions[-1].prescription.level < run.protocol.start_level
    start = run.protocol.level(run.protocol.start_level)
    final = run.decisions[-1].prescription
    assert final.main_sessions_per_week < start.main_sessions_per_week
    assert len(final.exercises) < len(start.exercises)
    first_review = next(d for d in run.decisions if d.review)
    assert first_review.reasons[0].code == "adherence-low"
    kinds = [s["kind"] for s in run.as_dict()["recommended"]["suggestions"]]
    assert "reminders" in kinds


def test_red_flag_stops_the_program_at_once_and_it_stays_stopped(
    runs: dict[str, ProgramRun],
) -> None:
    run = runs["red-flag"]
    day = run.persona.red_flag_day
    assert day == 17
    assert all(d.kind != "stop-refer" for d in run.decisions if d.day < day)
    assert all(d.kind == "stop-refer" for d in run.decisions if d.day >= day)
    assert _decisions(run) == [
        "progress",
        "progress",
        "stop-refer",
        "stop-refer",
        "stop-refer",
        "stop-refer",
    ]
    # no exercise after the stop
    assert all(not g.sessions for g in run.days if g.day > day)
    stop = next(d for d in run.decisions if d.day == day)
    assert "leg-weakness" in stop.reasons[0].text
    out = run.as_dict()
    assert [s["kind"] for s in out["recommended"]["suggestions"]] == ["see-clinician"]
    assert out["recommended"]["today"] == []


def test_a_run_is_deterministic_per_seed(runs: dict[str, ProgramRun]) -> None:
    again = simulate_program("flare", seed=0)
    assert again.as_dict() == runs["flare"].as_dict()


@pytest.mark.parametrize("seed", [1, 2])
def test_persona_decisions_hold_for_other_seeds(seed: int) -> None:
    responder = simulate_program("responder", seed=seed)
    assert _decisions(responder) == ["progress"] * 5 + ["hold"]
    assert responder.as_dict()["mcid_reached"]
    flare = simulate_program("flare", seed=seed)
    assert _decisions(flare)[2] == "regress"
    assert "progress" in _decisions(flare)[3:]


def test_unknown_persona_and_bad_weeks_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="unknown persona 'sleepy'; use one of responder"):
        simulate_program("sleepy")
    with pytest.raises(ConfigurationError, match="weeks is a whole number from 1 to 52"):
        simulate_program("responder", weeks=0)


def test_pain_model_is_seeded_and_a_flare_decays() -> None:
    a = PainModel(PainResponse(flare_day=3), seed=4)
    b = PainModel(PainResponse(flare_day=3), seed=4)
    assert [a.morning(d) for d in range(1, 6)] == [b.morning(d) for d in range(1, 6)]
    model = PainModel(PainResponse(flare_day=3, flare_half_life_days=2.0), seed=0)
    assert model.flare_extra_mm(3) == 0.0
    assert model.flare_extra_mm(4) == 14.0
    assert model.flare_extra_mm(6) == pytest.approx(7.0)
    before, after = model.session(3, "main", 40.0)
    assert after - before == pytest.approx(25.0, abs=1.0)


def test_cli_json_has_the_issue_shape() -> None:
    result = CliRunner().invoke(app, ["simulate-program", "--persona", "responder", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert isinstance(out["vas_change_pct"], float)
    assert [w["week"] for w in out["weeks"]] == [1, 2, 3, 4, 5, 6]
    for week in out["weeks"]:
        assert {"week", "decision", "reasons", "vas_mm"} <= set(week)
        assert week["decision"] in ("progress", "hold", "regress", "stop-refer")
        assert all(isinstance(r, str) for r in week["reasons"])
        assert isinstance(week["vas_mm"], float)


def test_cli_table_plots_and_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["simulate-program", "--persona", "red-flag", "--weeks", "3", "--plot", str(tmp_path)],
    )
    assert result.exit_code == 0, result.output
    assert "stop-refer" in result.stdout
    assert "see a clinician" in result.stdout
    for name in ("vas.png", "levels.png", "adherence.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = runner.invoke(app, ["simulate-program", "--persona", "sleepy"])
    assert bad.exit_code == 2
    assert "unknown persona 'sleepy'" in bad.output
