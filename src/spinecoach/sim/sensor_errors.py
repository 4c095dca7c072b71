"""How large the simulated sensor errors are: :class:`SensorErrorModel` (a frozen value).

:meth:`SensorErrorModel.realistic` (the default) is typical of consumer MEMS IMUs (e.g.
Bosch BMI270 / TDK ICM-42688 datasheets), :meth:`SensorErrorModel.ideal` has none and
:meth:`SensorErrorModel.real_world` adds the errors of real wear
(:mod:`spinecoach.sim.real_wear`). How each error enters the measurements:
:mod:`spinecoach.sim.sensors`.

>>> SensorErrorModel.ideal().gyro_noise_dps
0.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

from spinecoach.conventions import STANDARD_GRAVITY_MPS2
from spinecoach.errors import ConfigurationError


@dataclass(frozen=True)
class SensorErrorModel:
    """Sizes of the simulated sensor errors (a frozen domain value).

    Bias, offset, scale and misalignment values are the half-widths of uniform draws per
    axis; noise values are standard deviations.

    >>> SensorErrorModel.realistic().misalignment_max_deg
    20.0
    >>> SensorErrorModel(drop_probability=0.0).jitter_s
    0.0005
    """

    gyro_bias_dps: float = 1.0
    """Turn-on gyroscope bias (deg/s), uniform in ± this per axis."""
    gyro_bias_drift_dps_per_sqrt_s: float = 0.003
    """Gyroscope bias random walk (deg/s/√s)."""
    gyro_noise_dps: float = 0.05
    """Gyroscope white noise (deg/s rms at 100 Hz)."""
    gyro_scale: float = 0.003
    """Gyroscope scale-factor error (fraction), uniform in ± this per axis."""
    acc_bias_mps2: float = 0.04
    """Accelerometer bias (m/s²), uniform in ± this per axis."""
    acc_noise_mps2: float = 0.02
    """Accelerometer white noise (m/s² rms at 100 Hz)."""
    acc_scale: float = 0.005
    """Accelerometer scale-factor error (fraction), uniform in ± this per axis."""
    mag_offset_ut: float = 5.0
    """Magnetometer hard-iron offset (µT), uniform in ± this per axis."""
    mag_noise_ut: float = 0.3
    """Magnetometer white noise (µT rms at 100 Hz)."""
    misalignment_max_deg: float = 20.0
    """Mounting misalignment (deg) about each sensor axis, uniform in ± this."""
    jitter_s: float = 0.0005
    """Timestamp jitter (s, standard deviation)."""
    drop_probability: float = 0.002
    """Expected fraction of samples dropped (0–0.5)."""
    drop_burst_max: int = 5
    """Longest burst of consecutive dropped samples (bursts are 1..this long)."""
    gyro_range_dps: float = 2000.0
    """Gyroscope full scale (deg/s); readings saturate at ± this."""
    acc_range_mps2: float = 16.0 * STANDARD_GRAVITY_MPS2
    """Accelerometer full scale (m/s²); readings saturate at ± this."""
    soft_tissue_deg_per_deg: float = 0.0
    """Soft-tissue artefact gain: sensor rotation against the bone (deg) per degree of the
    segment's tilt from its start orientation (per-sensor gains 0.5–1 × this)."""
    soft_tissue_wander: float = 0.0
    """Low-pass random part of the artefact gain, as a fraction of the gain (rms)."""
    soft_tissue_max_deg: float = 0.0
    """Largest soft-tissue artefact (deg), a smooth limit; 0 switches the artefact off."""
    upper_level_down_max: float = 0.0
    """Upper sensor placed up to this many vertebral levels below T12/L1 (toward L2)."""
    upper_level_up_max: float = 0.0
    """Upper sensor placed up to this many vertebral levels above T12/L1 (toward T10)."""
    lower_level_up_max: float = 0.0
    """Lower sensor placed up to this many vertebral levels above S1 (toward L5, a belt)."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigurationError(f"SensorErrorModel.{f.name} must be a number")
            if math.isnan(value) or value < 0:
                raise ConfigurationError(
                    f"SensorErrorModel.{f.name} must be zero or positive, got {value}"
                )
            if math.isinf(value) and f.name not in ("gyro_range_dps", "acc_range_mps2"):
                raise ConfigurationError(f"SensorErrorModel.{f.name} must be finite")
        if self.drop_probability >= 0.5:
            raise ConfigurationError(
                f"SensorErrorModel.drop_probability must be below 0.5, got {self.drop_probability}"
            )
        if not isinstance(self.drop_burst_max, int) or self.drop_burst_max < 1:
            raise ConfigurationError(
                "SensorErrorModel.drop_burst_max must be a whole number of samples ≥ 1, "
                f"got {self.drop_burst_max!r}"
            )
        if self.gyro_range_dps == 0 or self.acc_range_mps2 == 0:
            raise ConfigurationError("SensorErrorModel ranges must be positive (use inf for none)")
        if self.misalignment_max_deg > 90:
            raise ConfigurationError(
                "SensorErrorModel.misalignment_max_deg must be at most 90, got "
                f"{self.misalignment_max_deg}"
            )
        if self.soft_tissue_max_deg > 15:
            raise ConfigurationError(
                "SensorErrorModel.soft_tissue_max_deg must be at most 15 (skin moves a few "
                f"degrees against the bone), got {self.soft_tissue_max_deg}"
            )
        if self.soft_tissue_deg_per_deg > 0.5 or self.soft_tissue_wander > 2:
            raise ConfigurationError(
                "SensorErrorModel.soft_tissue_deg_per_deg must be at most 0.5 and "
                "soft_tissue_wander at most 2, got "
                f"{self.soft_tissue_deg_per_deg} and {self.soft_tissue_wander}"
            )
        if (self.soft_tissue_deg_per_deg > 0) != (self.soft_tissue_max_deg > 0):
            raise ConfigurationError(
                "SensorErrorModel.soft_tissue_deg_per_deg and soft_tissue_max_deg must be "
                "both positive (artefact on) or both zero (off), got "
                f"{self.soft_tissue_deg_per_deg} and {self.soft_tissue_max_deg}"
            )
        for name in ("upper_level_down_max", "upper_level_up_max", "lower_level_up_max"):
            if getattr(self, name) > 3:
                raise ConfigurationError(
                    f"SensorErrorModel.{name} must be at most 3 vertebral levels, got "
                    f"{getattr(self, name)}"
                )

    @classmethod
    def realistic(cls) -> SensorErrorModel:
        """The default: consumer MEMS IMUs taped on the skin by a lay person."""
        return cls()

    @classmethod
    def real_world(cls, *, placement_spread: bool = True) -> SensorErrorModel:
        """Sensors as people wear them: :meth:`realistic` plus placement and skin motion.

        Upper sensor anywhere from L2 (1.5 levels below T12/L1) to T10 (2.5 above), lower
        sensor from S1 up to L5 (a belt), soft-tissue artefact of about 0.05° per degree
        of segment tilt, limited to 4°, with a ±30 % low-pass wander (skin-marker studies
        of the lumbar spine report a few degrees to a few centimetres of skin motion in
        forward bending); noisier, less tightly timed consumer sensors (other brands,
        Bluetooth timestamps: 2 ms jitter, 0.5 % of samples dropped).

        A sensor away from T12/L1 or S1 measures a different part of the spine than the
        truth (at L2 a quarter less lumbar flexion): recordings then also carry the truth
        at the sensors (``*_at_sensors_deg``, see
        :func:`~spinecoach.sim.assemble.at_sensor_series`). ``placement_spread=False``
        keeps both sensors at their nominal sites (skin motion and sensor errors only).

        >>> SensorErrorModel.real_world().soft_tissue_max_deg
        4.0
        >>> SensorErrorModel.real_world(placement_spread=False).spreads_placement
        False
        """
        spread = 1.0 if placement_spread else 0.0
        return replace(
            cls(),
            gyro_noise_dps=0.1,
            acc_noise_mps2=0.03,
            jitter_s=0.002,
            drop_probability=0.005,
            soft_tissue_deg_per_deg=0.05,
            soft_tissue_wander=0.3,
            soft_tissue_max_deg=4.0,
            upper_level_down_max=1.5 * spread,
            upper_level_up_max=2.5 * spread,
            lower_level_up_max=1.0 * spread,
        )

    @property
    def spreads_placement(self) -> bool:
        """Whether a sensor may sit away from its nominal site along the spine."""
        return (
            self.upper_level_down_max > 0
            or self.upper_level_up_max > 0
            or self.lower_level_up_max > 0
        )

    @property
    def changes_placement(self) -> bool:
        """Whether the placement spread or the soft-tissue artefact is on."""
        return self.soft_tissue_max_deg > 0 or self.spreads_placement

    @classmethod
    def ideal(cls) -> SensorErrorModel:
        """No errors at all: perfect mounting, no noise, bias, jitter, drops or saturation."""
        return cls(
            gyro_bias_dps=0.0,
            gyro_bias_drift_dps_per_sqrt_s=0.0,
            gyro_noise_dps=0.0,
            gyro_scale=0.0,
            acc_bias_mps2=0.0,
            acc_noise_mps2=0.0,
            acc_scale=0.0,
            mag_offset_ut=0.0,
            mag_noise_ut=0.0,
            misalignment_max_deg=0.0,
            jitter_s=0.0,
            drop_probability=0.0,
            drop_burst_max=1,
            gyro_range_dps=math.inf,
            acc_range_mps2=math.inf,
        )
