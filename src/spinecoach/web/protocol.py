"""The live WebSocket protocol (``/ws/live``), version :data:`PROTOCOL_VERSION`.

Every message is one JSON object with a ``type``. The server sends ``hello``, ``frame``,
``rep``, ``cue``, ``state``, ``annotation``, ``camera``, ``summary`` and ``error``; the
client sends ``start``, ``samples``, ``annotation``, ``pause``, ``resume`` and ``stop``.
Units are the project's: seconds, degrees, m/s², deg/s, µT, hertz.
``docs/live-protocol.md`` describes every message with an example and lists the error
codes.

A message the server cannot use raises :class:`ProtocolError`, which carries the
``error`` message's code, what is wrong and the fix; the connection survives it.

The live session emits face-free events (:mod:`spinecoach.coach.events`); :func:`to_message`
is the one place that turns an event into its wire message.

>>> parse_client_message('{"type": "pause"}')
PauseMessage(type='pause')
>>> try:
...     parse_client_message('{"type": "jump"}')
... except ProtocolError as error:
...     print(error.code)
unknown-type
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from typing import Annotated, Any, Final, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from spinecoach.coach.events import (
    CalibrationCheckEvent,
    CameraEvent,
    CueEvent,
    FrameEvent,
    LiveEvent,
    LiveInputError,
    NoticeEvent,
    PhaseEvent,
    RepEvent,
    StateEvent,
    SummaryEvent,
)
from spinecoach.conventions import (
    EVENT_BREATH_EXHALE,
    EVENT_BREATH_INHALE,
    EVENT_CALIBRATION_FUNCTIONAL,
    EVENT_CALIBRATION_NEUTRAL,
    EVENT_CALIBRATION_REP,
    STANDARD_GRAVITY_MPS2,
)

PROTOCOL_VERSION: Final = 1
"""Raised whenever a message changes in a way an existing client would misread."""

#: Below this median |acc| (m/s²) a batch was sent in g, not m/s² (gravity alone is 9.81).
G_UNIT_MEDIAN_MAX_MPS2: Final = 3.0
#: Most samples one ``samples`` message may carry (keeps each message's work small).
MAX_SAMPLES_PER_MESSAGE: Final = 1000

#: Annotation kinds a client may send.
ANNOTATION_KINDS: Final[tuple[str, ...]] = (
    EVENT_CALIBRATION_NEUTRAL,
    EVENT_CALIBRATION_FUNCTIONAL,
    EVENT_CALIBRATION_REP,
    EVENT_BREATH_INHALE,
    EVENT_BREATH_EXHALE,
)

#: Every error code, with what it means (the docs list the same table).
ERROR_CODES: Final[dict[str, str]] = {
    "invalid-json": "the text is not JSON",
    "message-too-large": "a message longer than 1 MiB (it is not read; the connection stays)",
    "rate-limited": "more messages than 5,000 at once or 1,000 a second (the connection is "
    "closed with code 1008)",
    "invalid-message": "the JSON is not an object with a text 'type'",
    "unknown-type": "the 'type' is not a client message type",
    "invalid-field": "a field is missing, unknown, of the wrong type or out of range",
    "length-mismatch": "the arrays of a samples message do not have one row per time",
    "unit-mismatch": "values are plausible only in another unit (acc in g)",
    "out-of-order": "sample times do not increase",
    "sparse-samples": "a samples batch spread over far more time than its rate_hz allows",
    "no-session": "pause, resume, stop, samples or annotation without a running session",
    "session-running": "start while a session runs",
    "program-stopped": "start while the program is stopped (a red flag or a jump in pain) and "
    "no clinician's clearance is recorded",
    "wrong-source": "samples or annotations sent to a simulated session",
    "unknown-placement": "samples from a placement the start message did not declare",
    "rate-changed": "a placement's rate_hz changed during the session",
    "session-failed": "the session stopped on an unexpected server error",
    "not-saved": "the session (or its latest data) could not be saved to the history",
    "saved-again": "saving works again after not-saved: the data kept in memory is saved",
    "no-device": "a devices session with no device connected and placed",
    "unknown-device": "a devices session naming a device the server does not know",
    "device-not-ready": "a devices session with a device that has sent no data yet",
    "camera-unavailable": "a camera session, but the camera extra, the webcam or the video "
    "file cannot be used",
    "not-coachable": "a camera session of a technique a camera cannot coach (pelvic tilt)",
    "camera-ended": "the camera stopped delivering images (the webcam failed)",
}


class ProtocolError(LiveInputError):
    """A client message the server cannot use: ``code`` (see :data:`ERROR_CODES`),
    ``message`` (what is wrong) and ``fix`` (what to send instead). The live session's
    own :class:`~spinecoach.coach.events.LiveInputError` is sent the same way."""

    def __init__(self, code: str, message: str, fix: str) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown protocol error code {code!r}")
        super().__init__(code, message, fix)

    def as_message(self) -> ErrorMessage:
        return ErrorMessage(code=self.code, message=self.message, fix=self.fix)


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, ser_json_inf_nan="null")


# --- server → client ----------------------------------------------------------------------
class HelloMessage(_Message):
    """Sent once on connect."""

    type: Literal["hello"] = "hello"
    protocol: int = PROTOCOL_VERSION
    server_version: str
    techniques: list[str]


class HoldMessage(_Message):
    """The measured hold now: ``inside`` the band (at or past its start), ``held_s`` (s,
    restarts when the angle leaves the band) of ``target_s`` (s)."""

    inside: bool
    held_s: float
    target_s: float


class GaugeMessage(_Message):
    """What the gauge shows: ``direction × angles[angle]`` (deg) with a plain ``label``;
    ``band_deg`` in the same units and sign (null until the person's range is known);
    ``bands_deg``: every band, ascending (cat-cow: the cow end, the cat end)."""

    angle: str
    label: str
    direction: int
    band_deg: tuple[float, float] | None = None
    bands_deg: list[tuple[float, float]] = Field(default_factory=list)


class TargetsMessage(_Message):
    """The session's dose: reps per set, sets, hold (s; null: the technique has no holds)."""

    reps: int | None
    sets: int | None
    hold_s: float | None


class FrameMessage(_Message):
    """Clinical angles (deg) at session time ``t`` (s); null where not available;
    ``gauge_deg``: the gauge's value; ``hold``: the measured hold (null when none applies)."""

    type: Literal["frame"] = "frame"
    t: float
    angles: dict[str, float | None]
    flags: list[str]
    gauge_deg: float | None = None
    hold: HoldMessage | None = None


class RepMessage(_Message):
    """A completed rep (``Rep.as_dict()``: times in s, angles in deg)."""

    type: Literal["rep"] = "rep"
    rep: dict[str, Any]


class CueMessage(_Message):
    """Something to say or show now, with why."""

    type: Literal["cue"] = "cue"
    t: float
    key: str
    text: str
    reason: str
    #: Unix time (ms) at which the sample that triggered the cue was produced: its due
    #: time in a simulated replay, the arrival of its ``samples`` message from an external
    #: client. Lets a client measure sample → cue latency (bench/latency.py).
    wall_ms: float | None = None


class StateMessage(_Message):
    """Session state; sent when any field changes."""

    type: Literal["state"] = "state"
    calibrated: bool
    position: str
    reps: int
    set: int
    paused: bool
    target_band_deg: tuple[float, float] | None = None
    #: Why the session is paused: ``user`` (pause pressed), ``sensor-silent`` (a sensor
    #: stopped sending) or ``out-of-frame`` (camera: the person is not seen; the latest
    #: ``camera`` message says what to fix); None when running.
    paused_reason: Literal["user", "sensor-silent", "out-of-frame"] | None = None
    #: Sensors that sent nothing for the server's sensor timeout.
    silent_sensors: tuple[str, ...] = ()
    #: The session as saved in the history while it runs (None without a history).
    session_id: int | None = None
    #: The gauge's signal and band (the band, needle, trace and score use it).
    gauge: GaugeMessage | None = None
    #: The dose: reps per set, sets, hold (s; null: no holds).
    targets: TargetsMessage | None = None
    #: What applies: ``hold`` (measured holds), ``breath`` (breath sync, cat-cow).
    measures: list[str] = Field(default_factory=list)


class CameraMessage(_Message):
    """Camera sessions: what the camera sees, sent when it changes and twice a second.

    ``step``: framing, neutral, practice or sets; ``person``: someone is in the picture;
    ``framed``: framed as the technique needs; ``messages``: what to fix, most important
    first; ``view``: the view the technique needs (side/front); ``fps``: frames per
    second processed over the last second; ``source``: the camera (``camera:0``,
    ``video:clip.mp4``).
    """

    type: Literal["camera"] = "camera"
    step: str
    person: bool
    framed: bool
    messages: list[str]
    view: str
    fps: float | None = None
    source: str = ""


class SummaryMessage(_Message):
    """The session's result, at stop or at the end of a simulated session; ``session_id``
    is the saved session in the history (None when the server keeps no history)."""

    type: Literal["summary"] = "summary"
    result: dict[str, Any]
    session_id: int | None = None
    #: Cat-cow: the session's breath sync (``in_phase_share`` 0–1, ``lag_s``); else null.
    breath: dict[str, float | None] | None = None


class PhaseMessage(_Message):
    """A window of the session came due (calibration or breathing pacer phase), s."""

    type: Literal["annotation"] = "annotation"
    kind: str
    start_s: float
    end_s: float


class CalibrationCheckMessage(_Message):
    """The 5-s neutral check of a kept calibration: ``passed`` (sets follow) or not (the
    whole calibration follows); ``message`` for the person; ``calibrated_utc`` of the
    kept calibration; ``reason`` why it failed."""

    type: Literal["calibration-check"] = "calibration-check"
    passed: bool
    message: str
    calibrated_utc: str | None = None
    reason: str = ""


class ErrorMessage(_Message):
    """A message could not be used; the connection stays open."""

    type: Literal["error"] = "error"
    code: str
    message: str
    fix: str


ServerMessage = (
    HelloMessage
    | FrameMessage
    | RepMessage
    | CueMessage
    | StateMessage
    | SummaryMessage
    | PhaseMessage
    | CameraMessage
    | ErrorMessage
    | CalibrationCheckMessage
)


def to_message(event: LiveEvent) -> ServerMessage:
    """The wire message of a live session's event (the one mapping; fields as named).

    >>> to_message(PhaseEvent(kind="breath-inhale", start_s=1.0, end_s=4.0)).type
    'annotation'
    """
    if isinstance(event, FrameEvent):
        hold = event.hold
        return FrameMessage(
            t=event.t,
            angles=dict(event.angles),
            flags=list(event.flags),
            gauge_deg=event.gauge_deg,
            hold=None
            if hold is None
            else HoldMessage(inside=hold.inside, held_s=hold.held_s, target_s=hold.target_s),
        )
    if isinstance(event, RepEvent):
        return RepMessage(rep=dict(event.rep))
    if isinstance(event, CueEvent):
        return CueMessage(
            t=event.t, key=event.key, text=event.text, reason=event.reason, wall_ms=event.wall_ms
        )
    if isinstance(event, StateEvent):
        return StateMessage(
            calibrated=event.calibrated,
            position=event.position,
            reps=event.reps,
            set=event.set,
            paused=event.paused,
            target_band_deg=event.target_band_deg,
            paused_reason=event.paused_reason,
            silent_sensors=event.silent_sensors,
            session_id=event.session_id,
            gauge=_gauge_message(event),
            targets=None
            if event.targets is None
            else TargetsMessage(**dataclasses.asdict(event.targets)),
            measures=list(event.measures),
        )
    if isinstance(event, PhaseEvent):
        return PhaseMessage(kind=event.kind, start_s=event.start_s, end_s=event.end_s)
    if isinstance(event, CameraEvent):
        return CameraMessage(
            step=event.step,
            person=event.person,
            framed=event.framed,
            messages=list(event.messages),
            view=event.view,
            fps=event.fps,
            source=event.source,
        )
    if isinstance(event, SummaryEvent):
        return SummaryMessage(
            result=dict(event.result),
            session_id=event.session_id,
            breath=None if event.breath is None else dict(event.breath),
        )
    if isinstance(event, NoticeEvent):
        return ErrorMessage(code=event.code, message=event.message, fix=event.fix)
    if isinstance(event, CalibrationCheckEvent):
        return CalibrationCheckMessage(
            passed=event.passed,
            message=event.message,
            calibrated_utc=event.calibrated_utc,
            reason=event.reason,
        )
    raise TypeError(f"not a live event: {event!r}")


def _gauge_message(event: StateEvent) -> GaugeMessage | None:
    gauge = event.gauge
    if gauge is None:
        return None
    return GaugeMessage(
        angle=gauge.angle,
        label=gauge.label,
        direction=gauge.direction,
        band_deg=gauge.band_deg,
        bands_deg=list(gauge.bands_deg),
    )


# --- client → server ----------------------------------------------------------------------
class _ClientMessage(_Message):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class DoseIn(BaseModel):
    """A prescribed dose for a ``start``: reps per set, sets, the hold of the working
    movement (s; null: the technique's own) and its tempo (s; null: the technique's own),
    as ``GET /api/program/today`` gives it in each slot's ``start``."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    reps: int = Field(ge=1, le=50)
    sets: int = Field(ge=1, le=10)
    hold_s: float | None = Field(default=None, ge=0.0, le=60.0)
    tempo_s: float | None = Field(default=None, ge=0.0, le=30.0)


class StartMessage(_ClientMessage):
    """Start a live session of ``technique``; ``dose`` (optional) is the prescribed reps,
    sets, hold and tempo the session uses instead of the technique's own, ``slot`` the
    program's daily slot it was started for (``morning``, ``main``, ``deskbreak``; null:
    a free choice); both are kept with the stored session."""

    type: Literal["start"]
    technique: str
    source: Literal["sim", "external", "devices", "camera"] | None = None
    #: ``devices`` sessions: the device id worn as each sensor (default: the placements
    #: the person gave the devices in the sensor check, ``GET /api/devices``).
    devices: dict[Literal["lower", "upper"], Annotated[str, Field(max_length=200)]] | None = None
    seed: int = Field(default=0, ge=0, le=2**32 - 1)
    profile: str = "typical"
    reps: int | None = Field(default=None, ge=1, le=50)
    placements: tuple[Literal["lower", "upper"], ...] = Field(
        default=("lower", "upper"), min_length=1, max_length=2
    )
    calibration: Literal["announced", "auto"] = "announced"
    #: The person put the sensors on afresh (or moved them): calibrate with the whole
    #: protocol even when a kept calibration would pass its 5-s check.
    recalibrate: bool = False
    pain_before_mm: float | None = Field(default=None, ge=0.0, le=100.0)
    #: Simulator only: the simulated sensors go silent for ``[start_s, duration_s]`` of
    #: session time, to rehearse a sensor drop-out.
    sim_outage_s: tuple[float, float] | None = None
    dose: DoseIn | None = None
    slot: Literal["morning", "main", "deskbreak"] | None = None

    @model_validator(mode="after")
    def _outage_in_range(self) -> StartMessage:
        if self.sim_outage_s is not None:
            start, duration = self.sim_outage_s
            if not (0.0 <= start <= 3600.0 and 0.0 < duration <= 600.0):
                raise ValueError(
                    "sim_outage_s is [start_s, duration_s] with start_s from 0 to 3600 and "
                    "duration_s above 0 and at most 600"
                )
        return self


Vector3 = tuple[float, float, float]


class SamplesMessage(_ClientMessage):
    """A batch of one sensor's samples, in time order, in project units."""

    type: Literal["samples"]
    placement: Literal["lower", "upper"]
    rate_hz: float = Field(gt=0.0, le=2000.0)
    t: list[float] = Field(min_length=1, max_length=MAX_SAMPLES_PER_MESSAGE)
    acc_mps2: list[Vector3]
    gyr_dps: list[Vector3]
    mag_ut: list[Vector3] | None = None


class AnnotationMessage(_ClientMessage):
    """A window the coach or the client marked (calibration, breathing pacer phase)."""

    type: Literal["annotation"]
    kind: Literal[
        "calibration-neutral",
        "calibration-functional",
        "calibration-rep",
        "breath-inhale",
        "breath-exhale",
    ]
    start_s: float
    end_s: float

    @model_validator(mode="after")
    def _ordered(self) -> AnnotationMessage:
        if self.end_s < self.start_s:
            raise ValueError(f"end_s ({self.end_s}) is before start_s ({self.start_s})")
        return self


class PauseMessage(_ClientMessage):
    type: Literal["pause"]


class ResumeMessage(_ClientMessage):
    type: Literal["resume"]


class StopMessage(_ClientMessage):
    type: Literal["stop"]


ClientMessage = Annotated[
    StartMessage | SamplesMessage | AnnotationMessage | PauseMessage | ResumeMessage | StopMessage,
    Field(discriminator="type"),
]
CLIENT_TYPES: Final[tuple[str, ...]] = (
    "start",
    "samples",
    "annotation",
    "pause",
    "resume",
    "stop",
)

_CLIENT_ADAPTER: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)


def _field_error(error: ValidationError, kind: str) -> ProtocolError:
    first = error.errors(include_url=False)[0]
    where = ".".join(str(part) for part in first["loc"][1:])
    if first["type"] == "extra_forbidden":
        return ProtocolError(
            "invalid-field",
            f"{kind} has an unknown field {where!r}",
            f"remove {where!r}; docs/live-protocol.md lists the fields of {kind}",
        )
    if not where:  # a rule across fields
        return ProtocolError(
            "invalid-field",
            f"{kind}: {first['msg']}",
            f"correct the {kind} message as docs/live-protocol.md describes",
        )
    found = "nothing" if first["type"] == "missing" else json.dumps(first.get("input"))[:60]
    return ProtocolError(
        "invalid-field",
        f"{kind} field {where!r}: {first['msg']} (found {found})",
        f"send {where!r} as docs/live-protocol.md describes for the {kind} message",
    )


def parse_client_message(text: str | bytes) -> ClientMessage:
    """One client message from its JSON text, checked; raises :class:`ProtocolError`."""
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as error:
        raise ProtocolError(
            "invalid-json",
            f"the message is not JSON ({error})",
            'send one JSON object per WebSocket text message, e.g. {"type": "pause"}',
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise ProtocolError(
            "invalid-message",
            "the message is not a JSON object with a text 'type' field",
            'send an object such as {"type": "start", "technique": "pelvic-tilt"}',
        )
    kind = data["type"]
    if kind not in CLIENT_TYPES:
        raise ProtocolError(
            "unknown-type",
            f"unknown message type {kind[:40]!r}",
            "use one of " + ", ".join(CLIENT_TYPES),
        )
    try:
        message = _CLIENT_ADAPTER.validate_python(data)
    except ValidationError as error:
        raise _field_error(error, kind) from None
    if isinstance(message, SamplesMessage):
        check_samples(message)
    return message


def check_samples(message: SamplesMessage) -> None:
    """Array lengths and units of a samples message; raises :class:`ProtocolError`."""
    n = len(message.t)
    arrays = {"acc_mps2": message.acc_mps2, "gyr_dps": message.gyr_dps}
    if message.mag_ut is not None:
        arrays["mag_ut"] = message.mag_ut
    for name, rows in arrays.items():
        if len(rows) != n:
            raise ProtocolError(
                "length-mismatch",
                f"{name} has {len(rows)} rows but t has {n} times",
                "send one [x, y, z] row per time in every array",
            )
    if any(b <= a for a, b in itertools.pairwise(message.t)):
        raise ProtocolError(
            "out-of-order",
            f"the times of this {message.placement} batch do not increase",
            "send each sensor's samples in time order, every time after the previous one",
        )
    magnitude = float(np.median(np.linalg.norm(np.asarray(message.acc_mps2), axis=1)))
    if magnitude < G_UNIT_MEDIAN_MAX_MPS2:
        raise ProtocolError(
            "unit-mismatch",
            f"acc_mps2 of the {message.placement} sensor has a median magnitude of "
            f"{magnitude:.2f}, but gravity alone reads 9.81 m/s² (this looks like g)",
            f"send acceleration in m/s²: multiply values in g by {STANDARD_GRAVITY_MPS2}",
        )
