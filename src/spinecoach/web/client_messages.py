"""What a client with its own sensors sends over ``/ws/live`` for a recording: the
``samples`` messages of each sensor in batches, in time order, and each ``annotation``
(a calibration window, a pacer phase) when the stream reaches its start, as a coach
marking the windows live would. The tests of the live socket and ``bench/capacity.py``
replay simulated sessions with it (docs/live-protocol.md has the messages).

>>> from spinecoach.sim import simulate
>>> messages = client_messages(simulate("pelvic-tilt", seed=1, reps=1))
>>> messages[0]["type"], len(messages[0]["t"])
('samples', 10)
"""

from __future__ import annotations

from typing import Any

from spinecoach.recording import Recording

#: Samples per ``samples`` message: 100 ms at 100 Hz, as the issue's load generator sends.
BATCH = 10


def client_messages(recording: Recording, *, batch: int = BATCH) -> list[dict[str, Any]]:
    """The messages (as JSON-ready dicts) a client sends for ``recording``: ``batch``
    samples per sensor a message, ordered by their first time (then placement), each
    annotation just before the first message starting at or after its start."""
    batches: list[tuple[float, str, dict[str, Any]]] = []
    for placement, sensor in recording.sensors.items():
        for i in range(0, sensor.n_samples, batch):
            t = sensor.time_s[i : i + batch]
            message = {
                "type": "samples",
                "placement": placement,
                "rate_hz": sensor.rate_hz,
                "t": t.tolist(),
                "acc_mps2": sensor.acc_mps2[i : i + batch].tolist(),
                "gyr_dps": sensor.gyr_dps[i : i + batch].tolist(),
            }
            batches.append((float(t[0]), placement, message))
    batches.sort(key=lambda b: (b[0], b[1]))
    events = sorted(recording.events, key=lambda e: e.start_s)
    out: list[dict[str, Any]] = []
    for start_s, _placement, message in batches:
        while events and events[0].start_s <= start_s:
            event = events.pop(0)
            out.append(
                {
                    "type": "annotation",
                    "kind": event.kind,
                    "start_s": event.start_s,
                    "end_s": event.end_s,
                }
            )
        out.append(message)
    return out
