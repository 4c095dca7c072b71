"""Seeded suites of simulated sessions for tests and benches.

:func:`protocol_free_suite` lists sessions as real people recorded them (see
:mod:`spinecoach.sim.scenarios`): every technique (flexion-extension standing and
seated), 25, 50 and 100 Hz, the coached and the real-world performer profiles,
:meth:`~spinecoach.sim.SensorErrorModel.real_world` sensors, sometimes one lower sensor
only. Each :class:`SuiteCase` unpacks into :func:`~spinecoach.sim.simulate`:

>>> cases = protocol_free_suite(3, seed=1)
>>> [case["technique"] for case in cases]
['pelvic-tilt', 'cat-cow', 'cat-cow-seated']
>>> from spinecoach.sim import simulate
>>> rec = simulate(**cases[0])
>>> rec.meta["scenario"], rec.events
('protocol-free', ())

The list depends only on its arguments, and each case only on ``seed`` and its index,
so a longer suite starts with a shorter one:
``protocol_free_suite(200)[:10] == protocol_free_suite(10)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray
from scipy.spatial.transform import Rotation

from spinecoach.conventions import (
    CAT_COW,
    CAT_COW_SEATED,
    FLEXION_EXTENSION,
    HIP_HINGE,
    LOWER,
    PELVIC_TILT,
    PLACEMENTS,
)
from spinecoach.errors import ConfigurationError
from spinecoach.recording import Recording
from spinecoach.sim.sensors import SensorErrorModel

SUITE_TECHNIQUES: Final[tuple[tuple[str, str | None], ...]] = (
    (PELVIC_TILT, None),
    (CAT_COW, None),
    (CAT_COW_SEATED, None),
    (HIP_HINGE, None),
    (FLEXION_EXTENSION, "standing"),
    (FLEXION_EXTENSION, "seated"),
)
"""(technique, position) cycled through by the suite, in this order."""
SUITE_RATES_HZ: Final = (25.0, 50.0, 100.0)
SUITE_PROFILES: Final = ("typical", "continuous", "fast", "stiff-fast", "stiff", "novice")
SUITE_REPS: Final = (3, 3, 4, 5)
SINGLE_SENSOR_SHARE: Final = 0.15
"""Share of cases with one lower sensor only (a belt-worn sensor)."""


@dataclass(frozen=True)
class SuiteCase(Mapping[str, Any]):
    """One session of a suite: the arguments of :func:`~spinecoach.sim.simulate`.

    A read-only mapping of ``technique``, ``seed`` and the keyword arguments, so
    ``simulate(**case)`` works; :attr:`name` is a short label for tables.
    """

    technique: str
    seed: int
    kwargs: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def __iter__(self) -> Iterator[str]:
        yield "technique"
        yield "seed"
        yield from self.kwargs

    def __len__(self) -> int:
        return 2 + len(self.kwargs)

    def __getitem__(self, key: str) -> Any:
        if key == "technique":
            return self.technique
        if key == "seed":
            return self.seed
        return self.kwargs[key]

    @property
    def placements(self) -> tuple[str, ...]:
        """The sensors simulated (``("lower",)`` for a single belt-worn sensor)."""
        return tuple(self.kwargs.get("placements", PLACEMENTS))

    @property
    def name(self) -> str:
        """E.g. ``flexion-extension/seated/fast/50Hz/lower/s17``."""
        parts = [self.technique]
        if self.kwargs.get("position"):
            parts.append(str(self.kwargs["position"]))
        parts.append(str(self.kwargs.get("profile", "typical")))
        parts.append(f"{float(self.kwargs.get('rate_hz', 100.0)):g}Hz")
        if self.placements == (LOWER,):
            parts.append("lower-only")
        parts.append(f"s{self.seed}")
        return "/".join(parts)

    def simulate(self) -> Recording:
        """``simulate(**self)``."""
        from spinecoach.sim.techniques import simulate

        return simulate(**self)


def protocol_free_suite(
    n_sessions: int,
    *,
    seed: int = 0,
    scenario: str = "protocol-free",
    sensor_errors: SensorErrorModel | None = None,
    single_sensor_share: float = SINGLE_SENSOR_SHARE,
    axis_conventions: bool = False,
) -> list[SuiteCase]:
    """``n_sessions`` seeded protocol-free sessions spanning every technique.

    Case ``k`` is technique/position ``k mod 6`` of :data:`SUITE_TECHNIQUES` (so any 6
    consecutive cases cover all of them, flexion-extension standing and seated), with
    rate (25/50/100 Hz), profile (:data:`SUITE_PROFILES`), reps (3–5) and single-sensor
    use drawn from a stream seeded by ``(seed, k)``; sets are 1 (hip hinge 2, to have a
    rest between sets). Sensor errors default to
    :meth:`SensorErrorModel.real_world`. ``scenario`` is a name of
    :data:`~spinecoach.sim.SCENARIOS` (not ``"coached"``). ``single_sensor_share``
    (0–1) of the cases simulate the lower sensor only (``placements=("lower",)``; 0 for
    a suite where every case has both sensors: the other draws stay the same).
    ``axis_conventions=True`` mounts each sensor with one of the 24 axis-aligned
    rotations (another brand's axes: x down, z into the skin, ...), drawn per case from
    a stream of its own (the other draws stay the same), as ``mount_rotation``.
    """
    if (
        isinstance(n_sessions, bool)
        or not isinstance(n_sessions, int)
        or not 1 <= n_sessions <= 10_000
    ):
        raise ConfigurationError(
            f"n_sessions must be a whole number from 1 to 10000, got {n_sessions!r}"
        )
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigurationError(f"seed must be a non-negative integer, got {seed!r}")
    from spinecoach.sim.scenarios import resolve_scenario

    if resolve_scenario(scenario).protocol:
        raise ConfigurationError(
            f"scenario {scenario!r} runs the coach's protocol; use a protocol-free scenario "
            "such as 'protocol-free'"
        )
    if (
        isinstance(single_sensor_share, bool)
        or not isinstance(single_sensor_share, int | float)
        or not 0.0 <= single_sensor_share <= 1.0
    ):
        raise ConfigurationError(
            f"single_sensor_share must be a number from 0 to 1, got {single_sensor_share!r}"
        )
    errors = SensorErrorModel.real_world() if sensor_errors is None else sensor_errors
    if not isinstance(errors, SensorErrorModel):
        raise ConfigurationError(
            f"sensor_errors must be a SensorErrorModel or None, got {type(errors).__name__}"
        )
    if not isinstance(axis_conventions, bool):
        raise ConfigurationError(
            f"axis_conventions must be True or False, got {axis_conventions!r}"
        )
    axes = Rotation.create_group("O").as_quat() if axis_conventions else None
    return [
        _suite_case(seed, k, scenario, errors, single_sensor_share, axes) for k in range(n_sessions)
    ]


def _suite_case(
    seed: int,
    k: int,
    scenario: str,
    errors: SensorErrorModel,
    single_sensor_share: float,
    axes: NDArray[np.float64] | None,
) -> SuiteCase:
    """Case ``k`` of the suite seeded by ``seed`` (see :func:`protocol_free_suite`);
    ``axes``: the 24 axis-aligned rotations to mount the sensors with, or None."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, k]))
    technique, position = SUITE_TECHNIQUES[k % len(SUITE_TECHNIQUES)]
    rate = SUITE_RATES_HZ[int(rng.integers(len(SUITE_RATES_HZ)))]
    profile = SUITE_PROFILES[int(rng.integers(len(SUITE_PROFILES)))]
    reps = SUITE_REPS[int(rng.integers(len(SUITE_REPS)))]
    single = bool(rng.random() < single_sensor_share)
    kwargs: dict[str, Any] = {
        "reps": reps,
        "sets": 2 if technique == HIP_HINGE else 1,
        "rate_hz": rate,
        "profile": profile,
        "sensor_errors": errors,
        "scenario": scenario,
    }
    if position is not None:
        kwargs["position"] = position
    if single:
        kwargs["placements"] = (LOWER,)
    session_seed = int(rng.integers(0, 2**31 - 1))
    if axes is not None:  # the 24 proper axis permutations, from a stream of their own
        picks = np.random.default_rng(np.random.SeedSequence([seed, k, 1])).integers(24, size=2)
        kwargs["mount_rotation"] = MappingProxyType(
            {p: tuple(float(v) for v in axes[i]) for p, i in zip(PLACEMENTS, picks, strict=True)}
        )
    return SuiteCase(technique, session_seed, MappingProxyType(kwargs))
