"""Real photographs that ship inside installed packages, and videos made from them.

No download, no network: the image files are inside the wheels (scikit-image's
``skimage/data`` and matplotlib's ``mpl-data/sample_data``; pooch is not installed).

* ``astronaut`` — scikit-image's ``astronaut.png`` (Eileen Collins, NASA; head to waist,
  facing the camera; the hips are just below the picture);
* ``grace_hopper`` — matplotlib's ``grace_hopper.jpg`` (head and shoulders, facing the
  camera);
* ``cat``, ``coffee``, ``rocket`` — scikit-image photographs without a person.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

Image = NDArray[np.uint8]

#: The video size the camera source is benchmarked at (width, height).
CANVAS = (640, 480)
FPS = 30.0
PEOPLE = ("astronaut", "grace_hopper")
NO_PEOPLE = ("cat", "coffee", "rocket")


def _rgb(image: NDArray[np.generic]) -> Image:
    array = np.asarray(image)
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=2)
    return np.ascontiguousarray(array[..., :3], dtype=np.uint8)


def load_photo(name: str) -> Image:
    """One of the shipped photographs (RGB, uint8)."""
    if name == "grace_hopper":
        import matplotlib.image
        from matplotlib import cbook

        with cbook.get_sample_data("grace_hopper.jpg") as file:
            return _rgb(matplotlib.image.imread(file))
    import skimage.data

    loaders = {
        "astronaut": skimage.data.astronaut,
        "cat": skimage.data.chelsea,
        "coffee": skimage.data.coffee,
        "rocket": skimage.data.rocket,
    }
    return _rgb(loaders[name]())


def on_canvas(
    image: Image,
    size: tuple[int, int] = CANVAS,
    *,
    scale: float = 1.0,
    shift_px: tuple[int, int] = (0, 0),
    background: int = 0,
) -> Image:
    """``image`` fitted into a (width, height) canvas, scaled by ``scale`` and moved by
    ``shift_px`` (x, y) from the centre; what falls outside the canvas is cut off."""
    width, height = size
    h, w = image.shape[:2]
    s = min(width / w, height / h) * scale
    resized = cv2.resize(image, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
    out = np.full((height, width, 3), background, dtype=np.uint8)
    x0 = (width - resized.shape[1]) // 2 + shift_px[0]
    y0 = (height - resized.shape[0]) // 2 + shift_px[1]
    xa, ya = max(x0, 0), max(y0, 0)
    xb = min(x0 + resized.shape[1], width)
    yb = min(y0 + resized.shape[0], height)
    if xa < xb and ya < yb:
        out[ya:yb, xa:xb] = resized[ya - y0 : yb - y0, xa - x0 : xb - x0]
    return out


def write_video(path: Path, frames: Sequence[Image], fps: float = FPS) -> Path:
    """Write RGB frames to an mp4 (OpenCV, mp4v), as a camera recording would be."""
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write the video {path}")
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path
