"""Sensor Logger's HTTP push: parse_push refuses broken messages naming the field, and
PushJoiner turns the app's separate streams back into samples (acceleration with gravity
in m/s², angular rate in deg/s) at the acceleration's time stamps.

The test signal is analytic: a slow rotation about x (gyroscope) with the acceleration
following gravity, so every stream has distinct values at every time and a wrong sign,
unit or time shows.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest

from spinecoach.errors import InputFormatError
from spinecoach.sources.sensor_logger_push import (
    MAX_PENDING,
    MAX_PUSH_BYTES,
    STANDARD_GRAVITY,
    PushJoiner,
    parse_push,
    push_messages,
)

RATE_HZ = 100.0
START_UNIX_S = 1_700_000_000.0


def _signal(duration_s: float = 2.0, rate_hz: float = RATE_HZ) -> tuple[np.ndarray, ...]:
    """Time (s), acceleration with gravity (m/s²) and angular rate (deg/s)."""
    t = np.arange(round(duration_s * rate_hz)) / rate_hz
    angle = np.radians(20.0) * np.sin(2 * np.pi * 0.5 * t)
    acc = np.column_stack(
        [0.3 * np.sin(7 * t), 9.81 * np.sin(angle), 9.81 * np.cos(angle)]
    )  # +9.81 up at rest
    gyr = np.column_stack([np.degrees(np.gradient(angle, t)), 2.0 * np.cos(3 * t), -1.5 + 0.1 * t])
    return t, acc, gyr


def _join(joiner: PushJoiner, messages: list[dict[str, Any]]) -> tuple[np.ndarray, ...]:
    """Every sample the joiner emits for ``messages``, concatenated."""
    parts = [joiner.add(parse_push(json.dumps(m))) for m in messages]
    return (
        np.concatenate([p.time_s for p in parts]),
        np.concatenate([p.acc_mps2 for p in parts]),
        np.concatenate([p.gyr_dps for p in parts]),
    )


def _ns(t: float) -> int:
    return round((START_UNIX_S + t) * 1e9)


def _item(name: str, t: float, xyz: np.ndarray | list[float]) -> dict[str, Any]:
    return {"name": name, "time": _ns(t), "values": dict(zip("xyz", map(float, xyz), strict=True))}


def _message(items: list[dict[str, Any]], *, k: int = 0, session: str = "s1") -> dict[str, Any]:
    return {"messageId": k, "sessionId": session, "deviceId": "phone-1", "payload": items}


# -- parse_push --------------------------------------------------------------------------------


def test_parse_a_valid_message() -> None:
    body = _message(
        [
            _item("gyroscope", 0.01, [0.1, 0.2, 0.3]),
            _item("Accelerometer", 0.00, [1.0, 2.0, 3.0]),  # names are not case-sensitive
            _item("gyroscope", 0.00, [0.4, 0.5, 0.6]),  # out of time order in the payload
        ],
        k=7,
    )
    message = parse_push(json.dumps(body).encode())
    assert (message.message_id, message.session_id, message.device_id) == (7, "s1", "phone-1")
    assert set(message.streams) == {"gyroscope", "accelerometer"}
    t, values = message.streams["gyroscope"]
    np.testing.assert_allclose(t, [START_UNIX_S, START_UNIX_S + 0.01], atol=1e-6)
    np.testing.assert_array_equal(values, [[0.4, 0.5, 0.6], [0.1, 0.2, 0.3]])
    assert message.streams["accelerometer"][1].tolist() == [[1.0, 2.0, 3.0]]
    assert message.ignored == 0
    # The same message as text and as an already parsed object.
    assert parse_push(json.dumps(body)).streams.keys() == message.streams.keys()
    assert parse_push(body).message_id == 7


def test_parse_without_message_id_or_session() -> None:
    message = parse_push(b'{"deviceId": "d", "payload": []}')
    assert message.message_id is None and message.session_id == "" and not message.streams


def test_unknown_streams_are_ignored_and_counted() -> None:
    body = _message(
        [
            {
                "name": "location",
                "time": _ns(0.0),
                "values": {"latitude": 52.1, "longitude": 4.3, "altitude": 1.0},
            },
            {"name": "battery", "time": _ns(0.0), "values": {"batteryLevel": 0.8}},
            {
                "name": "orientation",
                "time": _ns(0.0),
                "values": {"qx": 0.0, "qy": 0.0, "qz": 0.0, "qw": 1.0},
            },
            _item("gyroscope", 0.0, [0.0, 0.0, 0.0]),
        ]
    )
    message = parse_push(json.dumps(body))
    assert message.ignored == 3
    assert set(message.streams) == {"gyroscope"}


def _with_item(**changes: Any) -> dict[str, Any]:
    item = _item("accelerometer", 0.0, [1.0, 2.0, 3.0])
    item.update(changes)
    return _message([_item("gyroscope", 0.0, [0.0, 0.0, 0.0]), item])


MALFORMED: list[tuple[str, bytes | str | dict[str, Any], str | None, str]] = [
    # (case, body, the column named, words of the message)
    ("invalid JSON", b'{"deviceId": "d", "payload": [', None, "invalid JSON"),
    ("not UTF-8", b'{"deviceId": "\xff\xfe"}', None, "invalid JSON"),
    ("not an object", b"[1, 2, 3]", None, "a JSON object, found 'list'"),
    ("payload missing", {"deviceId": "d"}, "payload", "a 'payload' list"),
    ("payload not a list", {"deviceId": "d", "payload": {"x": 1}}, "payload", "'payload' list"),
    ("deviceId missing", {"payload": []}, "deviceId", "a 'deviceId' text"),
    ("deviceId empty", {"deviceId": "", "payload": []}, "deviceId", "'deviceId'"),
    ("sessionId a number", {"deviceId": "d", "sessionId": 3, "payload": []}, "sessionId", "text"),
    ("bool messageId", {"deviceId": "d", "messageId": True, "payload": []}, "messageId", "True"),
    ("float messageId", {"deviceId": "d", "messageId": 1.5, "payload": []}, "messageId", "1.5"),
    ("item not an object", _message([[1, 2]]), "payload[0]", "name, time and values"),
    ("name missing", _message([{"time": _ns(0), "values": {}}]), "payload[0].name", "'name'"),
    ("time missing", _with_item(time=None), "payload[1].time", "epoch nanoseconds"),
    ("time a text", _with_item(time="1700000000000000000"), "payload[1].time", "nanoseconds"),
    ("time a bool", _with_item(time=True), "payload[1].time", "nanoseconds"),
    ("time in seconds", _with_item(time=1.7e9), "payload[1].time", "about 1.7e18"),
    ("time in ms", _with_item(time=1.7e12), "payload[1].time", "about 1.7e18"),
    ("values missing", _with_item(values=None), "payload[1].values", "x, y and z"),
    ("axis missing", _with_item(values={"x": 1.0, "y": 2.0}), "payload[1].values.z", "a number"),
    ("axis a text", _with_item(values={"x": "1", "y": 2, "z": 3}), "payload[1].values.x", "'1'"),
    ("axis a bool", _with_item(values={"x": 1, "y": False, "z": 3}), "payload[1].values.y", "num"),
]


@pytest.mark.parametrize(
    ("case", "body", "column", "words"), MALFORMED, ids=[c[0] for c in MALFORMED]
)
def test_a_malformed_message_names_the_field(
    case: str, body: bytes | str | dict[str, Any], column: str | None, words: str
) -> None:
    raw = body if isinstance(body, bytes | str) else json.dumps(body)
    with pytest.raises(InputFormatError) as caught:
        parse_push(raw)
    error = caught.value
    assert error.column == column
    text = str(error)
    assert text.startswith("Sensor Logger push")
    if column is not None:
        assert f"column {column!r}" in text
    assert words in text, text
    assert error.fix and "payload: [{name, time, values: {x, y, z}}]" in error.fix


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused(literal: str) -> None:
    # JSON has no NaN, but Python's json.loads accepts these literals: they must not pass.
    good = json.dumps(_with_item(values={"x": 1.0, "y": 2.0, "z": 3.0}))
    body = good.replace('"y": 2.0', f'"y": {literal}')
    assert not math.isfinite(json.loads(body)["payload"][1]["values"]["y"])  # Python reads it
    with pytest.raises(InputFormatError, match=r"column 'payload\[1\]\.values\.y': a finite"):
        parse_push(body)


def test_a_nan_time_is_refused() -> None:
    body = json.dumps(_with_item(time=1)).replace('"time": 1,', '"time": NaN,')
    with pytest.raises(InputFormatError, match=r"column 'payload\[1\]\.time'"):
        parse_push(body)


def test_an_oversized_body_is_refused_before_parsing() -> None:
    body = b" " * (MAX_PUSH_BYTES + 1)  # would be valid whitespace... if it were parsed
    with pytest.raises(InputFormatError, match=f"at most {MAX_PUSH_BYTES} bytes"):
        parse_push(body)


def test_a_message_of_the_largest_size_is_parsed() -> None:
    body = json.dumps(_message([])).encode()
    padded = body + b" " * (MAX_PUSH_BYTES - len(body))
    assert len(padded) == MAX_PUSH_BYTES
    assert parse_push(padded).device_id == "phone-1"


def test_a_broken_message_is_refused_whole() -> None:
    """One bad item anywhere: nothing of the message is used (the joiner sees nothing)."""
    t, acc, gyr = _signal(0.4)
    messages = push_messages(t, acc, gyr, start_unix_s=START_UNIX_S, batch_s=0.2)
    broken = json.loads(json.dumps(messages[0]))
    broken["payload"][-1]["values"].pop("x")
    joiner = PushJoiner()
    with pytest.raises(InputFormatError):
        joiner.add(parse_push(json.dumps(broken)))
    assert joiner.missing() is None  # no stream at all was kept
    assert joiner.messages == 0


# -- PushJoiner: round trips -------------------------------------------------------------------


@pytest.mark.parametrize("platform", ["android", "ios"])
@pytest.mark.parametrize("gravity_split", [True, False])
def test_round_trip_through_push_messages(platform: str, gravity_split: bool) -> None:
    t, acc, gyr = _signal(3.0)
    messages = push_messages(
        t,
        acc,
        gyr,
        start_unix_s=START_UNIX_S,
        batch_s=0.2,
        platform=platform,  # type: ignore[arg-type]
        gravity_split=gravity_split,
    )
    names = {item["name"] for item in messages[0]["payload"]}
    expected_names = {"accelerometer", "gravity"} if gravity_split else {"totalacceleration"}
    assert names == expected_names | {"gyroscope"}
    joiner = PushJoiner(platform)  # type: ignore[arg-type]
    time_s, acc_mps2, gyr_dps = _join(joiner, messages)
    assert joiner.messages == len(messages)
    np.testing.assert_allclose(time_s - START_UNIX_S, t, atol=1e-6)
    np.testing.assert_allclose(acc_mps2, acc, atol=1e-9)
    np.testing.assert_allclose(gyr_dps, gyr, atol=1e-9)


def test_ios_messages_read_as_android_have_the_wrong_sign() -> None:
    # The platform is what makes the difference: without it an iPhone hangs upside down.
    t, acc, gyr = _signal(1.0)
    messages = push_messages(t, acc, gyr, start_unix_s=START_UNIX_S, platform="ios")
    _, acc_mps2, gyr_dps = _join(PushJoiner("android"), messages)
    np.testing.assert_allclose(acc_mps2, -acc, atol=1e-9)
    np.testing.assert_allclose(gyr_dps, gyr, atol=1e-9)  # rotation rate is not flipped


def test_ios_uncalibrated_acceleration_is_in_g_with_the_ios_sign() -> None:
    t, acc, gyr = _signal(1.0)
    # As an iPhone sends it: raw accelerometer in g, pointing down at rest.
    raw_g = -acc / STANDARD_GRAVITY
    items = [
        item
        for i, ti in enumerate(t)
        for item in (
            _item("accelerometeruncalibrated", ti, raw_g[i]),
            _item("gyroscope", ti, np.radians(gyr[i])),
        )
    ]
    joiner = PushJoiner("ios")
    joined = joiner.add(parse_push(json.dumps(_message(items))))
    np.testing.assert_allclose(joined.acc_mps2, acc, atol=1e-9)
    np.testing.assert_allclose(joined.gyr_dps, gyr, atol=1e-9)
    # On Android the uncalibrated stream is already m/s² and up: used as it is.
    android = PushJoiner("android")
    items_android = [
        item
        for i, ti in enumerate(t)
        for item in (
            _item("accelerometeruncalibrated", ti, acc[i]),
            _item("gyroscope", ti, np.radians(gyr[i])),
        )
    ]
    joined = android.add(parse_push(json.dumps(_message(items_android))))
    np.testing.assert_allclose(joined.acc_mps2, acc, atol=1e-9)


def test_total_acceleration_is_preferred_over_the_other_streams() -> None:
    t, acc, gyr = _signal(0.5)
    wrong = np.full(3, 100.0)
    items = [
        item
        for i, ti in enumerate(t)
        for item in (
            _item("totalacceleration", ti, acc[i]),
            _item("accelerometer", ti, wrong),
            _item("gravity", ti, wrong),
            _item("accelerometeruncalibrated", ti, wrong),
            _item("gyroscope", ti, np.radians(gyr[i])),
        )
    ]
    joined = PushJoiner().add(parse_push(json.dumps(_message(items))))
    np.testing.assert_allclose(joined.acc_mps2, acc, atol=1e-9)


def test_gravity_on_its_own_time_stamps_is_interpolated_and_added() -> None:
    t, acc, gyr = _signal(1.0)
    linear = acc - np.array([0.0, 0.0, 9.81])
    # Gravity at 50 Hz, 3 ms after the accelerometer's ticks, slowly turning.
    tg = 0.003 + 0.02 * np.arange(51)
    gravity = np.column_stack([0.2 * np.sin(tg), 0.5 * tg, 9.81 - 0.1 * tg])
    items = [_item("accelerometer", ti, linear[i]) for i, ti in enumerate(t)]
    items += [_item("gyroscope", ti, np.radians(gyr[i])) for i, ti in enumerate(t)]
    items += [_item("gravity", ti, gravity[i]) for i, ti in enumerate(tg)]
    joined = PushJoiner().add(parse_push(json.dumps(_message(items))))
    # Only the accelerometer's stamps that gravity brackets: none before its first sample.
    inside = (t >= tg[0] - 1e-9) & (t <= tg[-1] + 1e-9)
    np.testing.assert_allclose(joined.time_s - START_UNIX_S, t[inside], atol=1e-6)
    expected = linear[inside] + np.column_stack(
        [np.interp(t[inside], tg, gravity[:, k]) for k in range(3)]
    )
    np.testing.assert_allclose(joined.acc_mps2, expected, atol=1e-6)
    assert not inside[0]  # the first accelerometer sample lies before any gravity


def test_samples_at_the_edge_wait_for_the_next_message() -> None:
    """No extrapolation: an accelerometer sample after the last gyroscope sample is only
    emitted when the next message brings a gyroscope sample after it."""
    t, acc, gyr = _signal(0.4)
    tg = t + 0.005  # the gyroscope ticks 5 ms after the accelerometer
    gyr_at_tg = gyr  # its own values at its own times
    first = [_item("totalacceleration", ti, acc[i]) for i, ti in enumerate(t[:20])]
    first += [_item("gyroscope", ti, np.radians(gyr_at_tg[i])) for i, ti in enumerate(tg[:20])]
    second = [_item("totalacceleration", ti, acc[i]) for i, ti in enumerate(t[20:], 20)]
    second += [_item("gyroscope", ti, np.radians(gyr_at_tg[i])) for i, ti in enumerate(tg[20:], 20)]
    joiner = PushJoiner()
    out_1 = joiner.add(parse_push(json.dumps(_message(first, k=0))))
    # Sample 0 lies before the first gyroscope sample (never emitted); 1..19 are bracketed.
    np.testing.assert_allclose(out_1.time_s - START_UNIX_S, t[1:20], atol=1e-6)
    out_2 = joiner.add(parse_push(json.dumps(_message(second, k=1))))
    np.testing.assert_allclose(out_2.time_s - START_UNIX_S, t[20:40], atol=1e-6)
    # Bracketed samples get the gyroscope interpolated linearly between its ticks.
    times = np.concatenate([out_1.time_s, out_2.time_s]) - START_UNIX_S
    gyr_out = np.concatenate([out_1.gyr_dps, out_2.gyr_dps])
    expected = np.column_stack([np.interp(times, tg, gyr[:, k]) for k in range(3)])
    # (1e-3 deg/s: epoch nanoseconds keep the time to ~0.2 µs; the values differ between
    # two gyroscope ticks by ~1 deg/s, so taking the nearest tick would fail.)
    np.testing.assert_allclose(gyr_out, expected, atol=1e-3)
    nearest = gyr[np.clip(np.searchsorted(tg, times), 0, len(tg) - 1)]
    assert np.abs(gyr_out - nearest).max() > 0.1


def test_messages_that_arrive_out_of_order_never_go_backwards() -> None:
    t, acc, gyr = _signal(2.0)
    messages = push_messages(t, acc, gyr, start_unix_s=START_UNIX_S, batch_s=0.2)
    order = [0, 2, 1, *range(3, len(messages))]  # message 2 overtook message 1
    joiner = PushJoiner()
    time_s, acc_mps2, gyr_dps = _join(joiner, [messages[k] for k in order])
    rel = time_s - START_UNIX_S
    assert np.all(np.diff(rel) > 0)
    # Every emitted sample is the input's sample at that time (nothing mixed up).
    index = np.rint(rel * RATE_HZ).astype(int)
    np.testing.assert_allclose(rel, t[index], atol=1e-6)
    np.testing.assert_allclose(acc_mps2, acc[index], atol=1e-9)
    np.testing.assert_allclose(gyr_dps, gyr[index], atol=1e-9)
    # The only samples not emitted are those of the overtaken message (older than what
    # was already emitted when it came).
    overtaken = {
        round((item["time"] / 1e9 - START_UNIX_S) * RATE_HZ) for item in messages[1]["payload"]
    }
    assert set(range(len(t))) - set(index.tolist()) == overtaken


def test_a_retried_message_gives_no_duplicate_samples() -> None:
    t, acc, gyr = _signal(1.0)
    messages = push_messages(t, acc, gyr, start_unix_s=START_UNIX_S, batch_s=0.2)
    retried = [messages[0], messages[1], messages[1], messages[2], messages[0], *messages[3:]]
    time_s, acc_mps2, _ = _join(PushJoiner(), retried)
    np.testing.assert_allclose(time_s - START_UNIX_S, t, atol=1e-6)
    np.testing.assert_allclose(acc_mps2, acc, atol=1e-9)


def test_a_retried_message_that_arrives_before_its_samples_were_emitted() -> None:
    """The same gyroscope samples twice while the accelerometer waits: kept once, so the
    interpolation is not disturbed."""
    t, acc, gyr = _signal(0.3)
    acc_items = [_item("totalacceleration", ti, acc[i]) for i, ti in enumerate(t)]
    gyr_items = [_item("gyroscope", ti, np.radians(gyr[i])) for i, ti in enumerate(t)]
    joiner = PushJoiner()
    assert len(joiner.add(parse_push(json.dumps(_message(gyr_items, k=0)))).time_s) == 0
    assert len(joiner.add(parse_push(json.dumps(_message(gyr_items, k=0)))).time_s) == 0
    joined = joiner.add(parse_push(json.dumps(_message(acc_items, k=1))))
    np.testing.assert_allclose(joined.time_s - START_UNIX_S, t, atol=1e-6)
    np.testing.assert_allclose(joined.gyr_dps, gyr, atol=1e-9)


def test_a_new_session_starts_afresh() -> None:
    """A new recording: what waited from the old one is not joined with the new data."""
    t, acc, gyr = _signal(1.0)
    old = [_item("totalacceleration", ti, acc[i]) for i, ti in enumerate(t[:50])]
    old += [_item("gyroscope", ti, np.radians(gyr[i])) for i, ti in enumerate(t[:30])]
    new_t = t[50:] + 5.0  # the next recording starts 5 s later
    new = [_item("totalacceleration", ti, acc[i]) for i, ti in enumerate(new_t, 50)]
    new += [_item("gyroscope", ti, np.radians(gyr[i])) for i, ti in enumerate(new_t, 50)]
    joiner = PushJoiner()
    first = joiner.add(parse_push(json.dumps(_message(old, session="rec-1"))))
    np.testing.assert_allclose(first.time_s - START_UNIX_S, t[:30], atol=1e-6)
    second = joiner.add(parse_push(json.dumps(_message(new, session="rec-2"))))
    assert joiner.session_id == "rec-2"
    # Only the new recording's samples: the old accelerometer samples 30..49 would have
    # been bracketed by the old and new gyroscope and interpolated across the 5 s.
    np.testing.assert_allclose(second.time_s - START_UNIX_S, new_t, atol=1e-6)
    np.testing.assert_allclose(second.gyr_dps, gyr[50:], atol=1e-9)


def test_the_same_session_keeps_waiting_samples() -> None:
    # The counterpart of the previous test: without a new session the samples are joined.
    t, acc, gyr = _signal(1.0)
    first = [_item("totalacceleration", ti, acc[i]) for i, ti in enumerate(t[:50])]
    first += [_item("gyroscope", ti, np.radians(gyr[i])) for i, ti in enumerate(t[:30])]
    second = [_item("totalacceleration", ti, acc[i]) for i, ti in enumerate(t[50:], 50)]
    second += [_item("gyroscope", ti, np.radians(gyr[i])) for i, ti in enumerate(t[30:], 30)]
    joiner = PushJoiner()
    joiner.add(parse_push(json.dumps(_message(first))))
    out = joiner.add(parse_push(json.dumps(_message(second))))
    np.testing.assert_allclose(out.time_s - START_UNIX_S, t[30:], atol=1e-6)


@pytest.mark.parametrize(
    ("streams", "missing"),
    [
        ((), None),
        (("accelerometer", "gravity"), "the gyroscope"),
        (("totalacceleration",), "the gyroscope"),
        (("accelerometer", "gyroscope"), "gravity (turn on Gravity or Total Acceleration)"),
        (("gyroscope",), "the accelerometer"),
        (("gravity", "gyroscope"), "the accelerometer"),
        (("accelerometer", "gravity", "gyroscope"), None),
        (("accelerometeruncalibrated", "gyroscope"), None),
        (("accelerometer", "accelerometeruncalibrated", "gyroscope"), None),
    ],
)
def test_missing_names_what_the_phone_does_not_send(
    streams: tuple[str, ...], missing: str | None
) -> None:
    # The acceleration before the others' first sample: nothing can be emitted yet.
    items = [_item(name, 0.0 if "acc" in name else 0.01, [0.0, 0.0, 9.81]) for name in streams]
    joiner = PushJoiner()
    joiner.add(parse_push(json.dumps(_message(items))))
    assert joiner.missing() == missing


def test_nothing_is_missing_after_every_sample_was_emitted() -> None:
    """A phone that sends everything: once a message's samples are all joined and emitted,
    the streams are still there (the page must not say a sensor is missing)."""
    t, acc, gyr = _signal(1.0)
    messages = push_messages(t, acc, gyr, start_unix_s=START_UNIX_S, batch_s=0.2)
    joiner = PushJoiner()
    for message in messages:
        joined = joiner.add(parse_push(json.dumps(message)))
        sent = sum(item["name"] == "accelerometer" for item in message["payload"])
        assert len(joined.time_s) == sent  # the whole message was emitted
        assert joiner.missing() is None


def test_a_phone_without_gyroscope_emits_nothing() -> None:
    t, acc, _ = _signal(1.0)
    items = [_item("totalacceleration", ti, acc[i]) for i, ti in enumerate(t)]
    joiner = PushJoiner()
    assert len(joiner.add(parse_push(json.dumps(_message(items)))).time_s) == 0
    assert joiner.missing() == "the gyroscope"


def test_memory_is_bounded_while_a_stream_is_missing() -> None:
    """A phone that sends no gravity (nor total acceleration): only the newest MAX_PENDING
    samples of each stream wait."""
    n = MAX_PENDING + 3000
    t = np.arange(n) / RATE_HZ
    joiner = PushJoiner()
    for start in range(0, n, 1000):
        items = [
            item
            for i, ti in enumerate(t[start : start + 1000], start)
            for item in (
                _item("accelerometer", ti, [float(i), 0.0, 0.0]),
                _item("gyroscope", ti, [0.0, 0.0, 0.0]),
            )
        ]
        assert len(joiner.add(parse_push(json.dumps(_message(items)))).time_s) == 0
    assert joiner.missing() == "gravity (turn on Gravity or Total Acceleration)"
    # Gravity comes at last, covering everything: what had waited is emitted.
    gravity = [_item("gravity", t[0], [0, 0, 9.81]), _item("gravity", t[-1], [0, 0, 9.81])]
    joined = joiner.add(parse_push(json.dumps(_message(gravity))))
    assert len(joined.time_s) == MAX_PENDING
    np.testing.assert_array_equal(joined.acc_mps2[:, 0], np.arange(n - MAX_PENDING, n))


def test_an_unknown_platform_is_refused() -> None:
    with pytest.raises(ValueError, match="platform must be one of android, ios, not 'windows'"):
        PushJoiner("windows")  # type: ignore[arg-type]


def test_push_messages_batches_by_time() -> None:
    t, acc, gyr = _signal(1.0)
    messages = push_messages(t, acc, gyr, start_unix_s=START_UNIX_S, batch_s=0.25)
    assert [m["messageId"] for m in messages] == list(range(len(messages)))
    assert len(messages) == 4
    for k, message in enumerate(messages):
        times = np.array([item["time"] for item in message["payload"]]) / 1e9 - START_UNIX_S
        assert times.min() >= 0.25 * k - 1e-6 and times.max() < 0.25 * (k + 1)
