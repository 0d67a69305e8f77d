"""The domain's limits agree with what the planner can compute: no valid patient falls off its data."""

from laserdose.domain.quantities import BMI, FAT_THICKNESS, SKIN_TYPE, TREATMENT_AREA, WAVELENGTH
from laserdose.machines.profile import load_profile, shipped_profiles
from laserdose.optics.back import fat_from_bmi_mm
from laserdose.planning.dose import disk_radius_mm
from laserdose.planning.physics import shipped_table_path
from laserdose.transport.tables import FluenceTable


def test_the_shipped_fluence_table_spans_the_fat_range_and_every_skin_type():
    table = FluenceTable.load(shipped_table_path())
    assert (table.fat_mm[0], table.fat_mm[-1]) == (FAT_THICKNESS.low, FAT_THICKNESS.high)
    assert list(table.skin_types) == list(range(int(SKIN_TYPE.low), int(SKIN_TYPE.high) + 1))


def test_fat_estimated_over_the_bmi_range_stays_inside_the_fat_range():
    # fat = 9 + 0.978 (BMI - 25) mm (optics/back.py): 2.2 mm at BMI 18, 33.5 mm at BMI 50.
    assert FAT_THICKNESS.low <= fat_from_bmi_mm(BMI.low) < fat_from_bmi_mm(BMI.high) <= FAT_THICKNESS.high


def test_the_smallest_area_is_a_disk_the_table_holds():
    table = FluenceTable.load(shipped_table_path())
    assert disk_radius_mm(TREATMENT_AREA.low) >= table.radii_mm[0]  # sqrt(100 / pi) = 5.64 mm >= 5 mm


def test_every_shipped_machine_emits_inside_the_wavelength_range_and_the_table():
    table = FluenceTable.load(shipped_table_path())
    for name in shipped_profiles():
        for wavelength in load_profile(name).wavelengths_nm:
            assert WAVELENGTH.low <= wavelength <= WAVELENGTH.high
            assert wavelength in table.wavelengths_nm
