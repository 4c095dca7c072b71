"""The 6-week program: red-flag screening, the protocol as data, progression and
recommendations, and the rules of a program's life (:mod:`~spinecoach.program.enrolment`:
stops, clearance, what a check-in accepts). Pure rules on plain values: the store applies
them before it writes and :mod:`spinecoach.services` applies them to what
:mod:`spinecoach.store` stored; this package never imports the store, the services or a
face, and never touches sensors or the database."""

#: The modules this package offers (imported on use, so importing the package stays
#: cheap).
__all__ = [
    "calendar",
    "engine",
    "enrolment",
    "lights",
    "measures",
    "model",
    "onboarding",
    "painmodel",
    "plot",
    "protocol",
    "recommend",
    "redflags",
    "report",
    "review",
    "simulate",
]
