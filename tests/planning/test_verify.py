"""A plan from the tables, re-simulated from first principles (plans are verified by re-simulation).

The re-simulation is independent of the planner's shortcuts: a fresh Monte Carlo run (another seed, the
patient's own fat thickness instead of interpolation between table entries) and the 3-D scanned bioheat
solver (validated against analytic solutions in tests/thermal) instead of the fast skin model.
Tolerances: target dose 15 % (table noise of a 1e5-photon entry at 20-35 mm, a few %, plus log-linear
interpolation over 5 mm of fat). Peak skin: the fast model neglects sideways heat flow, so it can only
over-predict; against the 3-D solver it did so by 5-12 % (docs/guide/plan.md), so the planned
rise must lie between the re-simulated one and 20 % above it.
"""

import pytest

from laserdose.clinical.patient import parse_patient
from laserdose.clinical.protocols import get_protocol
from laserdose.machines.profile import load_profile
from laserdose.planning.physics import default_physics
from laserdose.planning.plan import make_plan
from laserdose.planning.verify import verify_plan


@pytest.mark.slow
@pytest.mark.parametrize(("skin_type", "bmi"), [(2, 24.0), (5, 31.0)])
def test_a_table_plan_matches_its_full_physics_re_simulation(skin_type, bmi):
    patient = parse_patient(
        {
            "skin_type": skin_type,
            "bmi": bmi,
            "area_cm2": 150.0,
            "screening": {"diagnosis": "chronic-nonspecific-lbp"},
        }
    )
    device = load_profile("15w-dual")
    plan = make_plan(patient, get_protocol("chronic-nonspecific-lbp"), device, default_physics())
    check = verify_plan(plan, patient, device, photons=100_000, seed=12_345)
    assert abs(check.target_difference_percent) < 15.0
    resimulated_rise = check.peak_skin_temperature_c - plan.skin_start_c
    assert 0 <= -check.skin_difference_k <= 0.20 * resimulated_rise


@pytest.mark.slow
@pytest.mark.parametrize(("skin_type", "bmi"), [(2, 24.0), (4, 33.0)])
def test_the_planned_equivalence_matches_its_re_simulation(skin_type, bmi):
    """`--verify` redoes both doses of the equivalence by fresh Monte Carlo: the patient's and the reference.

    Each side carries the 15 % of a table against its re-simulation (above); the ratio of the two carries
    both, so 25 %. A plan inside the band must still be inside a band widened by that tolerance.
    """
    patient = parse_patient(
        {
            "skin_type": skin_type,
            "bmi": bmi,
            "area_cm2": 150.0,
            "screening": {"diagnosis": "chronic-nonspecific-lbp"},
        }
    )
    device, protocol = load_profile("15w-dual"), get_protocol("chronic-nonspecific-lbp")
    plan = make_plan(patient, protocol, device, default_physics())
    check = verify_plan(plan, patient, device, photons=100_000, seed=4_242, template=protocol.template(None))
    assert check.planned_equivalence == pytest.approx(plan.prescription.equivalence)
    assert check.equivalence == pytest.approx(
        check.target_dose_j_per_cm2 / check.reference_target_dose_j_per_cm2
    )
    assert check.equivalence == pytest.approx(plan.prescription.equivalence, rel=0.25)
