"""The planner over skin type x BMI: the acceptance region is planned inside the band, honestly elsewhere."""

import json

import pytest

from laserdose.clinical.protocols import get_protocol
from laserdose.machines.profile import load_profile
from laserdose.planning.grid import fraction_in_band, plan_grid
from laserdose.planning.physics import default_physics

BMIS = (20.0, 22.5, 25.0, 27.5, 30.0, 32.5, 35.0, 40.0)


@pytest.mark.slow
@pytest.mark.parametrize("device", ["15w-dual", "30w-quad"])
def test_types_i_to_iv_with_bmi_20_to_35_are_planned_inside_the_band(device):
    protocol = get_protocol("chronic-nonspecific-lbp")
    cells = plan_grid(protocol, load_profile(device), default_physics(), range(1, 7), BMIS, 150.0)
    # The acceptance region of the planner: at least 90 % of the cells inside 0.8-1.25 x the reference.
    assert fraction_in_band(cells, (1, 2, 3, 4), (20.0, 35.0)) >= 0.9
    for cell in cells:
        # No plan exceeds a hard limit, whatever binds.
        assert cell.peak_skin_temperature_c <= cell.skin_limit_c + 1e-9
        assert cell.surface_dose_j_per_cm2 <= protocol.max_surface_dose_j_per_cm2 * (1 + 1e-9)
        assert cell.equivalence <= protocol.prescription.max_target_ratio
        # Outside the band, the plan names the limit; inside, none.
        assert cell.feasible == (cell.binding_limit is None)
    # Types V-VI are treated with precautions (980 nm only, skin <= 41 C [LightForce]) and get an honest
    # plan: from BMI 25 on, below the band with the binding limit named.
    dark = [c for c in cells if c.skin_type >= 5 and c.bmi >= 25.0]
    assert all(c.decision == "treat-with-precautions" and c.skin_limit_c == 41.0 for c in dark)
    assert all(not c.feasible and c.binding_limit in ("skin temperature", "surface dose") for c in dark)
    # More fat never brings a patient nearer the reference once a limit binds (light fades with depth).
    for skin_type in range(1, 7):
        row = [c.equivalence for c in cells if c.skin_type == skin_type]
        assert all(later <= earlier + 1e-9 for earlier, later in zip(row, row[1:], strict=False))


def test_grid_cli_prints_json_with_the_region_share(cli):
    result = cli(
        "grid", "--protocol", "chronic-nonspecific-lbp", "--device", "15w-dual", "--bmi", "22,38",
        "--skin-types", "2,6", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [(c["skin_type"], c["bmi"]) for c in data["cells"]] == [(2, 22.0), (2, 38.0), (6, 22.0), (6, 38.0)]
    # Only type II at BMI 22 lies in the region (types I-IV, BMI 20-35).
    assert data["fraction_in_band_types_1_4_bmi_20_35"] == float(data["cells"][0]["feasible"])
    bad = cli("grid", "--protocol", "chronic-nonspecific-lbp", "--device", "15w-dual", "--bmi", "fat")
    assert bad.exit_code == 2 and "BMI must be a number, got 'fat'" in bad.stderr
