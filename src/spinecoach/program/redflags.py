"""Red-flag screening: the questions asked before the program starts, and what a "yes"
means. Any red flag stops the program and tells the person to seek medical care.

The questions are data (``spinecoach/data/red_flags.toml``, with sources); this module
reads and validates them (:func:`load_red_flags`) and screens a person's answers
(:func:`screen`; an unanswered or unknown question is a
:class:`~spinecoach.errors.ConfigurationError`). spinecoach is a coaching tool, not a
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
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Final, Literal, cast

from spinecoach.errors import CatalogueError, ConfigurationError

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


def _fail(source: str, where: str, problem: str) -> CatalogueError:
    return CatalogueError(source, where, problem)


def _text(entry: Mapping[str, Any], key: str, source: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _fail(source, f"{where}.{key}", f"expected non-empty text, found {value!r}")
    return value.strip()


def parse_red_flags(data: Mapping[str, Any], source: str = "red_flags.toml") -> tuple[RedFlag, ...]:
    """Validate the parsed TOML of a red-flag file (see ``data/red_flags.toml``)."""
    version = data.get("red_flags_version")
    if version != RED_FLAGS_VERSION:
        raise _fail(
            source,
            "red_flags_version",
            f"expected {RED_FLAGS_VERSION}, found {version!r}: this spinecoach reads "
            f"version {RED_FLAGS_VERSION}",
        )
    entries = data.get("red_flags")
    if not isinstance(entries, list) or not entries:
        raise _fail(source, "red_flags", "expected a non-empty list of [[red_flags]] tables")
    flags: list[RedFlag] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        where = f"red_flags[{i}]"
        if not isinstance(entry, dict):
            raise _fail(source, where, f"expected a table, found {entry!r}")
        unknown = set(entry) - {"id", "question", "reason", "urgency", "reference"}
        if unknown:
            raise _fail(source, where, f"unknown field(s) {', '.join(sorted(unknown))}")
        flag_id = _text(entry, "id", source, where)
        if flag_id in seen:
            raise _fail(source, f"{where}.id", f"{flag_id!r} appears twice")
        seen.add(flag_id)
        urgency = entry.get("urgency")
        if urgency not in URGENCIES:
            raise _fail(
                source,
                f"{where}.urgency",
                f"expected one of {', '.join(URGENCIES)}, found {urgency!r}",
            )
        question = _text(entry, "question", source, where)
        if not question.endswith("?"):
            raise _fail(source, f"{where}.question", "a question ends with '?'")
        flags.append(
            RedFlag(
                id=flag_id,
                question=question,
                reason=_text(entry, "reason", source, where),
                urgency=cast(Urgency, urgency),
                reference=_text(entry, "reference", source, where),
            )
        )
    return tuple(flags)


def load_red_flags(path: Path | Traversable | None = None) -> tuple[RedFlag, ...]:
    """The red-flag questions from ``path`` (default: the packaged file), validated."""
    if path is None:
        return default_red_flags()
    source = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise _fail(source, "file", f"not valid TOML ({exc})") from exc
    return parse_red_flags(data, source)


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
