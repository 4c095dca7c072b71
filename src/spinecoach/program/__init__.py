"""The 6-week program: red-flag screening, the protocol as data, progression and
recommendations. Pure rules on plain values: :mod:`spinecoach.services` applies them to
what :mod:`spinecoach.store` stored; never touches sensors or the database."""

#: The modules this package offers (imported on use, so importing the package stays
#: cheap).
__all__ = [
    "calendar",
    "engine",
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
