"""Dose templates in protocol files: parsing, strict validation and the [S]/[U] mark on every number."""

import re
from pathlib import Path

import pytest

from laserdose.clinical.protocols import get_protocol, load_protocol_file, shipped_dir
from laserdose.errors import InputError

LBP = "chronic-nonspecific-lbp"


def _template_lines(name: str) -> list[str]:
    text = (shipped_dir() / f"{name}.toml").read_text(encoding="utf-8")
    return text[text.index("[[templates]]") :].splitlines()


def test_chronic_lbp_carries_a_guideline_trials_and_a_labelled_manufacturer_setting():
    templates = {t.id: t for t in get_protocol(LBP).templates}
    assert {t.kind for t in templates.values()} == {"guideline", "trial", "manufacturer"}
    walt = templates["walt2010"]
    assert (walt.energy_per_point_j, walt.points) == (4.0, 4)  # [WALT2010]: at least 4 J, 4-8 points
    summus = templates["summus2020"]
    assert summus.kind == "manufacturer"
    assert summus.area_cm2 is not None and summus.time_s is not None
    # 12 W for 420 s over 500 cm2 [Summus2020]: 10.08 J/cm2, and 0.61 W/cm2 x 420 s = 256 J/cm2 is not it:
    # the irradiance is under the moving beam, the dose is over the whole area.
    assert summus.dose_at_skin_j_per_cm2 == pytest.approx(12.0 * 420.0 / 500.0, abs=0.05)
    nd_yag = templates["abdelbasset2020"]
    assert (nd_yag.mode, nd_yag.wavelengths_nm, nd_yag.sessions, nd_yag.per_week) == (
        "pulsed",
        (1064.0,),
        18,
        3,
    )


def test_every_number_in_a_template_carries_its_mark():
    for path in sorted(shipped_dir().glob("*.toml")):
        if "[[templates]]" not in path.read_text(encoding="utf-8"):
            continue
        for line in _template_lines(path.stem):
            assignment = re.match(r"\s*\w+ = (\[?[-\d.][^#]*)", line)
            if assignment:
                assert "[S]" in line or "[U]" in line, f"{path.name}: unmarked number in {line!r}"


BAD = [
    ('kind = "manufacturer"', 'kind = "anecdote"', "templates[3].kind must be one of trial, guideline"),
    ('mode = "pulsed"  # [S]', 'mode = "cw"', "templates[1].pulse must be given exactly when mode"),
    ("area_cm2 = 500.0  # [S]", "", "templates[3]: give the dose either per area"),
    (
        "per_week = 3  # [S]",
        "per_week = 9",
        "templates[1].per_week must be a whole number from 1 to 7, got 9",
    ),
    ("wavelengths_nm = [1064.0]  # Nd:YAG [S]", "wavelengths_nm = []", "wavelengths_nm must list at least"),
    ('skin_types = [2]  # "light', 'skin_types = [7]  # "light', "participants.skin_types must list"),
    ('id = "taradaj2019"', 'id = "walt2010"', "template ids must be unique"),
    ("time_s = 600.0  # 10 min [S]", "time_s = -600.0", "templates[2].time_s must be a number > 0"),
    (
        '[templates.result]\ncontrol = "none: a manufacturer',
        '[templates.result]\ncontrl = "x"\ncontrol = "none: a manufacturer',
        "unknown field templates[3].result.contrl",
    ),
]


@pytest.mark.parametrize(("old", "new", "message"), BAD)
def test_invalid_templates_are_rejected_naming_file_and_field(
    tmp_path: Path, old: str, new: str, message: str
):
    text = (shipped_dir() / f"{LBP}.toml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / f"{LBP}.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_protocol_file(path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)


def test_protocols_without_evidence_for_a_template_say_so():
    for path in sorted(shipped_dir().glob("*.toml")):
        protocol = load_protocol_file(path)
        if not protocol.templates:
            assert any("No dose template" in note for note in protocol.notes), path.name
