import json

import numpy as np
import pytest

STACK = {
    "n_above": 1.0,
    "n_below": 1.0,
    "layers": [
        {"thickness_mm": 0.2, "mua_per_mm": 1.0, "mus_per_mm": 9.0, "g": 0.75, "n": 1.0},
    ],
}
KEYS = [
    "photons", "specular_reflectance", "diffuse_reflectance", "diffuse_reflectance_se", "absorbed",
    "absorbed_se", "absorbed_by_layer", "transmittance", "transmittance_se", "photons_per_second",
]  # fmt: skip


@pytest.fixture
def stack_file(tmp_path):
    path = tmp_path / "stack.json"
    path.write_text(json.dumps(STACK))
    return path


def test_json_output_has_the_documented_keys_and_van_de_hulst_values(cli, stack_file, tmp_path):
    out = tmp_path / "result.npz"
    plot = tmp_path / "fluence.png"
    result = cli("simulate", "--stack", stack_file, "--photons", "2e5", "--seed", "1", "--json",
                 "--out", out, "--plot", plot)  # fmt: skip
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert list(payload) == KEYS
    assert payload["photons"] == 200_000
    # van de Hulst (1980) via Wang et al. (1995): Rd 0.09739, Tt 0.66096 for this slab.
    assert abs(payload["diffuse_reflectance"] - 0.09739) <= 4 * payload["diffuse_reflectance_se"] + 1e-5
    assert abs(payload["transmittance"] - 0.66096) <= 4 * payload["transmittance_se"] + 1e-5
    arrays = np.load(out)
    assert arrays["fluence_rate_per_mm2"].shape == (100, 100)
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_people_get_a_table(cli, stack_file):
    result = cli("simulate", "--stack", stack_file, "--photons", "2000", "--beam", "gauss:5")
    assert result.exit_code == 0, result.output
    assert "diffuse reflectance" in result.stdout and "photons/s" in result.stdout


@pytest.mark.parametrize(
    ("layer_change", "message"),
    [
        ({"mua_per_mm": -1}, "mua_per_mm must be >= 0"),
        ({"g": 1.5}, "g must be strictly between -1 and 1"),
        ({"n": 0.5}, "n must be >= 1"),
    ],
)
def test_unphysical_stacks_exit_2_with_one_line(cli, tmp_path, layer_change, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"layers": [{**STACK["layers"][0], **layer_change}]}))
    result = cli("simulate", "--stack", path, "--photons", "1000")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert "Traceback" not in result.output


def test_semi_infinite_layer_not_last_exits_2(cli, tmp_path):
    layer = STACK["layers"][0]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"layers": [{**layer, "thickness_mm": None}, layer]}))
    result = cli("simulate", "--stack", path)
    assert result.exit_code == 2 and "only the last layer may be semi-infinite" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--beam", "laser:3"], "unknown beam"),
        (["--beam", "flat"], "takes 1 number"),
        (["--beam", "flat:-2"], "diameter_mm must be > 0"),
        (["--photons", "lots"], "--photons must be a number"),
        (["--photons", "1.5"], "whole number"),
    ],
)
def test_bad_options_exit_2(cli, stack_file, args, message):
    result = cli("simulate", "--stack", stack_file, *args)
    assert result.exit_code == 2 and message in result.stderr


def test_missing_or_broken_stack_file_exits_2(cli, tmp_path):
    assert "cannot read stack file" in cli("simulate", "--stack", tmp_path / "none.json").stderr
    broken = tmp_path / "broken.json"
    broken.write_text("{layers: ")
    result = cli("simulate", "--stack", broken)
    assert result.exit_code == 2 and "not valid JSON" in result.stderr


def test_depths_add_the_broad_beam_fluence(cli, tmp_path):
    # A purely absorbing layer with matched indices: the broad-beam fluence is exp(-mua z) exactly.
    stack = tmp_path / "absorber.json"
    layer = {"thickness_mm": None, "mua_per_mm": 0.2, "mus_per_mm": 0.0, "g": 0.0, "n": 1.0}
    stack.write_text(json.dumps({"n_above": 1.0, "n_below": 1.0, "layers": [layer]}))
    for flag in ([], ["--no-variance-reduction"]):
        result = cli(
            "simulate", "--stack", stack, "--photons", "20000", "--dz", "0.5", "--nz", "40",
            "--depths", "2,5,10", "--json", *flag,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        entries = json.loads(result.stdout)["broad_beam_fluence"]
        assert [entry["depth_mm"] for entry in entries] == [2.0, 5.0, 10.0]
        for entry in entries:
            expected = np.exp(-0.2 * entry["depth_mm"])
            assert abs(entry["ratio"] - expected) <= 4 * entry["ratio_se"] + 2e-3 * expected, entry


def test_without_depths_there_is_no_broad_beam_key(cli, stack_file):
    result = cli("simulate", "--stack", stack_file, "--photons", "1000", "--json")
    assert "broad_beam_fluence" not in json.loads(result.stdout)


@pytest.mark.parametrize(
    ("depths", "message"),
    [("10,x", "--depths must be numbers"), ("0", "each depth must be between"), ("50", "between 0.05")],
)
def test_bad_depths_exit_2(cli, stack_file, depths, message):
    result = cli("simulate", "--stack", stack_file, "--depths", depths, "--json")
    assert result.exit_code == 2 and message in result.stderr and result.stderr.count("\n") == 1


def test_variance_reduction_on_cuda_is_refused(cli, stack_file):
    result = cli("simulate", "--stack", stack_file, "--depths", "1", "--backend", "cuda", "--json")
    assert result.exit_code == 2 and "cpu backend only" in result.stderr
