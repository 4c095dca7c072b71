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
never leave a half-written file behind. Every command imports what it needs inside its
function, so ``spinecoach --help`` stays quick.
"""

from importlib import import_module

from spinecoach.cli.root import app

#: The command modules, in the order ``spinecoach --help`` lists their commands; importing
#: one registers its commands on :data:`app`.
COMMAND_MODULES = (
    "simulate",
    "analyze",
    "validate",
    "posture",
    "coach",
    "serve",
    "program",
    "sensors",
    "users",
)
for _name in COMMAND_MODULES:
    import_module(f"spinecoach.cli.{_name}")

__all__ = ["app", "main"]


def main() -> None:
    """The console script ``spinecoach`` (and ``python -m spinecoach``)."""
    app()
