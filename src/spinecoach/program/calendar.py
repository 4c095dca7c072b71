"""The program's routine as an iCalendar file (RFC 5545), written by hand.

:func:`routine_calendar` makes one ``VCALENDAR`` with

* the **morning routine**: one ``VEVENT`` at ``morning_time`` (15 min), repeated daily for
  the program's 6 weeks (``RRULE:FREQ=DAILY;COUNT=42``);
* **desk breaks**: one ``VEVENT`` per break time of a working day (3 min each, every
  ``desk_break_every_min`` minutes after ``work_start``, strictly before ``work_end``; see
  :func:`spinecoach.program.onboarding.desk_break_times`), repeated on weekdays until the
  program's last day (``RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;UNTIL=…``). Each break
  starts on the first weekday of the program, so the first event is a real one.

Every event has a ``VALARM`` (``ACTION:DISPLAY``, at the event's start), a stable ``UID``
(the same file imported twice updates rather than duplicates) and a ``DTSTAMP`` (UTC).

Time zones: times are **floating local times** (no ``TZID``, no ``Z``): 07:30 means
07:30 wherever the person's calendar is, also after travelling or a daylight-saving
change, which is what a morning routine wants. ``UNTIL`` is floating too, as RFC 5545
§3.3.10 requires for a floating ``DTSTART``.

Lines end with CRLF and are folded at 75 octets (§3.1; never inside a UTF-8 character);
text values are escaped (§3.3.11).

>>> from datetime import date, datetime, UTC
>>> from spinecoach.program.onboarding import make_schedule
>>> ics = routine_calendar(make_schedule("07:30", "09:00", "10:00"), start=date(2026, 3, 2),
...                        uid_prefix="p1", dtstamp=datetime(2026, 3, 1, tzinfo=UTC))
>>> for line in ics.split("\\r\\n"):
...     if line.startswith(("DTSTART", "RRULE")):
...         print(line)
DTSTART:20260302T073000
RRULE:FREQ=DAILY;COUNT=42
DTSTART:20260302T095000
RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;UNTIL=20260412T235959
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from spinecoach import __version__
from spinecoach.program.onboarding import (
    PROGRAM_WEEKS,
    Schedule,
    desk_break_times,
    program_dates,
)

MORNING_DURATION_MIN: Final = 15
DESK_BREAK_DURATION_MIN: Final = 3
MAX_LINE_OCTETS: Final = 75
WEEKDAYS: Final = "MO,TU,WE,TH,FR"
MORNING_SUMMARY: Final = "spinecoach: morning mobility routine"
MORNING_TEXT: Final = (
    "Your morning spinecoach session and pain check-in. Move only within a comfortable "
    "range; stop if pain increases. spinecoach is a coaching tool, not a medical device."
)
DESK_SUMMARY: Final = "spinecoach: desk break"
DESK_TEXT: Final = "Stand up, walk a few steps and do a few gentle seated cat-cows or pelvic tilts."


def escape_text(value: str) -> str:
    """A TEXT value escaped per RFC 5545 §3.3.11.

    >>> escape_text("a, b; c\\\\d\\ne")
    'a\\\\, b\\\\; c\\\\\\\\d\\\\ne'
    """
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def fold_line(line: str) -> str:
    """``line`` folded into parts of at most 75 octets joined by CRLF + space (§3.1);
    a UTF-8 character is never split."""
    parts: list[str] = []
    current = ""
    size = 0
    limit = MAX_LINE_OCTETS
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            parts.append(current)
            current, size = "", 0
            limit = MAX_LINE_OCTETS - 1  # continuation lines start with a space
        current += char
        size += width
    parts.append(current)
    return "\r\n ".join(parts)


def _local(value: datetime) -> str:
    return value.strftime("%Y%m%dT%H%M%S")


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _event(
    *,
    uid: str,
    dtstamp: datetime,
    start: datetime,
    minutes: int,
    rrule: str,
    summary: str,
    description: str,
) -> list[str]:
    return [
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"DTSTAMP:{_utc(dtstamp)}",
        f"DTSTART:{_local(start)}",
        f"DURATION:PT{minutes}M",
        f"RRULE:{rrule}",
        f"SUMMARY:{escape_text(summary)}",
        f"DESCRIPTION:{escape_text(description)}",
        "TRANSP:TRANSPARENT",
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        f"DESCRIPTION:{escape_text(summary)}",
        "TRIGGER:PT0M",
        "END:VALARM",
        "END:VEVENT",
    ]


def _first_weekday(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def routine_calendar(
    schedule: Schedule,
    *,
    start: date,
    uid_prefix: str,
    dtstamp: datetime | None = None,
    weeks: int = PROGRAM_WEEKS,
) -> str:
    """The routine of a ``weeks``-week program starting on ``start`` as iCalendar text
    (CRLF line ends, folded). ``uid_prefix`` makes the UIDs unique per program (for
    example ``program-12``); ``dtstamp`` defaults to now (UTC)."""
    stamp = dtstamp if dtstamp is not None else datetime.now(UTC)
    first, last = program_dates(start, weeks)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:-//spinecoach//spinecoach {__version__}//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text('spinecoach routine')}",
    ]
    lines += _event(
        uid=f"{uid_prefix}-morning@spinecoach",
        dtstamp=stamp,
        start=datetime.combine(first, schedule.morning_time),
        minutes=MORNING_DURATION_MIN,
        rrule=f"FREQ=DAILY;COUNT={7 * weeks}",
        summary=MORNING_SUMMARY,
        description=MORNING_TEXT,
    )
    until = _local(datetime.combine(last, time(23, 59, 59)))
    first_workday = _first_weekday(first)
    if first_workday <= last:
        for at in desk_break_times(schedule):
            lines += _event(
                uid=f"{uid_prefix}-desk-{at.strftime('%H%M')}@spinecoach",
                dtstamp=stamp,
                start=datetime.combine(first_workday, at),
                minutes=DESK_BREAK_DURATION_MIN,
                rrule=f"FREQ=WEEKLY;BYDAY={WEEKDAYS};UNTIL={until}",
                summary=DESK_SUMMARY,
                description=DESK_TEXT,
            )
    lines.append("END:VCALENDAR")
    return "".join(fold_line(line) + "\r\n" for line in lines)


def reminder_times(schedule: Schedule) -> list[dict[str, str]]:
    """Today's reminders for the page: ``{"kind", "time", "days"}`` with ``HH:MM`` local
    times; ``days`` is ``daily`` (morning routine) or ``weekdays`` (desk breaks)."""
    items: Iterable[tuple[str, time, str]] = [
        ("morning", schedule.morning_time, "daily"),
        *(("desk-break", at, "weekdays") for at in desk_break_times(schedule)),
    ]
    return [{"kind": k, "time": t.strftime("%H:%M"), "days": d} for k, t, d in items]
