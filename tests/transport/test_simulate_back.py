import json

import pytest

from laserdose.optics.back import back_model
from laserdose.transport.geometry import Stack


def test_stack_from_layers_carries_the_optics_model_layer_by_layer():
    model = back_model(4, 980.0, bmi=30.0)
    stack = Stack.from_layers(back_model(4, 980.0, bmi=30.0).layers)
    assert len(stack.layers) == len(model.layers)
    for layer, tissue in zip(stack.layers, model.layers, strict=True):
        assert (layer.thickness_mm, layer.mua_per_mm, layer.mus_per_mm, layer.g, layer.n) == (
            tissue.thickness_mm,
            tissue.mua_per_mm,
            tissue.mus_per_mm,
            tissue.g,
            tissue.n,
        )
    assert stack.layers[-1].thickness_mm is None  # bone, semi-infinite


def test_simulate_back_shortcut_balances_energy(cli):
    result = cli(
        "simulate", "--skin-type", "3", "--bmi", "27", "--wavelength", "810", "--photons", "2e4", "--json"
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    # MCML normalisation (Wang et al. 1995): Rsp + Rd + A + T = 1, up to Russian roulette's zero-mean balance.
    total = (
        data["specular_reflectance"] + data["diffuse_reflectance"] + data["absorbed"] + data["transmittance"]
    )
    assert total == pytest.approx(1.0, abs=5 * data["absorbed_se"] + 1e-3)
    assert len(data["absorbed_by_layer"]) == 5  # epidermis, dermis, fat, muscle, bone


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--stack", "s.json", "--skin-type", "3"), "either --stack or the back model"),
        (("--skin-type", "3", "--bmi", "27"), "--skin-type and --wavelength"),
        (("--skin-type", "9", "--bmi", "27", "--wavelength", "810"), "skin"),
    ],
)
def test_simulate_back_rejects_bad_options(cli, args, message):
    result = cli("simulate", *args, "--photons", "1e3")
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.output
