"""The checks of the arrays a source pushes into a device feed
(:meth:`spinecoach.sources.live.DeviceFeed.push`): shapes and finite values, before
anything of the batch is kept.

>>> import numpy as np
>>> check_feed_arrays("demo:1", np.arange(2.0), np.zeros((2, 3)), np.zeros((2, 3)), None)
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from spinecoach.errors import InputFormatError

FloatArray = NDArray[np.float64]


def check_feed_arrays(
    device_id: str,
    device_times_s: FloatArray,
    acc: FloatArray,
    gyr: FloatArray,
    mag: FloatArray | None,
) -> None:
    """Raise :class:`~spinecoach.errors.InputFormatError` naming ``device_id`` when the
    times are not flat, a sensor's values are not one x, y, z row per time, or any value
    is not finite."""
    if device_times_s.ndim != 1:
        raise InputFormatError(
            device_id,
            "one time stamp per sample (a flat list of times)",
            found=f"shape {device_times_s.shape}",
            fix="the source must give one time per sample",
        )
    n = len(device_times_s)
    arrays = [("acc_mps2", acc), ("gyr_dps", gyr)]
    if mag is not None:
        arrays.append(("mag_ut", mag))
    for name, values in arrays:
        if values.shape != (n, 3):
            raise InputFormatError(
                device_id,
                f"{name} with one x, y, z row per time stamp ({n} × 3)",
                found=f"shape {values.shape}",
                fix="the source must give each sample all three axes",
            )
    for name, values in [("time", device_times_s), *arrays]:
        if not np.isfinite(values).all():
            raise InputFormatError(
                device_id,
                f"finite {name} values",
                found="NaN or infinity",
                fix="drop the broken packet at the source",
            )
