"""Where the planner reads the fluence table: the depth each fat entry of a precise build must reach."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from laserdose.clinical.patient import Patient
from laserdose.clinical.screening import ScreeningAnswers
from laserdose.domain.quantities import BMI, FAT_THICKNESS, TREATMENT_AREA
from laserdose.optics import back
from laserdose.optics.tissues import EPIDERMIS_MM
from laserdose.planning.physics import SPREAD_SD, TablePhysics
from laserdose.planning.table_reads import STEP, read_depths_mm, recording_table
from laserdose.transport.tables import DEFAULT_FAT_MM, conforming_depth_mm, fat_weights

READ_DEPTHS = read_depths_mm()
STRUCTURES = ("multifidus", "facet_joint", "nerve_root", "sacroiliac_joint")


def test_the_thickest_fat_entry_is_read_at_the_deepest_nerve_root_of_the_uncertainty_range():
    # optics/back.py: nerve root = skin + fat + muscle over the facet + epidural below the facet, SD the
    # quadrature of the measured fat's, the muscle's and the lamina's; the planner reads 2 SD below.
    skin_mm = EPIDERMIS_MM + back.DERMIS_MM
    nerve_mm = skin_mm + FAT_THICKNESS.high + back.MUSCLE_OVER_FACET_MM + back.EPIDURAL_BELOW_FACET_MM
    sd_mm = math.hypot(back.FAT_MEASURED_SD_MM, back.MUSCLE_SD_MM, back.LAMINA_TO_EPIDURAL_SD_MM)
    assert READ_DEPTHS[FAT_THICKNESS.high] == pytest.approx(nerve_mm + SPREAD_SD * sd_mm + STEP, abs=1e-9)


def test_thin_fat_entries_are_read_less_deep_than_thick_ones():
    depths = [READ_DEPTHS[fat] for fat in DEFAULT_FAT_MM]
    assert depths == sorted(depths)
    assert depths[0] < 60.0 < depths[-1]


@given(
    fat=st.one_of(st.none(), st.floats(FAT_THICKNESS.low, FAT_THICKNESS.high)),
    bmi=st.floats(BMI.low, BMI.high),
    structure=st.sampled_from(STRUCTURES),
    area_cm2=st.floats(TREATMENT_AREA.low, TREATMENT_AREA.high),
)
def test_no_plan_reads_an_entry_deeper_than_its_read_depth(fat, bmi, structure, area_cm2):
    # Any patient of the domain, not only the sampled ones: every entry a lookup reads, at the depth it
    # reads it (the same distance below its own fat), stays within that entry's read depth.
    table = recording_table()
    screening = ScreeningAnswers(diagnosis="chronic-nonspecific-lbp")
    body = {"fat_mm": fat} if fat is not None else {"bmi": bmi}
    patient = Patient(skin_type=3, area_cm2=area_cm2, screening=screening, **body)
    TablePhysics(table).target_light(patient, 810.0, structure, area_cm2)
    axis = np.array(DEFAULT_FAT_MM)
    for fat_mm, depth_mm in table.reads:
        for index, weight in fat_weights(axis, fat_mm):
            entry = DEFAULT_FAT_MM[index]
            assert weight == 0 or conforming_depth_mm(fat_mm, depth_mm, entry) <= READ_DEPTHS[entry]
