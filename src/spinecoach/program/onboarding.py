"""Onboarding answers after the red-flag screening: the baseline and the daily schedule.

One validation module for every way in (the web page's JSON, the terminal's
``spinecoach onboard`` prompts, the store): frozen values (:class:`Baseline`,
:class:`Schedule`, :class:`PsfsActivity`) made only by the ``check_*`` and ``make_*``
functions, which raise :class:`~spinecoach.errors.ConfigurationError` naming the field and
the allowed range.

The scales and why their bounds are what they are:

* pain: visual analogue scale (VAS) 0–100 mm, 0 = no pain, 100 = worst imaginable pain;
* function: the Patient-Specific Functional Scale (PSFS; Stratford et al., Physiotherapy
  Canada 1995;47:258-263): up to three activities the person finds hard because of their
  back, each rated 0 (unable to do it) to 10 (able to do it as before the problem);
* pain medication: whole doses per day, 0–24 (one an hour is already far above any label;
  a larger number is a typing mistake);
* schedule: the morning-routine time and optional working hours (``HH:MM``, local time of
  the person's device); desk breaks come every ``desk_break_every_min`` minutes of work,
  30–90 min, default 50: sitting research advises breaking up sitting every 30–60 min,
  and 50 min leaves a 10-minute margin inside the usual "about once an hour";
* sensors owned: any of ``phone``, ``wearable`` (a Bluetooth IMU), ``camera``; none is
  fine (the built-in simulator is always there).

spinecoach is a coaching tool, not a medical device: these answers are for tracking
change over the program, never for a diagnosis.

>>> schedule = make_schedule("07:30", "09:00", "12:00")
>>> [t.strftime("%H:%M") for t in desk_break_times(schedule)]
['09:50', '10:40', '11:30']
>>> baseline = make_baseline(vas_mm=42, psfs=[("Putting on socks", 4)], doses_per_day=2,
...                          schedule=schedule, sensors=["phone"])
>>> baseline.psfs[0].score, baseline.doses_per_day
(4, 2)
>>> check_vas_mm(120)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
spinecoach.errors.ConfigurationError: vas_mm=120 is outside the 0–100 mm visual analogue scale: ...
>>> check_not_future(date(2099, 1, 1), "day", today=date(2026, 3, 2))  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
spinecoach.errors.ConfigurationError: day=2099-01-01 is in the future ...

"Today" is the calendar day of the server's local time zone (:func:`server_today`), the
same notion as the program engine's default (:func:`spinecoach.services.program.update_program`
counts program days in the server's zone): spinecoach serves one person from their own
machine or local network, so the server's calendar is the person's. A day after it is
refused wherever a day records something that has happened (a check-in, a medication
entry); a planned day (the calendar export's first day) may be in the future.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, Final

from spinecoach.errors import ConfigurationError

VAS_MIN_MM: Final = 0.0
VAS_MAX_MM: Final = 100.0
PSFS_MAX_ACTIVITIES: Final = 3
PSFS_MIN_SCORE: Final = 0
PSFS_MAX_SCORE: Final = 10
ACTIVITY_MAX_CHARS: Final = 200
DOSES_MAX_PER_DAY: Final = 24
NOTE_MAX_CHARS: Final = 500
DESK_BREAK_MIN_EVERY_MIN: Final = 30
DESK_BREAK_MAX_EVERY_MIN: Final = 90
DESK_BREAK_DEFAULT_EVERY_MIN: Final = 50
#: Working hours shorter than this give no desk break worth a reminder.
WORK_MIN_HOURS: Final = 1
SENSOR_KINDS: Final = ("phone", "wearable", "camera")
PROGRAM_WEEKS: Final = 6
#: ``HH:MM`` on a 24-hour clock.
CLOCK_PATTERN: Final = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


@dataclass(frozen=True)
class PsfsActivity:
    """One PSFS activity and its score (0 = unable, 10 = as before the problem)."""

    activity: str
    score: int


@dataclass(frozen=True)
class Schedule:
    """When reminders come, in the person's local time.

    ``work_start``/``work_end`` are both set (desk breaks every ``desk_break_every_min``
    minutes in between, on weekdays) or both None (no desk breaks).
    """

    morning_time: time
    work_start: time | None = None
    work_end: time | None = None
    desk_break_every_min: int = DESK_BREAK_DEFAULT_EVERY_MIN


@dataclass(frozen=True)
class Baseline:
    """What onboarding asks after a clear red-flag screening."""

    vas_mm: float
    psfs: tuple[PsfsActivity, ...]
    doses_per_day: int
    schedule: Schedule
    sensors: tuple[str, ...]


def _number(value: object) -> float | None:
    """``value`` as a finite float, or None when it is not a number (a bool is not)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def vas_message(value: object, field: str = "vas_mm") -> str:
    """The message for a pain rating outside the scale: the field, the value, the fix."""
    shown = f"{value:g}" if _number(value) is not None else repr(value)  # 150.0 → "150"
    return (
        f"{field}={shown} is outside the {VAS_MIN_MM:g}–{VAS_MAX_MM:g} mm visual analogue "
        f"scale: give a pain rating from {VAS_MIN_MM:g} (no pain) to {VAS_MAX_MM:g} "
        "(worst imaginable pain)"
    )


def check_vas_mm(value: object, field: str = "vas_mm") -> float:
    """A pain rating in mm on the 0–100 visual analogue scale."""
    number = _number(value)
    if number is None or not VAS_MIN_MM <= number <= VAS_MAX_MM:
        raise ConfigurationError(vas_message(value, field))
    return number


def server_zone() -> tzinfo:
    """The server's local time zone (UTC when the system names none)."""
    local = datetime.now(UTC).astimezone().tzinfo
    return local if local is not None else UTC


def server_today(now: datetime | None = None, tz: tzinfo | None = None) -> date:
    """Today's date on the person's calendar as the server sees it: the day of ``now``
    (aware; default: now) in ``tz`` (default: :func:`server_zone`)."""
    when = now if now is not None else datetime.now(UTC)
    return when.astimezone(tz if tz is not None else server_zone()).date()


def future_day_message(day: date, field: str, today: date) -> str:
    """The message for a day after ``today``: the field, the day given and the fix."""
    return (
        f"{field}={day.isoformat()} is in the future (today is {today.isoformat()} on this "
        "server's calendar): give today's date or an earlier day (YYYY-MM-DD); nothing was "
        "saved"
    )


def check_not_future(day: date, field: str, *, today: date) -> date:
    """``day`` unless it comes after ``today`` (something that has not happened yet
    cannot be recorded)."""
    if day > today:
        raise ConfigurationError(future_day_message(day, field, today))
    return day


def _whole(value: object, field: str, low: int, high: int, meaning: str) -> int:
    number = _number(value)
    if number is None or number != int(number) or not low <= number <= high:
        raise ConfigurationError(
            f"{field}={value!r}: give a whole number from {low} to {high} {meaning}"
        )
    return int(number)


def check_psfs_score(value: object, field: str = "score") -> int:
    """A PSFS score: a whole number 0 (unable) to 10 (as before the problem)."""
    return _whole(
        value, field, PSFS_MIN_SCORE, PSFS_MAX_SCORE, "(0 = unable to do it, 10 = as before)"
    )


def check_doses(value: object, field: str = "doses_per_day") -> int:
    """Pain-medication doses per day: a whole number 0–24."""
    return _whole(value, field, 0, DOSES_MAX_PER_DAY, "doses of pain medication per day")


def check_desk_break_every_min(value: object, field: str = "desk_break_every_min") -> int:
    """Minutes between desk breaks: a whole number 30–90."""
    return _whole(
        value,
        field,
        DESK_BREAK_MIN_EVERY_MIN,
        DESK_BREAK_MAX_EVERY_MIN,
        "minutes between desk breaks",
    )


def check_activity(value: object, field: str = "activity") -> str:
    """A PSFS activity in the person's words, 1–200 characters."""
    text = value.strip() if isinstance(value, str) else ""
    if not 1 <= len(text) <= ACTIVITY_MAX_CHARS:
        raise ConfigurationError(
            f"{field}={value!r}: describe the activity in 1 to {ACTIVITY_MAX_CHARS} "
            "characters, for example 'putting on socks'"
        )
    return text


def check_note(value: object, field: str = "note") -> str:
    """A free-text note, at most 500 characters."""
    if not isinstance(value, str) or len(value) > NOTE_MAX_CHARS:
        raise ConfigurationError(f"{field}: a note is text of at most {NOTE_MAX_CHARS} characters")
    return value.strip()


def parse_clock(value: object, field: str) -> time:
    """A local time of day from ``HH:MM`` (24-hour clock) or a :class:`~datetime.time`."""
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    if not isinstance(value, str) or not re.match(CLOCK_PATTERN, value.strip()):
        raise ConfigurationError(
            f"{field}={value!r} is not a time of day: use HH:MM on a 24-hour clock, "
            "for example 07:30"
        )
    hours, minutes = value.strip().split(":")
    return time(int(hours), int(minutes))


def clock_text(value: time) -> str:
    """``HH:MM`` of a time of day."""
    return value.strftime("%H:%M")


def _minutes(value: time) -> int:
    return value.hour * 60 + value.minute


def make_schedule(
    morning_time: object,
    work_start: object = None,
    work_end: object = None,
    desk_break_every_min: object = DESK_BREAK_DEFAULT_EVERY_MIN,
) -> Schedule:
    """A validated :class:`Schedule`; working hours are both given or both left out."""
    morning = parse_clock(morning_time, "morning_time")
    given = [v not in (None, "") for v in (work_start, work_end)]
    every = check_desk_break_every_min(desk_break_every_min)
    if not any(given):
        return Schedule(morning, None, None, every)
    if not all(given):
        raise ConfigurationError(
            "work_start and work_end: give both working-hours times (HH:MM), or neither "
            "for no desk-break reminders"
        )
    start = parse_clock(work_start, "work_start")
    end = parse_clock(work_end, "work_end")
    if _minutes(end) - _minutes(start) < WORK_MIN_HOURS * 60:
        raise ConfigurationError(
            f"work_end={clock_text(end)} must be at least {WORK_MIN_HOURS} hour after "
            f"work_start={clock_text(start)} on the same day"
        )
    return Schedule(morning, start, end, every)


def check_sensors(values: Iterable[object], field: str = "sensors") -> tuple[str, ...]:
    """The sensors a person owns: any of ``phone``, ``wearable``, ``camera`` (each once)."""
    chosen: list[str] = []
    for value in values:
        if value not in SENSOR_KINDS:
            raise ConfigurationError(
                f"{field}: unknown sensor {value!r}; choose from {', '.join(SENSOR_KINDS)} "
                "(or none)"
            )
        if value not in chosen:
            chosen.append(str(value))
    return tuple(chosen)


def make_psfs(
    items: Iterable[tuple[object, object]], field: str = "psfs"
) -> tuple[PsfsActivity, ...]:
    """Up to three PSFS activities with their scores; activity names are unique."""
    activities: list[PsfsActivity] = []
    for i, (activity, score) in enumerate(items):
        name = check_activity(activity, f"{field}[{i}].activity")
        if any(a.activity.casefold() == name.casefold() for a in activities):
            raise ConfigurationError(f"{field}[{i}].activity: {name!r} is listed twice")
        activities.append(PsfsActivity(name, check_psfs_score(score, f"{field}[{i}].score")))
    if len(activities) > PSFS_MAX_ACTIVITIES:
        raise ConfigurationError(
            f"{field}: the PSFS rates up to {PSFS_MAX_ACTIVITIES} activities, got "
            f"{len(activities)}; keep the {PSFS_MAX_ACTIVITIES} that matter most"
        )
    return tuple(activities)


def make_baseline(
    *,
    vas_mm: object,
    psfs: Iterable[tuple[object, object]],
    doses_per_day: object,
    schedule: Schedule,
    sensors: Iterable[object],
) -> Baseline:
    """A validated :class:`Baseline` (every check names the field it refused)."""
    return Baseline(
        vas_mm=check_vas_mm(vas_mm),
        psfs=make_psfs(psfs),
        doses_per_day=check_doses(doses_per_day),
        schedule=schedule,
        sensors=check_sensors(sensors),
    )


@dataclass(frozen=True)
class Clearance:
    """The person's word that a clinician saw them after a red-flag stop and agreed that
    they can start the exercise program again (``seen_on``: the local day they were seen)."""

    seen_on: date


CLEARANCE_QUESTION: Final = (
    "Has a doctor or physiotherapist seen you about why the program stopped, and agreed that "
    "you can start the exercise program again?"
)


def make_clearance(
    confirmed: object, seen_on: object, *, stopped_on: date, today: date
) -> Clearance:
    """A validated :class:`Clearance`: ``confirmed`` is True and ``seen_on`` (a date or
    ``YYYY-MM-DD``) lies from ``stopped_on`` (the day of the red-flag stop) to ``today``."""
    if confirmed is not True:
        raise ConfigurationError(
            "clearance.confirmed: start again only once a doctor or physiotherapist has seen "
            "you and agreed that you can exercise; then confirm it (true)"
        )
    day = seen_on
    if isinstance(day, str):
        try:
            day = date.fromisoformat(day.strip())
        except ValueError:
            day = None
    if isinstance(day, datetime) or not isinstance(day, date):
        raise ConfigurationError(
            f"clearance.seen_on={seen_on!r}: give the day you were seen as YYYY-MM-DD, for "
            "example 2026-03-02"
        )
    check_not_future(day, "clearance.seen_on", today=today)
    if day < stopped_on:
        raise ConfigurationError(
            f"clearance.seen_on={day.isoformat()} is before your program was stopped "
            f"({stopped_on.isoformat()}): give the day a doctor or physiotherapist saw you "
            "after that"
        )
    return Clearance(day)


def schedule_to_dict(schedule: Schedule) -> dict[str, Any]:
    """The schedule as JSON (``HH:MM`` texts, None for no working hours)."""
    return {
        "morning_time": clock_text(schedule.morning_time),
        "work_start": None if schedule.work_start is None else clock_text(schedule.work_start),
        "work_end": None if schedule.work_end is None else clock_text(schedule.work_end),
        "desk_break_every_min": schedule.desk_break_every_min,
    }


def schedule_from_dict(data: Mapping[str, Any]) -> Schedule:
    """The inverse of :func:`schedule_to_dict` (validated again)."""
    return make_schedule(
        data.get("morning_time"),
        data.get("work_start"),
        data.get("work_end"),
        data.get("desk_break_every_min", DESK_BREAK_DEFAULT_EVERY_MIN),
    )


def desk_break_times(schedule: Schedule) -> tuple[time, ...]:
    """Desk-break times of a working day: every ``desk_break_every_min`` minutes after
    ``work_start``, strictly before ``work_end`` (none without working hours)."""
    if schedule.work_start is None or schedule.work_end is None:
        return ()
    start, end = _minutes(schedule.work_start), _minutes(schedule.work_end)
    every = schedule.desk_break_every_min
    return tuple(time(m // 60, m % 60) for m in range(start + every, end, every))


def program_dates(start: date, weeks: int = PROGRAM_WEEKS) -> tuple[date, date]:
    """First and last day of a program of ``weeks`` weeks starting on ``start``."""
    return start, start + timedelta(days=7 * weeks - 1)


def program_week(start: datetime, now: datetime, weeks: int = PROGRAM_WEEKS) -> int:
    """The program week (1 … ``weeks``) that ``now`` falls in; ``weeks + 1`` after the end."""
    days = (now - start).days
    return min(max(days // 7 + 1, 1), weeks + 1)
