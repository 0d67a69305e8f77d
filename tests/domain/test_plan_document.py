"""The plan document: its two shapes, its validation, its fingerprint, its schema and older plans."""

import json
from pathlib import Path

import pytest

from laserdose.domain.plan import (
    TREATABLE_DECISIONS,
    Refusal,
    TreatmentPlan,
    canonical_json,
    fingerprint,
    plan_json,
    plan_schema,
    read_delivery,
    read_plan_document,
)
from laserdose.errors import InputError
from plan_documents import REASON, treatment_plan

ROOT = Path(__file__).resolve().parents[2]
# examples/plan.json as it was before the document had a version: a hand-written device plan file.
VERSION_1_DEVICE_FILE = {
    "decision": "treat", "device": "15w-dual", "power_w_by_wavelength": {"810": 6.0, "980": 4.0},
    "mode": "cw", "handpiece": "large-standoff", "duration_s": 300, "total_energy_j": 3000,
}  # fmt: skip
V4_TARGET_KEYS = ("optics_spread_factor", "dose_is_upper_bound", "upper_bound_reason")
REFUSAL = {
    "schema_version": 3, "decision": "refer", "urgency": "emergency", "reasons": [REASON],
    "condition": "chronic-nonspecific-lbp", "device": "15w-dual",
}  # fmt: skip


def test_the_json_round_trips_to_an_equal_document_with_the_same_fingerprint():
    plan = treatment_plan()
    text = json.dumps(plan_json(plan), indent=2)  # another layout of the same JSON
    again = read_plan_document(json.loads(text))
    assert again == plan and fingerprint(again) == fingerprint(plan)
    assert plan_json(plan)["delivery"]["power_w_by_wavelength"] == {"810": 6.0, "980": 3.0}
    # SHA-256 of the canonical text, computed by hashlib's independent path from the bytes.
    import hashlib

    assert fingerprint(plan) == hashlib.sha256(canonical_json(plan).encode()).hexdigest()
    assert json.loads(canonical_json(plan)) == plan_json(plan)
    changed = treatment_plan(duration_s=601.0)
    assert changed != plan and fingerprint(changed) != fingerprint(plan)


def test_a_refusal_has_no_parameters_and_a_treatment_plan_cannot_lack_them():
    refusal = read_plan_document(REFUSAL)
    assert isinstance(refusal, Refusal) and refusal.urgency == "emergency"
    with pytest.raises(InputError, match="delivery"):
        read_plan_document(REFUSAL | {"delivery": plan_json(treatment_plan())["delivery"]})
    treatment = plan_json(treatment_plan())
    with pytest.raises(InputError, match="delivery: Field required"):
        read_plan_document({key: value for key, value in treatment.items() if key != "delivery"})
    with pytest.raises(InputError, match="a referral has an urgency"):
        read_plan_document(REFUSAL | {"urgency": None})
    with pytest.raises(InputError, match="decision"):
        read_plan_document(treatment | {"decision": "maybe"})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"feasible": False}, "an infeasible one has both"),
        ({"binding_limit": "surface dose"}, "a feasible plan has no binding_limit"),
        # The vocabulary's own ranges and messages, as everywhere else.
        ({"area_cm2": -1.0}, "area_cm2: treatment area must be between 1 and 3500 cm2"),
        ({"skin_limit_c": 44.0}, "skin_limit_c: skin limit must be between 34 and 43 C"),
        ({"schema_version": 7}, "schema_version: Input should be 4"),
        ({"extra": 1}, "extra: Extra inputs are not permitted"),
        ({"skin_limit_c": float("nan")}, "skin_limit_c: skin limit must be"),
    ],
)
def test_invalid_documents_are_refused_with_one_line(change, message):
    with pytest.raises(InputError, match=message):
        read_plan_document(plan_json(treatment_plan()) | change)


def test_the_delivery_is_consistent_in_energy_and_mode():
    delivery = plan_json(treatment_plan())["delivery"]
    with pytest.raises(InputError, match="disagrees with power x duration x duty"):
        read_delivery({"decision": "treat", **delivery, "total_energy_j": 1.0})
    pulsed = delivery | {"mode": "pulsed", "frequency_hz": 0.0}
    with pytest.raises(InputError, match="mode pulsed needs frequency_hz > 0"):
        read_delivery({"decision": "treat", **pulsed})
    # E = P t duty: 9 W for 600 s at half duty is 2700 J.
    half = {"decision": "treat", **delivery, "mode": "pulsed", "frequency_hz": 100.0, "duty_cycle": 0.5}
    assert read_delivery(half | {"total_energy_j": 2700.0}).energy_j_by_wavelength == {
        810.0: 1800.0,
        980.0: 900.0,
    }


def test_only_treatable_decisions_are_delivered():
    assert TREATABLE_DECISIONS == ("treat", "treat-with-precautions")
    with pytest.raises(InputError, match="only treat or treat-with-precautions may be delivered"):
        read_delivery(REFUSAL)
    with pytest.raises(InputError, match="'do-not-treat'; only treat"):
        read_delivery(VERSION_1_DEVICE_FILE | {"decision": "do-not-treat"})


def test_a_version_2_plan_made_for_a_window_is_read_without_it_and_keeps_its_verdict():
    current = plan_json(treatment_plan(feasible=False, binding_limit="surface dose", advice="less fat"))
    old = {key: value for key, value in current.items() if key != "prescription"}
    old |= {"schema_version": 2, "target": old["target"] | {"window_j_per_cm2": [0.5, 4.0]}}
    plan = read_plan_document(old)
    assert isinstance(plan, TreatmentPlan) and plan.schema_version == 4
    assert plan.prescription is None and "window_j_per_cm2" not in plan_json(plan)["target"]
    assert (plan.feasible, plan.binding_limit) == (False, "surface dose")
    refusal = read_plan_document(REFUSAL | {"schema_version": 2})
    assert isinstance(refusal, Refusal) and refusal.schema_version == 4


def test_a_version_3_plan_reads_with_its_bound_and_optics_not_assessed():
    current = plan_json(treatment_plan())
    old_target = {k: v for k, v in current["target"].items() if k not in V4_TARGET_KEYS}
    plan = read_plan_document(current | {"schema_version": 3, "target": old_target})
    assert isinstance(plan, TreatmentPlan) and plan.schema_version == 4
    target = plan_json(plan)["target"]
    # null, never false: a version 3 planner did not assess whether its dose was an upper bound.
    assert target["dose_is_upper_bound"] is None and target["optics_spread_factor"] is None
    assert target["upper_bound_reason"] is None and target["dose_j_per_cm2"] == old_target["dose_j_per_cm2"]


def test_an_upper_bound_needs_its_reason_and_only_then():
    bound = {"dose_is_upper_bound": True, "upper_bound_reason": "Upper bound: bone it does not model."}
    target = plan_json(treatment_plan())["target"]
    plan = treatment_plan(target=target | bound)
    assert plan.target.dose_is_upper_bound is True
    with pytest.raises(ValueError, match="an upper-bound dose has an upper_bound_reason"):
        treatment_plan(target=target | {"dose_is_upper_bound": True})
    with pytest.raises(ValueError, match="any other dose has none"):
        treatment_plan(target=target | {"upper_bound_reason": "why"})
    with pytest.raises(ValueError, match="optics_spread_factor"):
        treatment_plan(target=target | {"optics_spread_factor": 0.5})  # a factor x/÷ f is at least 1


def test_a_version_1_device_plan_file_is_read_for_its_delivery():
    delivery = read_delivery(VERSION_1_DEVICE_FILE)
    assert delivery.power_w_by_wavelength == {810.0: 6.0, 980.0: 4.0} and delivery.duration_s == 300.0
    assert delivery.energy_j_by_wavelength == {810.0: 1800.0, 980.0: 1200.0}  # E = P t
    with pytest.raises(InputError, match="not a valid plan document"):  # not a whole plan, though
        read_plan_document(VERSION_1_DEVICE_FILE)


def test_the_example_plan_is_a_current_treatment_plan():
    data = json.loads((ROOT / "examples" / "plan.json").read_text())
    plan = read_plan_document(data)
    assert isinstance(plan, TreatmentPlan) and data["schema_version"] == 4
    assert plan.prescription is not None and plan.prescription.template == "abdelbasset2020"
    assert plan_json(plan) == data  # written as the CLI prints it


def test_the_published_schema_is_the_models_and_names_both_shapes():
    published = json.loads((ROOT / "docs" / "plan-schema.json").read_text())
    assert published == plan_schema()  # regenerate: laserdose plan --schema > docs/plan-schema.json
    assert published["discriminator"]["propertyName"] == "decision"
    mapping = published["discriminator"]["mapping"]
    assert set(mapping) == {"treat", "treat-with-precautions", "do-not-treat", "refer"}
    treatment = published["$defs"]["TreatmentPlan"]
    assert {"delivery", "target", "skin_limit_c", "schema_version"} <= set(treatment["required"]) | set(
        treatment["properties"]
    )
