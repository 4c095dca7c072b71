"""Flexion axes saved from an earlier calibration, reused when the same sensors are worn
again (``spinecoach analyze --save-calibration`` / ``--calibration-file``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from spinecoach.conventions import LOWER, UPPER
from spinecoach.errors import ConfigurationError
from spinecoach.motion.autocal_types import FloatArray, unit_vector


@dataclass(frozen=True, eq=False)
class StoredCalibration:
    """Flexion axes of sensors calibrated before, to reuse when the same sensors are worn
    again: ``z_axes`` maps a placement to (device name, the segment's Z axis in sensor
    axes). The neutral is always taken afresh from the new recording (a re-attached sensor
    sits a little differently); only the flexion axis, and so its sign, is reused.

    Written by ``spinecoach analyze --save-calibration PATH`` (JSON) and read back with
    :meth:`load` or ``--calibration-file PATH``.
    """

    z_axes: Mapping[str, tuple[str, FloatArray]]

    @classmethod
    def from_segments(cls, segments: Mapping[str, Mapping[str, object]]) -> StoredCalibration:
        """From ``info["calibration"]["segments"]`` (or the saved JSON's "sensors")."""
        z_axes: dict[str, tuple[str, FloatArray]] = {}
        for placement, seg in segments.items():
            if placement not in (LOWER, UPPER):
                raise ConfigurationError(
                    f"stored calibration: unknown placement {placement!r}; use lower or upper"
                )
            axes = np.asarray(seg.get("axes_in_sensor_frame"), dtype=np.float64)
            if axes.shape != (3, 3) or not np.isfinite(axes).all():
                raise ConfigurationError(
                    f"stored calibration: the {placement} sensor's axes_in_sensor_frame must "
                    "be a 3 × 3 matrix of numbers; save it again with --save-calibration"
                )
            z_axes[placement] = (str(seg.get("device", "unknown")), unit_vector(axes[2]))
        return cls(z_axes)

    def to_json(self) -> dict[str, object]:
        return {
            "spinecoach_calibration": 1,
            "sensors": {
                p: {"device": d, "z_axis_in_sensor_frame": np.round(z, 6).tolist()}
                for p, (d, z) in self.z_axes.items()
            },
        }

    @classmethod
    def from_json(cls, payload: Mapping[str, object]) -> StoredCalibration:
        if payload.get("spinecoach_calibration") != 1 or not isinstance(
            payload.get("sensors"), Mapping
        ):
            raise ConfigurationError(
                'not a spinecoach calibration file (expected {"spinecoach_calibration": 1, '
                '"sensors": {...}}); write one with spinecoach analyze --save-calibration'
            )
        sensors = payload["sensors"]
        assert isinstance(sensors, Mapping)
        z_axes: dict[str, tuple[str, FloatArray]] = {}
        for placement, item in sensors.items():
            if placement not in (LOWER, UPPER) or not isinstance(item, Mapping):
                raise ConfigurationError(
                    f"calibration file: unknown sensor entry {placement!r}; use lower or upper"
                )
            z = np.asarray(item.get("z_axis_in_sensor_frame"), dtype=np.float64)
            if z.shape != (3,) or not np.isfinite(z).all() or np.linalg.norm(z) < 1e-6:
                raise ConfigurationError(
                    f"calibration file: the {placement} sensor's z_axis_in_sensor_frame must be "
                    "three numbers; save it again with --save-calibration"
                )
            z_axes[str(placement)] = (str(item.get("device", "unknown")), unit_vector(z))
        return cls(z_axes)

    def axis_for(self, placement: str, device: str) -> FloatArray | None:
        """The stored Z of this placement when the device matches (or either is unknown)."""
        item = self.z_axes.get(placement)
        if item is None:
            return None
        stored_device, z = item
        if "unknown" not in (stored_device, device) and stored_device != device:
            return None
        return z
