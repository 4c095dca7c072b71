"""The program report read from a database: the person's progress data (the program
engine decides on the stored check-ins, nothing is stored) handed to the pure renderer
:func:`spinecoach.program.report.write_report_file`."""

from __future__ import annotations

from datetime import tzinfo
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from spinecoach.errors import ConfigurationError
from spinecoach.program.report import ReportError, write_report_file
from spinecoach.services import program as service
from spinecoach.store.db import make_engine
from spinecoach.store.repository import local_person


def _local_person(db: Session) -> int:
    person = local_person(db)
    if person is None:
        raise ReportError(
            "no local person in this database: complete onboarding first "
            "(`spinecoach onboard` or the web page /onboarding), or give --person ID"
        )
    return person.id


def report_data(
    url: str, *, person_id: int | None = None, tz: tzinfo | None = None
) -> dict[str, Any]:
    """The progress data of the person's program in the database at ``url`` (read only)."""
    engine = make_engine(url)
    try:
        with Session(engine) as db:
            pid = _local_person(db) if person_id is None else person_id
            try:
                state = service.update_program(db, pid, tz=tz, store=False)
            except ConfigurationError as error:
                raise ReportError(f"no report: {error}") from None
            return service.progress_data(db, state, tz=tz)
    except SQLAlchemyError as error:
        raise ReportError(
            f"cannot read the program from the database ({type(error).__name__}); "
            "check --database, and that the server or `spinecoach onboard` has used it"
        ) from None
    finally:
        engine.dispose()


def write_report(
    url: str,
    out: str | Path,
    *,
    person_id: int | None = None,
    tz: tzinfo | None = None,
) -> Path:
    """Write the report of the person's program (default: the local person) in the
    database at ``url`` to ``out`` (``.html`` or ``.pdf``); returns the path."""
    from spinecoach.program.report import report_format

    report_format(out)  # a wrong file name is refused before the database is read
    return write_report_file(report_data(url, person_id=person_id, tz=tz), out)
