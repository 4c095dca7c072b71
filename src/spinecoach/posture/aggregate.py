"""The day's summaries from labelled seconds: minutes, sitting bouts and breaks, desk breaks.

:class:`PostureAggregator` is the second half of the streaming
:class:`~spinecoach.posture.tracker.PostureTracker`: the tracker labels each second, the
aggregator turns the labelled blocks into what a day is summed up by. It keeps only the
rows of the current minute, the open bout's counters and the last desk-break window, so
its memory does not grow with the day, and it gives the same summaries however the
seconds were batched (the streaming contract).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from spinecoach.conventions import UPPER
from spinecoach.posture.blocks import (
    CODE,
    SITTING_CODES,
    BlockUpdate,
    SecondBlock,
    concat_blocks,
    empty_block,
    slice_block,
    summarise_minute,
)
from spinecoach.posture.model import (
    SITTING_SLOUCHED,
    SITTING_UPRIGHT,
    STANDING,
    TRANSITION,
    WALKING,
    DeskBreak,
    PostureSettings,
    SittingBout,
    SittingBreak,
)


class PostureAggregator:
    """Minutes, sitting bouts with the breaks between them, and desk breaks, streaming.

    ``placements`` are the tracker's sensors (the desk-break signal is the lumbar flexion
    with two, the pelvic tilt with the lower one alone, none with the upper one alone).
    Feed each labelled block with :meth:`add`, end with :meth:`close`.
    """

    def __init__(self, settings: PostureSettings, placements: Sequence[str]) -> None:
        self.settings = settings
        self.placements = tuple(placements)
        # minute state
        self.minute_rows: list[SecondBlock] = []
        # bout state
        self.bout_start: float | None = None
        self.bout_last_sit: float = 0.0
        self.bout_sitting = 0
        self.bout_slouched = 0
        self.gap_run = 0
        self.gap_stand = 0
        self.gap_walk = 0
        self.last_bout_end: float | None = None
        self.between_stand = 0
        self.between_walk = 0
        self.bouts: list[SittingBout] = []
        # desk-break state
        w = self.settings.desk_break_window_s
        self.db_signal = np.full(w - 1, np.nan)
        self.db_start: float | None = None
        self.db_end = 0.0
        self.external: list[DeskBreak] = []
        """Desk breaks found elsewhere (the coach's), reported at :meth:`close`."""

    def add(self, block: SecondBlock, out: BlockUpdate) -> None:
        """Take one labelled block; what it completes goes into ``out``."""
        self.minutes(block, out)
        self.bouts_of(block, out)
        self.desk_breaks(block, out)

    def minutes(self, block: SecondBlock, out: BlockUpdate, *, final: bool = False) -> None:
        if len(block):
            self.minute_rows.append(block)
        if not self.minute_rows:
            return
        rows = concat_blocks(self.minute_rows)
        minute = np.floor(rows.start_s / 60.0)
        edges = np.flatnonzero(np.diff(minute)) + 1
        bounds = [0, *edges.tolist(), len(rows)]
        complete = len(bounds) - 1 if final else len(bounds) - 2
        for i in range(complete):
            a, b = bounds[i], bounds[i + 1]
            out.minutes.append(summarise_minute(rows, a, b, float(minute[a] * 60.0)))
        keep = bounds[complete]
        self.minute_rows = [slice_block(rows, keep, len(rows))] if keep < len(rows) else []

    def bouts_of(self, block: SecondBlock, out: BlockUpdate) -> None:
        gap_limit = self.settings.bout_gap_s
        codes = block.code.tolist()
        starts = block.start_s.tolist()
        sit_u, sit_s = CODE[SITTING_UPRIGHT], CODE[SITTING_SLOUCHED]
        stand, walk = CODE[STANDING], CODE[WALKING]
        for code, t in zip(codes, starts, strict=True):
            if code in (sit_u, sit_s):
                if self.bout_start is None:
                    self.bout_start = t
                    self.bout_sitting = self.bout_slouched = 0
                self.bout_last_sit = t
                self.between_stand -= self.gap_stand  # a short gap is inside the bout
                self.between_walk -= self.gap_walk
                self.bout_sitting += 1
                self.bout_slouched += code == sit_s
                self.gap_run = self.gap_stand = self.gap_walk = 0
                continue
            self.between_stand += code == stand
            self.between_walk += code == walk
            if self.bout_start is None:
                continue
            self.gap_run += 1
            self.gap_stand += code == stand
            self.gap_walk += code == walk
            if self.gap_run >= gap_limit:
                self.end_bout(out, stand_after=self.gap_stand, walk_after=self.gap_walk)

    def end_bout(self, out: BlockUpdate, *, stand_after: int, walk_after: int) -> None:
        assert self.bout_start is not None
        end = self.bout_last_sit + 1.0
        if end - self.bout_start >= self.settings.min_bout_s:
            bout = SittingBout(self.bout_start, end, self.bout_sitting, self.bout_slouched)
            if self.last_bout_end is not None:
                standing = self.between_stand - stand_after
                walking = self.between_walk - walk_after
                if standing + walking > 0:
                    out.breaks.append(
                        SittingBreak(self.last_bout_end, bout.start_s, standing, walking)
                    )
            out.bouts.append(bout)
            self.bouts.append(bout)
            self.last_bout_end = end
            self.between_stand = stand_after
            self.between_walk = walk_after
        self.bout_start = None
        self.gap_run = self.gap_stand = self.gap_walk = 0

    def desk_breaks(self, block: SecondBlock, out: BlockUpdate, *, final: bool = False) -> None:
        s = self.settings
        w = s.desk_break_window_s
        two = len(self.placements) == 2
        if self.placements == (UPPER,):
            return
        signal = block.lumbar_flexion_deg if two else block.pelvis_inclination_deg
        # Still seconds carry the signal (the arch of a cat-cow can look like standing
        # for a second); +1000 marks sitting ones so one array carries both.
        sitting = np.isin(block.code, SITTING_CODES)
        still = sitting | np.isin(block.code, (CODE[STANDING], CODE[TRANSITION]))
        values = np.where(still, signal, np.nan) + np.where(sitting, 1000.0, 0.0)
        series = np.concatenate([self.db_signal, values])
        self.db_signal = series[-(w - 1) :]
        if series.shape[0] < w:
            return
        marked = np.lib.stride_tricks.sliding_window_view(series, w)
        sitting_share = np.mean(marked > 500.0, axis=1)
        windows = np.where(marked > 500.0, marked - 1000.0, marked)
        ok = np.all(np.isfinite(windows), axis=1) & (sitting_share >= 0.75)
        active = np.zeros(windows.shape[0], dtype=np.bool_)
        if np.any(ok):
            good = windows[ok]
            p5, p50, p95 = np.percentile(good, [5, 50, 95], axis=1)
            # Crossings with hysteresis (a quarter of the swing each side of the median):
            # a step from upright to slouched crosses once, noise around a level never.
            band = 0.25 * (p95 - p5)
            state = np.zeros(good.shape[0], dtype=np.int8)
            crossings = np.zeros(good.shape[0], dtype=np.int64)
            for column in good.T:
                level = np.where(
                    column > p50 + band, 1, np.where(column < p50 - band, -1, 0)
                ).astype(np.int8)
                flip = (level != 0) & (state != 0) & (level != state)
                crossings += flip
                state = np.where(level != 0, level, state)
            swing_need = s.desk_break_swing_deg if two else 0.5 * s.desk_break_swing_deg
            active[ok] = ((p95 - p5) >= swing_need) & (crossings >= 2 * s.desk_break_min_cycles)
        # Window i ends at second block.start_s[i] (the last w - 1 came from before).
        ends = block.start_s[-active.shape[0] :] + 1.0
        for is_on, end in zip(active.tolist(), ends.tolist(), strict=True):
            if is_on:
                if self.db_start is None:
                    self.db_start = end - w
                self.db_end = end
            elif self.db_start is not None and end - 1.0 > self.db_end:
                self.emit_desk_break(out)
        if final and self.db_start is not None:
            self.emit_desk_break(out)

    def emit_desk_break(self, out: BlockUpdate) -> None:
        assert self.db_start is not None
        if self.db_end - self.db_start >= self.settings.desk_break_min_s:
            out.desk_breaks.append(DeskBreak(self.db_start, self.db_end, "detected"))
        self.db_start = None

    def close(self, out: BlockUpdate) -> None:
        empty = empty_block()
        self.minutes(empty, out, final=True)
        if self.bout_start is not None:
            self.end_bout(out, stand_after=self.gap_stand, walk_after=self.gap_walk)
        if self.db_start is not None:
            self.emit_desk_break(out)
        out.desk_breaks.extend(self.external)
        self.external = []
