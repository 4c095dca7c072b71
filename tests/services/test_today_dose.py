"""A prescribed dose from today's plan, applied to a session (issue 15 item 1): the
simulated person holds the prescribed hold, the engine judges the holds against it (also
when an interrupted session is replayed from its stored ``live_config``), and a dose out
of range is refused naming the field."""

from __future__ import annotations

import pytest

from spinecoach.coach.dose import LiveDose, dosed_technique
from spinecoach.coach.replay import replay_live_samples
from spinecoach.coach.runner import LiveStart, build_simulation, live_config
from spinecoach.errors import ConfigurationError
from spinecoach.exercises.catalogue import default_catalogue
from spinecoach.sim import simulate

DOSE = LiveDose(reps=3, sets=1, hold_s=3.0)


def short_holds(result: object) -> int:
    return sum("short-hold" in rep.fault_names for rep in result.reps)  # type: ignore[attr-defined]


def test_the_simulated_person_holds_the_prescribed_hold() -> None:
    base = simulate("flexion-extension", seed=2, reps=3)
    dosed = simulate("flexion-extension", seed=2, reps=3, hold_s=3.0)
    assert "hold_s" not in base.meta and dosed.meta["hold_s"] == "3"
    assert dosed.duration_s < base.duration_s  # 3 s instead of 5 s holds, 3 reps


def test_holds_are_judged_against_the_dose_live_and_replayed() -> None:
    start = LiveStart("flexion-extension", seed=2, dose=DOSE, slot="main")
    session, _source, recording = build_simulation(start)
    assert session.engine.spec.dose.hold_s == 3.0 and session.dose == DOSE
    config = live_config(session, start)
    assert config["dose"] == {"reps": 3, "sets": 1, "hold_s": 3.0, "tempo_s": None}
    assert config["slot"] == "main"
    with_dose = replay_live_samples("flexion-extension", recording, config)
    without = replay_live_samples(
        "flexion-extension", recording, {k: v for k, v in config.items() if k != "dose"}
    )
    assert len(with_dose.reps) == 3
    # Held 3 s holds: short of the catalogue's 5 s, not of the 3 s prescribed.
    assert short_holds(with_dose) < short_holds(without)
    assert short_holds(without) == len(without.reps)


def test_a_second_hold_keeps_the_catalogues_ratio_and_no_hold_stays_none() -> None:
    catalogue = default_catalogue()
    flex = dosed_technique(catalogue.technique("flexion-extension"), DOSE)
    base = catalogue.technique("flexion-extension").dose
    assert base.extension_hold_s is not None and flex.dose.extension_hold_s is not None
    assert flex.dose.extension_hold_s == pytest.approx(3.0 * base.extension_hold_s / base.hold_s)
    seated = dosed_technique(catalogue.technique("cat-cow-seated"), DOSE)
    assert seated.dose.hold_s == 0.0 and (seated.dose.reps, seated.dose.sets) == (3, 1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reps": 0, "sets": 1}, "dose.reps is a whole number from 1 to 50, got 0"),
        ({"reps": 8, "sets": 11}, "dose.sets is a whole number from 1 to 10, got 11"),
        ({"reps": 8, "sets": 1, "hold_s": -1.0}, "dose.hold_s is seconds from 0 to 60 or null"),
        ({"reps": 8, "sets": 1, "tempo_s": float("nan")}, "dose.tempo_s is seconds from 0 to 30"),
    ],
)
def test_a_dose_out_of_range_names_the_field(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        LiveDose(**kwargs)  # type: ignore[arg-type]


def test_a_dose_is_applied_before_the_data_only() -> None:
    session, source, _recording = build_simulation(LiveStart("pelvic-tilt", seed=1, reps=2))
    session.feed(source.items[:400])
    with pytest.raises(ConfigurationError, match="only be applied before the session's first"):
        session.apply_dose(DOSE)
