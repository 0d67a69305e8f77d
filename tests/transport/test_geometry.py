import json
import math

import pytest

from laserdose.errors import InputError
from laserdose.transport import FibreBeam, FlatBeam, GaussianBeam, Grid, Layer, PencilBeam, Stack, simulate

SKIN = {"thickness_mm": 0.2, "mua_per_mm": 1.0, "mus_per_mm": 9.0, "g": 0.75, "n": 1.0}


def test_stack_from_json_dict_reads_the_documented_format():
    data = json.loads(
        '{"n_above": 1.0, "n_below": 1.33, "layers": [{"thickness_mm": 0.2, "mua_per_mm": 1.0,'
        ' "mus_per_mm": 9.0, "g": 0.75, "n": 1.4}, {"thickness_mm": null, "mua_per_mm": 0.1,'
        ' "mus_per_mm": 10, "g": 0.9, "n": 1.37}]}'
    )
    stack = Stack.from_json_dict(data)
    assert stack.n_below == 1.33
    assert stack.layers[0] == Layer(0.2, 1.0, 9.0, 0.75, 1.4)
    assert stack.layers[1].semi_infinite
    assert stack.boundaries_mm == (0.0, 0.2, math.inf)


def test_underscore_keys_are_comments():
    stack = Stack.from_json_dict({"_source": "Cassano 2019", "layers": [SKIN]})
    assert stack.layers == (Layer(**SKIN),)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"mua_per_mm": -0.1}, "mua_per_mm must be >= 0"),
        ({"mus_per_mm": -1}, "mus_per_mm must be >= 0"),
        ({"g": 1.0}, "g must be strictly between -1 and 1"),
        ({"g": -1.0}, "g must be strictly between -1 and 1"),
        ({"n": 0.9}, "n must be >= 1"),
        ({"thickness_mm": 0}, "thickness_mm must be > 0"),
        ({"mua_per_mm": float("nan")}, "must be a finite number"),
        ({"g": "0.9"}, "must be a finite number"),
    ],
)
def test_unphysical_layers_are_rejected(change, message):
    with pytest.raises(InputError, match=message):
        Stack.from_json_dict({"layers": [{**SKIN, **change}]})


def test_only_the_last_layer_may_be_semi_infinite():
    with pytest.raises(InputError, match="only the last layer may be semi-infinite; layer 1"):
        Stack.from_json_dict({"layers": [{**SKIN, "thickness_mm": None}, SKIN]})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "must be a JSON object"),
        ({"layers": []}, "non-empty list"),
        ({"layers": [SKIN], "colour": 1}, "unknown stack keys"),
        ({"layers": [{"mua_per_mm": 1}]}, "missing keys"),
        ({"layers": [SKIN], "n_above": 0.5}, "n_above must be >= 1"),
    ],
)
def test_malformed_stacks_are_rejected(data, message):
    with pytest.raises(InputError, match=message):
        Stack.from_json_dict(data)


@pytest.mark.parametrize(
    "make",
    [
        lambda: FlatBeam(0),
        lambda: GaussianBeam(-1),
        lambda: FibreBeam(1.2, 10, 0.4),
        lambda: FibreBeam(0.22, -1, 0.4),
        lambda: Grid(dr_mm=0),
        lambda: Grid(nr=0),
    ],
)
def test_bad_beams_and_grids_are_rejected(make):
    with pytest.raises(InputError):
        make()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"photons": 5, "batches": 10}, "photons must be between"),
        ({"photons": 1000, "batches": 1}, "batches must be between"),
        ({"photons": 1000, "seed": -1}, "seed must be between"),
        ({"photons": 1000, "backend": "gpu"}, "unknown backend"),
    ],
)
def test_bad_runs_are_rejected(kwargs, message):
    stack = Stack((Layer(**SKIN),))
    with pytest.raises(InputError, match=message):
        simulate(stack, PencilBeam(), seed=kwargs.pop("seed", 1), **kwargs)
