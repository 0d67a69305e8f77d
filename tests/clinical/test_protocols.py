"""Protocol files: shipped ones are valid and cited; a clinic directory adds or overrides; bad files fail."""

from pathlib import Path

import pytest

from laserdose.clinical.protocols import (
    ENV_DIR,
    TARGET_STRUCTURES,
    get_protocol,
    load_protocol_file,
    load_protocols,
    shipped_dir,
)
from laserdose.clinical.screening import DIAGNOSES
from laserdose.errors import InputError

# The conditions and codes the protocols cover; herniated disc and stenosis are referral-first.
CONDITIONS = {
    "acute-nonspecific-lbp",
    "chronic-nonspecific-lbp",
    "facet-pain",
    "sacroiliac-pain",
    "radicular-pain",
    "myofascial-pain",
    "herniated-disc",
    "spinal-stenosis",
}


def test_every_condition_has_a_shipped_protocol(monkeypatch):
    monkeypatch.delenv(ENV_DIR, raising=False)
    protocols = load_protocols()
    assert set(protocols) == CONDITIONS == set(DIAGNOSES)
    for name in ("herniated-disc", "spinal-stenosis"):
        assert protocols[name].referral_first
    assert not protocols["facet-pain"].referral_first


def test_shipped_numbers_match_the_cited_sources(monkeypatch):
    monkeypatch.delenv(ENV_DIR, raising=False)
    for protocol in load_protocols().values():
        # No dose window at the target: the aim is a template's reference dose within 0.8-1.25 of it,
        # never above 2 x (biphasic dose response, a judgement [U]).
        assert protocol.prescription.band == (0.8, 1.25) and protocol.prescription.max_target_ratio == 2.0
        assert any("Sharma 2011" in s and "biphasic" in s for s in protocol.sources)
        # The highest surface dose of a low-back template: Taradaj 2019, 60 J/cm2 [S].
        assert protocol.max_surface_dose_j_per_cm2 == 60.0
        taradaj = {t.id: t for t in protocol.templates}["taradaj2019"]
        assert taradaj.surface_dose_j_per_cm2 == protocol.max_surface_dose_j_per_cm2
        # Every protocol plans from the chronic low back pain templates, its own or borrowed.
        assert protocol.template(None).id == "abdelbasset2020"
        assert protocol.borrowed == (protocol.name != "chronic-nonspecific-lbp")
        assert protocol.sources and any("WALT 2010" in s for s in protocol.sources)
    # Trials: 12 sessions, 3 per week for 4 weeks; 2-3 per week for 6 weeks (published trials).
    chronic = get_protocol("chronic-nonspecific-lbp").course
    assert (chronic.sessions, chronic.per_week, chronic.weeks) == (12, 3, 4.0)
    assert get_protocol("radicular-pain").course.weeks == 6.0


def test_targets_match_the_condition(monkeypatch):
    monkeypatch.delenv(ENV_DIR, raising=False)
    expected = {
        "facet-pain": "facet_joint",
        "sacroiliac-pain": "sacroiliac_joint",
        "radicular-pain": "nerve_root",
        "myofascial-pain": "multifidus",
    }
    for name, structure in expected.items():
        assert get_protocol(name).primary_target.structure == structure


def _shipped_text(name: str) -> str:
    return (shipped_dir() / f"{name}.toml").read_text()


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / f"{name}.toml"
    path.write_text(text)
    return path


def test_a_clinic_directory_adds_and_overrides(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_DIR, raising=False)
    text = _shipped_text("facet-pain")
    _write(tmp_path, "facet-pain", text.replace("sessions = 12", "sessions = 8"))
    own = text.replace('name = "facet-pain"', 'name = "facet-pain-short"')
    _write(tmp_path, "facet-pain-short", own.replace("per_week = 3", "per_week = 2"))
    protocols = load_protocols(tmp_path)
    assert protocols["facet-pain"].course.sessions == 8
    assert protocols["facet-pain-short"].course.per_week == 2
    assert protocols["facet-pain-short"].origin == str(tmp_path / "facet-pain-short.toml")
    assert len(protocols) == len(CONDITIONS) + 1
    # The same through the environment variable.
    monkeypatch.setenv(ENV_DIR, str(tmp_path))
    assert get_protocol("facet-pain").course.sessions == 8


def test_the_argument_overrides_the_environment(tmp_path, monkeypatch):
    env_dir, arg_dir = tmp_path / "env", tmp_path / "arg"
    env_dir.mkdir()
    arg_dir.mkdir()
    text = _shipped_text("facet-pain")
    _write(env_dir, "facet-pain", text.replace("sessions = 12", "sessions = 8"))
    _write(arg_dir, "facet-pain", text.replace("sessions = 12", "sessions = 6"))
    monkeypatch.setenv(ENV_DIR, str(env_dir))
    assert get_protocol("facet-pain", arg_dir).course.sessions == 6


BAD_EDITS = [
    (
        "band = [0.8, 1.25]",
        "band = [1.1, 1.25]",
        "prescription needs band low <= 1 <= band high <= max_target_ratio",
    ),
    (
        "max_target_ratio = 2.0",
        "max_target_ratio = 1.2",
        "prescription needs band low <= 1 <= band high <= max_target_ratio",
    ),
    ("band = [0.8, 1.25]", "band = [0.8]", "prescription.band must be [low, high]"),
    (
        'templates_from = "chronic-nonspecific-lbp"',
        'default_template = "walt2010"',
        "no dose template: give [[templates]] or prescription.templates_from",
    ),
    (
        "max_surface_dose_j_per_cm2 = 60.0",
        "max_surface_dose_j_per_cm2 = -1.0",
        "max_surface_dose_j_per_cm2 must be a number > 0",
    ),
    (
        "max_surface_dose_j_per_cm2 = 60.0",
        "surface_dose_j_per_cm2 = [8.0, 10.0]",
        "surface_dose_j_per_cm2: give max_surface_dose_j_per_cm2",
    ),
    (
        'why = "Lumbar facet joint',
        'window_j_per_cm2 = [0.5, 4.0]\nwhy = "Lumbar facet joint',
        "targets[0].window_j_per_cm2: no protocol sets a dose window at the target any more",
    ),
    (
        'structure = "facet_joint"',
        'structure = "kidney"',
        "targets[0].structure 'kidney' unknown; allowed: facet_joint",
    ),
    ("sessions = 12", "sessions = 0", "course.sessions must be a whole number from 1 to 100, got 0"),
    ("per_week = 3", "per_week = 8", "course.per_week must be a whole number from 1 to 7, got 8"),
    ("per_week = 3", "per_week = 2.5", "course.per_week must be a whole number"),
    ('diagnosis = "facet-pain"', 'diagnosis = "gout"', "unknown diagnosis 'gout'; allowed:"),
    ("referral_first = false", 'referral_first = "no"', "referral_first must be true or false"),
    ("referral_first = false\n", "", "missing field referral_first"),
    ('title = "Lumbar facet joint pain"', 'titel = "x"', "unknown field 'titel'"),
    ('name = "facet-pain"', 'name = "facets"', "name 'facets' must match the file name 'facet-pain'"),
    ("[[targets]]", "[[targetz]]", "unknown field 'targetz'"),
    (
        'structure = "facet_joint"',
        'structure = "facet_joint"\ndepth_mm = 30',
        "unknown field targets[0].'depth_mm'",
    ),
    ("sources = [", "sources = []\nold_sources = [", "unknown field 'old_sources'"),
    ("sessions = 12", "sessions = 12 12", "not valid TOML"),
]


@pytest.mark.parametrize(("old", "new", "message"), BAD_EDITS)
def test_invalid_protocol_files_are_rejected_naming_file_and_field(tmp_path, old, new, message):
    text = _shipped_text("facet-pain")
    assert old in text
    path = _write(tmp_path, "facet-pain", text.replace(old, new, 1))
    with pytest.raises(InputError) as info:
        load_protocol_file(path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)
    with pytest.raises(InputError):  # a bad file in a clinic's directory stops the whole load
        load_protocols(tmp_path)


def test_templates_are_borrowed_only_from_a_protocol_with_its_own(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_DIR, raising=False)
    text = _shipped_text("facet-pain").replace(
        'templates_from = "chronic-nonspecific-lbp"', 'templates_from = "sacroiliac-pain"'
    )
    _write(tmp_path, "facet-pain", text)
    with pytest.raises(InputError, match="templates_from 'sacroiliac-pain' must name a protocol with"):
        load_protocols(tmp_path)


def test_empty_sources_and_referral_first_are_enforced(tmp_path):
    text = _shipped_text("herniated-disc")
    path = _write(tmp_path, "herniated-disc", text.replace("referral_first = true", "referral_first = false"))
    with pytest.raises(InputError, match="referral_first must be true for diagnosis 'herniated-disc'"):
        load_protocol_file(path)
    start = text.index("sources = [")
    end = text.index("]", start) + 1
    path = _write(tmp_path, "herniated-disc", text[:start] + "sources = []" + text[end:])
    with pytest.raises(InputError, match="sources must name at least one source"):
        load_protocol_file(path)


def test_unknown_protocol_and_missing_directory(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_DIR, raising=False)
    with pytest.raises(InputError, match="unknown protocol 'gout'; allowed: acute-nonspecific-lbp"):
        get_protocol("gout")
    monkeypatch.setenv(ENV_DIR, str(tmp_path / "absent"))
    with pytest.raises(InputError, match=f"{ENV_DIR}: .*absent is not a directory"):
        load_protocols()


def test_target_vocabulary_is_the_back_model_one():
    # The structures planning takes depths for.
    assert set(TARGET_STRUCTURES) == {"facet_joint", "multifidus", "nerve_root", "sacroiliac_joint"}
