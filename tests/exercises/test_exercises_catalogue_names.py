"""The catalogue's plain names (issue 15 item 8): each start position and each fault has
words people read; the ids stay the code's. A file without them, or with a name for a
position that does not exist, is refused naming the field and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from spinecoach.conventions import POSITION_NOMINAL_INCLINATION_DEG, TECHNIQUES
from spinecoach.errors import CatalogueError
from spinecoach.exercises.catalogue import load_catalogue, packaged_catalogue_text

PACKAGED = packaged_catalogue_text()


def test_every_start_position_and_fault_has_plain_words() -> None:
    catalogue = load_catalogue()
    for position in POSITION_NOMINAL_INCLINATION_DEG:
        name = catalogue.position_name(position)
        assert name != position and name[0].isupper(), position
    assert catalogue.position_name("supine") == "Lying on your back"
    assert catalogue.position_name("quadruped") == "On hands and knees"
    for technique in TECHNIQUES:
        for rule in catalogue.technique(technique).faults:
            assert rule.label and rule.label != rule.name and "-" not in rule.label, rule
    assert catalogue.technique("pelvic-tilt").fault("short-hold").label == "Hold too short"


def _load_edited(tmp_path: Path, old: str, new: str) -> str:
    assert PACKAGED.count(old) >= 1, old
    path = tmp_path / "techniques.toml"
    path.write_text(PACKAGED.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(path)
    return str(caught.value)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'label = "Hold too short"\n',
            "",
            "techniques.pelvic-tilt.faults[0].label: required key is missing",
        ),
        (
            'label = "Hold too short"',
            'label = ""',
            "techniques.pelvic-tilt.faults[0].label: expected a non-empty text",
        ),
        (
            'supine = "Lying on your back"\n',
            "",
            "positions.supine: required key is missing",
        ),
        (
            'supine = "Lying on your back"',
            'supine = "Lying on your back"\nkneeling = "Kneeling"',
            "positions.kneeling: unknown key",
        ),
        ("[positions]\n", "[position_names]\n", "position_names: unknown key"),
    ],
)
def test_missing_or_wrong_plain_names_are_refused(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    text = _load_edited(tmp_path, old, new)
    assert message in text, text
