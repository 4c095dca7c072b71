"""The examples in the coach's and the live sources' docstrings run and give what they
show (spinecoach.coach.session moved here from tests/web/test_web_doctests.py)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "spinecoach.coach.events",
    "spinecoach.coach.session",
    "spinecoach.sources.base",
    "spinecoach.sources.simulated",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0
