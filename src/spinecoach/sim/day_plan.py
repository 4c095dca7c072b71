"""The plan of a simulated working day: which bouts, in which order, how long
(:func:`plan_day`), and the deep-bend bouts some days hold (:func:`with_bends`).

Drawn for a nominal 16 h day (:data:`NOMINAL_DAY_H`) in nominal seconds, then compressed
or stretched to the day's length; :mod:`spinecoach.sim.day` turns the plan into
movement. Each function takes the next numbers of the generator it is given, so the plan
is part of the day's definition: the same seed gives the same plan.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from spinecoach.sim.activities import BENDING

NOMINAL_DAY_H = 16.0
"""Length (h) of the reference day; other lengths compress or stretch it."""
SITTING = "sitting"
"""The kind of a sitting block (its setting, ``mode``, says how it drifts)."""


@dataclass(frozen=True)
class DayBlock:
    """One planned bout: a posture (or ``"sitting"`` with a setting) and nominal seconds."""

    kind: str
    seconds: float
    mode: str = ""
    desk_breaks: int = 0


def _minutes(rng: np.random.Generator, low: float, high: float) -> float:
    return 60.0 * float(rng.uniform(low, high))


def _on_the_move(rng: np.random.Generator, total_s: float) -> list[DayBlock]:
    """Alternating standing and walking (getting ready, cooking, errands)."""
    blocks: list[DayBlock] = []
    left = total_s
    kind = "standing" if rng.random() < 0.5 else "walking"
    while left > 30.0:
        seconds = min(left, _minutes(rng, 0.5, 3.0) if kind == "walking" else _minutes(rng, 1, 6))
        blocks.append(DayBlock(kind, seconds))
        left -= seconds
        kind = "walking" if kind == "standing" else "standing"
    return blocks


def _commute(rng: np.random.Generator) -> list[DayBlock]:
    blocks = [DayBlock("walking", _minutes(rng, 5, 15)), DayBlock("standing", _minutes(rng, 2, 8))]
    if rng.random() < 0.75:
        blocks.append(DayBlock(SITTING, _minutes(rng, 10, 40), "train"))
    else:
        blocks.append(DayBlock("standing", _minutes(rng, 10, 30)))
    blocks.append(DayBlock("walking", _minutes(rng, 5, 15)))
    return blocks


def _short_break(rng: np.random.Generator) -> list[DayBlock]:
    """1–10 min away from the desk: a walk, a coffee standing, a walk back."""
    blocks = [DayBlock("walking", _minutes(rng, 1, 3))]
    if rng.random() < 0.8:
        blocks += [
            DayBlock("standing", _minutes(rng, 1, 6)),
            DayBlock("walking", _minutes(rng, 1, 3)),
        ]
    return blocks


def _work(rng: np.random.Generator, total_s: float) -> list[DayBlock]:
    """Desk bouts of 15–100 min, meetings of 20–60 min, short breaks in between."""
    blocks: list[DayBlock] = []
    left = total_s
    while left > 300.0:
        if blocks:
            pause = _short_break(rng)
            blocks += pause
            left -= sum(b.seconds for b in pause)
        if rng.random() < 0.3:
            seconds = min(left, _minutes(rng, 20, 60))
            blocks.append(DayBlock(SITTING, seconds, "meeting"))
        else:
            seconds = min(left, _minutes(rng, 15, 100))
            blocks.append(DayBlock(SITTING, seconds, "desk"))
        left -= seconds
    return blocks


def plan_day(rng: np.random.Generator, hours: float) -> list[DayBlock]:
    """The day's bouts before the final lying in bed (seconds).

    Drawn for a 16 h day, then compressed by ``hours / 16``; the bouts fill the day up
    to the final 20–60 min (compressed too) in bed: a day drawn too long is shortened
    evenly, a day drawn short gets a longer evening (60 % on the move, 40 % on the sofa).
    """
    blocks = [DayBlock("standing", _minutes(rng, 2, 5))]
    blocks += _on_the_move(rng, _minutes(rng, 35, 55))
    blocks.append(DayBlock(SITTING, _minutes(rng, 10, 25), "meal"))
    blocks += _on_the_move(rng, _minutes(rng, 10, 25))
    blocks += _commute(rng)
    blocks += _work(rng, _minutes(rng, 150, 200))
    blocks += [  # lunch
        DayBlock("walking", _minutes(rng, 5, 12)),
        DayBlock("standing", _minutes(rng, 3, 8)),
        DayBlock(SITTING, _minutes(rng, 20, 40), "meal"),
        DayBlock("walking", _minutes(rng, 5, 12)),
    ]
    blocks += _work(rng, _minutes(rng, 160, 210))
    blocks += _commute(rng)
    blocks += _on_the_move(rng, _minutes(rng, 50, 90))
    blocks.append(DayBlock(SITTING, _minutes(rng, 15, 30), "meal"))
    if rng.random() < 0.7:
        blocks.append(DayBlock("walking", _minutes(rng, 20, 50)))
        blocks.append(DayBlock("standing", _minutes(rng, 2, 8)))
    evening = len(blocks)
    blocks.append(DayBlock(SITTING, _minutes(rng, 30, 80), "sofa"))
    if rng.random() < 0.7:
        blocks.append(DayBlock("lying-supine", _minutes(rng, 15, 45)))
        blocks.append(DayBlock(SITTING, _minutes(rng, 10, 40), "sofa"))
    blocks += _on_the_move(rng, _minutes(rng, 10, 25))
    # Desk breaks: none on some days, several on others, in desk bouts of 25 min or more.
    count = int(rng.choice(5, p=[0.25, 0.25, 0.2, 0.15, 0.15]))
    desks = [i for i, b in enumerate(blocks) if b.mode == "desk" and b.seconds >= 1500.0]
    for index in rng.permutation(desks)[:count]:
        blocks[int(index)] = replace(blocks[int(index)], desk_breaks=1)

    time_scale = hours / NOMINAL_DAY_H
    blocks = [replace(b, seconds=b.seconds * time_scale) for b in blocks]
    available = hours * 3600.0 - _minutes(rng, 20.0, 60.0) * time_scale
    available -= 15.0 + 3.0 * len(blocks)  # calibration bends and transitions
    drawn = sum(b.seconds for b in blocks)
    if drawn > available:
        return _merged([replace(b, seconds=b.seconds * available / drawn) for b in blocks])
    gap = available - drawn
    sofa = blocks[evening]
    more = _on_the_move(rng, 0.6 * gap)
    blocks[evening] = replace(sofa, seconds=sofa.seconds + 0.4 * gap)
    return _merged(blocks[:evening] + more + blocks[evening:])


def _merged(blocks: list[DayBlock]) -> list[DayBlock]:
    """Join neighbouring standing, walking or lying blocks into one bout."""
    out: list[DayBlock] = []
    for block in blocks:
        if out and block.kind != SITTING and out[-1].kind == block.kind:
            out[-1] = replace(out[-1], seconds=out[-1].seconds + block.seconds)
        else:
            out.append(block)
    return out


def with_bends(rng: np.random.Generator, blocks: list[DayBlock], hours: float) -> list[DayBlock]:
    """Deep-bend bouts (2–6 min of a 16 h day, at least 60 s) taken out of 2–4 standing
    bouts of at least 100 s: the day keeps its length, standing around them stays."""
    time_scale = hours / NOMINAL_DAY_H
    standing = [i for i, b in enumerate(blocks) if b.kind == "standing" and b.seconds >= 100.0]
    count = min(len(standing), int(rng.integers(2, 5)))
    chosen = sorted(int(i) for i in rng.permutation(standing)[:count])
    out: list[DayBlock] = []
    for i, block in enumerate(blocks):
        if i not in chosen:
            out.append(block)
            continue
        bend_s = min(max(_minutes(rng, 2.0, 6.0) * time_scale, 60.0), 0.6 * block.seconds)
        before = 0.5 * (block.seconds - bend_s)
        out += [
            DayBlock("standing", before),
            DayBlock(BENDING, bend_s),
            DayBlock("standing", block.seconds - before - bend_s),
        ]
    return out
