"""The live coach, independent of any face: one technique's session fed by a source,
what it emits, and the one runner that stores it while it runs.

:mod:`spinecoach.coach.events`
    The frozen events a live session emits (frame, rep, cue, state, phase, camera,
    summary, notice); the web maps them to its wire messages, the terminal draws them.
:mod:`spinecoach.coach.session`
    :class:`~spinecoach.coach.session.LiveSession` (motion tracker and exercise engine,
    no I/O), the simulated replay and its pump.
:mod:`spinecoach.coach.dose`
    A prescribed dose (reps, sets, hold, tempo) and the program slot of one session.
:mod:`spinecoach.coach.devices`
    The calibration the coach leads from live devices' data, and their pump.
:mod:`spinecoach.coach.camera`
    The camera's pump (a reader thread, the camera coach, the session).
:mod:`spinecoach.coach.replay`
    An interrupted session's stored samples replayed through the live session (its
    result), given by the faces to their history.
:mod:`spinecoach.coach.calibration_check`, :mod:`spinecoach.coach.kept`
    Calibrate once (issue 15 item 6): a session's 5-s neutral check of the person's kept
    calibration and the calibration kept after a full one; the runner's lookup and save.
:mod:`spinecoach.coach.limits`
    What one batch of a client's samples may cost (``sparse-samples``, issue 16).
:mod:`spinecoach.coach.runner`
    The one runner: source → session → save loop → events, used by the web socket and
    the terminal coach; how to start a simulated session and what to keep to replay it.

Design choice: importing the package imports nothing (no Rich, no engines); the modules
are imported on use. Nothing under ``coach`` imports a face (``web``, ``cli``;
tests/test_architecture.py): the terminal coach is the cli's
(:mod:`spinecoach.cli.terminal`).
"""

#: The modules this package offers (imported on use, so importing the package stays
#: cheap).
__all__ = ["camera", "devices", "dose", "events", "replay", "runner", "session"]
__all__ += ["calibration_check", "kept", "limits"]
