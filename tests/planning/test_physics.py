"""The planner's physics on the shipped fluence table: invariants over patients, and re-simulation."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from laserdose.clinic.signing import signing_problem
from laserdose.clinical.patient import parse_patient
from laserdose.clinical.protocols import get_protocol, load_protocols
from laserdose.domain.plan import TreatmentPlan
from laserdose.domain.quantities import FAT_THICKNESS, TREATMENT_AREA
from laserdose.errors import InputError
from laserdose.machines.profile import load_profile
from laserdose.planning.physics import default_physics
from laserdose.planning.plan import PlanSettings, make_plan
from laserdose.planning.table_checks import entry_precision, fat_order, structure_offsets_mm
from laserdose.planning.table_reads import read_depths_mm

PHYSICS = default_physics()
WAVELENGTHS = [float(w) for w in PHYSICS.table.wavelengths_nm]
STRUCTURES = ("multifidus", "facet_joint", "nerve_root", "sacroiliac_joint")
# Worst relative SE of a table entry where the planner reads it: the shipped table is built with
# `laserdose tables precise --target-se 0.02` (2.5 CPU hours on two cores, docs/performance.md).
PRECISION_TARGET = 0.02


def _patient(skin_type=3, fat_mm=None, bmi=None, area_cm2=150.0):
    data = {
        "skin_type": skin_type,
        "area_cm2": area_cm2,
        "screening": {"diagnosis": "chronic-nonspecific-lbp"},
    }
    data |= {"fat_mm": fat_mm} if fat_mm is not None else {"bmi": bmi if bmi is not None else 27.0}
    return parse_patient(data)


# The next three tests hold for a table built to precision (`make tables`, `laserdose tables precise`):
# a table of 1e5 photons an entry has no standard errors, and its noise reorders fat entries (at 810 nm,
# skin type III, facet joint, 1 cm2: the dose rose 78 % from 22 to 23 mm of fat).


def test_the_shipped_table_is_precise_wherever_the_planner_reads():
    rows = entry_precision(PHYSICS.table, read_depths_mm(tuple(float(f) for f in PHYSICS.table.fat_mm)))
    worst = max(rows, key=lambda row: row.relative_se)
    assert worst.relative_se <= PRECISION_TARGET, worst


def test_the_shipped_table_orders_fat_exactly():
    # planning/table_checks.py: d log F / d fat of every nominal lookup, evaluated exactly piece by piece.
    order = fat_order(PHYSICS.table, structure_offsets_mm())
    assert order.largest_per_mm < 0, order


@given(
    skin_type=st.integers(1, 6),
    wavelength=st.sampled_from(WAVELENGTHS),
    structure=st.sampled_from(STRUCTURES),
    fats=st.lists(st.floats(FAT_THICKNESS.low, FAT_THICKNESS.high), min_size=2, max_size=2).map(sorted),
    area_cm2=st.floats(TREATMENT_AREA.low, TREATMENT_AREA.high),
)
def test_more_fat_never_raises_the_target_dose(skin_type, wavelength, structure, fats, area_cm2):
    # The target lies below the fat: more fat puts the same structure under more tissue. Every patient,
    # structure and area of the domain, no noise allowance: the table is precise where it is read. The
    # 1e-12 is floating-point rounding of the interpolation, for two fats a few ulps apart.
    thin = PHYSICS.target_light(_patient(skin_type, fat_mm=fats[0]), wavelength, structure, area_cm2)[1]
    thick = PHYSICS.target_light(_patient(skin_type, fat_mm=fats[1]), wavelength, structure, area_cm2)[1]
    assert thick.nominal <= thin.nominal * (1 + 1e-12)


@given(
    skin_type=st.integers(1, 6),
    wavelength=st.sampled_from(WAVELENGTHS),
    structure=st.sampled_from(STRUCTURES),
    bmi=st.floats(18.0, 40.0),
)
def test_the_uncertainty_range_holds_the_nominal_patient(skin_type, wavelength, structure, bmi):
    light = PHYSICS.target_light(_patient(skin_type, bmi=bmi), wavelength, structure, 150.0)[1]
    assert 0 < light.low <= light.nominal <= light.high


@settings(max_examples=25)
@given(
    skin_type=st.integers(1, 6),
    bmi=st.floats(18.0, 40.0),
    area_cm2=st.floats(50.0, 400.0),
    condition=st.sampled_from(sorted(load_protocols())),
    device=st.sampled_from(["15w-dual", "30w-quad", "class3b-probe"]),
    skin_limit_c=st.floats(39.0, 43.0),
    template=st.sampled_from([None, "walt2010", "abdelbasset2020", "taradaj2019", "summus2020"]),
    mode=st.sampled_from(["equivalent-at-target", "as-in-source"]),
)
def test_real_plans_never_exceed_a_hard_limit(
    skin_type, bmi, area_cm2, condition, device, skin_limit_c, template, mode
):
    protocol = get_protocol(condition)
    person = parse_patient(
        {
            "skin_type": skin_type,
            "bmi": bmi,
            "area_cm2": area_cm2,
            "screening": {"diagnosis": protocol.diagnosis, "medical_clearance": True},
        }
    )
    profile = load_profile(device)
    try:
        settings = PlanSettings(skin_limit_c=skin_limit_c, template=template, mode=mode)
        plan = make_plan(person, protocol, profile, PHYSICS, settings)
    except InputError as error:
        # Dark skin (V-VI) allows 980 nm only [LightForce]; a machine without it is refused by name.
        assert skin_type >= 5 and 980 not in {s.wavelength_nm for s in profile.sources}
        assert f"the {device} machine has no source there" in str(error)
        return
    if not isinstance(plan, TreatmentPlan):
        return
    powers = plan.delivery.power_w_by_wavelength
    by_wavelength = {source.wavelength_nm: source.max_power_w for source in profile.sources}
    assert all(0 <= p <= by_wavelength[w] + 1e-9 for w, p in powers.items())
    assert sum(powers.values()) <= profile.max_total_power_w + 1e-9
    assert plan.peak_skin_temperature_c <= skin_limit_c + 1e-9
    # Feasible or not: the surface maximum and the biphasic bound hold too, so a plan outside the band
    # can be signed with an acknowledgement (clinic/signing.py).
    assert plan.surface_dose_j_per_cm2 <= protocol.max_surface_dose_j_per_cm2 * (1 + 1e-9)
    assert plan.prescription.equivalence <= protocol.prescription.max_target_ratio * (1 + 1e-9)
    assert plan.feasible == (plan.binding_limit is None)
    if plan.feasible:
        assert plan.prescription.in_band
    if mode == "equivalent-at-target":  # aimed at 1: only a limit keeps it below the band
        assert plan.feasible == plan.prescription.in_band
        assert plan.prescription.equivalence <= 1 + 1e-9
    assert signing_problem(plan, profile, protocol) is None


def test_a_machine_without_the_wavelength_the_screening_allows_is_refused_by_name():
    # Skin type VI allows 980 nm only [LightForce]; class3b-probe has one 810 nm source.
    protocol = get_protocol("chronic-nonspecific-lbp")
    person = parse_patient(
        {"skin_type": 6, "bmi": 27, "area_cm2": 150, "screening": {"diagnosis": protocol.diagnosis}}
    )
    profile = load_profile("class3b-probe")
    assert {s.wavelength_nm for s in profile.sources} == {810}
    with pytest.raises(InputError, match="allows only 980 nm .* class3b-probe machine has no source there"):
        make_plan(person, protocol, profile, PHYSICS)
