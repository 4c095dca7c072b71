"""The examples in the simulator's docstrings run and give what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "spinecoach.sim",
    "spinecoach.sim.activities",
    "spinecoach.sim.body",
    "spinecoach.sim.performer",
    "spinecoach.sim.poses",
    "spinecoach.sim.profiles",
    "spinecoach.sim.protocol_free",
    "spinecoach.sim.quaternion",
    "spinecoach.sim.scenarios",
    "spinecoach.sim.sensor_errors",
    "spinecoach.sim.sensors",
    "spinecoach.sim.suite",
    "spinecoach.sim.techniques",
    "spinecoach.sim.timeline",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0 or name == "spinecoach.sim.assemble"
