"""``spinecoach onboard``: the program's onboarding in the terminal (Rich prompts).

The same questions and the same validation as the web page
(:mod:`spinecoach.program.onboarding`, :mod:`spinecoach.program.redflags`), stored the
same way (:func:`spinecoach.store.program.onboard`) for the server's local person:

1. every red-flag question, yes or no; any "yes" stops: the advice, the reasons and the
   disclaimer are shown, the screening and a stopped program are recorded, and no
   baseline is asked;
   after a program stopped by a red flag, the person is first asked whether a doctor or
   physiotherapist has seen them and agreed, and on which day (no: nothing starts);
2. baseline pain (0–100 mm), up to three PSFS activities with a 0–10 score, pain
   medication doses per day, the morning-routine time, working hours (or none) and the
   sensors owned.

``spinecoach screen`` (:func:`run_screening`) asks the same red-flag questions again
during a program, when something new or worrying has come up: the answers are recorded
(:func:`spinecoach.store.program.rescreen`) and any "yes" stops the active program at
once, with the during-program advice ("Please stop the exercise program for now …").

A refused answer is explained (the same message as the web's) and asked again. Answers
can be piped on stdin, one per line, in the order asked; an empty line takes the shown
default.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Final, TypeVar

from rich.console import Console
from rich.prompt import Prompt
from sqlalchemy.orm import Session

from spinecoach.errors import ConfigurationError, SpinecoachError
from spinecoach.program import onboarding as ob
from spinecoach.program.redflags import DISCLAIMER, default_red_flags

T = TypeVar("T")
YES: Final = ("y", "yes")
NO: Final = ("n", "no")
#: Exit status when a red flag stopped the program (answers recorded, not an error).
EXIT_STOPPED: Final = 1


class InputEnded(SpinecoachError):
    """stdin ended before every question was answered."""


def _ask(console: Console, prompt: str, parse: Callable[[str], T], default: str | None = None) -> T:
    """Ask until ``parse`` accepts the answer (its error message is shown otherwise)."""
    while True:
        try:
            text = Prompt.ask(prompt, console=console, default=default, show_default=True)
        except EOFError:
            raise InputEnded(
                "the input ended before every onboarding question was answered; answer "
                "each one (one per line when piped)"
            ) from None
        try:
            return parse((text or "").strip())
        except ConfigurationError as error:
            console.print(f"[red]{error}[/]", highlight=False, soft_wrap=True)


def _yes_no(text: str) -> bool:
    answer = text.casefold()
    if answer in YES:
        return True
    if answer in NO:
        return False
    raise ConfigurationError(f"{text!r}: answer yes or no (y/n)")


def _whole_text(check: Callable[[object, str], int], field: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value: object = int(text)
        except ValueError:
            value = text
        return check(value, field)

    return parse


def _vas_text(text: str) -> float:
    try:
        value: object = float(text)
    except ValueError:
        value = text
    return ob.check_vas_mm(value)


def _optional_clock(field: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text.casefold() in ("", "none", "-"):
            return ""
        return ob.clock_text(ob.parse_clock(text, field))

    return parse


def _activity_text(index: int) -> Callable[[str], str]:
    def parse(text: str) -> str:
        return text and ob.check_activity(text, f"psfs[{index}].activity")

    return parse


def _sensors_text(text: str) -> tuple[str, ...]:
    if text.casefold() in ("", "none", "-"):
        return ()
    return ob.check_sensors(part.strip() for part in text.split(",") if part.strip())


def _schedule(console: Console) -> ob.Schedule:
    morning = _ask(
        console,
        "Morning routine time (HH:MM)",
        lambda t: ob.clock_text(ob.parse_clock(t, "morning_time")),
        "07:30",
    )
    while True:
        start = _ask(
            console,
            "Work starts at (HH:MM; 'none' for no desk breaks)",
            _optional_clock("work_start"),
            "09:00",
        )
        end = (
            ""
            if not start
            else _ask(console, "Work ends at (HH:MM)", _optional_clock("work_end"), "17:00")
        )
        every = ob.DESK_BREAK_DEFAULT_EVERY_MIN
        if start:
            every = _ask(
                console,
                f"Minutes between desk breaks ({ob.DESK_BREAK_MIN_EVERY_MIN}–"
                f"{ob.DESK_BREAK_MAX_EVERY_MIN})",
                _whole_text(ob.check_desk_break_every_min, "desk_break_every_min"),
                str(ob.DESK_BREAK_DEFAULT_EVERY_MIN),
            )
        try:
            return ob.make_schedule(morning, start or None, end or None, every)
        except ConfigurationError as error:
            console.print(f"[red]{error}[/]", highlight=False, soft_wrap=True)


def ask_baseline(console: Console) -> ob.Baseline:
    """Ask the baseline questions (after a clear screening)."""
    console.rule("Where you are today")
    vas = _ask(
        console,
        "Back pain on a typical day this week, 0 (none) to 100 (worst imaginable) mm",
        _vas_text,
    )
    console.print(
        "Up to three activities that are hard because of your back, each scored 0 (unable) "
        "to 10 (as before the problem). Leave the activity empty when you are done.",
        highlight=False,
    )
    psfs: list[tuple[str, int]] = []
    while len(psfs) < ob.PSFS_MAX_ACTIVITIES:
        i = len(psfs)
        activity = _ask(
            console,
            f"Activity {i + 1} (empty to finish)",
            _activity_text(i),
            "",
        )
        if not activity:
            break
        score = _ask(
            console,
            f"Score for {activity!r} (0–10)",
            _whole_text(ob.check_psfs_score, f"psfs[{i}].score"),
        )
        try:
            ob.make_psfs([*psfs, (activity, score)])
        except ConfigurationError as error:
            console.print(f"[red]{error}[/]", highlight=False, soft_wrap=True)
            continue
        psfs.append((activity, score))
    doses = _ask(
        console,
        "Doses of pain medication per day (0 if none)",
        _whole_text(ob.check_doses, "doses_per_day"),
        "0",
    )
    schedule = _schedule(console)
    sensors = _ask(
        console,
        f"Sensors you have, comma-separated ({', '.join(ob.SENSOR_KINDS)}; or none)",
        _sensors_text,
        "none",
    )
    return ob.make_baseline(
        vas_mm=vas, psfs=psfs, doses_per_day=doses, schedule=schedule, sensors=sensors
    )


def ask_red_flags(console: Console) -> dict[str, bool]:
    """Every red-flag question, yes or no (question id → "yes")."""
    console.print(DISCLAIMER, style="dim", highlight=False)
    answers: dict[str, bool] = {}
    for n, flag in enumerate(default_red_flags(), start=1):
        answers[flag.id] = _ask(console, f"{n}. {flag.question} (yes/no)", _yes_no)
    return answers


def _ask_clearance(console: Console, stopped_on: date, cause: str) -> ob.Clearance | None:
    """After a stop that referred the person (a red flag, a jump in pain): has a clinician
    seen them and agreed (and when)? ``cause`` completes "stopped because …". None when
    not yet (then nothing starts)."""
    console.rule("Starting again after a stop")
    console.print(
        f"Your last program was stopped on {stopped_on.isoformat()} because {cause}.",
        highlight=False,
    )
    if not _ask(console, f"{ob.CLEARANCE_QUESTION} (yes/no)", _yes_no):
        console.print(
            "Please see a doctor or physiotherapist first and tell them what you reported; "
            "come back when they agree. The exercise program has not started.",
            style="bold",
            highlight=False,
        )
        return None
    return _ask(
        console,
        "The day they saw you (YYYY-MM-DD)",
        lambda text: ob.make_clearance(True, text, stopped_on=stopped_on, today=ob.server_today()),
    )


def run_onboarding(console: Console, database_url: str | None) -> int:
    """Onboard the local person; the exit status (0 started, 1 stopped by a red flag)."""
    from spinecoach.program.calendar import reminder_times
    from spinecoach.services.history import History
    from spinecoach.store import program as store_program

    history = History.open(database_url)
    try:
        with Session(history.engine) as db:
            if store_program.active_enrolment(db, history.person_id) is not None:
                raise store_program.EnrolmentStateError(
                    "you already have an active program; see it with the web page /program"
                )
            previous = store_program.restart_needs_clearance(db, history.person_id)
            stopped_on, cause = None, ""
            if previous is not None:
                stopped_on = ob.server_today(previous.ended_utc or previous.started_utc)
                cause = store_program.stop_cause(db, previous)
        clearance = None
        if stopped_on is not None:
            clearance = _ask_clearance(console, stopped_on, cause)
            if clearance is None:
                return EXIT_STOPPED
        console.rule("Before you start: safety questions")
        answers = ask_red_flags(console)
        stopped = any(answers.values())
        baseline = None if stopped else ask_baseline(console)
        with Session(history.engine) as db:
            outcome = store_program.onboard(
                db, history.person_id, answers, baseline, clearance=clearance
            )
            if outcome.stopped:
                console.rule("[bold red]Please see a doctor before starting")
                console.print(outcome.result.advice, style="bold", highlight=False)
                for reason in outcome.result.reasons:
                    console.print(f"• {reason}", highlight=False)
                console.print(
                    f"Your answers were recorded (screening {outcome.screening.id}); the "
                    "exercise program has not started.",
                    highlight=False,
                )
                console.print(DISCLAIMER, style="dim", highlight=False)
                return EXIT_STOPPED
            schedule = store_program.enrolment_schedule(outcome.enrolment)
            console.rule("Your 6-week program has started")
            for r in reminder_times(schedule):
                days = "every day" if r["days"] == "daily" else "Monday to Friday"
                console.print(f"{r['kind']} at {r['time']} ({days})", highlight=False)
            console.print(
                "Add these to your calendar from the web page /program (calendar.ics).",
                highlight=False,
            )
            return 0
    finally:
        history.close()


def run_screening(console: Console, database_url: str | None) -> int:
    """``spinecoach screen``: the red-flag questions again, mid-program; the exit status
    (0 nothing to stop for, 1 a red flag: the program is stopped and the person referred).

    The answers are recorded whether or not a program is active; a "yes" stops the active
    program in the same transaction and shows the during-program advice.
    """
    from spinecoach.services.history import History
    from spinecoach.store import program as store_program

    history = History.open(database_url)
    try:
        with Session(history.engine) as db:
            active = store_program.active_enrolment(db, history.person_id) is not None
        console.rule("Something new or worrying? The warning signs")
        if not active:
            console.print(
                "You have no active program; your answers are still recorded.", highlight=False
            )
        answers = ask_red_flags(console)
        with Session(history.engine) as db:
            screening, result = store_program.rescreen(db, history.person_id, answers)
            stopped = result.stop and screening.enrolment_id is not None
            if result.stop:
                title = "Your program is stopped" if stopped else "Please see a doctor"
                console.rule(f"[bold red]{title}")
                console.print(screening.advice, style="bold", highlight=False)
                for reason in result.reasons:
                    console.print(f"• {reason}", highlight=False)
                console.print(
                    f"Your answers were recorded (screening {screening.id})."
                    + (
                        " The exercise program is stopped; start again only when a doctor "
                        "agrees it is right for you."
                        if stopped
                        else ""
                    ),
                    highlight=False,
                )
                console.print(DISCLAIMER, style="dim", highlight=False)
                return EXIT_STOPPED
            console.print(
                f"Thank you: none of the warning signs. Your answers were recorded "
                f"(screening {screening.id})"
                + ("; carry on with your program." if active else ".")
                + " If something changes, run `spinecoach screen` again.",
                highlight=False,
            )
            return 0
    finally:
        history.close()
