"""A Bluetooth LE sensor declared in a description file (the generic source): the example
shipped in docs/ loads, decodes a record built by hand, and every mistake in a file is
named."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from spinecoach.errors import ConfigurationError
from spinecoach.sources.ble_struct import load_struct_protocol, struct_protocol_from_dict

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "ble-device.toml"


def _valid() -> dict[str, Any]:
    return {
        "data_uuid": "6E400003-B5A3-F393-E0A9-E50E24DCCA9E",
        "rate_hz": 100,
        "layout": {
            "struct_format": "<I hhh hhh",
            "fields": ["t", "ax", "ay", "az", "gx", "gy", "gz"],
            "time_field": "t",
            "time_unit": "ms",
            "acc_fields": ["ax", "ay", "az"],
            "acc_unit": "g",
            "acc_scale": 1 / 4096,
            "gyr_fields": ["gx", "gy", "gz"],
            "gyr_unit": "dps",
            "gyr_scale": 1 / 16.4,
        },
    }


def test_the_shipped_example_decodes_a_record_built_by_hand() -> None:
    protocol = load_struct_protocol(EXAMPLE)
    assert protocol.rate_hz == 100.0
    assert protocol.start_command == ("6e400002-b5a3-f393-e0a9-e50e24dcca9e", b"\x01")
    # 1 g up on z, 164 LSB = 10 deg/s on x, at 1.5 s; two records in one notification.
    payload = struct.pack("<I hhh hhh", 1500, 0, 0, 4096, 164, 0, 0)
    payload += struct.pack("<I hhh hhh", 1510, 0, 0, 4096, 0, 0, -164)
    (samples,) = protocol.decode(protocol.data_uuid, payload)
    assert samples.time_s.tolist() == [1.5, 1.51]
    assert samples.acc_mps2 is not None and samples.gyr_dps is not None
    np.testing.assert_allclose(samples.acc_mps2[0], [0.0, 0.0, 9.80665])
    np.testing.assert_allclose(samples.gyr_dps[:, 0], [10.0, 0.0])
    np.testing.assert_allclose(samples.gyr_dps[:, 2], [0.0, -10.0])
    assert protocol.decode("another-uuid", payload) == []


def test_the_uuid_is_matched_whatever_its_case() -> None:
    assert struct_protocol_from_dict(_valid()).data_uuid == "6e400003-b5a3-f393-e0a9-e50e24dcca9e"


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda d: d.pop("data_uuid"), "data_uuid is missing"),
        (lambda d: d.update(rate_hz="fast"), "rate_hz has the wrong type"),
        (lambda d: d.update(rate_hz=True), "rate_hz has the wrong type"),
        (lambda d: d.pop("layout"), "layout is missing"),
        (lambda d: d["layout"].pop("time_field"), "layout.time_field is missing"),
        (lambda d: d["layout"].update(colour="red"), "unknown keys colour"),
        (lambda d: d["layout"].update(struct_format="I hhh hhh"), "byte order"),
        (lambda d: d["layout"].update(gyr_fields=[]), "needs acc and gyr"),
        (lambda d: d.update(start_command={"uuid": "x", "hex": "zz"}), "hexadecimal"),
        (lambda d: d.update(start_command={"hex": "01"}), "start_command.uuid is missing"),
    ],
)
def test_a_wrong_description_names_the_problem(change: Any, says: str) -> None:
    data = _valid()
    change(data)
    with pytest.raises(ConfigurationError, match=says):
        struct_protocol_from_dict(data, source="my-imu.toml")


def test_a_file_that_is_not_toml_or_missing(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("data_uuid = \n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="not valid TOML"):
        load_struct_protocol(broken)
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_struct_protocol(tmp_path / "absent.toml")
