"""`laserdose heat`: the documented TOML cases, treatments, kernel files, plots and one-line errors."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from tests.thermal import analytic

from laserdose.thermal.grid import graded_edges
from laserdose.thermal.source import analytic_kernel

CASES = Path(__file__).parent / "cases"
K, KAPPA = 0.37e-3, 0.37e-3 / (1109.0 * 3391.0e-9)  # skin [ComsolBioheat]


def _json(cli, path):
    result = cli("heat", "--config", str(path), "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_documented_disk_case_matches_analytic(cli):
    # The disk case verbatim; disk centre formula of [CarslawJaeger1959].
    payload = _json(cli, CASES / "disk.toml")
    q0 = 0.12566 / (math.pi * 2.0**2)
    assert payload["duration_s"] == 10.0
    assert payload["center_surface_rise_k"] == pytest.approx(
        analytic.disk_centre(q0, 2.0, K, KAPPA, 10.0), rel=0.02
    )
    series = payload["series"]
    assert series["t_s"][0] == 0.0 and series["t_s"][-1] == pytest.approx(10.0)
    assert len(series["t_s"]) == len(series["center_surface_rise_k"])
    assert payload["peak_surface_rise_k"] >= payload["center_surface_rise_k"] - 1e-12


def test_stationary_treatment_reports_dose(cli, tmp_path):
    plot = tmp_path / "heat.png"
    result = cli("heat", "--config", str(CASES / "treatment_stationary.toml"), "--json", "--plot", str(plot))
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    for key in (
        "peak_skin_temperature_c",
        "peak_basal_temperature_c",
        "seconds_above_43c",
        "cem43_min",
        "omega_max",
    ):
        assert key in payload
    # Consistency: the peak skin temperature is the baseline plus the largest surface rise.
    assert payload["peak_skin_temperature_c"] == pytest.approx(
        payload["baseline_surface_c"] + payload["peak_surface_rise_k"], abs=1e-9
    )
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_kernel_file_gives_the_same_answer_as_the_analytic_kernel(cli, tmp_path):
    # The transport interface (npz with r_edges_mm, z_edges_mm, absorbed_density_per_mm3) must be read as is.
    kernel = analytic_kernel(
        graded_edges(3.0, 0.05, 0.2), graded_edges(1.6, 0.005, 0.05), 3.0, "flat", 5.0, 0.8
    )
    np.savez(
        tmp_path / "k.npz",
        r_edges_mm=kernel.r_edges_mm,
        z_edges_mm=kernel.z_edges_mm,
        absorbed_density_per_mm3=kernel.absorbed_density_per_mm3,
    )
    text = (CASES / "treatment_stationary.toml").read_text()
    start = text.index("[kernel]")
    end = text.index("[boundary]")
    (tmp_path / "case.toml").write_text(
        text[:start] + '[kernel]\nkind = "file"\npath = "k.npz"\n\n' + text[end:]
    )
    from_file = _json(cli, tmp_path / "case.toml")
    analytic_run = _json(cli, CASES / "treatment_stationary.toml")
    assert from_file["peak_surface_rise_k"] == pytest.approx(analytic_run["peak_surface_rise_k"], rel=0.02)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("k_w_per_m_k = 0.37", "k_w_per_m_k = -1"), "medium.k_w_per_m_k must be > 0, got -1"),
        (('kind = "surface-disk"', 'kind = "laser-beam"'), "unknown source.kind 'laser-beam'"),
        (("duration_s = 10.0", "duration_s = 0"), "time.duration_s must be > 0, got 0"),
        (("radius_mm = 2.0", "radius_m = 2.0"), "unknown key source.radius_m"),
        (('surface = "insulated"', 'surface = "convective"'), "boundary.h_w_per_m2_k is required"),
        (("[time]\nduration_s = 10.0", ""), "missing section [time]"),
        (
            ("perfusion_per_s = 0.0", 'perfusion_per_s = "lots"'),
            "medium.perfusion_per_s must be a finite number",
        ),
    ],
)
def test_bad_config_is_one_line_exit_2(cli, tmp_path, edit, message):
    text = (CASES / "disk.toml").read_text()
    assert edit[0] in text
    path = tmp_path / "bad.toml"
    path.write_text(text.replace(edit[0], edit[1]))
    result = cli("heat", "--config", str(path))
    assert result.exit_code == 2
    assert result.stderr.startswith("laserdose: error: ")
    assert message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output


def test_bad_treatment_fields_are_named(cli, tmp_path):
    text = (CASES / "treatment_stationary.toml").read_text()
    for old, new, message in [
        ('tissue = "fat"', 'tissue = "cartilage"', "unknown tissue 'cartilage'"),
        ("power_w = 0.2", "power_w = -0.2", "beam.power_w must be > 0"),
        ("absorbed_fraction = 0.8", "absorbed_fraction = 1.5", "kernel.absorbed_fraction must be <= 1"),
    ]:
        path = tmp_path / "bad.toml"
        path.write_text(text.replace(old, new))
        result = cli("heat", "--config", str(path))
        assert result.exit_code == 2 and message in result.stderr, result.stderr


def test_missing_file_is_an_error(cli, tmp_path):
    result = cli("heat", "--config", str(tmp_path / "nope.toml"))
    assert result.exit_code == 2 and "not found" in result.stderr


def test_scanned_treatment_runs_in_3d(cli, tmp_path):
    text = (CASES / "treatment_scanned.toml").read_text().replace("duration_s = 120", "duration_s = 4")
    path = tmp_path / "scan.toml"
    path.write_text(text)
    payload = _json(cli, path)
    assert payload["model"].startswith("3-D")
    # Energy: 10 W for 4 s, 60 % absorbed (the kernel's fraction), all of it inside the 10 x 15 cm area.
    assert payload["energy_j"]["absorbed_j"] == pytest.approx(10 * 4 * 0.6, rel=0.01)
    assert payload["peak_skin_temperature_c"] > payload["baseline_surface_c"]


def test_fields_at_chosen_times(cli, tmp_path):
    text = (
        (CASES / "treatment_stationary.toml")
        .read_text()
        .replace("duration_s = 60", "duration_s = 60\nsave_times_s = [10, 60]")
    )
    path = tmp_path / "fields.toml"
    path.write_text(text)
    payload = _json(cli, path)
    fields = payload["fields"]
    nr, nz = len(fields["r_edges_mm"]) - 1, len(fields["z_edges_mm"]) - 1
    early, late = np.array(fields["10"]["rise_k"]), np.array(fields["60"]["rise_k"])
    assert early.shape == late.shape == (nr, nz)
    # Heating only adds energy while the beam is on: the field grows everywhere on the axis column.
    assert np.all(late[0] >= early[0] - 1e-3)
    bad = text.replace("save_times_s = [10, 60]", "save_times_s = [90]")
    path.write_text(bad)
    result = cli("heat", "--config", str(path))
    assert result.exit_code == 2 and "time.save_times_s entries must be in (0, 60] s" in result.stderr
