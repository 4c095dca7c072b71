"""The batch path: a recording or a native ``.screc`` file, read in chunks.

:func:`posture_process` feeds the samples through :class:`PostureTracker` in time
windows of ``chunk_s`` seconds per sensor, so a 16-hour file is never in memory at once
(only one window of each sensor, ≈0.5 MB per 10 minutes at 100 Hz) and the numbers are
the streaming tracker's by construction. Before any window is analysed, the datasets
used are checked like :func:`spinecoach.io.read_recording` checks them: declared shapes
against the import limits, and each dataset's checksum (read in pieces, bounded
memory), so a damaged file is refused naming the dataset instead of analysed.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Final

import h5py
import numpy as np

from spinecoach.conventions import PLACEMENTS
from spinecoach.errors import ConfigurationError, InputFormatError
from spinecoach.io.native import FORMAT_NAME, is_native_file
from spinecoach.io.native_checks import (
    check_declared_sizes,
    verify_checksum,
    verify_in_chunks,
)
from spinecoach.posture.model import (
    COARSE_CLASS,
    POSTURE_CLASSES,
    SITTING_SLOUCHED,
    SITTING_UPRIGHT,
    DeskBreak,
    MinuteSummary,
    PostureSettings,
    SittingBout,
    SittingBreak,
    TrustReport,
)
from spinecoach.posture.tracker import CODE, BlockUpdate, PostureTracker, SecondBlock, concat_blocks
from spinecoach.recording import Event, FloatArray, Recording

DEFAULT_CHUNK_S: Final = 600.0
Batch = tuple[str, FloatArray, FloatArray, FloatArray]


@dataclass(frozen=True, eq=False)
class PostureResult:
    """The whole day: the per-second timeline (arrays), minutes, bouts, breaks, desk
    breaks, the trust report and the slouch threshold used (deg)."""

    timeline: SecondBlock
    minutes: tuple[MinuteSummary, ...]
    bouts: tuple[SittingBout, ...]
    breaks: tuple[SittingBreak, ...]
    desk_breaks: tuple[DeskBreak, ...]
    trust: TrustReport
    slouch_threshold_deg: float
    placements: tuple[str, ...]
    #: The recording's start (second 0 of the timeline) in UTC, when it says.
    start_utc: datetime | None = None

    @property
    def labels(self) -> list[str]:
        """The per-second class names."""
        return [POSTURE_CLASSES[int(c)] for c in self.timeline.code]

    def write_labels(self, path: str | os.PathLike[str]) -> Path:
        """Write the per-second labels as CSV: ``time_s`` (start of the second, s since
        the recording start), ``label`` (a class of :data:`POSTURE_CLASSES`) and
        ``trusted`` (1/0: data present and the sensor alignment known). Returns the path.
        """
        out = Path(path)
        tl = self.timeline
        lines = ["time_s,label,trusted"]
        lines += [
            f"{t:g},{POSTURE_CLASSES[int(c)]},{int(bool(ok))}"
            for t, c, ok in zip(
                tl.start_s.tolist(), tl.code.tolist(), tl.trusted.tolist(), strict=True
            )
        ]
        try:
            out.write_text("\n".join(lines) + "\n", encoding="utf-8")
        except OSError as error:
            raise ConfigurationError(
                f"cannot write the labels to {out}: {error.strerror}; choose a writable path"
            ) from error
        return out

    def summary(self) -> dict[str, object]:
        """The day summary (what ``spinecoach posture --json`` prints)."""
        counts = np.bincount(self.timeline.code, minlength=len(POSTURE_CLASSES))
        seconds = {POSTURE_CLASSES[i]: int(c) for i, c in enumerate(counts.tolist()) if c}
        coarse: dict[str, int] = {}
        for name, count in seconds.items():
            coarse[COARSE_CLASS[name]] = coarse.get(COARSE_CLASS[name], 0) + count
        sitting = int(counts[CODE[SITTING_UPRIGHT]] + counts[CODE[SITTING_SLOUCHED]])
        slouched = int(counts[CODE[SITTING_SLOUCHED]])
        longest = max(self.bouts, key=lambda b: b.duration_s) if self.bouts else None
        return {
            "duration_s": len(self.timeline),
            "placements": list(self.placements),
            "seconds_per_class": seconds,
            "seconds_per_posture": coarse,
            "slouched_share_of_sitting": (slouched / sitting) if sitting else None,
            "slouch_threshold_deg": round(self.slouch_threshold_deg, 2),
            "bouts": len(self.bouts),
            "longest_bout": longest.as_dict() if longest else None,
            "sitting_bouts": [b.as_dict() for b in self.bouts],
            "breaks": len(self.breaks),
            "breaks_list": [b.as_dict() for b in self.breaks],
            "desk_breaks": len(self.desk_breaks),
            "desk_breaks_list": [d.as_dict() for d in self.desk_breaks],
            "minutes": len(self.minutes),
            "minutes_trusted": sum(m.trusted for m in self.minutes),
            "trust": self.trust.as_dict(),
        }


def posture_process(
    source: Recording | str | os.PathLike[str],
    *,
    settings: PostureSettings | None = None,
    placements: Sequence[str] | None = None,
    chunk_s: float = DEFAULT_CHUNK_S,
    calibration: str = "auto",
    neutral_s: tuple[float, float] | None = None,
) -> PostureResult:
    """Analyse a day: a :class:`Recording`, or the path of a native ``.screc`` file
    (read ``chunk_s`` seconds at a time). ``placements`` defaults to every sensor in it;
    ``calibration`` and ``neutral_s`` (s) say how up and forward are found (one of
    :data:`~spinecoach.posture.tracker.POSTURE_CALIBRATIONS`, see there).

    Raises :class:`ConfigurationError` when a requested sensor is missing and
    :class:`~spinecoach.errors.UnitError` when the acceleration is not in m/s².

    >>> from spinecoach.sim.activities import simulate_activities
    >>> rec = simulate_activities([("standing", 60.0), ("sitting-slouched", 120.0)],
    ...                           seed=1, rate_hz=25.0)
    >>> result = posture_process(rec)
    >>> result.trust.calibration, result.summary()["bouts"]
    ('annotations', 1)
    """
    if not (math.isfinite(chunk_s) and chunk_s >= 1.0):
        raise ConfigurationError(f"chunk_s must be at least 1 s, got {chunk_s}")
    if isinstance(source, Recording):
        available = tuple(source.sensors)
        chosen = _choose(available, placements, "the recording")
        tracker = PostureTracker(
            chosen,
            settings=settings,
            annotations=source.events,
            meta=source.meta,
            calibration=calibration,
            neutral_s=neutral_s,
        )
        batches = _recording_batches(source, chosen, chunk_s)
        return replace(_run(tracker, batches), start_utc=source.start_utc)
    path = Path(source)
    if not path.is_file() or not is_native_file(path):
        raise InputFormatError(
            path,
            "expected a spinecoach native recording (.screc, HDF5)",
            found="nothing at this path" if not path.exists() else "another format",
            fix="Read other formats with spinecoach.io.read_recording and pass the Recording",
        )
    with h5py.File(path, "r") as handle:
        meta, events, available = _file_header(handle, path)
        chosen = _choose(available, placements, str(path))
        tracker = PostureTracker(
            chosen,
            settings=settings,
            annotations=events,
            meta=meta,
            calibration=calibration,
            neutral_s=neutral_s,
        )
        result = _run(tracker, _file_batches(handle, path, chosen, chunk_s))
        start = _attr_text(handle, "start_utc")
    try:
        start_utc = None if start is None else datetime.fromisoformat(start.replace("Z", "+00:00"))
    except ValueError:
        start_utc = None
    return replace(result, start_utc=start_utc)


def _choose(available: Sequence[str], wanted: Sequence[str] | None, where: str) -> tuple[str, ...]:
    if wanted is None:
        return tuple(available)
    missing = [p for p in wanted if p not in available]
    if missing:
        raise ConfigurationError(
            f"{where} has no {missing[0]} sensor (it has: {', '.join(available) or 'none'}); "
            f"analyse the sensors it has with placements={tuple(available)!r}"
        )
    return tuple(wanted)


def _run(tracker: PostureTracker, batches: Iterator[Batch]) -> PostureResult:
    blocks: list[SecondBlock] = []
    total = BlockUpdate()

    def keep(out: BlockUpdate) -> None:
        if out.block is not None:
            blocks.append(out.block)
        total.minutes.extend(out.minutes)
        total.bouts.extend(out.bouts)
        total.breaks.extend(out.breaks)
        total.desk_breaks.extend(out.desk_breaks)

    for placement, t, acc, gyr in batches:
        keep(tracker.feed(placement, t, acc, gyr))
    keep(tracker.feed_end())
    from spinecoach.posture.tracker import empty_block

    timeline = concat_blocks(blocks) if blocks else empty_block()
    return PostureResult(
        timeline=timeline,
        minutes=tuple(total.minutes),
        bouts=tuple(total.bouts),
        breaks=tuple(total.breaks),
        desk_breaks=tuple(sorted(total.desk_breaks, key=lambda d: d.start_s)),
        trust=tracker.trust(),
        slouch_threshold_deg=tracker.slouch_threshold_deg,
        placements=tracker.placements,
    )


def _recording_batches(rec: Recording, chosen: Sequence[str], chunk_s: float) -> Iterator[Batch]:
    cursors = dict.fromkeys(chosen, 0)
    end = 0.0
    while any(cursors[p] < rec.sensors[p].n_samples for p in chosen):
        end += chunk_s
        for p in chosen:
            sensor = rec.sensors[p]
            lo = cursors[p]
            hi = int(np.searchsorted(sensor.time_s, end, side="left"))
            if hi > lo:
                yield p, sensor.time_s[lo:hi], sensor.acc_mps2[lo:hi], sensor.gyr_dps[lo:hi]
                cursors[p] = hi


def _file_header(
    handle: h5py.File, path: Path
) -> tuple[Mapping[str, str], tuple[Event, ...], tuple[str, ...]]:
    def fail(where: str, expected: str) -> InputFormatError:
        return InputFormatError(
            path, expected, column=where, fix="Write the file again with spinecoach"
        )

    fmt = _attr_text(handle, "format")
    if fmt != FORMAT_NAME:
        raise fail("/@format", f"expected a spinecoach recording (format={FORMAT_NAME!r})")
    try:
        loaded = json.loads(_attr_text(handle, "meta_json") or "")
        meta = {str(k): str(v) for k, v in loaded.items()}
    except (ValueError, AttributeError) as error:
        raise fail("/@meta_json", "expected a JSON object of text values") from error
    check_declared_sizes(handle, path)
    events: list[Event] = []
    group = handle.get("events")
    if isinstance(group, h5py.Group) and "kind" in group:
        kinds = _texts(_read_checked(group["kind"], path))
        labels = _texts(_read_checked(group["label"], path))
        starts = np.asarray(_read_checked(group["start_s"], path), dtype=np.float64)
        ends = np.asarray(_read_checked(group["end_s"], path), dtype=np.float64)
        for i, kind in enumerate(kinds):
            events.append(Event(kind, float(starts[i]), float(ends[i]), labels[i]))
    sensors = handle.get("sensors")
    if not isinstance(sensors, h5py.Group):
        raise fail("/sensors", "expected a group of sensors")
    available = tuple(p for p in PLACEMENTS if p in sensors)
    if not available:
        raise fail("/sensors", "expected a lower or upper sensor group")
    for p in available:
        for name, columns in (("time_s", 1), ("acc_mps2", 2), ("gyr_dps", 2)):
            data = sensors[p].get(name)
            if not isinstance(data, h5py.Dataset) or len(data.shape) != columns:
                raise fail(f"/sensors/{p}/{name}", f"expected a {columns}-D dataset")
            verify_in_chunks(data, path)
    return meta, tuple(events), available


def _texts(values: np.ndarray) -> list[str]:
    return [v.decode("utf-8", errors="replace") if isinstance(v, bytes) else str(v) for v in values]


def _read_checked(dataset: h5py.Dataset, path: Path) -> np.ndarray:
    """A whole (small) dataset, its checksum checked (sizes were checked before)."""
    values = dataset[()]
    verify_checksum(dataset, values, path)
    return np.asarray(values)


def _attr_text(handle: h5py.File, name: str) -> str | None:
    value = handle.attrs.get(name)
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, bytes | np.bytes_):
        return bytes(value).decode("utf-8", errors="replace")
    return value if isinstance(value, str) else None


def _file_batches(
    handle: h5py.File, path: Path, chosen: Sequence[str], chunk_s: float
) -> Iterator[Batch]:
    groups = {p: handle["sensors"][p] for p in chosen}
    sizes = {p: int(groups[p]["time_s"].shape[0]) for p in chosen}
    rates = {p: float(groups[p].attrs.get("rate_hz", 100.0)) for p in chosen}
    cursors = dict.fromkeys(chosen, 0)
    end = 0.0
    while any(cursors[p] < sizes[p] for p in chosen):
        end += chunk_s
        for p in chosen:
            lo = cursors[p]
            if lo >= sizes[p]:
                continue
            span = int(chunk_s * rates[p] * 1.5) + 64
            t = np.asarray(groups[p]["time_s"][lo : lo + span], dtype=np.float64)
            cut = int(np.searchsorted(t, end, side="left"))
            if cut == 0:
                continue
            hi = lo + cut
            acc = np.asarray(groups[p]["acc_mps2"][lo:hi], dtype=np.float64)
            gyr = np.asarray(groups[p]["gyr_dps"][lo:hi], dtype=np.float64)
            if acc.shape != (cut, 3) or gyr.shape != (cut, 3):
                raise InputFormatError(
                    path,
                    "expected acc_mps2 and gyr_dps of shape (n, 3), one row per time_s",
                    column=f"/sensors/{p}",
                )
            yield p, t[:cut], acc, gyr
            cursors[p] = hi
