import dataclasses
import math

import pytest

from laserdose.clinical.patient import parse_patient
from laserdose.clinical.protocols import get_protocol
from laserdose.domain.plan import Refusal, TreatmentPlan, plan_json
from laserdose.errors import InputError
from laserdose.machines.profile import load_profile
from laserdose.planning.plan import PlanSettings, TargetLight, make_plan


class BeerLambertPhysics:
    """Stand-in physics: light falls as exp(-mu_eff z) with depth 30 +/- 5 mm; skin heats linearly."""

    mu_eff_per_mm = {810.0: 0.1, 980.0: 0.12, 1064.0: 0.09}
    rise_k_per_w = {810.0: 0.8, 980.0: 0.6, 1064.0: 0.5}

    def target_light(self, patient, wavelength_nm, structure, area_cm2):
        mu = self.mu_eff_per_mm[wavelength_nm]
        return 30.0, TargetLight(math.exp(-mu * 40.0), math.exp(-mu * 30.0), math.exp(-mu * 20.0))

    def skin_rise_k_per_w(self, patient, wavelength_nm, handpiece, speed, area_cm2, duration_s):
        # A larger beam heats less per watt (lower irradiance).
        return self.rise_k_per_w[wavelength_nm] * 25.0 / handpiece.beam_diameter_mm


def patient(**screening):
    data = {"skin_type": 3, "bmi": 27.0, "area_cm2": 150.0}
    data["screening"] = {"diagnosis": "chronic-nonspecific-lbp", **screening}
    return parse_patient(data)


def plan_for(person, protocol=None, settings=None):
    protocol = protocol or get_protocol("chronic-nonspecific-lbp")
    settings = settings or PlanSettings()
    return make_plan(person, protocol, load_profile("15w-dual"), BeerLambertPhysics(), settings)


# The default template (abdelbasset2020): 20 J/cm2 at 1064 nm; its participant's nominal factor in the
# stand-in is exp(-0.09 x 30), so the reference dose is 20 exp(-2.7) J/cm2, by hand.
REFERENCE = 20.0 * math.exp(-0.09 * 30.0)


def test_plan_is_physically_consistent_and_within_the_machine():
    plan = plan_for(patient())
    assert isinstance(plan, TreatmentPlan)
    powers, duration_s = plan.delivery.power_w_by_wavelength, plan.delivery.duration_s
    assert set(powers) <= {810.0, 980.0}
    assert sum(powers.values()) <= 15.0 + 1e-9
    assert plan.delivery.total_energy_j == pytest.approx(sum(powers.values()) * duration_s)
    assert plan.surface_dose_j_per_cm2 == pytest.approx(plan.delivery.total_energy_j / plan.area_cm2)
    assert plan.peak_skin_temperature_c <= 43.0 + 1e-9
    assert (plan.course.sessions, plan.course.per_week) == (12, 3)
    # Nominal dose from the stand-in: sum P exp(-mu 30) t / A.
    nominal = sum(p * math.exp(-BeerLambertPhysics.mu_eff_per_mm[w] * 30.0) for w, p in powers.items())
    assert plan.target.dose_j_per_cm2 == pytest.approx(nominal * duration_s / 150.0)
    low, high = plan.target.dose_range_j_per_cm2
    assert low <= plan.target.dose_j_per_cm2 <= high
    # Aimed at the reference dose: equivalence 1, the 1064 nm pulsed trial extrapolated to a CW diode.
    rx = plan.prescription
    assert rx.template == "abdelbasset2020" and rx.kind == "trial" and rx.mode == "equivalent-at-target"
    assert rx.reference.target_dose_j_per_cm2 == pytest.approx(REFERENCE)
    assert (rx.reference.skin_type, rx.reference.bmi, rx.reference.reported) == (3, 27.0, False)
    assert plan.target.dose_j_per_cm2 == pytest.approx(REFERENCE)
    assert rx.equivalence == pytest.approx(1.0) and rx.band == (0.8, 1.25) and plan.feasible
    assert rx.extrapolated and any("1064 nm" in note for note in plan.notes)
    # The JSON names wavelengths as whole numbers of nm.
    assert set(plan_json(plan)["delivery"]["power_w_by_wavelength"]) <= {"810", "980"}


def test_a_surface_cap_below_the_reference_need_is_named_with_the_fraction_reached():
    # A clinic protocol capping the skin at 10 J/cm2: the reference needs about 27 J/cm2 at 810 nm.
    capped = dataclasses.replace(get_protocol("chronic-nonspecific-lbp"), max_surface_dose_j_per_cm2=10.0)
    plan = plan_for(patient(), capped)
    assert isinstance(plan, TreatmentPlan)
    assert plan.feasible is False and plan.binding_limit == "surface dose" and plan.advice
    assert plan.surface_dose_j_per_cm2 == pytest.approx(10.0)
    rx = plan.prescription
    assert rx.equivalence == pytest.approx(plan.target.dose_j_per_cm2 / REFERENCE)
    assert rx.equivalence < rx.band[0]


def test_as_in_source_delivers_the_published_surface_dose():
    plan = plan_for(patient(), settings=PlanSettings(mode="as-in-source", template="summus2020"))
    assert isinstance(plan, TreatmentPlan)
    assert plan.surface_dose_j_per_cm2 == pytest.approx(10.1)  # 5040 J over 500 cm2, as published
    rx = plan.prescription
    assert rx.template == "summus2020" and rx.kind == "manufacturer" and rx.mode == "as-in-source"
    assert rx.equivalence == pytest.approx(plan.target.dose_j_per_cm2 / rx.reference.target_dose_j_per_cm2)
    # Its participants were type II, BMI 27 [U]; the stand-in physics ignores the patient, so this patient
    # receives what they did.
    assert rx.equivalence == pytest.approx(1.0, rel=0.05) and plan.feasible


def test_unknown_template_or_mode_is_refused():
    with pytest.raises(InputError, match="unknown template 'nope'"):
        plan_for(patient(), settings=PlanSettings(template="nope"))
    with pytest.raises(InputError, match="unknown mode"):
        PlanSettings(mode="as-I-like")


def test_a_protocol_without_templates_borrows_them_and_says_it_extrapolates():
    facet = get_protocol("facet-pain")
    person = parse_patient(
        {"skin_type": 3, "bmi": 27.0, "area_cm2": 150.0, "screening": {"diagnosis": "facet-pain"}}
    )
    plan = plan_for(person, facet)
    assert plan.prescription.extrapolated and plan.prescription.template == "abdelbasset2020"
    assert any("comes from chronic-nonspecific-lbp" in note for note in plan.notes)


@pytest.mark.parametrize(
    ("screening", "decision"),
    [
        ({"red_flags": ["saddle-anaesthesia"]}, "refer"),
        ({"contraindications": ["pregnancy"]}, "do-not-treat"),
    ],
)
def test_no_parameters_when_not_to_treat(screening, decision):
    plan = plan_for(patient(**screening))
    assert isinstance(plan, Refusal) and plan.decision == decision
    data = plan_json(plan)
    assert "delivery" not in data and "duration_s" not in data
    assert plan.reasons


def test_precautions_still_get_a_plan():
    plan = plan_for(patient(precautions=["anticoagulants"]))
    assert isinstance(plan, TreatmentPlan) and plan.decision == "treat-with-precautions"
    assert plan.delivery.duration_s > 0


@pytest.mark.parametrize("precaution", ["tattoo-at-site", "pigmented-naevi", "dense-hair", "dark-skin"])
def test_pigment_precautions_restrict_the_plan_to_980_nm_and_41_c(precaution):
    # LightForce: tattoos, naevi, dense hair, Fitzpatrick V-VI -> 980 nm only and a lower dose, here
    # the IEC 60601-1 ed. 2 skin limit of 41 C; the planner must honour it, not only print it.
    plan = plan_for(patient(precautions=[precaution]))
    assert isinstance(plan, TreatmentPlan)
    assert plan.delivery.power_w_by_wavelength[810] == 0.0
    assert plan.skin_limit_c == 41.0
    assert plan.peak_skin_temperature_c <= 41.0 + 1e-9
    assert "Screening precaution: only 980 nm may emit." in plan.notes
    free = plan_for(patient())
    assert isinstance(free, TreatmentPlan)
    assert free.skin_limit_c == 43.0 and free.delivery.power_w_by_wavelength[810] > 0.0


def test_growth_plate_precaution_lowers_the_skin_limit_only():
    plan = plan_for(patient(precautions=["open-growth-plates"]))
    assert isinstance(plan, TreatmentPlan)
    assert plan.skin_limit_c == 41.0 and plan.peak_skin_temperature_c <= 41.0 + 1e-9
    assert not any("may emit" in note for note in plan.notes)


class OpticsShiftPhysics(BeerLambertPhysics):
    """The stand-in with a 2-SD optics shift of ln(F) of 0.5 at 810 nm and 1.0 at 980 nm."""

    shift = {810.0: 0.5, 980.0: 1.0, 1064.0: 0.7}

    def target_light(self, patient, wavelength_nm, structure, area_cm2):
        depth, light = super().target_light(patient, wavelength_nm, structure, area_cm2)
        return depth, dataclasses.replace(light, optics_log_shift=self.shift[wavelength_nm])


def test_the_optics_factor_is_the_dose_weighted_shift_and_unknown_without_one():
    assert plan_for(patient()).target.optics_spread_factor is None  # the stand-in gives no optics shift
    plan = make_plan(
        patient(), get_protocol("chronic-nonspecific-lbp"), load_profile("15w-dual"), OpticsShiftPhysics()
    )
    powers = {w: p for w, p in plan.delivery.power_w_by_wavelength.items() if p > 0}
    # Each emitting wavelength's share of the nominal target dose weights its shift of ln(F), by hand.
    doses = {w: p * math.exp(-BeerLambertPhysics.mu_eff_per_mm[w] * 30.0) for w, p in powers.items()}
    expected = math.exp(sum(d * OpticsShiftPhysics.shift[w] for w, d in doses.items()) / sum(doses.values()))
    assert plan.target.optics_spread_factor == pytest.approx(expected)
    assert plan.target.dose_is_upper_bound is False  # the protocol's first target is the multifidus
