"""Program simulation: virtual people go through the whole 6-week program.

Each day a :class:`Persona` wakes with a morning pain from its
:class:`~spinecoach.program.painmodel.PainModel`, does (or skips, by its adherence) the
morning routine, the main session on main-session days and its desk breaks, and logs VAS
before and after each session; the progression engine then decides, exactly as it would
for a real person, and the next day follows the new prescription.

The exercise itself is performed by the seeded motion simulator
(:func:`spinecoach.sim.simulate`) and analysed by the exercise engine, so rep quality,
holds and faults come from the same code path as a real recording. To keep one persona
within a few seconds, a session is a *sample*: each technique is simulated with
``SAMPLE_REPS`` reps in one set at ``SAMPLE_RATE_HZ``, there are ``SAMPLE_VARIANTS``
different recordings per (technique, performer profile, seed) — day ``d`` uses variant
``d mod SAMPLE_VARIANTS`` — and the analysed result is cached. The desk-break cat-cow is
counted, not simulated. Hold success compares the hold detected with the catalogue's hold,
which is what the simulator performs.

>>> run = simulate_program("red-flag", weeks=3, seed=0)
>>> [w["decision"] for w in run.week_summaries()]
['progress', 'progress', 'stop-refer']
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

import numpy as np

from spinecoach.errors import ConfigurationError
from spinecoach.program.engine import adherence, decide, pain_outcome
from spinecoach.program.model import (
    DayLog,
    Decision,
    ExerciseOutcome,
    PostureSummary,
    Prescription,
    SessionOutcome,
)
from spinecoach.program.painmodel import PainModel, PainResponse
from spinecoach.program.protocol import Protocol, default_protocol
from spinecoach.program.recommend import Plan, main_session_days, recommend
from spinecoach.program.redflags import default_red_flags

SAMPLE_REPS: Final = 3
"""Reps simulated per technique and session (a sample of the prescribed reps)."""
SAMPLE_RATE_HZ: Final = 50.0
"""Sensor rate (Hz) of the simulated sessions: enough for reps, holds and faults."""
SAMPLE_VARIANTS: Final = 3
"""Different simulated recordings per technique, profile and seed."""


@dataclass(frozen=True)
class Persona:
    """A virtual person: how they move, how their pain responds, how often they exercise."""

    name: str
    description: str
    expected: str
    """What a physiotherapist would expect the program to do."""
    profile: str
    """Performer profile of the motion simulator (``spinecoach.sim.PROFILES``)."""
    pain: PainResponse
    adherence: float
    """Probability (0–1) that each prescribed session and desk break is done."""
    red_flag_day: int | None = None
    red_flag_id: str = "leg-weakness"
    posture: PostureSummary | None = None


PERSONAS: Final[Mapping[str, Persona]] = MappingProxyType(
    {
        "responder": Persona(
            name="responder",
            description="Does nearly every session; pain eases steadily with exercise. "
            "Sits slouched at a desk for long stretches.",
            expected="Progresses every week through the phases and reaches the MCID.",
            profile="typical",
            pain=PainResponse(baseline_mm=45.0, responsiveness_per_day=0.03),
            adherence=0.95,
            posture=PostureSummary(sitting_min=420.0, slouched_min=150.0, longest_sitting_min=75.0),
        ),
        "flare": Persona(
            name="flare",
            description="Like the responder, but pain flares during the main session of "
            "day 17 (week 3) and takes a few days to settle.",
            expected="Regressed within one session of the flare, then progresses again and "
            "recovers.",
            profile="typical",
            pain=PainResponse(baseline_mm=45.0, responsiveness_per_day=0.03, flare_day=17),
            adherence=0.95,
        ),
        "non-adherent": Persona(
            name="non-adherent",
            description="Skips most sessions (does about one in four); a novice mover.",
            expected="Gets a lighter plan and reminders, never a progression.",
            profile="novice",
            pain=PainResponse(baseline_mm=50.0, responsiveness_per_day=0.03),
            adherence=0.25,
        ),
        "red-flag": Persona(
            name="red-flag",
            description="Progresses like the responder, then reports new leg weakness on "
            "day 17 (week 3).",
            expected="The program stops at once and stays stopped, with advice to see a doctor.",
            profile="typical",
            pain=PainResponse(baseline_mm=45.0, responsiveness_per_day=0.03),
            adherence=0.95,
            red_flag_day=17,
        ),
    }
)
"""The built-in personas, by name."""


@functools.lru_cache(maxsize=256)
def perform(technique: str, profile: str, seed: int) -> ExerciseOutcome:
    """One simulated and analysed session sample of ``technique`` (cached)."""
    from spinecoach.exercises.catalogue import default_catalogue
    from spinecoach.exercises.engine import detect_exercise
    from spinecoach.motion import MotionSettings, motion_process
    from spinecoach.sim import SensorErrorModel, simulate

    recording = simulate(
        technique,
        seed=seed,
        reps=SAMPLE_REPS,
        sets=1,
        rate_hz=SAMPLE_RATE_HZ,
        profile=profile,
        sensor_errors=SensorErrorModel.realistic(),
    )
    frames, info = motion_process(recording, MotionSettings(position=recording.meta["position"]))
    result = detect_exercise(
        frames, technique, annotations=recording.events, calibrated_position=info["position"]
    )
    hold_s = default_catalogue().technique(technique).dose.hold_s
    return ExerciseOutcome.from_result(result, hold_s)


@dataclass(frozen=True)
class ProgramRun:
    """A whole simulated program: the daily logs and the engine's decision after each."""

    persona: Persona
    seed: int
    weeks: int
    baseline_vas_mm: float
    days: tuple[DayLog, ...]
    decisions: tuple[Decision, ...]
    protocol: Protocol = field(repr=False)

    def week_summaries(self) -> list[dict[str, Any]]:
        """One row per week: the decision that mattered most, its reasons, the mean morning
        VAS, the level at the end of the week, adherence and the days with events.

        The week's ``decision`` is stop-refer if the program stopped that week, else the
        first regression, else the end-of-week review.
        """
        rows: list[dict[str, Any]] = []
        for week in range(1, self.weeks + 1):
            first, last = 7 * week - 6, 7 * week
            ds = [d for d in self.decisions if first <= d.day <= last]
            logs = [g for g in self.days if first <= g.day <= last]
            chosen = (
                next((d for d in ds if d.kind == "stop-refer"), None)
                or next((d for d in ds if d.kind == "regress"), None)
                or ds[-1]
            )
            mornings = [g.morning_vas_mm for g in logs if g.morning_vas_mm is not None]
            in_force = self._in_force(first)
            adh = adherence(self.days, in_force, first_day=first, last_day=last)
            rows.append(
                {
                    "week": week,
                    "decision": chosen.kind,
                    "reasons": [r.text for r in chosen.reasons],
                    "vas_mm": round(float(np.mean(mornings)), 1) if mornings else None,
                    "level": ds[-1].prescription.level,
                    "phase": ds[-1].prescription.phase,
                    "adherence": round(adh.share, 3),
                    "events": [
                        {"day": d.day, "kind": d.kind, "light": d.light}
                        for d in ds
                        if (d.kind != "hold" or d.review or d.light in ("amber", "red"))
                        and not (d.kind == "stop-refer" and d.day > self._stopped_on())
                    ],
                }
            )
        return rows

    def _stopped_on(self) -> int:
        """The day the program stopped (after the last day when it did not)."""
        first = next((d.day for d in self.decisions if d.kind == "stop-refer"), None)
        return self.weeks * 7 + 1 if first is None else first

    def _in_force(self, day: int) -> Prescription:
        before = [d for d in self.decisions if d.day < day]
        if before:
            return before[-1].prescription
        return Prescription.of_level(self.protocol, self.protocol.start_level, since_day=1)

    def final_plan(self) -> Plan:
        """ "Recommended for you" after the last day."""
        return recommend(self.days, self.decisions[-1], protocol=self.protocol)

    def as_dict(self) -> dict[str, Any]:
        """The JSON of ``spinecoach simulate-program --json``."""
        outcome = pain_outcome(
            [d for d in self.days if d.morning_vas_mm is not None] or list(self.days),
            baseline_vas_mm=self.baseline_vas_mm,
            protocol=self.protocol,
        )
        return {
            "persona": self.persona.name,
            "description": self.persona.description,
            "expected": self.persona.expected,
            "seed": self.seed,
            "weeks": self.week_summaries(),
            "baseline_vas_mm": self.baseline_vas_mm,
            "final_vas_mm": outcome.current_vas_mm,
            "vas_change_mm": outcome.change_mm,
            "vas_change_pct": outcome.change_pct,
            "mcid_reached": outcome.mcid_reached,
            "final_level": self.decisions[-1].prescription.level,
            "recommended": self.final_plan().as_dict(),
        }


def simulate_program(
    persona: str | Persona,
    *,
    weeks: int | None = None,
    seed: int = 0,
    protocol: Protocol | None = None,
) -> ProgramRun:
    """Run ``persona`` (a name in :data:`PERSONAS` or a :class:`Persona`) through
    ``weeks`` weeks (default: the protocol's) of the program; deterministic per ``seed``."""
    p = protocol or default_protocol()
    if isinstance(persona, str):
        if persona not in PERSONAS:
            raise ConfigurationError(
                f"unknown persona {persona!r}; use one of {', '.join(PERSONAS)}"
            )
        persona = PERSONAS[persona]
    n_weeks = p.weeks if weeks is None else weeks
    if isinstance(n_weeks, bool) or not isinstance(n_weeks, int) or not 1 <= n_weeks <= 52:
        raise ConfigurationError(f"weeks is a whole number from 1 to 52, got {n_weeks!r}")
    rng = np.random.default_rng([seed, 1])
    pain = PainModel(persona.pain, seed=seed)
    all_no = {f.id: False for f in default_red_flags()}
    rx = Prescription.of_level(p, p.start_level, since_day=1)
    days: list[DayLog] = []
    decisions: list[Decision] = []
    stopped = False
    for day in range(1, 7 * n_weeks + 1):
        # Draw every random choice each day, used or not, so one decision does not shift
        # the random stream of the days after it.
        does_morning, does_main = rng.random(2) < persona.adherence
        breaks_done = int(rng.binomial(max(rx.desk_breaks_per_day, 1), persona.adherence))
        morning = pain.morning(day)
        answers = None
        if day % p.review_every_days == 0 or day == persona.red_flag_day:
            answers = dict(all_no)
            if day == persona.red_flag_day:
                answers[persona.red_flag_id] = True
        if stopped:
            days.append(DayLog(day, None))
            decisions.append(decide(days, rx, baseline_vas_mm=persona.pain.baseline_mm, protocol=p))
            continue
        sessions: list[SessionOutcome] = []
        prescribed = 1
        variant = seed * 1000 + day % SAMPLE_VARIANTS
        if does_morning:
            sessions.append(_session(rx, "morning", day, morning, pain, persona, variant))
        if ((day - 1) % 7 + 1) in main_session_days(rx.main_sessions_per_week):
            prescribed += 1
            if does_main:
                sessions.append(_session(rx, "main", day, morning, pain, persona, variant))
        log = DayLog(
            day,
            morning,
            tuple(sessions),
            desk_breaks_done=min(breaks_done, rx.desk_breaks_per_day),
            posture=persona.posture,
            red_flag_answers=answers,
        )
        days.append(log)
        decision = decide(days, rx, baseline_vas_mm=persona.pain.baseline_mm, protocol=p)
        decisions.append(decision)
        pain.end_of_day(len(sessions) / prescribed)
        rx = decision.prescription
        stopped = decision.kind == "stop-refer"
    return ProgramRun(
        persona=persona,
        seed=seed,
        weeks=n_weeks,
        baseline_vas_mm=persona.pain.baseline_mm,
        days=tuple(days),
        decisions=tuple(decisions),
        protocol=p,
    )


def _session(
    rx: Prescription,
    slot: str,
    day: int,
    morning: float,
    pain: PainModel,
    persona: Persona,
    variant: int,
) -> SessionOutcome:
    exercises = tuple(
        perform(d.technique, persona.profile, variant) for d in rx.exercises if d.slot == slot
    )
    before, after = pain.session(day, slot, morning)
    return SessionOutcome("main" if slot == "main" else "morning", before, after, exercises)
