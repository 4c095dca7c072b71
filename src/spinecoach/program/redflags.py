"""Red-flag screening: the questions asked before the program starts, and what a "yes"
means. Any red flag stops the program and tells the person to seek medical care.

The questions are data (``spinecoach/data/red_flags.toml``, with sources); this module
reads and validates them (:func:`load_red_flags`) and screens a person's answers
(:func:`screen`; an unanswered or unknown question is a
:class:`~spinecoach.errors.ConfigurationError`). The file is read and checked by the
shared data-file reader (:class:`~spinecoach.exercises.datafile.DataFileReader`, the
red-flag file's wording being :data:`RED_FLAGS_FILE`), so its mistakes are named like
the catalogue's and the program's. spinecoach is a coaching tool, not a
medical device: the screening diagnoses nothing, it only decides whether self-guided
exercise is the right next step.

>>> flags = load_red_flags()
>>> [f.id for f in flags][:2]
['saddle-bladder-bowel', 'leg-weakness']
>>> result = screen({f.id: False for f in flags})
>>> result.stop
False
>>> result = screen({**{f.id: False for f in flags}, "fever-unwell": True})
>>> result.stop, result.urgency
(True, 'urgent')
>>> result.advice.startswith("Please do not start the exercise program yet. See a doctor")
True
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Final, Literal, cast

from spinecoach.errors import CatalogueError, ConfigurationError
from spinecoach.exercises.datafile import (
    MISSING,
    DataFileKind,
    DataFileReader,
    join,
    read_toml,
)

RED_FLAGS_VERSION: Final = 1
Urgency = Literal["emergency", "urgent", "soon"]
#: Most urgent first.
URGENCIES: Final[tuple[Urgency, ...]] = ("emergency", "urgent", "soon")

#: What the person is told, by the most urgent flag they reported.
ADVICE: Final[Mapping[Urgency, str]] = {
    "emergency": (
        "Please do not start the exercise program. Seek medical care now: go to an "
        "emergency department or call your local emergency number. What you reported "
        "needs a doctor's assessment today."
    ),
    "urgent": (
        "Please do not start the exercise program yet. See a doctor or an urgent care "
        "service today or tomorrow and tell them what you reported here."
    ),
    "soon": (
        "Please do not start the exercise program yet. Book an appointment with your "
        "doctor in the next few days and tell them what you reported here; you can come "
        "back to the program when they agree it is right for you."
    ),
}
DISCLAIMER: Final = (
    "spinecoach is a coaching tool, not a medical device. These questions do not "
    "diagnose anything; they only check whether self-guided exercise is the right next "
    "step."
)


@dataclass(frozen=True)
class RedFlag:
    """One screening question; a "yes" is a red flag."""

    id: str
    question: str
    reason: str
    urgency: Urgency
    reference: str


@dataclass(frozen=True)
class ScreeningResult:
    """The outcome of a screening: ``stop`` when any answer was "yes"."""

    flagged: tuple[RedFlag, ...]

    @property
    def stop(self) -> bool:
        return bool(self.flagged)

    @property
    def urgency(self) -> Urgency | None:
        """The most urgent level among the flagged questions (None when none)."""
        for level in URGENCIES:
            if any(f.urgency == level for f in self.flagged):
                return level
        return None

    @property
    def advice(self) -> str:
        """What to tell the person before the program (empty when there is no red flag)."""
        level = self.urgency
        return "" if level is None else ADVICE[level]

    @property
    def advice_during_program(self) -> str:
        """What to tell a person who reports a red flag once the program has begun."""
        advice = self.advice
        for before in (
            "do not start the exercise program yet",
            "do not start the exercise program",
        ):
            advice = advice.replace(before, "stop the exercise program for now")
        return advice

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why, in plain words, one line per flagged question."""
        return tuple(f.reason for f in self.flagged)


#: How the red-flag file's mistakes are worded (the shared data-file reader's third kind).
RED_FLAGS_FILE: Final = DataFileKind("red-flag", "the packaged data/red_flags.toml", "from-to")
_FLAG_KEYS: Final = ("id", "question", "reason", "urgency", "reference")


def parse_red_flags(data: Mapping[str, Any], source: str = "red_flags.toml") -> tuple[RedFlag, ...]:
    """Validate the parsed TOML of a red-flag file (see ``data/red_flags.toml``)."""
    reader = DataFileReader(source, RED_FLAGS_FILE)
    version = data.get("red_flags_version", MISSING)
    if version != RED_FLAGS_VERSION:
        reader.fail(
            "red_flags_version",
            f"expected {RED_FLAGS_VERSION}",
            version,
            fix=f"This spinecoach reads version {RED_FLAGS_VERSION}",
        )
    entries = data.get("red_flags", MISSING)
    if not isinstance(entries, list) or not entries:
        reader.fail("red_flags", "expected a non-empty list of [[red_flags]] tables", entries)
    flags: list[RedFlag] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        flags.append(_red_flag(reader, entry, f"red_flags[{i}]", seen))
    return tuple(flags)


def _red_flag(reader: DataFileReader, entry: object, where: str, seen: set[str]) -> RedFlag:
    """One ``[[red_flags]]`` table (at ``where``) as a :class:`RedFlag`; its id joins
    ``seen`` (the ids of the questions before it, which it must not repeat)."""
    if not isinstance(entry, dict):
        reader.fail(where, "expected a table", entry)
    reader.keys(entry, where, required=_FLAG_KEYS)
    flag_id = reader.text(entry, where, "id")
    if flag_id in seen:
        reader.fail(
            join(where, "id"), f"{flag_id!r} appears twice", fix="Give each question its own id"
        )
    seen.add(flag_id)
    urgency = reader.choice(entry, where, "urgency", URGENCIES)
    question = reader.text(entry, where, "question")
    if not question.endswith("?"):
        reader.fail(join(where, "question"), "a question ends with '?'", question)
    return RedFlag(
        id=flag_id,
        question=question,
        reason=reader.text(entry, where, "reason"),
        urgency=cast(Urgency, urgency),
        reference=reader.text(entry, where, "reference"),
    )


def load_red_flags(path: Path | Traversable | None = None) -> tuple[RedFlag, ...]:
    """The red-flag questions from ``path`` (default: the packaged file), validated.

    A file that cannot be read or is not TOML is a
    :class:`~spinecoach.errors.CatalogueError` on the field ``file``, naming the line.
    """
    if path is None:
        return default_red_flags()
    try:
        data = read_toml(path, RED_FLAGS_FILE)
    except CatalogueError as error:
        if error.field:
            raise
        raise CatalogueError(
            error.source, "file", error.expected, found=error.found, fix=error.fix
        ) from error
    return parse_red_flags(data, str(path))


@functools.cache
def default_red_flags() -> tuple[RedFlag, ...]:
    """The packaged red-flag questions (read once)."""
    path = resources.files("spinecoach").joinpath("data", "red_flags.toml")
    return load_red_flags(path)


def screen(
    answers: Mapping[str, bool], flags: tuple[RedFlag, ...] | None = None
) -> ScreeningResult:
    """Screen ``answers`` (question id → "yes") against every red flag.

    Every question must be answered (a missing or unknown id is a
    :class:`~spinecoach.errors.ConfigurationError` naming it): an unanswered red-flag question
    is never taken as a "no".
    """
    questions = flags if flags is not None else default_red_flags()
    ids = [f.id for f in questions]
    missing = [i for i in ids if i not in answers]
    unknown = sorted(set(answers) - set(ids))
    if missing or unknown:
        problems = []
        if missing:
            problems.append("unanswered: " + ", ".join(missing))
        if unknown:
            problems.append("unknown question id(s): " + ", ".join(unknown))
        raise ConfigurationError(
            "red-flag screening needs a yes or no for every question ("
            + "; ".join(problems)
            + "); answer each one"
        )
    not_bool = [i for i in ids if not isinstance(answers[i], bool)]
    if not_bool:
        raise ConfigurationError(
            "red-flag answers are yes (true) or no (false); got "
            + ", ".join(f"{i}={answers[i]!r}" for i in not_bool)
        )
    return ScreeningResult(tuple(f for f in questions if answers[f.id]))
