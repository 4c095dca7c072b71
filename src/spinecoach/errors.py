"""spinecoach's own exception types.

Every message names the input that is wrong and says how to fix it. Poor signal
quality is *not* an exception: it is a flag that travels with the data.
"""

from __future__ import annotations

from pathlib import Path


class SpinecoachError(Exception):
    """Base class of every error spinecoach raises on purpose."""


class InputFormatError(SpinecoachError):
    """A file or message does not have the expected layout.

    The message names the file, the line (1-based) and the column when known, what was
    found and what was expected.

    >>> str(InputFormatError("a.csv", "expected a number", line=3, column="acc_x", found="x"))
    "a.csv, line 3, column 'acc_x': expected a number, found 'x'"
    """

    def __init__(
        self,
        source: str | Path,
        expected: str,
        *,
        line: int | None = None,
        column: str | int | None = None,
        found: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.source = str(source)
        self.line = line
        self.column = column
        self.expected = expected
        self.found = found
        self.fix = fix
        where = [self.source]
        if line is not None:
            where.append(f"line {line}")
        if column is not None:
            where.append(f"column {column!r}")
        text = ", ".join(where) + f": {expected}"
        if found is not None:
            shown = found if len(found) <= 60 else found[:57] + "..."
            text += f", found {shown!r}"
        if fix:
            text += f". {fix}"
        super().__init__(text)


class UnitError(SpinecoachError):
    """Values are plausible only in another unit (for example g instead of m/s²)."""


class ConfigurationError(SpinecoachError):
    """An argument or option is out of range or inconsistent."""


class SourceUnavailableError(SpinecoachError):
    """A live sensor source cannot be used on this computer at all (for example no
    Bluetooth adapter, or no BlueZ service to reach it).

    Not a passing connection problem (those are retried): the message says what is
    missing and which other sources work instead.
    """


class CalibrationError(SpinecoachError):
    """Sensor-to-segment calibration could not be done from the data given."""


class CatalogueError(ConfigurationError):
    """The technique catalogue (``techniques.toml``) is malformed.

    The message names the file, the field path (``techniques.<name>.<table>.<key>``,
    ``faults[2]`` for the third fault), what was expected and what was found. ``found``
    is shown as given, so pass ``repr(value)`` for a text value.

    >>> print(CatalogueError("techniques.toml", "techniques.cat-cow.dose.reps",
    ...                      "expected a whole number ≥ 1", found="0"))
    techniques.toml: techniques.cat-cow.dose.reps: expected a whole number ≥ 1, found 0
    """

    def __init__(
        self,
        source: str | Path,
        field: str,
        expected: str,
        *,
        found: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.source = str(source)
        self.field = field
        self.expected = expected
        self.found = found
        self.fix = fix
        text = f"{self.source}: {field}: {expected}" if field else f"{self.source}: {expected}"
        if found is not None:
            shown = found if len(found) <= 60 else found[:57] + "..."
            text += f", found {shown}"
        if fix:
            text += f". {fix}"
        super().__init__(text)
