"""Format registry, detection by content and load_recording dispatch."""

from __future__ import annotations

import doctest
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from io_testdata import FUSION_FILE, FUSION_ROWS, full_recording, fusion_text, own_csv

from spinecoach.errors import ConfigurationError, InputFormatError
from spinecoach.io import (
    FORMATS,
    csv_generic,
    csv_mapping,
    csv_table,
    csv_time,
    csv_units,
    describe_formats,
    detect_format,
    formats,
    load_recording,
    native,
    write_recording,
)
from spinecoach.io import fusion_csv as fusion_module


def test_describe_formats() -> None:
    infos = describe_formats()
    assert [i.name for i in infos] == ["native", "csv", "fusion", "sensor-logger", "phyphox"]
    assert infos == list(FORMATS)
    by_name = {i.name: i for i in infos}
    assert by_name["native"].options == ()
    assert by_name["csv"].keywords == ("mapping", "rate_hz", "placement")
    assert by_name["fusion"].keywords == ("rate_hz", "placement")
    assert by_name["sensor-logger"].keywords == by_name["phyphox"].keywords == ("placement",)
    for info in infos:
        assert info.summary and "\n" not in info.summary
        assert len(info.options) == len(info.keywords)
        assert all(option.startswith("--") for option in info.options)


def test_detects_by_content_not_extension(tmp_path: Path) -> None:
    fusion = tmp_path / "fusion.txt"
    fusion.write_text(fusion_text(5))
    native_as_csv = write_recording(full_recording(), tmp_path / "native.csv")
    own = tmp_path / "own.dat"
    own.write_text(own_csv(5))
    assert detect_format(fusion) == "fusion"
    assert detect_format(native_as_csv) == "native"
    assert detect_format(own) == "csv"
    assert detect_format(tmp_path) == "csv"
    assert load_recording(native_as_csv).equals(full_recording())
    assert load_recording(fusion).sensors["lower"].device == "x-io Fusion CSV"
    assert load_recording(own).sensors["lower"].n_samples == 5


@pytest.mark.skipif(not FUSION_FILE.is_file(), reason=f"real Fusion sample absent: {FUSION_FILE}")
def test_real_fusion_file_renamed_is_detected(tmp_path: Path) -> None:
    renamed = tmp_path / "walk.txt"
    shutil.copyfile(FUSION_FILE, renamed)
    assert detect_format(renamed) == "fusion"
    rec = load_recording(renamed, placement="upper")
    assert rec.sensors["upper"].n_samples == FUSION_ROWS


def test_unknown_content_lists_formats_and_how_to_choose(tmp_path: Path) -> None:
    path = tmp_path / "mystery.csv"
    path.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(InputFormatError) as caught:
        detect_format(path)
    text = str(caught.value)
    assert str(path) in text
    assert "expected a recording in a known format: native (" in text
    assert "; csv (" in text and "; fusion (" in text
    assert "found 'a, b, c'" in text
    assert "--format csv" in text and "--mapping" in text
    binary = tmp_path / "blob.bin"
    binary.write_bytes(bytes(range(256)))
    with pytest.raises(InputFormatError, match="known format"):
        load_recording(binary)


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(InputFormatError, match="expected an existing file or folder"):
        load_recording(tmp_path / "nope.screc")


def test_foreign_hdf5_is_detected_then_explained(tmp_path: Path) -> None:
    path = tmp_path / "matlab.mat"
    with h5py.File(path, "w") as f:
        f["x"] = np.arange(3)
    assert detect_format(path) == "native"
    with pytest.raises(InputFormatError) as caught:
        load_recording(path)
    assert caught.value.column == "/@format"


def test_mapping_with_auto_reads_csv(tmp_path: Path) -> None:
    path = tmp_path / "phone.txt"
    path.write_text("ts;x;y;z;a;b;c\n0;0;0;1;0;0;0\n20;0;0;1;0;0;0\n")
    rec = load_recording(path, mapping="time=ts:ms;acc=x,y,z:g;gyr=a,b,c:dps")
    assert rec.sensors["lower"].rate_hz == 50.0
    fusion = tmp_path / "fusion.csv"
    fusion.write_text(fusion_text(3))
    mapping = (
        "time=Time (s),acc=Accelerometer X (g),Accelerometer Y (g),Accelerometer Z (g):g,"
        "gyr=Gyroscope X (deg/s),Gyroscope Y (deg/s),Gyroscope Z (deg/s)"
    )
    rec = load_recording(fusion, mapping=mapping)
    assert rec.meta["source_format"] == "csv" and rec.sensors["lower"].mag_ut is None


def test_explicit_format_and_options(tmp_path: Path) -> None:
    own = tmp_path / "own.csv"
    own.write_text(own_csv(5))
    assert list(load_recording(own, format="CSV", placement="upper").sensors) == ["upper"]
    native_path = write_recording(full_recording(), tmp_path / "a.screc")
    with pytest.raises(ConfigurationError, match="the native format does not take rate_hz"):
        load_recording(native_path, rate_hz=100.0)
    with pytest.raises(ConfigurationError, match="the fusion format does not take mapping"):
        load_recording(own, format="fusion", mapping="acc=a,b,c,gyr=d,e,f")
    with pytest.raises(ConfigurationError, match=r"unknown format 'xlsx'; use auto or one of"):
        load_recording(own, format="xlsx")
    with pytest.raises(InputFormatError, match="expected the x-io Fusion header"):
        load_recording(own, format="fusion")
    with pytest.raises(InputFormatError, match="HDF5"):
        load_recording(own, format="native")


@pytest.mark.parametrize(
    "module",
    [native, csv_generic, csv_mapping, csv_table, csv_time, csv_units, fusion_module, formats],
    ids=lambda m: m.__name__,
)
def test_docstring_examples_run(module: object) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)  # type: ignore[arg-type]
    assert result.attempted > 0 and result.failed == 0
