"""The examples in the docstrings of the motion core and the shared modules run and give
what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "spinecoach.conventions",
    "spinecoach.errors",
    "spinecoach.recording",
    "spinecoach.motion.agreement",
    "spinecoach.motion.calibration",
    "spinecoach.motion.flags",
    "spinecoach.motion.fusion",
    "spinecoach.motion.process",
    "spinecoach.motion.stream",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0
