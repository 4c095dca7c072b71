"""The shared data-file reader: one set of checks for the catalogue and the program file,
worded as each file always has been (issue 14: one reader validates both data files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from spinecoach.errors import CatalogueError
from spinecoach.exercises.datafile import (
    CATALOGUE_FILE,
    PROGRAM_FILE,
    DataFileReader,
    read_toml,
)


def _message(reader: DataFileReader, value: object, **limits: object) -> str:
    with pytest.raises(CatalogueError) as error:
        reader.number(value, "x.y", **limits)  # type: ignore[arg-type]
    return str(error.value)


@pytest.mark.parametrize(
    ("value", "catalogue", "program"),
    [
        ("abc", "expected a number, found 'abc'", "expected a number from 0 to 1, found 'abc'"),
        (float("nan"), "expected a finite number ≥ 0, found nan", "expected a number from 0 to 1"),
        (
            1.5,
            "expected a number ≥ 0 and ≤ 1, found 1.5",
            "expected a number from 0 to 1, found 1.5",
        ),
    ],
)
def test_a_number_is_worded_as_each_file_words_it(
    value: object, catalogue: str, program: str
) -> None:
    limits = {"minimum": 0.0, "maximum": 1.0}
    assert catalogue in _message(DataFileReader("t.toml", CATALOGUE_FILE), value, **limits)
    assert program in _message(DataFileReader("p.toml", PROGRAM_FILE), value, **limits)


def test_keys_suggest_the_close_one_and_name_the_kinds_docs() -> None:
    for kind, docs in ((CATALOGUE_FILE, "docs/techniques.md"), (PROGRAM_FILE, "docs/program.md")):
        reader = DataFileReader("f.toml", kind)
        with pytest.raises(
            CatalogueError, match=r"f\.toml: a\.hold_secs: unknown key\. Did you mean 'hold_s'"
        ):
            reader.keys({"hold_secs": 1}, "a", ["hold_s"])
        with pytest.raises(
            CatalogueError, match=rf"a\.hold_s: required key is missing\. Add it \(see {docs}\)"
        ):
            reader.keys({}, "a", ["hold_s"])
    assert DataFileReader("f.toml", PROGRAM_FILE).number(0.5, "x", minimum=0.0, maximum=1.0) == 0.5


def test_read_toml_names_the_file_kind_the_encoding_and_the_line(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match=r"gone\.toml: cannot read the program file"):
        read_toml(tmp_path / "gone.toml", PROGRAM_FILE)
    with pytest.raises(CatalogueError, match=r"gone\.toml: cannot read the catalogue file"):
        read_toml(str(tmp_path / "gone.toml"), CATALOGUE_FILE)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"a = 1\n\xff\n")
    with pytest.raises(CatalogueError, match="undecodable byte at offset 6"):
        read_toml(binary, PROGRAM_FILE)
    bad = tmp_path / "bad.toml"
    bad.write_text("a = 1\nb = = 2\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match=r"bad\.toml: invalid TOML at line 2, column"):
        read_toml(bad, PROGRAM_FILE)
    good = tmp_path / "good.toml"
    good.write_text("a = 1\n[t]\nb = 'x'\n", encoding="utf-8")
    assert read_toml(good, CATALOGUE_FILE) == {"a": 1, "t": {"b": "x"}}
