"""Labelled seconds as arrays, and their minute summaries.

A :class:`SecondBlock` holds consecutive labelled seconds column by column (the batch
path keeps them whole; the tracker hands them on block by block). :data:`CODE` numbers
the posture classes so a block's labels are one ``int8`` array.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from numpy.typing import NDArray

from spinecoach.posture.model import (
    POSTURE_CLASSES,
    SITTING_SLOUCHED,
    SITTING_UPRIGHT,
    UNKNOWN,
    DeskBreak,
    MinuteSummary,
    PostureSecond,
    SittingBout,
    SittingBreak,
)

FloatArray = NDArray[np.float64]
CODE: Final[dict[str, int]] = {name: i for i, name in enumerate(POSTURE_CLASSES)}
"""Posture class → its code in :attr:`SecondBlock.code`."""
SITTING_CODES: Final = (CODE[SITTING_UPRIGHT], CODE[SITTING_SLOUCHED])
"""The codes of the two sitting classes."""


@dataclass
class SecondBlock:
    """Consecutive labelled seconds as arrays (the batch path keeps these)."""

    start_s: FloatArray
    code: NDArray[np.int8]
    lumbar_flexion_deg: FloatArray
    trunk_inclination_deg: FloatArray
    pelvis_inclination_deg: FloatArray
    acc_std_mps2: FloatArray
    trusted: NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.start_s.shape[0])

    def seconds(self) -> tuple[PostureSecond, ...]:
        return tuple(
            PostureSecond(
                start_s=float(self.start_s[i]),
                label=POSTURE_CLASSES[int(self.code[i])],
                lumbar_flexion_deg=float(self.lumbar_flexion_deg[i]),
                trunk_inclination_deg=float(self.trunk_inclination_deg[i]),
                pelvis_inclination_deg=float(self.pelvis_inclination_deg[i]),
                acc_std_mps2=float(self.acc_std_mps2[i]),
                trusted=bool(self.trusted[i]),
            )
            for i in range(len(self))
        )


@dataclass
class BlockUpdate:
    """What one feed completed: labelled seconds, minutes, bouts, breaks, desk breaks."""

    block: SecondBlock | None = None
    minutes: list[MinuteSummary] = field(default_factory=list)
    bouts: list[SittingBout] = field(default_factory=list)
    breaks: list[SittingBreak] = field(default_factory=list)
    desk_breaks: list[DeskBreak] = field(default_factory=list)


def empty_block() -> SecondBlock:
    return SecondBlock(
        np.empty(0),
        np.empty(0, dtype=np.int8),
        np.empty(0),
        np.empty(0),
        np.empty(0),
        np.empty(0),
        np.empty(0, dtype=np.bool_),
    )


def concat_blocks(blocks: list[SecondBlock]) -> SecondBlock:
    if len(blocks) == 1:
        return blocks[0]
    return SecondBlock(*(np.concatenate([getattr(b, f) for b in blocks]) for f in BLOCK_FIELDS))


BLOCK_FIELDS: Final = (
    "start_s",
    "code",
    "lumbar_flexion_deg",
    "trunk_inclination_deg",
    "pelvis_inclination_deg",
    "acc_std_mps2",
    "trusted",
)


def slice_block(block: SecondBlock, a: int, b: int) -> SecondBlock:
    return SecondBlock(*(getattr(block, f)[a:b] for f in BLOCK_FIELDS))


def summarise_minute(rows: SecondBlock, a: int, b: int, start_s: float) -> MinuteSummary:
    codes = rows.code[a:b]
    counts = np.bincount(codes, minlength=len(POSTURE_CLASSES))
    seconds = {POSTURE_CLASSES[i]: int(c) for i, c in enumerate(counts.tolist()) if c}
    sit_u, sit_s = int(counts[CODE[SITTING_UPRIGHT]]), int(counts[CODE[SITTING_SLOUCHED]])
    present = codes != CODE[UNKNOWN]
    lumbar = rows.lumbar_flexion_deg[a:b]
    trunk = rows.trunk_inclination_deg[a:b]
    return MinuteSummary(
        start_s=start_s,
        seconds=seconds,
        sitting_s=sit_u + sit_s,
        slouched_s=sit_s,
        mean_lumbar_flexion_deg=nanmean(lumbar),
        mean_trunk_inclination_deg=nanmean(trunk),
        trusted=bool(np.all(rows.trusted[a:b][present])) and float(np.mean(present)) >= 0.9,
        coverage=round(float(np.count_nonzero(present)) / 60.0, 4),
    )


def nanmean(values: FloatArray) -> float:
    ok = np.isfinite(values)
    return float(np.mean(values[ok])) if np.any(ok) else math.nan
