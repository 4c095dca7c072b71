"""The command line starts without the heavy stacks (issue 17 item 5): listing the
commands must not import numpy, scipy, matplotlib, SQLAlchemy, the BLE stack or asyncio —
each is imported by the command that uses it. Checked on the modules a fresh interpreter
loaded, not on a time (the time is printed by bench/startup.py)."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

from typer.core import TyperGroup

HEAVY = ("numpy", "scipy", "matplotlib", "sqlalchemy", "bleak", "asyncio", "h5py", "fastapi")


def loaded_after(code: str) -> set[str]:
    script = f"import sys, json\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def test_the_command_line_loads_no_heavy_stack_to_list_its_commands() -> None:
    """Every command module, loaded, still imports none of the heavy stacks."""
    loaded = loaded_after(
        "from typer.main import get_command\n"
        "import spinecoach.cli\n"
        "from spinecoach.cli.root import COMMANDS\n"
        "for entry in COMMANDS.values():\n"
        "    __import__(f'spinecoach.cli.{entry.module}')\n"
        "get_command(spinecoach.cli.app).get_help\n"
    )
    assert "spinecoach.cli.users" in loaded and "spinecoach.cli.sensors" in loaded
    assert not {name for name in HEAVY if name in loaded}, sorted(n for n in HEAVY if n in loaded)


def test_help_imports_no_command_module_and_no_rich() -> None:
    """``spinecoach --help`` lists the commands from ``COMMANDS`` alone: no command module,
    no Rich (Typer's Rich help layout imports rich and markdown_it, 60 ms)."""
    loaded = loaded_after(
        "import contextlib, io\n"
        "import spinecoach.cli\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    spinecoach.cli.app(['--help'])\n"
    )
    commands = sorted(n for n in loaded if n.startswith("spinecoach.cli."))
    assert commands == ["spinecoach.cli.root"]
    slow = [n for n in (*HEAVY, "rich", "markdown_it", "pydantic") if n in loaded]
    assert not slow


def test_the_command_table_names_every_command_with_the_start_of_its_help() -> None:
    """``COMMANDS`` (what the top-level help lists without importing) is the registered
    command line: the same names, each summary the start of the
    command's own help, each in the module that registers it."""
    from typer.main import get_command

    from spinecoach.cli.root import COMMANDS, app

    for entry in COMMANDS.values():
        importlib.import_module(f"spinecoach.cli.{entry.module}")
    group = get_command(app)
    assert isinstance(group, TyperGroup)
    assert sorted(group.commands) == sorted(COMMANDS)
    for name, entry in COMMANDS.items():
        command = group.commands[name]
        words = " ".join((command.help or "").split())
        summary = entry.summary.removesuffix(", …").rstrip(".")
        assert words.startswith(summary), (name, summary, words[:120])
        callback = command.callback
        if callback is not None and not isinstance(command, TyperGroup):
            assert callback.__module__ == f"spinecoach.cli.{entry.module}", name


def test_a_command_runs_with_only_its_own_module_imported() -> None:
    loaded = loaded_after(
        "import contextlib, io\n"
        "import spinecoach.cli\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    spinecoach.cli.app(['formats'])\n"
    )
    commands = {n for n in loaded if n.startswith("spinecoach.cli.")}
    assert "spinecoach.cli.analyze" in commands
    assert not commands & {"spinecoach.cli.users", "spinecoach.cli.serve", "spinecoach.cli.program"}


def test_a_misspelt_command_is_named_with_the_right_one() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "spinecoach", "serv"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "No such command 'serv'" in done.stderr and "'serve'" in done.stderr


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
