"""The technique catalogue: the packaged data, its arithmetic, and every way to break it."""

from __future__ import annotations

import dataclasses
import doctest
import math
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from spinecoach.conventions import (
    ANGLE_COLUMNS,
    LUMBAR_FLEXION,
    PELVIC_TILT_DEG,
    POSITION_NOMINAL_INCLINATION_DEG,
    TECHNIQUES,
)
from spinecoach.errors import CatalogueError, ConfigurationError, SpinecoachError
from spinecoach.exercises import catalogue as catalogue_module
from spinecoach.exercises.catalogue import (
    MAX_CUE_CHARS,
    MEASURES,
    Catalogue,
    FaultRule,
    TargetBand,
    default_catalogue,
    load_catalogue,
    packaged_catalogue_text,
)
from spinecoach.sim.techniques import (
    DEFAULT_REPS,
    DEFAULT_SETS,
    TECHNIQUE_FAULTS,
    TECHNIQUE_POSITIONS,
)

SEED_ARTICLE_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "seed"


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


# --- the packaged catalogue -------------------------------------------------------------


def test_packaged_catalogue_holds_the_article_dosing(catalogue: Catalogue) -> None:
    assert catalogue.version == 1
    assert tuple(catalogue.techniques) == TECHNIQUES
    assert catalogue.cue_min_interval_s == 2.5

    tilt = catalogue.technique("pelvic-tilt")
    assert (tilt.dose.reps, tilt.dose.sets, tilt.dose.hold_s) == (10, 1, 3.0)
    assert tilt.dose.return_s >= 2.5  # "slowly tilt back"
    assert (tilt.position, tilt.main_signal, tilt.direction) == ("supine", PELVIC_TILT_DEG, -1)
    assert tilt.title == "Pelvic tilt on your back"

    hinge = catalogue.technique("hip-hinge")
    assert (hinge.dose.sets, hinge.dose.reps, hinge.dose.rest_between_sets_s) == (3, 8, 20.0)
    assert (hinge.position, hinge.main_signal, hinge.direction) == ("seated", PELVIC_TILT_DEG, 1)
    assert hinge.cue("keep_long") == "Keep your back long"

    for name, position in (("cat-cow", "quadruped"), ("cat-cow-seated", "seated")):
        cat_cow = catalogue.technique(name)
        assert cat_cow.breathing.pattern == "breath-led"
        assert (cat_cow.breathing.inhale_s, cat_cow.breathing.exhale_s) == (3.0, 4.0)
        assert cat_cow.breathing.cycle_s == 7.0
        assert (cat_cow.dose.reps, cat_cow.dose.sets, cat_cow.dose.hold_s) == (8, 1, 0.0)
        assert (cat_cow.position, cat_cow.main_signal, cat_cow.direction) == (
            position,
            LUMBAR_FLEXION,
            1,
        )
        assert cat_cow.cue("inhale") == "Breathe in and let your belly drop"
        assert cat_cow.cue("exhale") == "Breathe out and round your back"

    flex = catalogue.technique("flexion-extension")
    assert (flex.dose.reps, flex.dose.hold_s, flex.dose.extension_hold_s) == (5, 5.0, 3.0)
    assert (flex.main_signal, flex.direction) == (LUMBAR_FLEXION, 1)
    assert all(
        catalogue.technique(n).dose.extension_hold_s is None
        for n in TECHNIQUES
        if n != "flexion-extension"
    )


def test_default_catalogue_is_the_packaged_file_read_once() -> None:
    first = default_catalogue()
    assert first is default_catalogue()
    assert first.source.endswith("techniques.toml")
    assert first == load_catalogue()


def test_doses_and_positions_agree_with_the_simulator(catalogue: Catalogue) -> None:
    for name in TECHNIQUES:
        technique = catalogue.technique(name)
        assert technique.dose.reps == DEFAULT_REPS[name]
        assert technique.dose.sets == DEFAULT_SETS[name]
        assert technique.position == TECHNIQUE_POSITIONS[name]
        assert technique.position in POSITION_NOMINAL_INCLINATION_DEG
        assert technique.main_signal in ANGLE_COLUMNS


@pytest.mark.parametrize("name", TECHNIQUES)
def test_every_simulator_fault_has_one_rule_with_unit_and_reason(
    catalogue: Catalogue, name: str
) -> None:
    technique = catalogue.technique(name)
    assert sorted(technique.fault_names) == sorted(TECHNIQUE_FAULTS[name])
    for rule in technique.faults:
        assert rule.unit in ("s", "deg", "ratio")
        assert rule.unit == MEASURES[rule.measure].unit
        assert rule.reason and "\n" not in rule.reason
        assert rule.cue and len(rule.cue) <= MAX_CUE_CHARS
        assert math.isfinite(rule.threshold)


# What the simulator injects (sim/techniques.py): the mildest faulty value and the value of
# a clean rep nearest to the threshold, per measure. Every rule must tell them apart.
SIMULATOR_EXTREMES = [
    ("pelvic-tilt", "short-hold", 0.7, 1.02),  # held 25–70 % vs ≥ 102 % of 3 s
    ("pelvic-tilt", "return-too-fast", 0.8, 1.5),  # 0.45–0.8 s vs ≥ 1.5 s
    ("pelvic-tilt", "small-tilt", 4.0, 6.0),  # 2.5–4° vs ≥ 6°
    ("pelvic-tilt", "trunk-compensation", 6.5, 1.7),  # ≥ 6.5° vs 10 % of a ≤ 16.5° tilt
    ("pelvic-tilt", "bridging", 4.8, 3.2),  # ≥ 5° extra vs the spread of clean tilts
    ("cat-cow", "breath-out-of-phase", 1.1, 0.88),  # late > 1.1 s vs the novice's 0.8 s ± 10 %
    ("cat-cow", "breath-out-of-phase", math.inf, 0.3),  # an inverted cycle
    ("cat-cow", "small-range", 12.5, 18.0),
    ("cat-cow", "jerky", 0.046, 0.005),  # 1.5° shake on a full cycle vs a smooth one
    ("cat-cow-seated", "small-range", 6.5, 10.0),
    ("cat-cow-seated", "jerky", 0.046, 0.005),
    ("hip-hinge", "lumbar-rounding", 15.0, 4.0),
    ("hip-hinge", "shallow-hinge", 12.0, 18.0),
    ("hip-hinge", "incomplete-return", 6.5, 1.0),
    ("flexion-extension", "short-hold", 0.7, 1.02),
    ("flexion-extension", "too-fast", 0.85, 1.5),
    ("flexion-extension", "small-range", 21.0, 30.0),
]


@pytest.mark.parametrize(("name", "fault", "faulty", "clean"), SIMULATOR_EXTREMES)
def test_thresholds_separate_the_simulators_faulty_and_clean_reps(
    catalogue: Catalogue, name: str, fault: str, faulty: float, clean: float
) -> None:
    rule = catalogue.technique(name).fault(fault)
    assert rule.is_fault(faulty)
    assert not rule.is_fault(clean)


def test_named_thresholds(catalogue: Catalogue) -> None:
    def rule(name: str, fault: str) -> tuple[str, str, float, str]:
        r = catalogue.technique(name).fault(fault)
        return r.measure, r.comparison, r.threshold, r.unit

    assert rule("pelvic-tilt", "short-hold") == ("hold_share", "<", 0.8, "ratio")
    assert rule("pelvic-tilt", "return-too-fast") == ("return_s", "<", 1.0, "s")
    assert rule("pelvic-tilt", "small-tilt") == ("range_deg", "<", 5.0, "deg")
    assert rule("pelvic-tilt", "trunk-compensation") == ("upper_change_deg", ">", 4.0, "deg")
    assert rule("pelvic-tilt", "bridging") == ("excess_tilt_deg", ">", 4.0, "deg")
    assert rule("cat-cow", "breath-out-of-phase") == ("lag_s", ">", 1.0, "s")
    assert rule("cat-cow", "small-range") == ("range_deg", "<", 15.0, "deg")
    assert rule("cat-cow-seated", "small-range") == ("range_deg", "<", 8.0, "deg")
    assert rule("cat-cow", "jerky") == ("jerk_ratio", ">", 0.02, "ratio")
    assert rule("hip-hinge", "lumbar-rounding") == ("lumbar_change_deg", ">", 12.0, "deg")
    assert rule("hip-hinge", "shallow-hinge") == ("range_deg", "<", 15.0, "deg")
    assert rule("hip-hinge", "incomplete-return") == ("end_offset_deg", ">", 5.0, "deg")
    assert rule("flexion-extension", "short-hold") == ("hold_share", "<", 0.8, "ratio")
    assert rule("flexion-extension", "too-fast") == ("phase_s", "<", 1.0, "s")
    assert rule("flexion-extension", "small-range") == ("range_deg", "<", 25.0, "deg")


def test_a_rep_inside_the_target_band_is_never_too_small(catalogue: Catalogue) -> None:
    for technique in catalogue.techniques.values():
        for personal_range in (0.0, 5.0, 12.0, 30.0, 80.0):
            lower, upper = technique.target.band(personal_range)
            for rule in technique.faults:
                if rule.measure == "range_deg":
                    assert not rule.is_fault(lower)
                    assert not rule.is_fault(upper)


# --- band arithmetic and fault rules ----------------------------------------------------

BAND = TargetBand(share_of_range=0.7, floor_deg=6.0, max_deg=20.0, min_width_deg=3.0, reason="")


@pytest.mark.parametrize(
    ("personal_range", "expected"),
    [
        (10.0, (7.0, 10.0)),  # 70 % of the range, up to the range
        (18.0, (12.6, 18.0)),
        (4.0, (6.0, 9.0)),  # below the floor: floor, floor + min width
        (0.0, (6.0, 9.0)),
        (8.0, (6.0, 9.0)),  # 5.6 → floor 6; range 8 < 6 + 3
        (25.0, (17.0, 20.0)),  # 17.5 capped at 20 − 3; upper capped at 20
        (100.0, (17.0, 20.0)),
        (12, (8.4, 12.0)),  # an int is fine
    ],
)
def test_band_arithmetic(personal_range: float, expected: tuple[float, float]) -> None:
    lower, upper = BAND.band(personal_range)
    assert lower == pytest.approx(expected[0])
    assert upper == pytest.approx(expected[1])
    assert upper - lower >= BAND.min_width_deg - 1e-12
    assert isinstance(lower, float)
    assert isinstance(upper, float)


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf, True, "10"])
def test_band_rejects_a_range_that_is_not_degrees(bad: object) -> None:
    with pytest.raises(ConfigurationError, match="personal_range_deg must be a finite number"):
        BAND.band(bad)  # type: ignore[arg-type]


def test_is_fault_both_ways_and_strict() -> None:
    below = FaultRule("small-range", "range_deg", "<", 15.0, "deg", "too small", "Move more")
    above = FaultRule("jerky", "jerk_ratio", ">", 0.02, "ratio", "shaky", "Slow down")
    assert below.is_fault(14.9)
    assert not below.is_fault(15.0)
    assert not below.is_fault(15.1)
    assert above.is_fault(0.021)
    assert not above.is_fault(0.02)
    assert not above.is_fault(0.0)
    assert above.is_fault(math.inf)
    assert not below.is_fault(math.nan)
    assert not above.is_fault(math.nan)


def test_values_are_frozen(catalogue: Catalogue) -> None:
    tilt = catalogue.technique("pelvic-tilt")
    with pytest.raises(dataclasses.FrozenInstanceError):
        tilt.dose.reps = 12  # type: ignore[misc]
    with pytest.raises(TypeError):
        tilt.cues["start"] = "x"  # type: ignore[index]
    with pytest.raises(TypeError):
        catalogue.techniques["x"] = tilt  # type: ignore[index]


def test_lookups_name_what_exists(catalogue: Catalogue) -> None:
    tilt = catalogue.technique("pelvic-tilt")
    assert tilt.cue("hold", seconds=2) == "Hold… 2"
    assert tilt.cue("release") == "Slowly release"
    assert tilt.cue("release", seconds=2) == "Slowly release"
    with pytest.raises(ConfigurationError, match=r"cue 'hold' of 'pelvic-tilt' counts down"):
        tilt.cue("hold")
    with pytest.raises(ConfigurationError, match=r"has no cue 'keep_long'; its cues are get_"):
        tilt.cue("keep_long")
    with pytest.raises(ConfigurationError, match=r"has no fault 'jerky'; its faults are short-"):
        tilt.fault("jerky")
    with pytest.raises(ConfigurationError, match=r"unknown technique 'pelvic_tilt'; use one of"):
        catalogue.technique("pelvic_tilt")


def test_module_examples_run() -> None:
    result = doctest.testmod(catalogue_module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0


# --- words the product never says -------------------------------------------------------

FORBIDDEN = re.compile(
    r"\bcur(e|es|ed|ing)\b|diagnos|\bheal(s|ed|ing)?\b|guarantee|\bfix(es|ed)?\b|"
    r"\bpromise|\bdisease|\binjur",
    re.IGNORECASE,
)


def test_texts_never_diagnose_or_promise_cures(catalogue: Catalogue) -> None:
    texts: list[str] = []
    for t in catalogue.techniques.values():
        texts += [t.title, t.summary, t.start_position, *t.instructions, *t.cues.values()]
        texts += [text for start, steps in t.position_texts.values() for text in (start, *steps)]
        texts += [t.target.reason, t.breathing.note]
        texts += [text for rule in t.faults for text in (rule.cue, rule.reason)]
    offending = [text for text in texts if FORBIDDEN.search(text)]
    assert offending == []


def test_cues_are_short_and_every_safety_note_says_stop_and_not_a_device(
    catalogue: Catalogue,
) -> None:
    for t in catalogue.techniques.values():
        assert all(0 < len(text) <= MAX_CUE_CHARS for text in t.cues.values())
        assert t.safety_note.startswith("Stop if the pain gets sharply worse")
        assert "not a medical device" in t.safety_note
        assert not re.search(r"\bcur(e|es|ed|ing)\b|\bheal(s|ed|ing)?\b", t.safety_note, re.I)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def test_instructions_are_in_our_own_words(catalogue: Catalogue) -> None:
    articles = sorted(SEED_ARTICLE_DIR.glob("*.txt"))
    if not articles:
        pytest.skip(f"the source article is not at {SEED_ARTICLE_DIR}")
    words = _words(" ".join(p.read_text(encoding="utf-8") for p in articles))
    n = 6
    article = {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}
    for t in catalogue.techniques.values():
        other = [text for start, steps in t.position_texts.values() for text in (start, *steps)]
        for step in (*t.instructions, t.summary, t.start_position, *other):
            w = _words(step)
            shared = [" ".join(w[i : i + n]) for i in range(len(w) - n + 1)]
            assert not [s for s in shared if tuple(s.split()) in article], step


# --- malformed catalogues ---------------------------------------------------------------

PACKAGED = packaged_catalogue_text()


def _replace(old: str, new: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        assert text.count(old) == 1, f"the packaged catalogue no longer has {old!r} once"
        return text.replace(old, new)

    return edit


def _replace_all(old: str, new: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        assert old in text
        return text.replace(old, new)

    return edit


def _drop_technique(name: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        pattern = re.compile(rf"^\[techniques\.{re.escape(name)}\].*?(?=^# ---|\Z)", re.S | re.M)
        edited, count = pattern.subn("", text)
        assert count == 1
        return edited

    return edit


def _drop_fault(name: str, fault: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        block = re.compile(
            rf"^\[\[techniques\.{re.escape(name)}\.faults\]\]\nname = \"{re.escape(fault)}\""
            r".*?(?=^\[)",
            re.S | re.M,
        )
        edited, count = block.subn("", text)
        assert count == 1
        return edited

    return edit


def _regex(pattern: str, repl: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        edited, count = re.subn(pattern, repl, text, count=1, flags=re.S | re.M)
        assert count == 1
        return edited

    return edit


def _drop_line(line: str) -> Callable[[str], str]:
    return _replace(line + "\n", "")


def _first_fault_of(name: str, old: str, new: str) -> Callable[[str], str]:
    """Replace ``old`` inside the first fault table of technique ``name``."""

    def edit(text: str) -> str:
        head = f"[[techniques.{name}.faults]]\n"
        start = text.index(head)
        end = text.index("\n[", start + len(head))
        part = text[start:end]
        assert part.count(old) == 1
        return text[:start] + part.replace(old, new) + text[end:]

    return edit


def _in_section(section: str, old: str, new: str) -> Callable[[str], str]:
    """Replace ``old`` inside the table ``[section]``."""

    def edit(text: str) -> str:
        start = text.index(f"[{section}]\n")
        end = text.find("\n[", start + 1)
        end = len(text) if end < 0 else end
        part = text[start:end]
        assert part.count(old) == 1, (section, old)
        return text[:start] + part.replace(old, new) + text[end:]

    return edit


PT = "techniques.pelvic-tilt"
FE_SEATED = "[techniques.flexion-extension.in_position.seated]"
MALFORMED = [
    pytest.param(
        _replace(FE_SEATED, "[techniques.flexion-extension.in_position.supine]"),
        "techniques.flexion-extension.in_position.supine: expected one of the further "
        "positions (seated) listed in positions",
        id="texts-for-a-position-not-listed",
    ),
    pytest.param(
        _replace(FE_SEATED + "\nstart_position", FE_SEATED + "\nbegin"),
        "techniques.flexion-extension.in_position.seated.begin: unknown key",
        id="position-texts-misspelt",
    ),
    pytest.param(
        _drop_technique("hip-hinge"),
        "techniques.hip-hinge: required technique is missing. Add a [techniques.hip-hinge] table",
        id="missing-technique",
    ),
    pytest.param(
        _replace_all("techniques.cat-cow-seated", "techniques.cat-cow-sitting"),
        "techniques.cat-cow-sitting: unknown technique. Did you mean 'cat-cow-seated'?",
        id="unknown-technique",
    ),
    pytest.param(
        _in_section(f"{PT}.dose", "hold_s = 3.0", "hold_secs = 3.0"),
        f"{PT}.dose.hold_secs: unknown key. Did you mean 'hold_s'? Valid keys here: reps, sets",
        id="unknown-key-with-suggestion",
    ),
    pytest.param(
        _replace(f"[{PT}.breathing]", f"[{PT}.breath]"),
        f"{PT}.breath: unknown key. Did you mean 'breathing'?",
        id="misspelt-table",
    ),
    pytest.param(
        _replace(
            'threshold = 5.0\nunit = "deg"\nreason = "Under 5 degrees',
            'threshold = "abc"\nunit = "deg"\nreason = "Under 5 degrees',
        ),
        f"{PT}.faults[2].threshold: expected a number, found 'abc'",
        id="wrong-type",
    ),
    pytest.param(
        _in_section(f"{PT}.dose", "reps = 10 ", "reps = 10.5 "),
        f"{PT}.dose.reps: expected a whole number from 1 to 100, found 10.5",
        id="float-reps",
    ),
    pytest.param(
        _in_section("techniques.hip-hinge.dose", "sets = 3 ", "sets = 0 "),
        "techniques.hip-hinge.dose.sets: expected a whole number from 1 to 20, found 0",
        id="zero-sets",
    ),
    pytest.param(
        _in_section(f"{PT}.dose", "return_s = 3.0", "return_s = -3.0"),
        f"{PT}.dose.return_s: expected a duration in seconds > 0 and ≤ 600, found -3.0",
        id="negative-duration",
    ),
    pytest.param(
        _in_section(f"{PT}.dose", "hold_s = 3.0", "hold_s = -1.0"),
        f"{PT}.dose.hold_s: expected a duration in seconds ≥ 0 and ≤ 600, found -1.0",
        id="negative-hold",
    ),
    pytest.param(
        _in_section(f"{PT}.dose", "move_s = 2.0", "move_s = 0.0"),
        f"{PT}.dose.move_s: expected a duration in seconds > 0 and ≤ 600, found 0.0",
        id="zero-movement",
    ),
    pytest.param(
        _in_section(f"{PT}.dose", "hold_s = 3.0", "hold_s = 3000"),
        f"{PT}.dose.hold_s: expected a duration in seconds ≥ 0 and ≤ 600, found 3000",
        id="milliseconds-for-seconds",
    ),
    pytest.param(
        _in_section(f"{PT}.dose", "hold_s = 3.0", "hold_s = nan"),
        f"{PT}.dose.hold_s: expected a finite number ≥ 0, found nan",
        id="nan-duration",
    ),
    pytest.param(
        _in_section(f"{PT}.dose", "hold_s = 3.0", "hold_s = true"),
        f"{PT}.dose.hold_s: expected a duration in seconds, found true",
        id="boolean-duration",
    ),
    pytest.param(
        _drop_line("extension_hold_s = 3.0       # and in extension"),
        "techniques.flexion-extension.dose.extension_hold_s: required key is missing",
        id="missing-extension-hold",
    ),
    pytest.param(
        _first_fault_of("pelvic-tilt", 'name = "short-hold"', 'name = "short-hld"'),
        f"{PT}.faults[0].name: expected one of the faults this technique has: 'short-hold', "
        "'return-too-fast', 'small-tilt', 'trunk-compensation', 'bridging', found 'short-hld'. "
        "Did you mean 'short-hold'?",
        id="unknown-fault-name",
    ),
    pytest.param(
        _first_fault_of("cat-cow", 'name = "breath-out-of-phase"', 'name = "jerky"'),
        "techniques.cat-cow.faults[2].name: expected each fault once, found a second, "
        "found 'jerky'",
        id="duplicate-fault",
    ),
    pytest.param(
        _drop_fault("pelvic-tilt", "bridging"),
        f"{PT}.faults: missing a rule for fault 'bridging'. Every fault of pelvic-tilt needs "
        "a rule: short-hold, return-too-fast, small-tilt, trunk-compensation, bridging",
        id="missing-fault",
    ),
    pytest.param(
        _first_fault_of("pelvic-tilt", 'comparison = "<"', 'comparison = "<="'),
        f"{PT}.faults[0].comparison: expected one of '<', '>', found '<='",
        id="wrong-comparison",
    ),
    pytest.param(
        _first_fault_of("pelvic-tilt", 'measure = "hold_share"', 'measure = "hold_shar"'),
        f"{PT}.faults[0].measure: expected one of 'hold_s', 'hold_share',",
        id="unknown-measure",
    ),
    pytest.param(
        _first_fault_of("pelvic-tilt", 'unit = "ratio"', 'unit = "s"'),
        f"{PT}.faults[0].unit: expected 'ratio' (the unit of measure 'hold_share'), found 's'",
        id="unit-of-another-measure",
    ),
    pytest.param(
        _first_fault_of("pelvic-tilt", "threshold = 0.8", "threshold = -0.8"),
        f"{PT}.faults[0].threshold: expected a number ≥ 0 and ≤ 1e+06, found -0.8",
        id="negative-threshold",
    ),
    pytest.param(
        _first_fault_of("pelvic-tilt", "reason = ", "# reason = "),
        f"{PT}.faults[0].reason: required key is missing",
        id="fault-without-reason",
    ),
    pytest.param(
        _replace(
            'start = "Breathe out and flatten your low back into the mat"',
            'start = "Breathe out slowly and steadily and flatten your low back right down into '
            'the mat now please"',
        ),
        f"{PT}.cues.start: expected at most 80 characters, found 92. Say it in fewer words",
        id="too-long-cue",
    ),
    pytest.param(
        _in_section(f"{PT}.cues", 'hold = "Hold… {seconds}"', 'hold = "Hold… {secs}"'),
        f"{PT}.cues.hold: unknown placeholder {{secs}}; expected only {{seconds}}",
        id="unknown-placeholder",
    ),
    pytest.param(
        _in_section(f"{PT}.cues", 'hold = "Hold… {seconds}"', 'hold = "Hold… {seconds"'),
        f"{PT}.cues.hold: expected a valid cue text",
        id="broken-placeholder",
    ),
    pytest.param(
        _drop_line('keep_long = "Keep your back long"'),
        "techniques.hip-hinge.cues.keep_long: required cue is missing. This technique needs:",
        id="missing-technique-cue",
    ),
    pytest.param(
        _in_section(f"{PT}.cues", "well_done = ", "well_dne = "),
        f"{PT}.cues.well_done: required cue is missing. Is 'well_dne' a misspelling of it?",
        id="misspelt-cue",
    ),
    pytest.param(
        _in_section(f"{PT}.cues", "rest = ", '"Rest" = '),
        f"{PT}.cues.Rest: expected a cue key in lower case with underscores",
        id="cue-key-case",
    ),
    pytest.param(
        _in_section(f"{PT}.cues", 'release = "Slowly release"', "release = 3"),
        f"{PT}.cues.release: expected a text in quotes, found 3",
        id="cue-not-text",
    ),
    pytest.param(
        _replace("catalogue_version = 1", "catalogue_version = 2"),
        "catalogue_version: expected 1 (the only version this spinecoach reads), found 2",
        id="bad-version",
    ),
    pytest.param(
        _replace("catalogue_version = 1", 'catalogue_version = "1"'),
        "catalogue_version: expected 1 (the only version this spinecoach reads), found '1'",
        id="version-as-text",
    ),
    pytest.param(
        _drop_line("catalogue_version = 1"),
        "catalogue_version: required key is missing. Put 'catalogue_version = 1' at the top",
        id="missing-version",
    ),
    pytest.param(
        _replace("cue_min_interval_s = 2.5", "cue_min_interval = 2.5"),
        "cue_min_interval: unknown key. Did you mean 'cue_min_interval_s'?",
        id="top-level-typo",
    ),
    pytest.param(
        _replace("cue_min_interval_s = 2.5", "cue_min_interval_s = 0"),
        "cue_min_interval_s: expected a duration in seconds > 0 and ≤ 60, found 0",
        id="zero-cue-interval",
    ),
    pytest.param(
        _replace('position = "supine"', 'position = "supin"'),
        f"{PT}.position: expected one of 'standing', 'seated', 'supine', 'quadruped', "
        "found 'supin'. Did you mean 'supine'?",
        id="unknown-position",
    ),
    pytest.param(
        _replace(
            'main_signal = "pelvic_tilt_deg"\ndirection = -1',
            'main_signal = "pelvic_tilt"\ndirection = -1',
        ),
        f"{PT}.main_signal: expected one of 'lumbar_flexion_deg', ",
        id="unknown-signal",
    ),
    pytest.param(
        _replace("direction = -1 ", "direction = 0 "),
        f"{PT}.direction: expected 1 or -1 (the sign of the main signal in the working "
        "movement), found 0",
        id="zero-direction",
    ),
    pytest.param(
        _replace("direction = -1 ", "direction = -1.0 "),
        f"{PT}.direction: expected 1 or -1",
        id="float-direction",
    ),
    pytest.param(
        _in_section(f"{PT}.target", "share_of_range = 0.7", "share_of_range = 1.5"),
        f"{PT}.target.share_of_range: expected a share of the range > 0 and ≤ 1, found 1.5",
        id="share-over-one",
    ),
    pytest.param(
        _in_section(f"{PT}.target", "floor_deg = 6.0", "floor_deg = 4.0"),
        f"{PT}.target.floor_deg: expected at least the 'small-tilt' threshold 5 (faults[2]), so "
        "a rep inside the target band is never a fault, found 4.0",
        id="band-floor-below-small-range",
    ),
    pytest.param(
        _in_section(f"{PT}.target", "max_deg = 20.0", "max_deg = 8.0"),
        f"{PT}.target.max_deg: expected at least floor_deg + min_width_deg = 9, found 8.0",
        id="band-cap-below-floor",
    ),
    pytest.param(
        _in_section(f"{PT}.breathing", 'pattern = "exhale-on-effort"', 'pattern = "exhale"'),
        f"{PT}.breathing.pattern: expected one of 'exhale-on-effort', 'breath-led', 'natural', "
        "found 'exhale'",
        id="unknown-breathing",
    ),
    pytest.param(
        _in_section(f"{PT}.breathing", "inhale_s = 2.0", "inhale_s = 0.0"),
        f"{PT}.breathing.inhale_s: expected a duration in seconds > 0 and ≤ 30, found 0.0",
        id="zero-inhale",
    ),
    pytest.param(
        _in_section(f"{PT}.breathing", 'pattern = "exhale-on-effort"', 'pattern = "breath-led"'),
        f"{PT}.cues.exhale: required cue is missing",
        id="breath-led-needs-breath-cues",
    ),
    pytest.param(
        _replace('title = "Pelvic tilt on your back"', 'title = ""'),
        f"{PT}.title: expected a non-empty text, found ''",
        id="empty-title",
    ),
    pytest.param(
        _replace_all(
            'instructions = [\n    "Let your back and shoulders rest on the mat.",',
            'instructions = "Let your back and shoulders rest on the mat."\nsteps = [',
        ),
        f"{PT}.steps: unknown key",
        id="instructions-unknown-key",
    ),
    pytest.param(
        _regex(r"^instructions = \[.*?\]$", 'instructions = "Rock the pelvis."'),
        f"{PT}.instructions: expected a non-empty array of texts (the steps), "
        "found 'Rock the pelvis.'",
        id="instructions-not-a-list",
    ),
    pytest.param(
        _regex(r"^instructions = \[.*?\]$", "instructions = []"),
        f"{PT}.instructions: expected a non-empty array of texts (the steps), found an array "
        "of 0 items",
        id="no-instructions",
    ),
    pytest.param(
        _replace(
            '"Let your back and shoulders rest on the mat.",',
            '"Let your back and shoulders rest on the mat' + ", and then" * 9 + '.",',
        ),
        f"{PT}.instructions[0]: expected at most 120 characters, found 134",
        id="long-instruction",
    ),
    pytest.param(
        lambda text: _regex(r"^\[techniques\.pelvic-tilt\.dose\]\n.*?(?=^\[)", "")(
            _replace("direction = -1 ", "dose = 3\ndirection = -1 ")(text)
        ),
        f"{PT}.dose: expected a table, found 3",
        id="dose-not-a-table",
    ),
    pytest.param(
        _regex(r"^\[techniques\.pelvic-tilt\.dose\]\n.*?(?=^\[)", ""),
        f"{PT}.dose: required key is missing. Add it (see docs/techniques.md)",
        id="missing-dose",
    ),
    pytest.param(
        _replace("[techniques.pelvic-tilt.target]", "[techniques.pelvic-tilt.target]\nx = 1\n[y]"),
        "y: unknown key",
        id="stray-top-level-table",
    ),
]


@pytest.mark.parametrize(("edit", "message"), MALFORMED)
def test_malformed_catalogue_names_the_entry_and_field(
    tmp_path: Path, edit: Callable[[str], str], message: str
) -> None:
    path = tmp_path / "techniques.toml"
    path.write_text(edit(PACKAGED), encoding="utf-8")
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(path)
    text = str(caught.value)
    assert text.startswith(f"{path}: "), text
    assert message in text, text
    assert isinstance(caught.value, ConfigurationError)
    assert isinstance(caught.value, SpinecoachError)
    assert caught.value.source == str(path)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("reps = 10 ", "reps 10 "),  # no '='
        # unclosed quote
        ('title = "Pelvic tilt on your back"', 'title = "Pelvic tilt on your back'),
        ("[techniques.hip-hinge.dose]", "[techniques.hip-hinge.dose"),  # unclosed bracket
        ("cue_min_interval_s = 2.5", "cue_min_interval_s = 2.5\ncue_min_interval_s = 3"),
    ],
)
def test_toml_syntax_error_names_the_file_line_and_column(
    tmp_path: Path, old: str, new: str
) -> None:
    text = _replace(old, new)(PACKAGED)
    line = text[: text.index(new)].count("\n") + 1 + new.count("\n")
    path = tmp_path / "techniques.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(str(path))
    message = str(caught.value)
    assert re.match(rf"{re.escape(str(path))}: invalid TOML at line \d+, column \d+: ", message)
    assert f"line {line}," in message, message
    assert message.endswith("Check the quotes, brackets and '=' on that line")


def test_a_missing_or_unreadable_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"
    with pytest.raises(CatalogueError, match=r"nowhere\.toml: cannot read the catalogue file"):
        load_catalogue(missing)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"catalogue_version = 1\n\xff\xfe")
    with pytest.raises(CatalogueError, match=r"binary\.toml: expected UTF-8 text, found an"):
        load_catalogue(binary)


def test_an_edited_copy_loads_with_its_own_values(tmp_path: Path) -> None:
    text = _in_section(f"{PT}.dose", "reps = 10 ", "reps = 12 ")(PACKAGED)
    text = _replace("cue_min_interval_s = 2.5", "")(text)
    text = _replace(
        "direction = -1  # posterior tilt is negative pelvic tilt",
        "direction = -1\ncue_min_interval_s = 4.0",
    )(text)
    path = tmp_path / "mine.toml"
    path.write_text(text, encoding="utf-8")
    edited = load_catalogue(path)
    assert edited.source == str(path)
    assert edited.technique("pelvic-tilt").dose.reps == 12
    assert edited.cue_min_interval_s == 2.5  # the default when the file does not say
    assert edited.technique("pelvic-tilt").cue_min_interval_s == 4.0
    assert edited.technique("cat-cow").cue_min_interval_s == 2.5
