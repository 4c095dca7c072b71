"""Storage: SQLAlchemy models, Alembic migrations and repositories — the functions that
read and write the models, taking plain values (ids, times, validated values of
:mod:`spinecoach.program`), one transaction per request. Persistence only: the program's
rules (what a screening or a decision means) are pure functions in :mod:`spinecoach.program`,
applied here before a write or by :mod:`spinecoach.services`; the store never imports the
services or the faces.

SQLite in the user's data folder by default, PostgreSQL by URL. Nothing here makes an
engine or touches the disk at import time; call :func:`~spinecoach.store.db.make_engine`
(for example in the web app's lifespan) and :func:`~spinecoach.store.db.upgrade`.
"""

#: The modules this package offers (imported on use, so importing the package stays
#: cheap).
__all__ = [
    "base",
    "calibration_models",
    "db",
    "export",
    "export_formats",
    "export_snapshot",
    "health",
    "live",
    "live_buffer",
    "models",
    "pgserver",
    "posture",
    "posture_models",
    "program",
    "program_models",
    "program_queries",
    "program_tracking",
    "repository",
]
