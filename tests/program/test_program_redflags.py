"""Red-flag screening: the packaged questions load and validate, any "yes" stops the
program with the most urgent advice, and nothing unanswered passes as a "no"."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

import spinecoach.program.redflags as redflags_module
from spinecoach.errors import CatalogueError, ConfigurationError
from spinecoach.program.redflags import ADVICE, load_red_flags, screen


def _all_no() -> dict[str, bool]:
    return {f.id: False for f in load_red_flags()}


def test_packaged_questions_cover_the_design_list() -> None:
    ids = {f.id for f in load_red_flags()}
    # ../shared/DESIGN.md: bladder/bowel or saddle numbness, progressive leg weakness,
    # fever or unwell, history of cancer, recent major trauma, unexplained weight loss,
    # severe night pain.
    assert {
        "saddle-bladder-bowel",
        "leg-weakness",
        "fever-unwell",
        "cancer-history",
        "major-trauma",
        "weight-loss",
        "night-pain",
    } <= ids
    for flag in load_red_flags():
        assert flag.question.endswith("?") and flag.reason and flag.reference


def test_no_red_flag_lets_the_program_start() -> None:
    result = screen(_all_no())
    assert not result.stop and result.urgency is None and result.advice == ""


@pytest.mark.parametrize("flag", load_red_flags(), ids=lambda f: f.id)
def test_every_single_yes_stops_with_its_urgency(flag: redflags_module.RedFlag) -> None:
    result = screen({**_all_no(), flag.id: True})
    assert result.stop
    assert result.flagged == (flag,)
    assert result.advice == ADVICE[flag.urgency]
    assert "do not start the exercise program" in result.advice
    assert result.reasons == (flag.reason,)


def test_the_most_urgent_flag_decides_the_advice() -> None:
    result = screen({**_all_no(), "night-pain": True, "saddle-bladder-bowel": True})
    assert result.urgency == "emergency"
    assert "emergency" in result.advice


def test_unanswered_and_unknown_questions_are_refused() -> None:
    answers = _all_no()
    del answers["leg-weakness"]
    with pytest.raises(ConfigurationError, match="unanswered: leg-weakness"):
        screen(answers)
    with pytest.raises(ConfigurationError, match="unknown question id"):
        screen({**_all_no(), "made-up": False})
    with pytest.raises(ConfigurationError, match=r"yes \(true\) or no \(false\)"):
        screen({**_all_no(), "weight-loss": "no"})  # type: ignore[dict-item]


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("red_flags_version = 2\n[[red_flags]]\nid='a'", "red_flags_version"),
        ("red_flags_version = 1\n", "red_flags"),
        (
            "red_flags_version = 1\n[[red_flags]]\nid='a'\nquestion='Q?'\nreason='r'\n"
            "urgency='later'\nreference='x'\n",
            "red_flags[0].urgency",
        ),
        (
            "red_flags_version = 1\n[[red_flags]]\nid='a'\nquestion='No mark'\nreason='r'\n"
            "urgency='soon'\nreference='x'\n",
            "red_flags[0].question",
        ),
        ("red_flags_version = [", "file"),
    ],
)
def test_malformed_file_names_the_field(tmp_path: Path, text: str, field: str) -> None:
    path = tmp_path / "red_flags.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogueError) as error:
        load_red_flags(path)
    assert field in str(error.value) and str(path) in str(error.value)


def test_docstring_examples() -> None:
    result = doctest.testmod(redflags_module)
    assert result.failed == 0 and result.attempted > 0


def test_advice_during_the_program_says_stop_not_do_not_start() -> None:
    for flag in load_red_flags():
        result = screen({**_all_no(), flag.id: True})
        during = result.advice_during_program
        assert "stop the exercise program for now" in during
        assert "do not start" not in during
