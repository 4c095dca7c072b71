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
