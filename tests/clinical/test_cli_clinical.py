"""`laserdose screen` and `laserdose protocols`: output for people and machines, one-line errors, exit 2."""

import json

import pytest

from laserdose.clinical.protocols import ENV_DIR, shipped_dir

PATIENT = """
skin_type = {skin_type}
bmi = 27.0
area_cm2 = 150
[screening]
diagnosis = "{diagnosis}"
red_flags = {red_flags}
contraindications = []
precautions = ["anticoagulants"]
"""


@pytest.fixture(autouse=True)
def _no_clinic_protocols(monkeypatch):
    monkeypatch.delenv(ENV_DIR, raising=False)


def _patient(tmp_path, skin_type=3, diagnosis="chronic-nonspecific-lbp", red_flags="[]"):
    path = tmp_path / "patient.toml"
    path.write_text(PATIENT.format(skin_type=skin_type, diagnosis=diagnosis, red_flags=red_flags))
    return path


def test_screen_json_cauda_equina_is_an_emergency(cli, tmp_path):
    # NICE CKS Sciatica: suspected cauda equina -> immediate admission.
    path = _patient(tmp_path, red_flags='["urinary-retention", "fever"]')
    result = cli("screen", "--patient", path, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["decision"], data["urgency"]) == ("refer", "emergency")
    assert [r["code"] for r in data["reasons"]] == [
        "urinary-retention",
        "fever",
        "anticoagulants",
        "chronic-nonspecific-lbp",
    ]


def test_screen_table_for_people(cli, tmp_path):
    result = cli("screen", "--patient", _patient(tmp_path))
    assert result.exit_code == 0
    assert result.stdout.startswith("Decision: treat-with-precautions\n")
    assert "anticoagulants" in result.stdout and "Houghton" in result.stdout


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"skin_type": 7}, "skin_type: Fitzpatrick skin type must be between 1 and 6, got 7"),
        (
            {"diagnosis": "back-ache"},
            "[screening] unknown diagnosis 'back-ache'; allowed: acute-nonspecific-lbp",
        ),
        ({"red_flags": '["headache"]'}, "[screening] unknown red flag 'headache'; allowed:"),
    ],
)
def test_screen_bad_patient_is_one_line_exit_2(cli, tmp_path, kwargs, message):
    path = _patient(tmp_path, **kwargs)
    result = cli("screen", "--patient", path)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"laserdose: error: {path}: {message}")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output


def test_screen_missing_file_exits_2(cli, tmp_path):
    result = cli("screen", "--patient", tmp_path / "absent.toml")
    assert result.exit_code == 2 and "cannot read the patient file" in result.stderr


def test_protocols_list_json_and_table(cli):
    result = cli("protocols", "list", "--json")
    assert result.exit_code == 0
    names = [p["name"] for p in json.loads(result.stdout)["protocols"]]
    assert names == sorted(p.stem for p in shipped_dir().glob("*.toml"))
    assert "chronic-nonspecific-lbp" in names and len(names) == 8
    table = cli("protocols", "list")
    assert table.exit_code == 0 and "Treatment protocols" in table.stdout


def test_protocols_show(cli):
    result = cli("protocols", "show", "facet-pain", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["targets"][0]["structure"] == "facet_joint"
    assert "window_j_per_cm2" not in data["targets"][0]
    assert data["prescription"]["templates_from"] == "chronic-nonspecific-lbp"
    assert data["prescription"]["band"] == [0.8, 1.25] and data["max_surface_dose_j_per_cm2"] == 60.0
    people = cli("protocols", "show", "herniated-disc")
    assert people.exit_code == 0 and "Referral first" in people.stdout and "Sources:" in people.stdout


def test_protocols_show_unknown_and_bad_clinic_file_exit_2(cli, tmp_path):
    result = cli("protocols", "show", "gout")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "laserdose: error: unknown protocol 'gout'; allowed: acute-nonspecific-lbp"
    )
    text = (shipped_dir() / "facet-pain.toml").read_text().replace("per_week = 3", "per_week = 9")
    (tmp_path / "facet-pain.toml").write_text(text)
    bad = cli("protocols", "list", "--dir", tmp_path)
    assert bad.exit_code == 2 and "course.per_week must be a whole number from 1 to 7, got 9" in bad.stderr


def test_screen_rules_lists_every_code_and_the_docs_keep_the_same_table(cli):
    from pathlib import Path

    from laserdose.clinical.screening_rules import ALL_RULES
    from laserdose.clinical.screening_table import decision_table_markdown

    result = cli("screen", "--rules", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["rules"]
    assert sorted(row["code"] for row in rows) == sorted(ALL_RULES)
    tattoo = next(row for row in rows if row["code"] == "tattoo-at-site")
    assert tattoo["plan change"] == "only 980 nm; skin <= 41 C"  # LightForce: 980 nm only, lower dose
    guide = (Path(__file__).parents[2] / "docs" / "guide" / "screen.md").read_text(encoding="utf-8")
    table = guide.split("<!-- rules:start -->\n", 1)[1].split("<!-- rules:end -->", 1)[0]
    assert table == decision_table_markdown()


def test_screen_without_a_patient_or_rules_is_a_one_line_error(cli):
    result = cli("screen")
    assert result.exit_code == 2
    assert (
        result.stderr.strip()
        == "laserdose: error: give --patient patient.toml, or --rules for the rule table"
    )


def test_protocols_show_lists_templates_with_evidence_and_reference_dose(cli, tmp_path):
    result = cli("protocols", "show", "chronic-nonspecific-lbp", "--json")
    assert result.exit_code == 0, result.output
    templates = {t["id"]: t for t in json.loads(result.stdout)["templates"]}
    assert templates["summus2020"]["kind"] == "manufacturer"
    reference = templates["walt2010"]["reference"]
    assert reference["structure"] == "multifidus"
    # A point dose reaches a 23 mm deep target only in part: below the 4 J/cm2 at the skin [WALT2010].
    assert 0 < reference["target_dose_j_per_cm2"] < 4.0
    assert reference["participant"]["skin_type"] == 2 and not reference["participant"]["bmi_reported"]
    people = cli("protocols", "show", "chronic-nonspecific-lbp")
    assert "Dose templates and reference doses" in people.stdout and "abdelbasset2020" in people.stdout
    borrowed = cli("protocols", "show", "facet-pain")
    assert "template abdelbasset2020 (from chronic-nonspecific-lbp)" in borrowed.stdout
    assert "Dose templates and reference doses" in borrowed.stdout
    text = (
        (shipped_dir() / "chronic-nonspecific-lbp.toml")
        .read_text()
        .replace('kind = "trial"', 'kind = "blog"', 1)
    )
    (tmp_path / "chronic-nonspecific-lbp.toml").write_text(text)
    bad = cli("protocols", "show", "chronic-nonspecific-lbp", "--dir", tmp_path)
    assert bad.exit_code == 2 and bad.stderr.count("\n") == 1
    assert "templates[1].kind must be one of trial, guideline, manufacturer, got 'blog'" in bad.stderr
