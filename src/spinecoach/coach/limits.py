"""What one batch of a client's samples may cost a live session (issue 16 item 5).

A sample's work is bounded by the motion tracker (a gap in every sensor longer than
:data:`~spinecoach.motion.stream.MAX_FILLED_GAP_S` gives two frames, not one per grid
step), but a shorter hole is filled frame by frame, as the batch does. A batch of a few
samples each just short of that apart would still ask for thousands of frames per
sample; :func:`check_batch_span` refuses such a batch (``sparse-samples``), so the
frames one ``samples`` message can make stay within a fixed multiple of its samples.

>>> import numpy as np
>>> check_batch_span("lower", np.arange(10) / 100.0, -np.inf, 100.0)  # 100 Hz: fine
>>> try:
...     check_batch_span("lower", np.arange(10) * 9.0, -np.inf, 100.0)
... except LiveInputError as error:
...     print(error.code)
sparse-samples
"""

from __future__ import annotations

import math
from typing import Any, Final

import numpy as np

from spinecoach.coach.events import LiveInputError
from spinecoach.motion.stream import MAX_FILLED_GAP_S

#: A batch may fill at most this many grid periods per sample, plus two long holes (each
#: counted up to ``MAX_FILLED_GAP_S``): a phone batch with a drop-out in it passes, a few
#: samples spread thinly over hours do not.
MAX_SPAN_PER_SAMPLE_PERIODS: Final = 20.0


def check_batch_span(
    placement: str,
    time_s: np.ndarray[Any, np.dtype[np.float64]],
    last_s: float,
    grid_hz: float,
) -> None:
    """Raise :class:`~spinecoach.coach.events.LiveInputError` (``sparse-samples``) when
    the batch ``time_s`` (s), after the sensor's previous sample at ``last_s`` (s; -inf:
    none), spans more filled time than :data:`MAX_SPAN_PER_SAMPLE_PERIODS` periods of
    ``grid_hz`` (Hz, the session's fastest sensor) per sample allow."""
    times = time_s if math.isinf(last_s) else np.concatenate(([last_s], time_s))
    filled_s = float(np.minimum(np.diff(times), MAX_FILLED_GAP_S).sum())
    allowed_s = MAX_SPAN_PER_SAMPLE_PERIODS * len(time_s) / grid_hz + 2 * MAX_FILLED_GAP_S
    if filled_s > allowed_s:
        raise LiveInputError(
            "sparse-samples",
            f"the {placement} batch's {len(time_s)} samples are spread over {filled_s:.1f} s "
            f"(holes up to {MAX_FILLED_GAP_S:g} s counted), far more than at {grid_hz:g} Hz",
            "send the samples at the rate_hz you declared; a hole longer than "
            f"{MAX_FILLED_GAP_S:g} s is fine (it is a gap)",
        )
