"""`laserdose plan` end to end on the shipped fluence table: the plan document, errors, the PDF report."""

import json
import re
import subprocess

import pytest

from laserdose.optics.back import UPPER_BOUND_REASONS

PATIENT = """skin_type = 3
bmi = 27.0
area_cm2 = 150
[screening]
diagnosis = "chronic-nonspecific-lbp"
red_flags = {red_flags}
contraindications = []
precautions = []
"""
KEYS = {
    "schema_version", "decision", "reasons", "condition", "delivery", "scan_speed_mm_per_s", "area_cm2",
    "surface_dose_j_per_cm2", "target", "skin_start_c", "peak_skin_temperature_c", "skin_limit_c", "course",
}  # fmt: skip
DELIVERY_KEYS = {"device", "power_w_by_wavelength", "mode", "handpiece", "duration_s", "total_energy_j"}


def _patient(tmp_path, text):
    path = tmp_path / "patient.toml"
    path.write_text(text)
    return path


def _plan(cli, path, *extra, device="15w-dual", condition="chronic-nonspecific-lbp"):
    return cli("plan", "--patient", path, "--condition", condition, "--device", device, *extra)


def test_json_plan_is_the_plan_document_and_is_physically_consistent(cli, tmp_path):
    result = _plan(cli, _patient(tmp_path, PATIENT.format(red_flags="[]")), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert KEYS <= set(data) and data["schema_version"] == 4
    assert DELIVERY_KEYS <= set(data["delivery"])
    assert set(data["target"]) == {
        "structure", "depth_mm", "dose_j_per_cm2", "dose_range_j_per_cm2", "optics_spread_factor",
        "dose_is_upper_bound", "upper_bound_reason",
    }  # fmt: skip
    # The multifidus lies above the posterior elements: its dose is no upper bound.
    assert data["target"]["dose_is_upper_bound"] is False and data["target"]["upper_bound_reason"] is None
    assert data["target"]["optics_spread_factor"] > 1.0
    delivery = data["delivery"]
    powers = delivery["power_w_by_wavelength"]
    assert set(powers) <= {"810", "980"} and sum(powers.values()) <= 15.0 + 1e-9  # the machine's limits
    assert delivery["total_energy_j"] == pytest.approx(sum(powers.values()) * delivery["duration_s"])
    assert data["surface_dose_j_per_cm2"] == pytest.approx(delivery["total_energy_j"] / 150.0)
    assert data["peak_skin_temperature_c"] <= 43.0 + 1e-9
    low, high = data["target"]["dose_range_j_per_cm2"]
    assert low <= data["target"]["dose_j_per_cm2"] <= high
    # Protocol chronic-nonspecific-lbp: at most 60 J/cm2 at the skin, 12 x 3/week, aimed at its default
    # template; this patient is the template's reference participant (type III, BMI 27 [U]).
    assert data["surface_dose_j_per_cm2"] <= 60.0 + 1e-9
    assert data["course"] == {"sessions": 12, "per_week": 3}
    rx = data["prescription"]
    assert {"template", "source", "kind", "mode", "reference", "equivalence", "band", "extrapolated"} == set(
        rx
    )
    assert (rx["template"], rx["kind"], rx["mode"]) == ("abdelbasset2020", "trial", "equivalent-at-target")
    assert (rx["reference"]["skin_type"], rx["reference"]["bmi"]) == (3, 27.0)
    assert rx["band"] == [0.8, 1.25] and rx["extrapolated"] is True  # a 1064 nm pulsed trial, 810/980 CW
    dose = data["target"]["dose_j_per_cm2"]
    assert rx["equivalence"] == pytest.approx(dose / rx["reference"]["target_dose_j_per_cm2"])
    assert data["feasible"] is True and data["binding_limit"] is None
    assert rx["band"][0] <= rx["equivalence"] <= rx["band"][1]


def test_template_and_mode_options_reach_the_plan(cli, tmp_path):
    path = _patient(tmp_path, PATIENT.format(red_flags="[]"))
    result = _plan(cli, path, "--json", "--template", "summus2020", "--mode", "as-in-source")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["prescription"]["template"], data["prescription"]["mode"]) == ("summus2020", "as-in-source")
    assert data["surface_dose_j_per_cm2"] == pytest.approx(10.1)  # 5040 J over 500 cm2, as published
    bad = _plan(cli, path, "--template", "nope")
    assert bad.exit_code == 2 and "unknown template 'nope'" in bad.stderr
    mode = _plan(cli, path, "--mode", "sometimes")
    assert mode.exit_code == 2 and "unknown mode 'sometimes'" in mode.stderr


def test_a_red_flag_gives_a_referral_and_no_parameters(cli, tmp_path):
    result = _plan(cli, _patient(tmp_path, PATIENT.format(red_flags='["saddle-anaesthesia"]')), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["decision"] == "refer" and data["urgency"] == "emergency"
    assert not {"delivery", "power_w_by_wavelength", "duration_s", "target"} & set(data)


@pytest.mark.parametrize(
    ("text", "args", "named"),
    [
        (PATIENT.format(red_flags="[]").replace("skin_type = 3", "skin_type = 7"), (), "skin_type"),
        (PATIENT.format(red_flags="[]").replace("area_cm2 = 150\n", ""), (), "area_cm2"),
        (PATIENT.format(red_flags="[]"), ("--skin-limit", "60"), "skin limit"),
        (PATIENT.format(red_flags="[]"), ("--scan-speed", "0"), "scan speed"),
    ],
)
def test_bad_input_is_named_with_exit_2(cli, tmp_path, text, args, named):
    result = _plan(cli, _patient(tmp_path, text), *args)
    assert result.exit_code == 2
    assert named in result.stderr and "Traceback" not in result.output


def test_unknown_device_and_condition_are_refused(cli, tmp_path):
    path = _patient(tmp_path, PATIENT.format(red_flags="[]"))
    assert _plan(cli, path, device="no-such-laser").exit_code == 2
    result = cli("plan", "--patient", path, "--condition", "no-such-condition", "--device", "15w-dual")
    assert result.exit_code == 2 and "no-such-condition" in result.stderr


def test_report_is_a_multi_page_pdf(cli, tmp_path):
    out = tmp_path / "plan.pdf"
    result = _plan(cli, _patient(tmp_path, PATIENT.format(red_flags="[]")), "--report", out)
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data.startswith(b"%PDF")
    # plan table, curves, laser safety summary (>= 1 page), sources
    assert len(re.findall(rb"/Type /Page(?!s)", data)) >= 4


def test_schema_flag_prints_the_documents_json_schema(cli):
    result = cli("plan", "--schema")
    assert result.exit_code == 0, result.output
    schema = json.loads(result.stdout)
    assert schema["discriminator"]["propertyName"] == "decision"
    assert {"TreatmentPlan", "Refusal", "Delivery"} <= set(schema["$defs"])


def test_plan_without_its_inputs_is_refused_with_exit_2(cli):
    result = cli("plan", "--condition", "chronic-nonspecific-lbp")
    assert result.exit_code == 2 and "--patient" in result.stderr


FACET = PATIENT.replace("chronic-nonspecific-lbp", "facet-pain").format(red_flags="[]")


def _pdf_text(path):
    done = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True)
    return " ".join(done.stdout.decode().split())  # words as one line: the table wraps its cells


def test_a_facet_plan_says_its_dose_is_an_upper_bound_in_json_text_and_pdf(cli, tmp_path):
    path = _patient(tmp_path, FACET)
    data = json.loads(_plan(cli, path, "--json", condition="facet-pain").stdout)
    target = data["target"]
    assert target["structure"] == "facet_joint" and target["dose_is_upper_bound"] is True
    assert target["upper_bound_reason"] == UPPER_BOUND_REASONS["facet_joint"]
    assert "red marrow" in target["upper_bound_reason"] and "[Lisle2012]" in target["upper_bound_reason"]
    text = _plan(cli, path, condition="facet-pain")
    assert text.exit_code == 0, text.output
    words = " ".join(text.stdout.replace("│", " ").split())
    assert "DOSE IS AN UPPER BOUND" in words and "red marrow" in words
    assert "dose (nominal, range) at most" in words and "reference dose at most" in words
    out = tmp_path / "facet.pdf"
    assert _plan(cli, path, "--report", out, condition="facet-pain").exit_code == 0
    pdf = _pdf_text(out)
    assert "DOSE IS AN UPPER BOUND" in pdf and "cancellous bone filled with red marrow" in pdf
    assert "range from tissue optics" in pdf
    # The sources page lists each tissue's spread with its keys: skin scattering 24 % [Jonasson2018], dermal
    # absorption from its blood [DermalHaemoglobin], at most its 21 % (0.12 / 0.56) at any wavelength.
    assert "optics spread dermis" in pdf and "mus' 24% (1 SD): mus' [Jonasson2018] [S]" in pdf
    assert "mua from dermal blood [DermalHaemoglobin] [S]" in pdf
    assert 0 < int(pdf.split("mua up to ", 1)[1].split("%", 1)[0]) <= 21  # the first derived spread: dermis


def test_a_nerve_root_plan_is_an_upper_bound_and_a_multifidus_plan_is_not(cli, tmp_path):
    radicular = PATIENT.replace("chronic-nonspecific-lbp", "radicular-pain").format(red_flags="[]")
    result = _plan(cli, _patient(tmp_path, radicular), "--json", condition="radicular-pain")
    assert result.exit_code == 0, result.output
    target = json.loads(result.stdout)["target"]
    assert target["structure"] == "nerve_root" and target["dose_is_upper_bound"] is True
    assert "lamina" in target["upper_bound_reason"]
    plain = _plan(cli, _patient(tmp_path, PATIENT.format(red_flags="[]")))
    assert "UPPER BOUND" not in plain.stdout and "range from tissue optics" in plain.stdout
