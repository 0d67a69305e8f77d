"""`laserdose study`: its JSON and plots, and bad cohort files refused with exit 2."""

import json

import pytest

COHORT = """
patients = 8
seed = 1
device = "15w-dual"
bmi = { distribution = "normal", mean = 27.0, sd = 5.0 }
skin_type_weights = [0.15, 0.25, 0.25, 0.15, 0.1, 0.1]
"""


def write(tmp_path, text, name="cohort.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def study(cli, cohort, *extra):
    return cli(
        "study", "--protocol", "chronic-nonspecific-lbp", "--cohort", cohort, "--photons", "300", *extra
    )


def test_study_json_has_the_documented_fields_and_writes_the_plots(cli, tmp_path):
    plot = tmp_path / "study.png"
    result = study(cli, write(tmp_path, COHORT), "--json", "--plot", plot)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["patients"] == 8
    assert 0.0 <= data["fraction_in_band"] <= 1.0 and 0.0 <= data["fraction_skin_safe"] <= 1.0
    dose = data["target_dose_j_per_cm2"]
    assert 0.0 <= dose["p5"] <= dose["p50"] <= dose["p95"]
    assert sum(group["patients"] for group in data["by_skin_type"].values()) == 8
    low, high = data["plan"]["band_j_per_cm2"]  # 0.8-1.25 x the default template's reference dose
    assert high / low == pytest.approx(1.25 / 0.8) and data["plan"]["template"] == "abdelbasset2020"
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_study_personalised_compares_both_arms_on_the_same_patients(cli, tmp_path):
    plot = tmp_path / "compare.png"
    result = study(cli, write(tmp_path, COHORT), "--json", "--personalised", "--plot", plot)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    compared = data["comparison"]
    assert set(compared) == {
        "reference_plan",
        "personalised",
        "target_dose_is_upper_bound",
        "upper_bound_reason",
    }
    assert compared["target_dose_is_upper_bound"] is False  # the multifidus: no bone on the way
    arms = {name: compared[name] for name in ("reference_plan", "personalised")}
    # The one-plan arm is the study above, counted again: the same share in band.
    assert arms["reference_plan"]["fraction_in_band"] == data["fraction_in_band"]
    for arm in arms.values():
        assert (
            arm["patients"] == 8 and 0.0 <= arm["fraction_in_band_and_skin_safe"] <= arm["fraction_in_band"]
        )
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


BAD = [
    ("patients = 8\n", "missing field seed"),
    (COHORT.replace("patients = 8", "patients = -3"), "patients must be a whole number from 1"),
    (COHORT.replace('device = "15w-dual"', 'device = "no-such-machine"'), "cohort.toml: device: "),
    (COHORT.replace("sd = 5.0", "sd = -5.0"), "bmi.sd must be"),
    (COHORT.replace("0.15, 0.25, 0.25", "0.5, 0.5, 0.5"), "skin_type_weights must sum to 1"),
    (COHORT + "colour = 3\n", "unknown field 'colour'"),
    ("patients = [", "not valid TOML"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_cohort_file_exits_2_naming_the_field(cli, tmp_path, text, message):
    result = study(cli, write(tmp_path, text))
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stderr.startswith("laserdose: error: ") and "Traceback" not in result.stderr


def test_missing_cohort_file_and_bad_options_exit_2(cli, tmp_path):
    assert "not found" in study(cli, tmp_path / "none.toml").stderr
    cohort = write(tmp_path, COHORT)
    assert study(cli, cohort, "--scheduler", "udp://x").exit_code == 2
    result = cli("study", "--protocol", "no-such", "--cohort", cohort)
    assert result.exit_code == 2 and "unknown protocol 'no-such'" in result.stderr


def test_a_study_at_the_facet_joint_says_its_doses_are_upper_bounds(cli, tmp_path):
    cohort = write(tmp_path, COHORT.replace("patients = 8", "patients = 3"))
    args = ("study", "--protocol", "facet-pain", "--cohort", cohort, "--photons", "300")
    data = json.loads(cli(*args, "--json").stdout)
    assert data["target_dose_is_upper_bound"] is True and "lamina" not in data["upper_bound_reason"]
    assert "articular processes" in data["upper_bound_reason"] and "red marrow" in data["upper_bound_reason"]
    text = cli(*args)
    assert text.exit_code == 0, text.stderr
    assert "TARGET DOSES ARE UPPER BOUNDS" in " ".join(text.stdout.replace("│", " ").split())
    compared = cli(*args, "--personalised")
    assert compared.exit_code == 0, compared.stderr
    assert "Target doses are upper bounds: The facet joint is formed" in compared.stdout
    plain = study(cli, cohort)
    assert "UPPER BOUND" not in plain.stdout  # the multifidus lies above the posterior elements


def test_progress_stays_off_stdout_so_the_table_can_be_piped(cli, tmp_path):
    result = study(cli, write(tmp_path, COHORT.replace("patients = 8", "patients = 3")))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.lstrip().startswith("Study: chronic-nonspecific-lbp"), result.stdout[:200]
