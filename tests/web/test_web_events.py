"""One mapping from the coach's events to the wire messages (web.protocol.to_message):
every event kind has its message, with the same fields and values, and the session's
input errors go out as the protocol's error message."""

from __future__ import annotations

import dataclasses
import typing

import pytest

from spinecoach.coach import events
from spinecoach.web.protocol import ProtocolError, to_message

EXAMPLES: list[events.LiveEvent] = [
    events.FrameEvent(
        t=1.5,
        angles={"lumbar_flexion_deg": 3.25, "pelvic_tilt_deg": None},
        flags=("gap",),
        gauge_deg=3.25,
        hold=events.HoldStatus(inside=True, held_s=1.25, target_s=3.0),
    ),
    events.RepEvent(rep={"index": 1, "set": 1, "range_deg": 12.5}),
    events.CueEvent(t=2.0, key="hold", text="Hold it", reason="top", wall_ms=1234.5),
    events.StateEvent(
        calibrated=True,
        position="supine",
        reps=3,
        set=1,
        paused=True,
        target_band_deg=(4.0, 8.0),
        paused_reason="sensor-silent",
        silent_sensors=("upper",),
        session_id=7,
        gauge=events.GaugeInfo(
            angle="lumbar_flexion_deg",
            label="Low back",
            direction=1,
            band_deg=(11.2, 16.0),
            bands_deg=((-15.0, -10.5), (11.2, 16.0)),
        ),
        targets=events.Targets(reps=8, sets=1, hold_s=None),
        measures=("breath",),
    ),
    events.PhaseEvent(kind="breath-inhale", start_s=3.0, end_s=6.0),
    events.CameraEvent(
        step="sets", person=True, framed=False, messages=("Turn sideways.",), view="side", fps=29.0
    ),
    events.SummaryEvent(
        result={"reps": []}, session_id=None, breath={"in_phase_share": 0.9, "lag_s": None}
    ),
    events.NoticeEvent(code="not-saved", message="not saved", fix="check the database"),
    events.CalibrationCheckEvent(
        passed=False,
        message="The sensors seem to have moved: let's calibrate again.",
        calibrated_utc="2026-12-01T08:00:00+00:00",
        reason="the upper sensor tilted 12 degrees off its kept axis",
    ),
]
WIRE_TYPES = {
    events.FrameEvent: "frame",
    events.RepEvent: "rep",
    events.CueEvent: "cue",
    events.StateEvent: "state",
    events.PhaseEvent: "annotation",
    events.CameraEvent: "camera",
    events.SummaryEvent: "summary",
    events.NoticeEvent: "error",
    events.CalibrationCheckEvent: "calibration-check",
}


def _plain(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def test_every_event_kind_has_an_example() -> None:
    assert {type(e) for e in EXAMPLES} == set(typing.get_args(events.LiveEvent)) == set(WIRE_TYPES)


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: type(e).__name__)
def test_each_event_maps_to_its_message_field_by_field(event: events.LiveEvent) -> None:
    message = to_message(event).model_dump(mode="json")
    assert message.pop("type") == WIRE_TYPES[type(event)]
    assert message == _plain(_fields(event))


def _fields(event: events.LiveEvent) -> dict[str, object]:
    return {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}


def test_frames_and_states_without_the_gauge_send_nulls() -> None:
    """A face-free event without the gauge (a camera frame before calibration) still
    maps: the new fields are null or empty on the wire."""
    frame = to_message(events.FrameEvent(t=0.0, angles={}, flags=())).model_dump(mode="json")
    assert frame["gauge_deg"] is None and frame["hold"] is None
    state = to_message(
        events.StateEvent(calibrated=False, position="unknown", reps=0, set=0, paused=False)
    ).model_dump(mode="json")
    assert state["gauge"] is None and state["targets"] is None and state["measures"] == []


def test_a_session_input_error_is_sent_as_the_protocols_error() -> None:
    error = events.LiveInputError(
        "out-of-order", "the lower batch starts too early", "send in order"
    )
    wire = to_message(error.as_notice()).model_dump()
    assert wire == ProtocolError("out-of-order", error.message, error.fix).as_message().model_dump()
