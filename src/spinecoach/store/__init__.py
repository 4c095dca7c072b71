"""Storage: SQLAlchemy models, Alembic migrations and small service functions.

SQLite in the user's data folder by default, PostgreSQL by URL. Nothing here makes an
engine or touches the disk at import time; call :func:`~spinecoach.store.db.make_engine`
(for example in the web app's lifespan) and :func:`~spinecoach.store.db.upgrade`.
"""

#: The modules this package offers (imported on use, so importing the package stays
#: cheap).
__all__ = [
    "db",
    "export",
    "live",
    "models",
    "pgserver",
    "posture",
    "program",
    "repository",
]
