"""The fault vocabulary: each technique's form faults by name, with the criterion each
one stands for. The exercise engine judges them (with the thresholds, units, reasons and
cues of the catalogue file, which must give a rule for each and no other) and the
simulator injects them (:mod:`spinecoach.sim.techniques`); both read them from here, so
the detectors never import the simulator.

>>> sorted(TECHNIQUE_FAULTS["hip-hinge"])
['incomplete-return', 'lumbar-rounding', 'shallow-hinge']
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from spinecoach.conventions import (
    CAT_COW,
    CAT_COW_SEATED,
    FLEXION_EXTENSION,
    HIP_HINGE,
    PELVIC_TILT,
)

TECHNIQUE_FAULTS: Final[Mapping[str, Mapping[str, str]]] = MappingProxyType(
    {
        PELVIC_TILT: MappingProxyType(
            {
                "short-hold": "hold shorter than the prescribed 3 s",
                "return-too-fast": "return to neutral in under 1 s",
                "small-tilt": "posterior pelvic tilt under 5°",
                "trunk-compensation": "upper segment inclination changes by 5° or more",
                "bridging": "pelvis lifted: hip centre up 6–10 cm with extra pelvic rotation",
            }
        ),
        CAT_COW: MappingProxyType(
            {
                "breath-out-of-phase": "movement lags the breath by over 1 s, or is inverted",
                "small-range": "lumbar flexion swing (cow to cat) of the cycle under 15°",
                "jerky": "a 2–4 Hz oscillation of 1.5–3° on the lumbar angle",
            }
        ),
        CAT_COW_SEATED: MappingProxyType(
            {
                "breath-out-of-phase": "movement lags the breath by over 1 s, or is inverted",
                "small-range": "lumbar flexion swing (cow to cat) of the cycle under 8°",
                "jerky": "a 2–4 Hz oscillation of 1.5–3° on the lumbar angle",
            }
        ),
        HIP_HINGE: MappingProxyType(
            {
                "lumbar-rounding": "lumbar flexion of 15–25° while the trunk inclines",
                "shallow-hinge": "pelvis forward rotation under 15°",
                "incomplete-return": "rep ends with the pelvis over 5° from neutral",
            }
        ),
        FLEXION_EXTENSION: MappingProxyType(
            {
                "short-hold": "hold shorter than prescribed (5 s flexion, 3 s extension)",
                "too-fast": "flexion or return phases under 1 s",
                "small-range": "lumbar flexion under 25°",
            }
        ),
    }
)
"""Injectable form faults per technique, with the criterion each one meets."""
