"""Calibrations kept between sessions (issue 15 item 6: calibrate once, not every
session): save one after a full calibration, load the one a new session can check and
reuse.

The key is the person, the source kind (``sim``, ``devices``, ``external``), the sensor
placements and the device ids where known (:class:`CalibrationKey`). A key with device
ids finds only calibrations made with the same devices; without them (the simulator, a
client's own samples) it finds the latest of that person, source and placements — the
5-s neutral check then tells whether the sensors still sit as they did.

Every call is synchronous database work (a face runs it in a worker thread).

>>> import tempfile
>>> from spinecoach.store import db
>>> from spinecoach.store.repository import create_person
>>> from sqlalchemy.orm import Session
>>> with tempfile.TemporaryDirectory() as folder:
...     url = f"sqlite:///{folder}/demo.sqlite3"
...     db.upgrade(url)
...     engine = db.make_engine(url)
...     with Session(engine) as s:
...         person = create_person(s, "demo").id
...     found = load_calibration(engine, person, CalibrationKey("sim", ("lower", "upper")))
...     engine.dispose()
>>> found is None
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from spinecoach.conventions import PLACEMENTS
from spinecoach.errors import ConfigurationError
from spinecoach.motion.calibration_store import PersonalCalibration
from spinecoach.store.models import KeptCalibration


@dataclass(frozen=True)
class CalibrationKey:
    """What a kept calibration is looked up by: ``source`` kind, ``placements`` and the
    device id worn at each placement where known."""

    source: str
    placements: tuple[str, ...]
    devices: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = [p for p in self.placements if p not in PLACEMENTS]
        if unknown or not self.placements:
            raise ConfigurationError(
                f"calibration key: placements must name lower and/or upper, got {self.placements!r}"
            )
        if not self.source:
            raise ConfigurationError("calibration key: source is empty; say sim or devices")

    @property
    def placements_text(self) -> str:
        return ",".join(p for p in PLACEMENTS if p in self.placements)

    @property
    def device_key(self) -> str:
        """``placement=device`` pairs in placement order ("" when no device is known)."""
        known = [(p, d) for p, d in sorted(self.devices.items()) if d and d != "unknown"]
        ordered = sorted(
            known, key=lambda pd: PLACEMENTS.index(pd[0]) if pd[0] in PLACEMENTS else 9
        )
        return ";".join(f"{p}={d}" for p, d in ordered)


def save_calibration(
    engine: Engine,
    person_id: int,
    key: CalibrationKey,
    calibration: PersonalCalibration,
    *,
    session_id: int | None = None,
) -> int:
    """Keep ``calibration`` for ``person_id`` under ``key`` (from ``session_id``); its
    row id. Raises :class:`ConfigurationError` when its sensors are not the key's."""
    if calibration.placements != tuple(p for p in PLACEMENTS if p in key.placements):
        raise ConfigurationError(
            f"the calibration covers {', '.join(calibration.placements)} but the key names "
            f"{key.placements_text}; keep it under the sensors it was made with"
        )
    with Session(engine) as db:
        row = KeptCalibration(
            person_id=person_id,
            source=key.source,
            placements=key.placements_text,
            device_key=key.device_key,
            position=calibration.position,
            calibration=calibration.to_json(),
            session_id=session_id,
        )
        db.add(row)
        db.commit()
        return row.id


def load_calibration(
    engine: Engine, person_id: int, key: CalibrationKey
) -> PersonalCalibration | None:
    """The latest calibration kept for ``person_id`` under ``key`` (with its
    ``calibrated_utc``), or None. A kept row that cannot be read any more is skipped
    (the session then calibrates fully)."""
    with Session(engine) as db:
        rows = db.scalars(
            select(KeptCalibration)
            .where(
                KeptCalibration.person_id == person_id,
                KeptCalibration.source == key.source,
                KeptCalibration.placements == key.placements_text,
                KeptCalibration.device_key == key.device_key,
            )
            .order_by(KeptCalibration.created_utc.desc(), KeptCalibration.id.desc())
            .limit(5)
        ).all()
        for row in rows:
            try:
                return PersonalCalibration.from_json(
                    row.calibration, calibrated_utc=row.created_utc.isoformat()
                )
            except ConfigurationError:
                continue
    return None


__all__ = ["CalibrationKey", "load_calibration", "save_calibration"]
