"""The device hub is bounded (issue 16: 3,000 fake device ids were accepted and never
pruned): silent devices are forgotten, a flood of new ids evicts only unused ones, and
devices in use are never dropped (a new one is refused with a clear error instead)."""

from __future__ import annotations

import numpy as np
import pytest

from spinecoach.sources.live import (
    MAX_DEVICES,
    PRUNE_AFTER_S,
    DeviceLimitError,
    SourceHub,
)


class FakeClock:
    def __init__(self, now_s: float = 0.0) -> None:
        self.now_s = now_s

    def __call__(self) -> float:
        return self.now_s


def _push(hub: SourceHub, device_id: str, at_s: float) -> None:
    feed = hub.device(device_id, kind="sensor-logger", name=device_id)
    t = at_s + np.arange(5) / 100.0
    feed.push(
        t,
        host_time_s=float(t[-1]),
        acc_mps2=np.tile([0.0, 0.0, 9.81], (5, 1)),
        gyr_dps=np.zeros((5, 3)),
    )


def test_3000_invented_ids_leave_at_most_max_devices_and_keep_the_ones_in_use() -> None:
    clock = FakeClock(100.0)
    hub = SourceHub(clock=clock)
    _push(hub, "phone-lower", 100.0)
    hub.assign("phone-lower", "lower")
    read = hub.device("phone-read", kind="sensor-logger", name="read by a session")
    subscription = read.subscribe()
    for i in range(3000):
        clock.now_s = 100.0 + i * 0.001
        _push(hub, f"fake-{i}", clock.now_s)
        assert len(hub) <= MAX_DEVICES
    assert len(hub) == MAX_DEVICES
    assert "phone-lower" in hub and "phone-read" in hub  # placed / read: kept
    assert "fake-2999" in hub and "fake-0" not in hub  # the oldest unused went first
    assert hub.pruned == 3000 + 2 - MAX_DEVICES
    read.unsubscribe(subscription)


def test_silent_unplaced_devices_are_forgotten_after_prune_after_s() -> None:
    clock = FakeClock(0.0)
    hub = SourceHub(clock=clock)
    _push(hub, "a", 0.0)
    _push(hub, "b", 0.0)
    hub.assign("b", "upper")
    hub.device("never-sent", kind="sensor-logger", name="made, no data")
    clock.now_s = PRUNE_AFTER_S - 1.0
    _push(hub, "c", clock.now_s)
    assert {s.id for s in hub.statuses()} == {"a", "b", "never-sent", "c"}
    clock.now_s = PRUNE_AFTER_S + 0.5
    assert {s.id for s in hub.statuses()} == {"b", "c"}  # b is placed: kept while silent
    assert hub.get("a") is None
    _push(hub, "a", clock.now_s)  # it comes back as new with its next data
    assert hub.get("a") is not None and hub.get("a").samples == 5  # type: ignore[union-attr]


def test_a_hub_full_of_devices_in_use_refuses_a_new_one_with_the_fix() -> None:
    clock = FakeClock(0.0)
    hub = SourceHub(clock=clock, max_devices=2)
    _push(hub, "a", 0.0)
    hub.assign("a", "lower")
    polled = hub.device("phyphox:192.168.1.5:8080", kind="phyphox", name="Phone (phyphox)")
    polled.set_state("connecting", "connecting to phyphox")  # its task is running
    with pytest.raises(DeviceLimitError, match=r"already follows 2 devices") as caught:
        hub.device("b", kind="sensor-logger", name="B")
    assert "DELETE /api/devices/<id>" in caught.value.fix
    assert len(hub) == 2
    polled.set_state("disconnected", "stopped")  # its task ended: it may go
    hub.device("b", kind="sensor-logger", name="B")
    assert set(f.id for f in hub.statuses()) == {"a", "b"}


def test_max_devices_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_devices must be at least 1, not 0"):
        SourceHub(max_devices=0)
