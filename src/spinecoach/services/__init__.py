"""Services between the faces (web, cli, the terminal coach) and the store: they read and
write a person's data through :mod:`spinecoach.store` and apply the pure rules of
:mod:`spinecoach.program`. Nothing below them (sensors, motion, exercises, program,
store) imports them.

``live``
    Keeping a live session in the history while it runs (one behaviour for every face).
``program``
    The program engine on a person's stored data: update the program, progress data,
    the day's plan (:func:`~spinecoach.services.program.update_program`, ...).
``report``
    The program report read from a database (:func:`~spinecoach.services.report.
    write_report`).
"""

from spinecoach.services.program import progress_data, update_program
from spinecoach.services.report import report_data, write_report

__all__ = ["progress_data", "report_data", "update_program", "write_report"]
