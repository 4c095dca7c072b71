"""The command line starts without the heavy stacks (issue 17 item 5): listing the
commands must not import numpy, scipy, matplotlib, SQLAlchemy, the BLE stack or asyncio —
each is imported by the command that uses it. Checked on the modules a fresh interpreter
loaded, not on a time (the time is printed by bench/startup.py)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("numpy", "scipy", "matplotlib", "sqlalchemy", "bleak", "asyncio", "h5py", "fastapi")


def loaded_after(code: str) -> set[str]:
    script = f"import sys, json\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def test_the_command_line_loads_no_heavy_stack_to_list_its_commands() -> None:
    loaded = loaded_after(
        "from typer.main import get_command\n"
        "import spinecoach.cli\n"
        "get_command(spinecoach.cli.app).get_help\n"
    )
    assert "spinecoach.cli.users" in loaded and "spinecoach.cli.sensors" in loaded
    assert not {name for name in HEAVY if name in loaded}, sorted(n for n in HEAVY if n in loaded)


def test_help_runs_and_names_every_command_group() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "spinecoach", "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    for command in ("serve", "coach", "analyze", "users", "sensors", "simulate"):
        assert command in out


def test_the_server_app_loads_no_scipy_or_plotting_until_used() -> None:
    """``serve`` starts without scipy (0.75 s of its start-up before, issue 17), the
    plotting stack or the BLE stack: the simulator and the filters import them when a
    session or a demonstration first needs them."""
    loaded = loaded_after("import spinecoach.web.app\nspinecoach.web.app.create_app()")
    assert "spinecoach.web.routes.live" in loaded
    late = ("scipy", "matplotlib", "bleak", "spinecoach.sim.techniques")
    assert not [name for name in late if name in loaded]
