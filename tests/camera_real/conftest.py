"""The real MediaPipe pose model on real photographs that ship inside installed packages.

These tests need the camera extra (mediapipe 0.10.21, numpy < 2), which lives in its own
venv: ``make camera-test`` runs them in ``.venv-camera``. In a venv without mediapipe they
are not collected, unless ``SPINECOACH_REQUIRE_CAMERA=1`` (set by ``make camera-test``), in
which case the run stops with the reason, so CI can never skip them silently.

The photographs and video helpers are in ``camera_photos.py``.
"""

from __future__ import annotations

import os

import pytest

REQUIRE_ENV = "SPINECOACH_REQUIRE_CAMERA"


def _camera_extra_error() -> str | None:
    """Why the real pose model cannot run here (None when it can)."""
    try:
        import cv2  # noqa: F401
        import mediapipe  # noqa: F401
        import skimage.data  # noqa: F401
    except ImportError as error:
        return f"{error!r}"
    return None


_missing = _camera_extra_error()
if _missing is not None:
    if os.environ.get(REQUIRE_ENV) == "1":
        raise pytest.UsageError(
            f"tests/camera_real need the camera extra and scikit-image, but {_missing}. "
            f"{REQUIRE_ENV}=1 forbids skipping them: run them with `make camera-test` "
            "(it builds .venv-camera with pip install -e '.[camera,dev]' scikit-image)"
        )
    collect_ignore_glob = ["*"]
