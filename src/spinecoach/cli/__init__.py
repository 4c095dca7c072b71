"""The ``spinecoach`` command line (Typer + Rich), one module per command group.

:mod:`~spinecoach.cli.simulate`
    ``simulate``, ``simulate-day``, ``demo``.
:mod:`~spinecoach.cli.analyze`
    ``analyze`` (angles, or with --exercise the reps of a technique), ``formats``.
:mod:`~spinecoach.cli.validate`
    ``validate angles | exercise | posture | camera``: agreement with a truth.
:mod:`~spinecoach.cli.posture`
    ``posture``: the all-day posture summary.
:mod:`~spinecoach.cli.coach`, :mod:`~spinecoach.cli.serve`
    ``coach`` (one session in the terminal), ``serve`` (the live coaching server); the
    terminal coach itself (display, keys, pain, devices started in-process, imported on
    use) is :mod:`~spinecoach.cli.terminal`.
:mod:`~spinecoach.cli.program`
    ``onboard``, ``screen``, ``report``, ``simulate-program``, ``export``; the onboarding
    prompts are :mod:`~spinecoach.cli.onboard`.
:mod:`~spinecoach.cli.sensors`
    ``sensors scan``.
:mod:`~spinecoach.cli.users`
    ``users add | list | reset-password | disable | enable | assign | unassign | audit``.

Shared: :mod:`~spinecoach.cli.common` (consoles, :func:`~spinecoach.cli.common.fail`,
progress), :mod:`~spinecoach.cli.recordings` (file and calibration options),
:mod:`~spinecoach.cli.root` (the application and ``--version``).

Technique names are the same everywhere: pelvic-tilt, cat-cow, cat-cow-seated, hip-hinge,
flexion-extension. Errors print one clear line to stderr and exit with status 2; they
never leave a half-written file behind.

Start-up (issue 17 item 5: ``--help`` under 0.15 s, ``serve`` answering within 1 s):

* ``spinecoach --help`` imports no command module: :data:`~spinecoach.cli.root.COMMANDS`
  names each command, its module and its summary, and the top-level group
  (:class:`~spinecoach.cli.root.CommandLine`) imports a command's module only when that
  command runs or its help is asked; the top-level help uses Click's plain layout (Rich's
  would import ``rich`` and ``markdown_it``, 60 ms). Every command imports its heavy
  stacks (numpy, SQLAlchemy, h5py, the BLE stack, asyncio) inside its function.
* ``spinecoach serve`` opens its port before the app is built
  (:mod:`spinecoach.cli.serve_start`): the pages answer at once and ``/api/health`` says
  503 "starting"; every other request waits until the app has started (migrations
  done), then the app serves it. docs/architecture.md, "Start-up", has the reasons.
"""

from spinecoach.cli.root import COMMANDS, app

__all__ = ["COMMANDS", "app", "main"]


def main() -> None:
    """The console script ``spinecoach`` (and ``python -m spinecoach``)."""
    app()
