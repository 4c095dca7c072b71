"""One reader for spinecoach's TOML data files: reading, typed getters, named errors.

Two files hold clinical facts as data: the technique catalogue
(``data/techniques.toml``, built by :mod:`spinecoach.exercises.catalogue`) and the
program protocol (``data/program.toml``, built by :mod:`spinecoach.program.protocol`).
Both are read and checked here, so a mistake in either is reported the same way: a
:class:`~spinecoach.errors.CatalogueError` naming the file, the field path
(``techniques.pelvic-tilt.dose.hold_s``, ``levels[2].reps``), what was expected, what was
found and, where one is known, the fix.

Design choices:

- The builders of the two files subclass or hold a :class:`DataFileReader`; what is
  particular to one file (its sections, its cross-checks) stays with its builder, every
  generic check (keys, tables, texts, numbers, whole numbers, choices) lives here once.
- Where the two files have always worded a message differently, the wording is a field
  of :class:`DataFileKind` instead of a second copy of the check: the catalogue states a
  number's range as ``≥ 0 and ≤ 600`` and says only the type when the type is wrong, the
  program states it as ``from 0 to 1`` in every message about that number.
- This module sits in ``exercises`` (a lower stage) so that ``program`` may import it;
  it imports only :mod:`spinecoach.errors`.

>>> reader = DataFileReader("my.toml", CATALOGUE_FILE)
>>> reader.integer(3, "dose.sets", minimum=1, maximum=20)
3
>>> reader.integer(0, "dose.sets", minimum=1, maximum=20)
Traceback (most recent call last):
...
spinecoach.errors.CatalogueError: my.toml: dose.sets: expected a whole number from 1 to 20, found 0
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Final, Literal, NoReturn, cast

from spinecoach.errors import CatalogueError

__all__ = [
    "CATALOGUE_FILE",
    "MISSING",
    "PROGRAM_FILE",
    "DataFileKind",
    "DataFileReader",
    "describe",
    "join",
    "parse_toml",
    "read_toml",
    "suggest",
]


@dataclass(frozen=True)
class DataFileKind:
    """What differs between the data files in how their mistakes are worded."""

    name: str
    """What the file is called in a message (``catalogue`` → "cannot read the catalogue
    file")."""
    docs: str
    """The page that describes the file (named when a required key is missing)."""
    range_words: Literal["bounds", "from-to"]
    """How a number's range is said: ``"bounds"`` (``≥ 0 and ≤ 600``, the type alone when
    the type is wrong) or ``"from-to"`` (``from 0 to 1`` in every message)."""


CATALOGUE_FILE: Final = DataFileKind("catalogue", "docs/techniques.md", "bounds")
"""The technique catalogue (``data/techniques.toml``)."""
PROGRAM_FILE: Final = DataFileKind("program", "docs/program.md", "from-to")
"""The program protocol (``data/program.toml``)."""

MISSING: Final = object()
"""Passed as ``found`` when nothing was found (a missing key): no ``found …`` is said."""

_TOML_WHERE: Final = re.compile(r"^(?P<msg>.*) \(at line (?P<line>\d+), column (?P<col>\d+)\)$")


def read_toml(path: Path | str | Traversable, kind: DataFileKind) -> dict[str, Any]:
    """Read and parse the TOML file at ``path`` (a path or a packaged resource).

    Raises :class:`~spinecoach.errors.CatalogueError` when the file cannot be read, is
    not UTF-8 or is not TOML; the message names the file and, for TOML, the line.
    """
    source = str(path)
    try:
        raw = path.read_bytes() if not isinstance(path, str) else Path(path).read_bytes()
    except OSError as exc:
        raise CatalogueError(
            source, "", f"cannot read the {kind.name} file", found=repr(exc.strerror)
        ) from exc
    return parse_toml(raw, source)


def parse_toml(raw: bytes, source: str) -> dict[str, Any]:
    """Parse the bytes of a TOML data file called ``source`` (for the messages)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CatalogueError(
            source, "", f"expected UTF-8 text, found an undecodable byte at offset {exc.start}"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        where = _TOML_WHERE.match(message)
        if where:
            raise CatalogueError(
                source,
                "",
                f"invalid TOML at line {where['line']}, column {where['col']}: {where['msg']}",
                fix="Check the quotes, brackets and '=' on that line",
            ) from None
        raise CatalogueError(source, "", f"invalid TOML: {message}") from None


def describe(value: object) -> str:
    """How a TOML value is shown after ``found`` in a message."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return repr(value)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return f"an array of {len(value)} item{'s' if len(value) != 1 else ''}"
    return f"{type(value).__name__} {value}"


def suggest(word: str, valid: Sequence[str]) -> str:
    """``"Did you mean 'x'? "`` for the closest of ``valid`` to ``word``, or ``""``."""
    close = difflib.get_close_matches(word, list(valid), n=1, cutoff=0.6)
    return f"Did you mean {close[0]!r}? " if close else ""


def join(path: str, key: str) -> str:
    """The field path of ``key`` inside the table at ``path`` (``""``: the top level)."""
    return f"{path}.{key}" if path else key


class DataFileReader:
    """The generic checks of a data file called ``source``; every failure names the field.

    Getters take the value and its field path (``value, field``) or a table, the table's
    path and a key (``table, path, key``); they return the checked value.
    """

    def __init__(self, source: str, kind: DataFileKind) -> None:
        self.source = source
        self.kind = kind

    def fail(self, field: str, expected: str, value: object = MISSING, fix: str = "") -> NoReturn:
        """Raise the :class:`~spinecoach.errors.CatalogueError` for ``field``."""
        found = None if value is MISSING else describe(value)
        raise CatalogueError(self.source, field, expected, found=found, fix=fix or None)

    def keys(
        self,
        table: Mapping[str, Any],
        path: str,
        required: Sequence[str],
        optional: Sequence[str] = (),
    ) -> None:
        """Fail on a key of ``table`` that is neither required nor optional, then on a
        missing required one."""
        valid = [*required, *optional]
        for key in table:
            if key not in valid:
                self.fail(
                    join(path, key),
                    "unknown key",
                    fix=f"{suggest(key, valid)}Valid keys here: {', '.join(valid)}",
                )
        for key in required:
            if key not in table:
                self.fail(
                    join(path, key),
                    "required key is missing",
                    fix=f"Add it (see {self.kind.docs})",
                )

    def table(self, parent: Mapping[str, Any], path: str, key: str) -> dict[str, Any]:
        """The table ``parent[key]``."""
        field = join(path, key)
        if key not in parent:
            self.fail(field, "required table is missing")
        value = parent[key]
        if not isinstance(value, dict):
            self.fail(field, "expected a table", value)
        return cast(dict[str, Any], value)

    def text(
        self, table: Mapping[str, Any], path: str, key: str, *, max_chars: int | None = None
    ) -> str:
        """The non-empty text ``table[key]``, stripped."""
        return self.text_value(table[key], join(path, key), max_chars=max_chars)

    def text_value(self, value: object, field: str, *, max_chars: int | None = None) -> str:
        """``value`` as a non-empty text of at most ``max_chars`` characters, stripped."""
        if not isinstance(value, str):
            self.fail(field, "expected a text in quotes", value)
        text = value.strip()
        if not text:
            self.fail(field, "expected a non-empty text", value)
        if max_chars is not None and len(text) > max_chars:
            self.fail(
                field,
                f"expected at most {max_chars} characters, found {len(text)}",
                fix="Say it in fewer words",
            )
        return text

    def number(
        self,
        value: object,
        field: str,
        *,
        minimum: float,
        maximum: float,
        above: bool = False,
        what: str = "a number",
    ) -> float:
        """``value`` as a finite number from ``minimum`` (excluded when ``above``) to
        ``maximum``; ``what`` says what it is (``"a duration in seconds"``)."""
        low = f"> {minimum:g}" if above else f"≥ {minimum:g}"
        if self.kind.range_words == "from-to" and not above:
            whole_range = f"from {minimum:g} to {maximum:g}"
        else:
            whole_range = f"{low} and ≤ {maximum:g}"
        says_range_always = self.kind.range_words == "from-to"
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(
                field,
                f"expected {what} {whole_range}" if says_range_always else f"expected {what}",
                value,
            )
        number = float(value)
        if not math.isfinite(number):
            self.fail(
                field,
                f"expected {what} {whole_range}"
                if says_range_always
                else f"expected a finite number {low}",
                value,
            )
        if number < minimum or (above and number == minimum) or number > maximum:
            self.fail(field, f"expected {what} {whole_range}", value)
        return number

    def number_at(
        self,
        table: Mapping[str, Any],
        path: str,
        key: str,
        *,
        minimum: float,
        maximum: float,
        above: bool = False,
        what: str = "a number",
    ) -> float:
        """:meth:`number` of ``table[key]`` (the field ``path.key``)."""
        return self.number(
            table[key], join(path, key), minimum=minimum, maximum=maximum, above=above, what=what
        )

    def integer(self, value: object, field: str, *, minimum: float, maximum: float) -> int:
        """``value`` as a whole number from ``minimum`` to ``maximum`` (a float is refused)."""
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
            self.fail(field, f"expected a whole number from {minimum:g} to {maximum:g}", value)
        return value

    def choice(self, table: Mapping[str, Any], path: str, key: str, choices: Sequence[str]) -> str:
        """``table[key]``, one of ``choices`` (a close miss is named as the fix)."""
        value = table[key]
        if not isinstance(value, str) or value not in choices:
            hint = suggest(value, choices) if isinstance(value, str) else ""
            self.fail(
                join(path, key),
                f"expected one of {', '.join(repr(c) for c in choices)}",
                value,
                fix=hint.strip(),
            )
        return value
