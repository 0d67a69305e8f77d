"""Population studies: the cohort file, the draws, and the study's arithmetic."""

import math

import numpy as np
import pytest
from scipy import stats

from dask_cluster import linear_skin_rise
from laserdose.clinical.protocols import get_protocol
from laserdose.domain.plan import plan_json
from laserdose.errors import InputError
from laserdose.machines.profile import load_profile
from laserdose.optics.back import UPPER_BOUND_REASONS
from laserdose.planning.cohort import parse_cohort, patient_generator
from laserdose.planning.plan import PlanSettings, TargetLight
from laserdose.planning.study import (
    PatientOutcome,
    cohort_plan,
    draw_patient,
    patient_tasks,
    personalised_tasks,
    reference_patient,
    run_study,
)
from laserdose.planning.study_report import comparison, summary
from plan_documents import treatment_plan

WEIGHTS = [0.15, 0.25, 0.25, 0.15, 0.1, 0.1]
COHORT = {
    "patients": 3000,
    "seed": 1,
    "device": "15w-dual",
    "bmi": {"distribution": "normal", "mean": 27.0, "sd": 5.0},
    "skin_type_weights": WEIGHTS,
}


def cohort(**changes):
    return parse_cohort(COHORT | changes)


DEVICE = load_profile("15w-dual")


def test_patient_seed_is_numpys_spawned_child():
    # numpy's own spawn is the reference: patient k of n gets SeedSequence(seed).spawn(n)[k].
    children = np.random.SeedSequence(42).spawn(7)
    for k, child in enumerate(children):
        assert np.array_equal(patient_generator(42, k).generate_state(4), child.generate_state(4))


def test_skin_types_follow_the_weights():
    # Binomial counts: each type within 4.5 standard deviations of n p.
    spec = cohort()
    types = np.array([draw_patient(spec, k, "multifidus").skin_type for k in range(spec.patients)])
    for skin_type, p in enumerate(WEIGHTS, start=1):
        count = int((types == skin_type).sum())
        assert abs(count - spec.patients * p) < 4.5 * math.sqrt(spec.patients * p * (1 - p))


def test_bmi_is_the_normal_truncated_to_the_back_models_range():
    # scipy.stats.truncnorm (an independent implementation) gives the mean and SD of N(27, 5) on [18, 50].
    spec = cohort()
    bmis = np.array([draw_patient(spec, k, "multifidus").bmi for k in range(spec.patients)])
    a, b = (18.0 - 27.0) / 5.0, (50.0 - 27.0) / 5.0
    mean, sd = stats.truncnorm.mean(a, b, 27.0, 5.0), stats.truncnorm.std(a, b, 27.0, 5.0)
    assert bmis.min() >= 18.0 and bmis.max() <= 50.0
    assert abs(bmis.mean() - mean) < 4 * sd / math.sqrt(bmis.size)


def test_redraws_outside_the_range_are_counted():
    # N(19, 5) falls below BMI 18 with probability p = Phi(-0.2); draws until inside: p / (1 - p) redraws
    # each on average (geometric distribution), variance p / (1 - p)^2.
    spec = cohort(patients=2000, bmi={"distribution": "normal", "mean": 19.0, "sd": 5.0})
    p = stats.norm.cdf(-0.2) + stats.norm.sf((50.0 - 19.0) / 5.0)
    redraws = np.array([draw_patient(spec, k, "facet_joint").redraws for k in range(spec.patients)])
    assert abs(redraws.mean() - p / (1 - p)) < 4 * math.sqrt(p / (1 - p) ** 2 / spec.patients) + 0.01


def test_measured_fat_cohort_draws_fat_and_no_bmi():
    without_bmi = {k: v for k, v in COHORT.items() if k != "bmi"}
    spec = parse_cohort(
        without_bmi | {"patients": 200, "fat_mm": {"distribution": "uniform", "low": 5.0, "high": 25.0}}
    )
    drawn = [draw_patient(spec, k, "multifidus") for k in range(spec.patients)]
    assert all(d.bmi is None and 5.0 <= d.fat_mm <= 25.0 and d.measured_fat_mm == d.fat_mm for d in drawn)


def test_dose_and_skin_rise_are_linear_in_power():
    # Transport and heating are linear in power (MCML; Pennes): twice the power, twice the dose and rise.
    spec = cohort(patients=2)
    once = run_study(patient_tasks(spec, treatment_plan(), DEVICE, 500, linear_skin_rise))
    twice_plan = treatment_plan({810.0: 12.0, 980.0: 6.0}, peak_skin_temperature_c=42.0)
    twice = run_study(patient_tasks(spec, twice_plan, DEVICE, 500, linear_skin_rise))
    for a, b in zip(once, twice, strict=True):
        assert b.target_dose_j_per_cm2 == pytest.approx(2 * a.target_dose_j_per_cm2, rel=1e-12)
        assert b.skin_peak_c - 33.0 == pytest.approx(2 * (a.skin_peak_c - 33.0), rel=1e-12)
        assert b.target_dose_rel_se == pytest.approx(a.target_dose_rel_se, rel=1e-9)
        # The stand-in skin model: 0.5 K/W per skin type step, 9 W in all.
        assert a.skin_peak_c == pytest.approx(33.0 + 9.0 * 0.5 * a.skin_type)


def test_summary_counts_band_and_skin_limit_inclusively():
    # plan_documents.treatment_plan: reference 1 J/cm2, band 0.8-1.25: the two middle ones are inside.
    doses = [0.79, 0.8, 1.25, 1.26]
    peaks = [43.0, 43.01, 40.0, 44.0]  # limit 43 C: the first and the third are safe
    outcomes = [
        PatientOutcome(k, 2, 27.0, 10.0, 0, 20.0, dose, 0.1, peak)
        for k, (dose, peak) in enumerate(zip(doses, peaks, strict=True))
    ]
    data = summary(outcomes, treatment_plan(), 1000)
    assert data["patients"] == 4
    assert data["fraction_in_band"] == 0.5
    assert data["fraction_skin_safe"] == 0.5
    assert data["fraction_in_band_and_skin_safe"] == 0.25
    assert data["target_dose_j_per_cm2"]["p50"] == pytest.approx(1.025)  # midway between 0.8 and 1.25
    assert data["plan"]["band_j_per_cm2"] == [0.8, 1.25] and data["plan"]["template"] == "abdelbasset2020"
    assert data["by_skin_type"] == {
        "2": {"patients": 4, "fraction_in_band": 0.5, "fraction_skin_safe": 0.5, "skin_peak_c_max": 44.0}
    }


class ExponentialPhysics:
    """Stand-in physics: light falls as exp(-0.1 z) over 20-40 mm; 0.3 K/W of skin rise."""

    def target_light(self, patient, wavelength_nm, structure, area_cm2):
        return 30.0, TargetLight(math.exp(-4.0), math.exp(-3.0), math.exp(-2.0))

    def skin_rise_k_per_w(self, patient, wavelength_nm, handpiece, speed, area_cm2, duration_s):
        return 0.3


def test_the_one_plan_is_made_for_the_reference_patient():
    spec = cohort(skin_type_weights=[0.1, 0.3, 0.3, 0.1, 0.1, 0.1], area_cm2=200)
    protocol = get_protocol("chronic-nonspecific-lbp")
    reference = reference_patient(spec, protocol)
    # Types II and III equally likely: the darker one, which heats more, is planned for.
    assert (reference.skin_type, reference.bmi, reference.fat_mm) == (3, 27.0, None)
    assert reference.area_cm2 == 200.0
    settings = PlanSettings(skin_limit_c=41.0)
    result = cohort_plan(spec, protocol, DEVICE, ExponentialPhysics(), settings)
    assert result.skin_limit_c == 41.0 and result.area_cm2 == 200.0
    assert result.target.structure == protocol.primary_target.structure
    assert sum(result.delivery.power_w_by_wavelength.values()) <= 15.0 + 1e-9


BAD_COHORTS = [
    ({"patients": 0}, "patients must be a whole number from 1"),
    ({"patients": 2.5}, "patients must be a whole number"),
    ({"seed": -1}, "seed must be a whole number from 0"),
    ({"device": ""}, "device must be a profile name"),
    ({"bmi": {"distribution": "gamma", "mean": 27.0, "sd": 5.0}}, "bmi.distribution must be one of normal"),
    ({"bmi": {"distribution": "normal", "mean": 27.0}}, "missing field bmi.sd"),
    ({"bmi": {"distribution": "normal", "mean": 27.0, "sd": 0.0}}, "bmi.sd must be a number above 0"),
    (
        {"bmi": {"distribution": "normal", "mean": 60.0, "sd": 5.0}},
        "bmi.mean: BMI must be between 18 and 50 kg/m2, got 60 kg/m2",
    ),
    ({"bmi": {"distribution": "normal", "mean": 27.0, "sd": 5.0, "sigma": 1}}, "unknown field bmi.sigma"),
    ({"bmi": {"distribution": "uniform", "low": 30.0, "high": 20.0}}, "bmi.high must be above bmi.low"),
    ({"bmi": 27.0}, "bmi must be a table"),
    (
        {"fat_mm": {"distribution": "normal", "mean": 10.0, "sd": 2.0}},
        "exactly one of bmi or fat_mm, got both",
    ),
    ({"skin_type_weights": [0.5, 0.5]}, "skin_type_weights must be a list of 6 numbers"),
    ({"skin_type_weights": [0.2] * 6}, "skin_type_weights must sum to 1"),
    ({"skin_type_weights": [1.5, -0.5, 0, 0, 0, 0]}, "skin_type_weights must be a number from 0 to 1"),
    ({"area_cm2": 0}, "area_cm2: treatment area must be between 1 and 3500 cm2, got 0 cm2"),
    ({"patient": 3}, "unknown field 'patient'"),
]


@pytest.mark.parametrize(("change", "message"), BAD_COHORTS)
def test_bad_cohort_is_refused_naming_the_field(change, message):
    with pytest.raises(InputError, match=message):
        parse_cohort(COHORT | change, "c.toml")


def test_cohort_without_body_distribution_is_refused():
    with pytest.raises(InputError, match="exactly one of bmi or fat_mm, got neither"):
        parse_cohort({k: v for k, v in COHORT.items() if k != "bmi"})


def test_a_not_first_line_protocol_is_still_studied_and_says_why():
    # Acute non-specific LBP is do-not-treat in the clinic unless a clinician states a reason (NICE NG59:
    # self-management first); a cohort study of its protocol states that it treats nobody.
    spec = cohort(skin_type_weights=[0.1, 0.3, 0.3, 0.1, 0.1, 0.1], area_cm2=200)
    protocol = get_protocol("acute-nonspecific-lbp")
    reference = reference_patient(spec, protocol)
    assert "no patient is treated" in reference.screening.first_line_reason
    result = cohort_plan(spec, protocol, DEVICE, ExponentialPhysics(), PlanSettings())
    assert sum(result.delivery.power_w_by_wavelength.values()) > 0.0


class FatPhysics:
    """Stand-in physics whose light at the target falls by exp(-0.1 BMI): heavier patients need more."""

    def target_light(self, patient, wavelength_nm, structure, area_cm2):
        nominal = math.exp(-0.1 * patient.bmi)
        return 30.0, TargetLight(nominal / 2, nominal, nominal * 2)

    def skin_rise_k_per_w(self, patient, wavelength_nm, handpiece, speed, area_cm2, duration_s):
        return 0.3


def test_each_patient_is_planned_for_their_own_body_to_the_reference():
    spec = cohort(patients=12)
    protocol = get_protocol("chronic-nonspecific-lbp")
    tasks = personalised_tasks(spec, protocol, DEVICE, FatPhysics(), PlanSettings(), 500, linear_skin_rise)
    assert [task.index for task in tasks] == list(range(12))
    for task in tasks:
        drawn = draw_patient(spec, task.index, "multifidus")
        plan = task.plan
        assert plan.prescription.equivalence == pytest.approx(1.0)  # the stand-in reaches it for all
        # Surface dose x exp(-0.1 BMI) = the reference, received by the reference participant at BMI 27.
        reference_surface = plan.prescription.reference.target_dose_j_per_cm2 / math.exp(-0.1 * 27.0)
        assert plan.surface_dose_j_per_cm2 == pytest.approx(
            reference_surface * math.exp(0.1 * (drawn.bmi - 27))
        )
    assert len({round(task.plan.delivery.duration_s, 6) for task in tasks}) > 1  # not one plan


def test_comparison_counts_each_arm_against_its_own_plans():
    # plan_documents.treatment_plan: reference 1 J/cm2, band 0.8-1.25; the same four patients in both arms.
    outcomes = [PatientOutcome(k, 2, 27.0, 10.0, 0, 20.0, dose, 0.1, 40.0) for k, dose in
                enumerate([0.5, 0.9, 1.0, 2.0])]  # fmt: skip
    personal = [PatientOutcome(k, 2, 27.0, 10.0, 0, 20.0, dose, 0.1, 44.0 if k == 3 else 40.0) for k, dose in
                enumerate([0.85, 1.0, 1.1, 1.2])]  # fmt: skip
    plan = treatment_plan()
    data = comparison((outcomes, plan), (personal, [plan] * 4))
    assert (
        data["reference_plan"]["fraction_in_band"] == 0.5
        and data["reference_plan"]["fraction_skin_safe"] == 1.0
    )
    assert data["personalised"]["fraction_in_band"] == 1.0
    assert data["personalised"]["fraction_in_band_and_skin_safe"] == 0.75  # the last one's skin is at 44 C
    assert data["personalised"]["equivalence"]["p50"] == pytest.approx(1.05)  # dose / 1 J/cm2
    assert data["reference_plan"]["by_skin_type"]["2"]["fraction_in_band"] == 0.5


def test_doses_at_the_facet_joint_are_reported_as_upper_bounds_and_at_the_multifidus_not():
    outcomes = [PatientOutcome(k, 2, 27.0, 10.0, 0, 20.0, 1.0, 0.1, 40.0) for k in range(2)]
    muscle = summary(outcomes, treatment_plan(), 1000)
    assert muscle["target_dose_is_upper_bound"] is False and muscle["upper_bound_reason"] is None
    target = plan_json(treatment_plan())["target"] | {
        "structure": "facet_joint", "dose_is_upper_bound": True,
        "upper_bound_reason": UPPER_BOUND_REASONS["facet_joint"],
    }  # fmt: skip
    facet = treatment_plan(target=target)
    data = summary(outcomes, facet, 1000)
    assert data["target_dose_is_upper_bound"] is True
    assert data["upper_bound_reason"] == UPPER_BOUND_REASONS["facet_joint"]
    both = comparison((outcomes, facet), (outcomes, [facet] * 2))
    assert both["target_dose_is_upper_bound"] is True and "red marrow" in both["upper_bound_reason"]
