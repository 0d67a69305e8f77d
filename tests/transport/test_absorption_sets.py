"""Absorption sets: stacks that differ only in absorption, scored on the paths of the least absorbing.

References: Beer-Lambert in a layered, purely absorbing medium (exact); a direct run of the darker stack
(an independent estimate, compared within 4 combined SE); and exact invariants of the reweighting.
"""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_properties import stacks

from laserdose.errors import InputError
from laserdose.optics.back import back_model
from laserdose.transport import Grid, Layer, PencilBeam, Stack, simulate
from laserdose.transport.tables import disk_fluences


def _plane_fluence(fluence_rate_per_mm2: np.ndarray, r_edges_mm: np.ndarray) -> np.ndarray:
    """phi(r, z) integrated over the grid's rings: the broad-beam fluence of each depth bin [-]."""
    return np.pi * np.diff(r_edges_mm**2) @ fluence_rate_per_mm2


def test_a_darker_layer_follows_beer_lambert_in_an_absorbing_stack():
    # No scattering, matched indices: the fluence is exp(-integral of mua dz) exactly. Traced with a
    # 2 mm top layer of mua 0.05 /mm over 0.02 /mm; the set absorbs 0.4 /mm on top. Each depth bin's
    # reference is the exact bin mean; the SE comes from eight independent seeds.
    stack = Stack((Layer(2.0, 0.05, 0.0, 0.0, 1.0), Layer(None, 0.02, 0.0, 0.0, 1.0)))
    grid = Grid(dr_mm=1.0, nr=5, dz_mm=0.5, nz=20)
    runs = [
        simulate(stack, PencilBeam(), 20_000, seed, grid, absorption_sets=[[0.4, 0.02]]) for seed in range(8)
    ]
    planes = np.array([_plane_fluence(r.fluence_rate_sets_per_mm2[0], r.r_edges_mm) for r in runs])
    mean, se = planes.mean(axis=0), planes.std(axis=0, ddof=1) / np.sqrt(len(runs))
    fine = np.linspace(0.0, 10.0, 20_001)
    exact = np.where(fine < 2.0, np.exp(-0.4 * fine), np.exp(-0.8 - 0.02 * (fine - 2.0)))
    reference = exact[:-1].reshape(20, -1).mean(axis=1)  # bin means of 0.5 mm
    assert np.all(se > 0)
    assert np.all(np.abs(mean - reference) <= 4 * se + 1e-4 * reference), (mean, reference)


def test_a_darker_skin_scored_on_lighter_paths_matches_its_own_run():
    # The back model at 810 nm, with scattering, interfaces and splitting at depth: skin type VI scored on
    # the paths of type I against type VI traced itself, eight seeds each, within 4 combined SE.
    radii, depths = np.array([10.0]), [2, 10, 20]  # bins 2.5, 10.5, 20.5 mm deep
    light, dark = (Stack.from_layers(back_model(t, 810.0, fat_mm=5.0).layers) for t in (1, 6))
    kwargs = {"variance_reduction": True, "split_to_mm": 22.0, "threads": 1}
    shared = np.array(
        [disk_fluences([light, dark], radii, 6_000, seed, **kwargs)[1][1][0] for seed in range(8)]
    )
    direct = np.array([disk_fluences([dark], radii, 6_000, 100 + s, **kwargs)[1][0][0] for s in range(8)])
    for depth in depths:
        a, b = shared[:, depth], direct[:, depth]
        combined_se = np.hypot(a.std(ddof=1), b.std(ddof=1)) / np.sqrt(8)
        assert abs(a.mean() - b.mean()) <= 4 * combined_se, (depth, a.mean(), b.mean(), combined_se)


@settings(max_examples=30)
@given(
    stack=stacks(),
    more=st.lists(st.floats(0.0, 5.0), min_size=4, max_size=4),
    further=st.lists(st.floats(0.0, 5.0), min_size=4, max_size=4),
    variance_reduction=st.booleans(),
    seed=st.integers(0, 2**32),
)
def test_sets_keep_the_traced_paths_order_by_absorption(stack, more, further, variance_reduction, seed):
    # Exact, photon by photon: a set equal to the traced stack scores what it scores, bit for bit; a set
    # that absorbs more in some layer scores no more in any bin, and one absorbing more still no more again.
    mua = np.array([layer.mua_per_mm for layer in stack.layers])
    darker = mua + np.array(more[: mua.size])
    darkest = darker + np.array(further[: mua.size])
    grid = Grid(dr_mm=0.5, nr=10, dz_mm=0.5, nz=10)
    result = simulate(
        stack, PencilBeam(), 300, seed, grid, batches=2, variance_reduction=variance_reduction,
        absorption_sets=[mua, darker, darkest],
    )  # fmt: skip
    same, dark, darkest_phi = result.fluence_rate_sets_per_mm2
    assert np.array_equal(same, result.fluence_rate_per_mm2)
    assert np.all(dark <= result.fluence_rate_per_mm2) and np.all(darkest_phi <= dark)


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        ([[0.1]], "for each of the 2 layers"),
        ([[0.1, -0.01]], "mua >= 0"),
        ([[0.1, float("nan")]], "finite"),
        ([[0.1, 0.1]], "absorbs in a layer the stack leaves clear"),
    ],
)
def test_absorption_sets_refuse_what_they_cannot_score(sets, message):
    stack = Stack((Layer(1.0, 0.1, 5.0, 0.9, 1.4), Layer(None, 0.0, 0.0, 0.0, 1.4)))
    with pytest.raises(InputError, match=message):
        simulate(stack, PencilBeam(), 10, 1, absorption_sets=sets)


def test_stacks_traced_together_may_differ_only_in_absorption():
    base = back_model(3, 810.0, fat_mm=5.0).layers
    stack = Stack.from_layers(base)
    other_fat = Stack.from_layers(back_model(3, 810.0, fat_mm=10.0).layers)
    with pytest.raises(InputError, match="may differ only in absorption"):
        disk_fluences([stack, other_fat], np.array([10.0]), 10, 1)
    top, *rest = stack.layers
    # More absorbing on top, less below: neither stack's paths can carry the other with factors <= 1.
    darker_top = dataclasses.replace(top, mua_per_mm=top.mua_per_mm + 1.0)
    clearer_next = dataclasses.replace(rest[0], mua_per_mm=0.0)
    crossed = dataclasses.replace(stack, layers=(darker_top, clearer_next, *rest[1:]))
    with pytest.raises(InputError, match="absorbs least in every layer"):
        disk_fluences([stack, crossed], np.array([10.0]), 10, 1)


def test_absorption_sets_run_on_the_cpu_only():
    stack = Stack((Layer(None, 0.1, 5.0, 0.9, 1.4),))
    with pytest.raises(InputError, match="cpu backend only"):
        simulate(stack, PencilBeam(), 10, 1, backend="cuda", absorption_sets=[[0.2]])
