"""Onboarding validation and the routine's iCalendar file (parsed back by a tiny parser)."""

from __future__ import annotations

import doctest
import importlib
from datetime import UTC, date, datetime, time

import pytest

from spinecoach.errors import ConfigurationError
from spinecoach.program import onboarding as ob
from spinecoach.program.calendar import fold_line, reminder_times, routine_calendar

STAMP = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "name",
    [
        "spinecoach.program.onboarding",
        "spinecoach.program.calendar",
        "spinecoach.program.enrolment",
        "spinecoach.store.program",
        "spinecoach.store.base",
        "spinecoach.services.program",
        "spinecoach.services.program_history",
    ],
)
def test_program_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


# Validation ------------------------------------------------------------------------------------
def test_baseline_valid_and_normalised() -> None:
    baseline = ob.make_baseline(
        vas_mm=0,
        psfs=[("  Putting on socks ", 10.0)],
        doses_per_day=0,
        schedule=ob.make_schedule("06:05"),
        sensors=["wearable", "wearable"],
    )
    assert baseline.psfs == (ob.PsfsActivity("Putting on socks", 10),)
    assert baseline.sensors == ("wearable",)
    assert baseline.schedule == ob.Schedule(time(6, 5), None, None, 50)
    assert ob.desk_break_times(baseline.schedule) == ()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"vas_mm": -1}, "vas_mm=-1 is outside the 0–100 mm visual analogue scale"),
        ({"vas_mm": float("nan")}, "vas_mm=nan is outside"),
        ({"vas_mm": True}, "vas_mm=True is outside"),
        ({"doses_per_day": 2.5}, "doses_per_day=2.5: give a whole number from 0 to 24"),
        ({"doses_per_day": 25}, "doses_per_day=25: give a whole number from 0 to 24"),
        ({"psfs": [("a", 11)]}, r"psfs\[0\].score=11: give a whole number from 0 to 10"),
        ({"psfs": [("", 3)]}, r"psfs\[0\].activity='': describe the activity in 1 to 200"),
        ({"psfs": [("a", 1), ("A", 2)]}, r"psfs\[1\].activity: 'A' is listed twice"),
        (
            {"psfs": [("a", 1), ("b", 2), ("c", 3), ("d", 4)]},
            "psfs: the PSFS rates up to 3 activities, got 4",
        ),
        ({"sensors": ["smartwatch"]}, "sensors: unknown sensor 'smartwatch'; choose from phone"),
    ],
)
def test_baseline_errors_name_the_field(kwargs: dict[str, object], message: str) -> None:
    given: dict[str, object] = {
        "vas_mm": 20,
        "psfs": [],
        "doses_per_day": 0,
        "schedule": ob.make_schedule("07:00"),
        "sensors": [],
    } | kwargs
    with pytest.raises(ConfigurationError, match=message):
        ob.make_baseline(**given)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("7:30",), "morning_time='7:30' is not a time of day: use HH:MM"),
        (("24:00",), "morning_time='24:00' is not a time of day"),
        (("07:30", "09:00"), "give both working-hours times"),
        (("07:30", "09:00", "09:30"), "work_end=09:30 must be at least 1 hour after"),
        (("07:30", "09:00", "17:00", 20), "desk_break_every_min=20: give a whole number from 30"),
    ],
)
def test_schedule_errors_name_the_field(args: tuple[object, ...], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        ob.make_schedule(*args)


def test_schedule_round_trips_through_json() -> None:
    schedule = ob.make_schedule("07:30", "08:00", "16:00", 45)
    assert ob.schedule_from_dict(ob.schedule_to_dict(schedule)) == schedule


def test_program_week() -> None:
    start = datetime(2026, 3, 2, 8, tzinfo=UTC)
    assert ob.program_week(start, start) == 1
    assert ob.program_week(start, datetime(2026, 3, 9, 8, tzinfo=UTC)) == 2
    assert ob.program_week(start, datetime(2026, 5, 1, tzinfo=UTC)) == 7  # after the end


# iCalendar -------------------------------------------------------------------------------------
def unfold(ics: str) -> list[str]:
    """Content lines of an iCalendar text: CRLF split, folded lines joined (RFC 5545 §3.1)."""
    assert ics.endswith("\r\n")
    assert "\n" not in ics.replace("\r\n", ""), "a bare LF or CR"
    lines: list[str] = []
    for raw in ics[:-2].split("\r\n"):
        assert len(raw.encode("utf-8")) <= 75, f"line longer than 75 octets: {raw!r}"
        if raw.startswith(" "):
            lines[-1] += raw[1:]
        else:
            lines.append(raw)
    return lines


def parse_ics(ics: str) -> list[dict[str, object]]:
    """A tiny parser: every component as a dict of its properties (``_type``, ``_children``)."""
    root: dict[str, object] = {"_type": "ROOT", "_children": []}
    stack = [root]
    for line in unfold(ics):
        name, _, value = line.partition(":")
        if name == "BEGIN":
            component: dict[str, object] = {"_type": value, "_children": []}
            stack[-1]["_children"].append(component)  # type: ignore[attr-defined]
            stack.append(component)
        elif name == "END":
            assert stack.pop()["_type"] == value, f"END:{value} closes another component"
        else:
            assert name not in stack[-1], f"{name} twice"
            stack[-1][name] = value
    assert stack == [root]
    children = root["_children"]
    assert isinstance(children, list)
    return children


def test_calendar_has_the_routine_with_alarms() -> None:
    schedule = ob.make_schedule("07:30", "09:00", "17:00", 50)
    ics = routine_calendar(schedule, start=date(2026, 3, 1), uid_prefix="program-7", dtstamp=STAMP)
    [calendar] = parse_ics(ics)
    assert calendar["_type"] == "VCALENDAR" and calendar["VERSION"] == "2.0"
    assert str(calendar["PRODID"]).startswith("-//spinecoach//")
    events = calendar["_children"]
    assert isinstance(events, list)
    assert all(e["_type"] == "VEVENT" for e in events)
    morning, *breaks = events
    assert morning["UID"] == "program-7-morning@spinecoach"
    assert morning["DTSTART"] == "20260301T073000"  # floating local time: no Z, no TZID
    assert morning["RRULE"] == "FREQ=DAILY;COUNT=42"
    assert morning["DURATION"] == "PT15M"
    assert morning["DTSTAMP"] == "20260301T120000Z"
    # 2026-03-01 is a Sunday: desk breaks start on Monday and end with the program.
    times = [str(e["DTSTART"]) for e in breaks]
    assert times[0] == "20260302T095000" and times[-1] == "20260302T163000"
    assert [t[-6:-2] for t in times] == [
        "0950",
        "1040",
        "1130",
        "1220",
        "1310",
        "1400",
        "1450",
        "1540",
        "1630",
    ]
    for event in breaks:
        assert event["RRULE"] == "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;UNTIL=20260411T235959"
        assert event["DURATION"] == "PT3M"
    uids = [e["UID"] for e in events]
    assert len(set(uids)) == len(uids)
    for event in events:
        [alarm] = event["_children"]  # type: ignore[misc]
        assert alarm["_type"] == "VALARM" and alarm["ACTION"] == "DISPLAY"
        assert alarm["TRIGGER"] == "PT0M" and alarm["DESCRIPTION"]
    assert morning["DESCRIPTION"].endswith("spinecoach is a coaching tool\\, not a medical device.")  # type: ignore[union-attr]


def test_calendar_without_working_hours_has_only_the_morning() -> None:
    ics = routine_calendar(
        ob.make_schedule("06:00"), start=date(2026, 3, 2), uid_prefix="p", dtstamp=STAMP
    )
    [calendar] = parse_ics(ics)
    assert [e["UID"] for e in calendar["_children"]] == ["p-morning@spinecoach"]  # type: ignore[union-attr]


def test_fold_line_never_splits_a_character() -> None:
    line = "DESCRIPTION:" + "Rücken " * 40
    folded = fold_line(line)
    parts = folded.split("\r\n")
    assert all(len(p.encode("utf-8")) <= 75 for p in parts)
    assert parts[0] + "".join(p[1:] for p in parts[1:]) == line
    assert fold_line("SHORT:x") == "SHORT:x"


def test_reminder_times() -> None:
    schedule = ob.make_schedule("07:30", "09:00", "11:00", 60)
    assert reminder_times(schedule) == [
        {"kind": "morning", "time": "07:30", "days": "daily"},
        {"kind": "desk-break", "time": "10:00", "days": "weekdays"},
    ]
