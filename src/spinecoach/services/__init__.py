"""Services between the faces (web, cli, the terminal coach) and the store: they read and
write a person's data through :mod:`spinecoach.store` and apply the pure rules of
:mod:`spinecoach.program`. Nothing below them (sensors, motion, exercises, program,
store) imports them.

``calibration``
    Calibrations kept between sessions: save after a full calibration, load for the
    5-s neutral check (:func:`~spinecoach.services.calibration.load_calibration`).
``enrolment``
    A person's program enrolment: onboarding, screenings, check-ins, PSFS, the status
    and the routine's calendar (:class:`~spinecoach.services.enrolment.EnrolmentService`).
``history``
    A person's sessions: stored live while they run, listed, closed after an
    interruption (:class:`~spinecoach.services.history.History`).
``live``
    Keeping a live session in the history while it runs (one behaviour for every face).
``posture``
    A person's stored working days and desk-break settings
    (:class:`~spinecoach.services.posture.PostureService`).
``program``
    The program engine on a person's stored data: update the program, progress data,
    the day's plan (:func:`~spinecoach.services.program.update_program`, ...).
``progress``
    Today's plan and the progress data, deciding first, one call at a time
    (:class:`~spinecoach.services.progress.ProgressService`).
``report``
    The program report read from a database (:func:`~spinecoach.services.report.
    write_report`).
"""

#: The modules this package offers (imported on use: the program engine is heavy to import).
__all__ = ["enrolment", "history", "live", "posture", "program", "progress", "report"]
__all__ += ["program_history", "program_progress", "program_today"]
__all__ += ["calibration"]
