"""Types of the compiled ``spinecoach.motion._cfusion`` (see ``_cfusion.c``)."""

import numpy as np
from numpy.typing import NDArray

FUSION_SOURCE: str

class Fusion:
    def __init__(
        self,
        *,
        rate_hz: float,
        gain: float,
        gyroscope_range_dps: float,
        acceleration_rejection_deg: float,
        magnetic_rejection_deg: float,
        rejection_timeout_s: float,
        bias_threshold_dps: float,
        bias_period_s: float,
    ) -> None: ...
    def run(
        self,
        gyr_dps: NDArray[np.float64],
        acc: NDArray[np.float64],
        acc_scale: float,
        mag_ut: NDArray[np.float64] | None,
        periods: NDArray[np.int64] | None,
        out: NDArray[np.float64],
        start: int,
        stop: int,
    ) -> None: ...
    def get_quaternion(self) -> tuple[float, float, float, float]: ...
    def set_quaternion(self, w: float, x: float, y: float, z: float, /) -> None: ...
    def restart(self) -> None: ...
    def skip_startup(self) -> None: ...
    def set_bias_offset(self, x: float, y: float, z: float, /) -> None: ...
    def get_bias_offset(self) -> tuple[float, float, float]: ...
    def flags(self) -> tuple[bool, bool, bool, bool]: ...
    def internal_states(self) -> tuple[float, bool, float, float, bool, float]: ...

def interpolate_rows(
    grid: NDArray[np.float64],
    time: NDArray[np.float64],
    values: NDArray[np.float64],
    flags: NDArray[np.uint8],
    max_gap: float,
    gap_flag: int,
    out: NDArray[np.float64],
    out_flags: NDArray[np.uint8],
    /,
) -> bool: ...
def segment_terms(
    up: NDArray[np.float64],
    q: NDArray[np.float64],
    axes: NDArray[np.float64],
    c: NDArray[np.float64],
    u: NDArray[np.float64],
    out: NDArray[np.float64],
    /,
) -> None: ...
def axial_terms(
    lower: NDArray[np.float64],
    upper: NDArray[np.float64],
    dw: float,
    dx: float,
    dy: float,
    dz: float,
    r20: NDArray[np.float64],
    r22: NDArray[np.float64],
    /,
) -> None: ...
def up_rows(q: NDArray[np.float64], out: NDArray[np.float64], /) -> None: ...
def abs_max_rows(values: NDArray[np.float64], out: NDArray[np.float64], /) -> None: ...
def whole_periods(
    time: NDArray[np.float64], rate: float, start: int, stop: int, out: NDArray[np.int64], /
) -> bool: ...
def vertical_rows(
    acc: NDArray[np.float64], q: NDArray[np.float64], gravity: float, out: NDArray[np.float64], /
) -> None: ...
