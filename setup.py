"""Build of the one C extension, ``spinecoach.motion._cfusion``; everything else is in
pyproject.toml.

The extension is x-io Fusion's AHRS and bias estimator (vendored, unmodified, in
src/spinecoach/motion/_fusion_c/) in a compiled loop over whole arrays; see
spinecoach.motion.fusion for why. Compiled as imufusion compiles the same sources
(``FUSION_USE_NORMAL_SQRT``, no fast-math), so it gives imufusion's quaternions. A build
without a C compiler still installs: the extension is optional and spinecoach falls back
to imufusion's per-sample loop (with a warning).
"""

from __future__ import annotations

import sys

from setuptools import Extension, setup

FUSION_DIR = "src/spinecoach/motion/_fusion_c"

cfusion = Extension(
    "spinecoach.motion._cfusion",
    sources=[
        "src/spinecoach/motion/_cfusion.c",
        f"{FUSION_DIR}/FusionAhrs.c",
        f"{FUSION_DIR}/FusionBias.c",
    ],
    depends=[
        f"{FUSION_DIR}/{name}"
        for name in (
            "FusionAhrs.h",
            "FusionBias.h",
            "FusionConfig.h",
            "FusionConvention.h",
            "FusionInline.h",
            "FusionMath.h",
        )
    ],
    define_macros=[("FUSION_USE_NORMAL_SQRT", None)],
    # No fused multiply-add (GCC contracts a*b+c by default where the CPU has FMA, e.g.
    # on ARM): the array kernels must give numpy's bits, their tested fallback.
    extra_compile_args=[] if sys.platform == "win32" else ["-ffp-contract=off"],
    libraries=["m"] if sys.platform.startswith("linux") else [],
    optional=True,
)

setup(ext_modules=[cfusion])
