"""``spinecoach onboard``: the program's onboarding in the terminal (Rich prompts).

The same questions and the same validation as the web page
(:mod:`spinecoach.program.onboarding`, :mod:`spinecoach.program.redflags`), stored the
same way (:func:`spinecoach.store.program.onboard`) for the server's local person:

1. every red-flag question, yes or no; any "yes" stops: the advice, the reasons and the
   disclaimer are shown, the screening and a stopped program are recorded, and no
   baseline is asked;
2. baseline pain (0–100 mm), up to three PSFS activities with a 0–10 score, pain
   medication doses per day, the morning-routine time, working hours (or none) and the
   sensors owned.

A refused answer is explained (the same message as the web's) and asked again. Answers
can be piped on stdin, one per line, in the order asked; an empty line takes the shown
default.
"""

from __future__ import annotations

from collections.abc import Callable
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


def run_onboarding(console: Console, database_url: str | None) -> int:
    """Onboard the local person; the exit status (0 started, 1 stopped by a red flag)."""
    from spinecoach.program.calendar import reminder_times
    from spinecoach.store import program as store_program
    from spinecoach.web.history import History

    history = History.open(database_url)
    try:
        with Session(history.engine) as db:
            if store_program.active_enrolment(db, history.person_id) is not None:
                raise store_program.EnrolmentStateError(
                    "you already have an active program; see it with the web page /program"
                )
        console.rule("Before you start: safety questions")
        console.print(DISCLAIMER, style="dim", highlight=False)
        answers: dict[str, bool] = {}
        for n, flag in enumerate(default_red_flags(), start=1):
            answers[flag.id] = _ask(console, f"{n}. {flag.question} (yes/no)", _yes_no)
        stopped = any(answers.values())
        baseline = None if stopped else ask_baseline(console)
        with Session(history.engine) as db:
            outcome = store_program.onboard(db, history.person_id, answers, baseline)
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
