"""The examples in the live-source modules' docstrings run and give what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "spinecoach.sources.live",
    "spinecoach.sources.sensor_logger_push",
    "spinecoach.sources.base",
    "spinecoach.sources.feed_source",
    "spinecoach.sources.replay",
    "spinecoach.sources.simulated",
    "spinecoach.cli.terminal.devices",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0
