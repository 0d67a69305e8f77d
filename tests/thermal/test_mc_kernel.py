"""The Monte Carlo kernel: one back model for optics and heat, energy kept, errors, skin-type order, CLI."""

import json

import numpy as np
import pytest

from laserdose.optics.back import back_model
from laserdose.thermal.bioheat import StationaryCase, solve_stationary
from laserdose.thermal.mc_kernel import monte_carlo_kernel
from laserdose.thermal.service import run_config
from laserdose.thermal.treatment import treatment_case

PHOTONS = 5000


def _config(skin_type=4, photons=PHOTONS, **extra):
    """A 2 W 810 nm stationary 6 mm spot on a back with 5 mm of fat, for 2 s."""
    config = {
        "beam": {"power_w": 2.0, "wavelength_nm": 810.0},
        "kernel": {
            "kind": "monte-carlo",
            "skin_type": skin_type,
            "fat_mm": 5.0,
            "beam": "flat:6",
            "photons": photons,
            "seed": 3,
        },
        "boundary": {"surface": "convective", "h_w_per_m2_k": 10.0, "ambient_c": 25.0, "core_c": 37.0},
        "time": {"duration_s": 2.0, "dt_s": 0.1},
    }
    for key, value in extra.items():
        config[key] = value
    return config


def test_kernel_holds_the_transport_absorbed_fraction():
    # Conservation: the kernel is the transport engine's A(r, z); its integral is the absorbed fraction A,
    # up to absorption outside the scoring grid, which must be within A's own standard error.
    mc = monte_carlo_kernel(_config(photons=20000)["kernel"], 810.0)
    transport = mc.transport
    assert mc.kernel.absorbed_fraction() == pytest.approx(transport.absorbed, abs=3 * transport.absorbed_se)


def test_thermal_layers_are_the_back_models():
    # One patient: the thermal layers are the optics back model's names and thicknesses.
    mc = monte_carlo_kernel(_config()["kernel"], 810.0)
    back = back_model(4, 810.0, fat_mm=5.0)
    assert mc.medium.names == tuple(layer.name for layer in back.layers)
    assert mc.medium.thicknesses_mm == tuple(x.thickness_mm for x in back.layers[:-1])


def test_solver_deposits_power_times_absorbed_fraction_times_time():
    # Energy: heat in = mean power x absorbed fraction x time (pulsed 50 % at 10 Hz, whole periods).
    config = _config(photons=20000, pulsing={"frequency_hz": 10.0, "duty_cycle": 0.5})
    treatment = treatment_case(config)
    assert isinstance(treatment.case, StationaryCase)
    result = solve_stationary(treatment.case)
    fraction = treatment.case.kernel.absorbed_fraction()
    expected_j = 2.0 * 0.5 * fraction * 2.0
    assert result.energy.absorbed_j == pytest.approx(expected_j, rel=0.01)
    # The absorbed fraction itself is the transport result's (same seed, same photons).
    transport = monte_carlo_kernel(config["kernel"], 810.0).transport
    assert result.energy.absorbed_j / 2.0 == pytest.approx(
        transport.absorbed, abs=3 * transport.absorbed_se + 0.01
    )


def test_darker_skin_never_lowers_the_peak_skin_temperature():
    # Monotonicity (melanin absorption rises with Fitzpatrick type, [Jacques2013]): all six
    # types at equal settings and the same seed. Deterministic over the whole (six-value) domain rather
    # than Hypothesis: each example costs a Monte Carlo run and a solve, and six cover every case.
    peaks = [run_config(_config(skin_type)).payload["peak_skin_temperature_c"] for skin_type in range(1, 7)]
    assert np.all(np.diff(peaks) >= 0), peaks


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c["beam"].pop("wavelength_nm"), "beam.wavelength_nm is required"),
        (lambda c: c["kernel"].pop("beam"), "kernel.beam is required"),
        (lambda c: c.update(layers=[{"tissue": "skin"}]), "omit [[layers]]"),
        (lambda c: c["kernel"].update(skin_type=7), "skin"),
        (lambda c: c["kernel"].update(photons=-5), "kernel.photons must be a whole number"),
        (lambda c: c["kernel"].update(bmi=25.0), "fat"),
        (lambda c: c["kernel"].update(beam="round:5"), "unknown beam"),
        (lambda c: c["kernel"].update(colour="red"), "unknown key kernel.colour"),
    ],
)
def test_bad_monte_carlo_config_is_one_line_exit_2(cli, tmp_path, edit, message):
    config = _config()
    edit(config)
    path = tmp_path / "bad.toml"
    path.write_text(_toml(config))
    result = cli("heat", "--config", str(path))
    assert result.exit_code == 2
    assert result.stderr.startswith("laserdose: error: ")
    assert message in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output


def test_cli_full_scanned_treatment(cli, tmp_path):
    config = _config(
        pulsing={"frequency_hz": 10.0, "duty_cycle": 0.5},
        scan={
            "pattern": "zigzag",
            "width_mm": 30.0,
            "height_mm": 30.0,
            "speed_mm_per_s": 50.0,
            "line_spacing_mm": 10.0,
        },
        grid={"dx_mm": 2.0, "depth_mm": 20.0},
    )
    path = tmp_path / "case.toml"
    path.write_text(_toml(config))
    result = cli("heat", "--config", str(path), "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    for key in ("peak_skin_temperature_c", "peak_basal_temperature_c", "seconds_above_43c", "cem43_min"):
        assert payload[key] >= 0
    assert payload["omega_max"] >= 0
    # Consistency: the peak skin temperature is the baseline plus the largest surface rise, and heat went in.
    assert payload["peak_skin_temperature_c"] == pytest.approx(
        payload["baseline_surface_c"] + payload["peak_surface_rise_k"], abs=1e-9
    )
    assert payload["peak_surface_rise_k"] > 0
    # The Monte Carlo summary: layer shares add up to the absorbed fraction (conservation).
    monte_carlo = payload["monte_carlo"]
    assert sum(monte_carlo["absorbed_by_layer"].values()) == pytest.approx(monte_carlo["absorbed"], rel=1e-9)
    assert list(monte_carlo["absorbed_by_layer"]) == ["epidermis", "dermis", "fat", "muscle", "bone"]


def _toml(config):
    """Write a nested dict of tables (and one array of tables) as TOML."""
    lines = []
    for name, table in config.items():
        rows = table if isinstance(table, list) else [table]
        for row in rows:
            lines.append(f"[[{name}]]" if isinstance(table, list) else f"[{name}]")
            lines.extend(f"{key} = {json.dumps(value)}" for key, value in row.items())
    return "\n".join(lines) + "\n"
