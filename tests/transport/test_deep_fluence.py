"""Broad-beam fluence at depth and variance reduction, against analytic references and each other."""

import math

import numpy as np
import pytest

from laserdose.errors import InputError
from laserdose.optics.back import back_model
from laserdose.transport import Grid, Layer, PencilBeam, Stack, simulate
from laserdose.transport.diffusion import internal_reflection_parameter, planar_fluence_rate
from laserdose.transport.planes import (
    MAX_RATE_SHARE,
    SPACING,
    attenuation_per_mm,
    importance_planes,
    importance_profile,
)


def _bin_average_exp(rate_per_mm: float, edges_mm: np.ndarray) -> np.ndarray:
    """Exact mean of exp(-rate z) over each depth bin."""
    upper = np.exp(-rate_per_mm * edges_mm[:-1]) - np.exp(-rate_per_mm * edges_mm[1:])
    return upper / (rate_per_mm * np.diff(edges_mm))


# Plain; variance-reduced with 10 batches (plain batch means); and with 1,000, enough for its control
# variates to correct the means (TransportResult.controlled).
RUNS = [(False, 10), (True, 10), (True, 1000)]


@pytest.mark.parametrize(("variance_reduction", "batches"), RUNS)
def test_purely_absorbing_medium_follows_beer_lambert(variance_reduction, batches):
    # No scattering, matched indices: the fluence under a wide beam is exp(-mua z) exactly. The result
    # interpolates bin means linearly between bin centres, so the reference does the same with the
    # exact bin means of exp(-mua z).
    mua = 0.1
    stack = Stack((Layer(None, mua, 0.0, 0.0, 1.0),))
    grid = Grid(dr_mm=1.0, nr=10, dz_mm=0.5, nz=80)
    result = simulate(
        stack, PencilBeam(), 40_000, 3, grid, batches=batches, variance_reduction=variance_reduction
    )
    assert result.controlled == (batches == 1000)
    depths = [2.0, 10.0, 20.0, 30.0]
    reference = np.interp(depths, result.z_centres_mm, _bin_average_exp(mua, result.z_edges_mm))
    for entry, expected in zip(result.broad_beam_fluence(depths), reference, strict=True):
        assert entry.ratio_se > 0
        assert abs(entry.ratio - expected) <= 4 * entry.ratio_se, entry
        # Linear interpolation of bin means departs from exp(-mua z) by ~(mua dz)^2 / 8 = 3e-4 relative.
        exact = math.exp(-mua * entry.depth_mm)
        assert abs(entry.ratio - exact) <= 4 * entry.ratio_se + 1e-3 * exact, entry


@pytest.mark.parametrize(("variance_reduction", "batches"), RUNS)
def test_deep_broad_beam_fluence_matches_diffusion_theory(variance_reduction, batches):
    # Matched-index semi-infinite medium, mua / mus' = 0.01, 4 to 18 transport mean free paths deep:
    # diffusion theory is accurate to a few per cent there (figs. 2-3) [FarrellPattersonWilson1992].
    mua, musp = 0.01, 1.0
    stack = Stack((Layer(None, mua, musp, 0.0, 1.0),))
    grid = Grid(dr_mm=1.0, nr=10, dz_mm=0.5, nz=40)
    result = simulate(
        stack, PencilBeam(), 20_000, 17, grid, batches=batches, variance_reduction=variance_reduction
    )
    assert result.controlled == (batches == 1000)
    depths = [4.0, 8.0, 12.0, 18.0]
    theory = planar_fluence_rate(np.array(depths), mua, musp, 1.0)
    for entry, expected in zip(result.broad_beam_fluence(depths), theory, strict=True):
        assert abs(entry.ratio / expected - 1.0) <= 0.06 + 4 * entry.ratio_se / expected, entry


def test_broad_beam_fluence_is_the_plane_integral_of_the_grid_inside_it():
    # The depth tally sums every radius; inside a grid wide enough to hold all the light, the r-z
    # fluence integrated over the rings must give the same number (the same collisions, binned twice).
    stack = Stack((Layer(None, 0.5, 5.0, 0.8, 1.4),))
    grid = Grid(dr_mm=0.5, nr=200, dz_mm=0.5, nz=10)
    result = simulate(stack, PencilBeam(), 5_000, 2, grid)
    rings = np.pi * np.diff(result.r_edges_mm**2)
    from_grid = (result.fluence_rate_per_mm2 * rings[:, None]).sum(axis=0)
    np.testing.assert_allclose(result.broad_beam_fluence_by_batch.mean(axis=0), from_grid, rtol=1e-9)


def test_variance_reduction_on_and_off_agree_in_the_back():
    # Unbiased: with and without splitting, every tally has the same expectation; independent seeds
    # agree within 4 combined standard errors (skin type III, BMI 27, 810 nm).
    stack = Stack.from_layers(back_model(3, 810.0, bmi=27).layers)
    grid = Grid(dr_mm=1.0, nr=100, dz_mm=1.0, nz=50)
    off = simulate(stack, PencilBeam(), 20_000, 5, grid, variance_reduction=False)
    on = simulate(stack, PencilBeam(), 5_000, 6, grid, variance_reduction=True, split_to_mm=47.0)
    depths = [10.0, 20.0, 30.0, 45.0]
    for a, b in zip(off.broad_beam_fluence(depths), on.broad_beam_fluence(depths), strict=True):
        assert abs(a.ratio - b.ratio) <= 4 * math.hypot(a.ratio_se, b.ratio_se), (a, b)
    for name in ("diffuse_reflectance", "absorbed"):
        se = math.hypot(getattr(off, name + "_se"), getattr(on, name + "_se"))
        assert abs(getattr(off, name) - getattr(on, name)) <= 4 * se, name
    assert abs(on.roulette_balance) <= 4 * on.roulette_balance_se + 1e-12
    # The point of it: deep fluence far more precise per photon traced.
    deep_off, deep_on = off.broad_beam_fluence([45.0])[0], on.broad_beam_fluence([45.0])[0]
    assert deep_on.ratio_se / deep_on.ratio < 0.5 * deep_off.ratio_se / deep_off.ratio


def test_control_variates_are_zero_mean_and_halve_the_variance_at_depth_in_the_back():
    # The controls (kernel_cpu.CONTROL_*) must have expectation zero, or the corrected fluence would be
    # biased: each column's mean within 4.5 of its SEs of zero (36 columns). The corrected fluence must
    # agree with a plain run within 4 combined SE, and at 30 and 45 mm be more precise than the same
    # batches' plain mean (docs/deep-fluence.md: about half the variance).
    stack = Stack.from_layers(back_model(3, 810.0, bmi=27).layers)
    grid = Grid(dr_mm=1.0, nr=100, dz_mm=1.0, nz=50)
    off = simulate(stack, PencilBeam(), 40_000, 21, grid, batches=20)
    on = simulate(
        stack, PencilBeam(), 20_000, 22, grid, batches=1000, variance_reduction=True, split_to_mm=47.0
    )
    assert on.controlled and not off.controlled
    controls = on.controls_by_batch[:, on.controls_by_batch.std(axis=0) > 0]
    assert controls.shape[1] > 20
    t = controls.mean(axis=0) / (controls.std(axis=0, ddof=1) / math.sqrt(controls.shape[0]))
    assert np.all(np.abs(t) < 4.5), t
    depths = [10.0, 20.0, 30.0, 45.0]
    for a, b in zip(off.broad_beam_fluence(depths), on.broad_beam_fluence(depths), strict=True):
        assert abs(a.ratio - b.ratio) <= 4 * math.hypot(a.ratio_se, b.ratio_se), (a, b)
    for entry in on.broad_beam_fluence([30.0, 45.0]):
        per_batch = np.array(
            [np.interp(entry.depth_mm, on.z_centres_mm, row) for row in on.broad_beam_fluence_by_batch]
        )
        assert entry.ratio_se < 0.85 * per_batch.std(ddof=1) / math.sqrt(per_batch.size), entry


def test_importance_is_the_diffusion_adjoint_in_a_homogeneous_medium():
    # I'' = mu_eff^2 I, I(-zb) = 0: I ~ sinh(mu_eff (z + zb)), zb = 2 A D [FarrellPattersonWilson1992].
    mua, mus, g, n = 0.02, 10.0, 0.9, 1.4
    stack = Stack((Layer(None, mua, mus, g, n),))
    d = 1 / (3 * (mua + mus * (1 - g)))
    mu_eff, zb = math.sqrt(mua / d), 2 * internal_reflection_parameter(n) * d
    zs, logs = importance_profile(stack, 20.0)
    expected = np.log(np.sinh(mu_eff * (zs + zb)) / np.sinh(mu_eff * zb))
    np.testing.assert_allclose(logs, expected, rtol=1e-9, atol=1e-12)
    planes, rates = importance_planes(stack, 20.0)
    # A plane each time I has grown by 2^SPACING, then one at the depth asked for.
    np.testing.assert_allclose(
        np.log(np.sinh(mu_eff * (planes[:-1] + zb)) / np.sinh(mu_eff * zb)),
        SPACING * math.log(2) * np.arange(1, planes.size), rtol=1e-6,
    )  # fmt: skip
    assert planes[-1] == 20.0
    # The transform doubles the importance over each full region.
    np.testing.assert_allclose(rates[:-1] * np.diff(np.concatenate([[0.0], planes[:-1]])), math.log(2))
    # Deep down the importance grows at mu_eff; the rate is that over SPACING.
    assert rates[-2] == pytest.approx(mu_eff / SPACING, rel=1e-3)


def test_importance_keeps_d_di_dz_continuous_across_layers():
    # Two diffusive layers, matched indices (zb = 2 D1): above the boundary at L, I = sinh(m1 (z + zb));
    # below it I = I(L) cosh(m2 (z - L)) + D1 I'(L) / (D2 m2) sinh(m2 (z - L)).
    upper, lower = Layer(3.0, 0.01, 10.0, 0.9, 1.0), Layer(None, 0.05, 20.0, 0.9, 1.0)
    d1, d2 = (1 / (3 * (la.mua_per_mm + la.mus_per_mm * (1 - la.g))) for la in (upper, lower))
    m1, m2, zb, depth = math.sqrt(0.01 / d1), math.sqrt(0.05 / d2), 2 * d1, 3.0
    zs, logs = importance_profile(Stack((upper, lower)), 12.0)
    at_l, slope_l = math.sinh(m1 * (depth + zb)), m1 * math.cosh(m1 * (depth + zb))
    below = zs > depth
    exact = np.where(
        below,
        at_l * np.cosh(m2 * (zs - depth)) + d1 * slope_l / (d2 * m2) * np.sinh(m2 * (zs - depth)),
        np.sinh(m1 * (np.minimum(zs, depth) + zb)),
    )  # fmt: skip
    np.testing.assert_allclose(logs, np.log(exact / math.sinh(m1 * zb)), rtol=1e-9, atol=1e-12)


def test_planes_without_diffusion_follow_the_attenuation():
    # Where diffusion does not hold the importance grows at the layer's attenuation: mua without
    # scattering, not sqrt(3) mua; a clear layer adds nothing; a clear stack has no planes.
    assert attenuation_per_mm(0.1, 0.0, 0.0) == pytest.approx(0.1)
    stack = Stack((Layer(1.0, 0.0, 0.0, 0.0, 1.0), Layer(None, 0.5, 0.0, 0.0, 1.0)))
    planes, rates = importance_planes(stack, 10.0)
    step = SPACING * math.log(2) / 0.5
    np.testing.assert_allclose(planes[:2], [1.0 + step, 1.0 + 2 * step])
    # The first region crosses the clear layer: no transform there (mut - p uz must stay > 0).
    assert rates[0] == 0.0
    # Then the importance's growth rate over SPACING, or the cap if lower (no scattering: mua + mus' = mua).
    np.testing.assert_allclose(rates[1:], min(0.5 / SPACING, MAX_RATE_SHARE * 0.5))
    # Backward scattering (g < 0) makes mua + mus' exceed mua + mus: the rate stays below both, so the
    # transformed collision rate mut - p uz is positive (found by the energy-balance property).
    backward = Layer(None, 3.4, 1.0, -0.67, 1.4)
    _, rates = importance_planes(Stack((backward,)), 10.0)
    assert rates.max() < 3.4 + 1.0
    clear = importance_planes(Stack((Layer(None, 0.0, 0.0, 0.0, 1.0),)), 20.0)
    assert np.isinf(clear[0]).all() and not clear[1].any()


def test_no_region_changes_a_weight_by_more_than_its_planes_step():
    # Strongly absorbing tissue runs out of planes (MAX_PLANES) long before 10 mm; the last region, from
    # the 60th plane down to 10 mm, must not stretch weights more than the doubling at its plane either.
    stack = Stack((Layer(None, 4.2, 10.0, 0.0, 1.1),))
    planes, rates = importance_planes(stack, 10.0)
    heights = np.diff(np.concatenate([[0.0], planes]))
    assert heights[-1] > 10 * heights[-2]  # the tall last region this is about
    assert np.all(rates * heights <= math.log(2) * (1 + 1e-12))


def test_variance_reduction_stays_unbiased_where_families_reach_their_bound():
    # With mua = 10, mus' = 38 /mm (g = -0.9) the diffusion adjoint misjudges the light and families
    # grow until kernel_cpu.MAX_FAMILY stops their splitting; the game must stay unbiased. 4 combined SE.
    stack = Stack((Layer(None, 10.0, 20.0, -0.9, 1.4),))
    plain = simulate(stack, PencilBeam(), 100_000, 7, batches=20, threads=1)
    reduced = simulate(stack, PencilBeam(), 3_000, 8, batches=20, threads=1, variance_reduction=True)
    for name in ("absorbed", "diffuse_reflectance"):
        a, b = getattr(plain, name), getattr(reduced, name)
        se = math.hypot(getattr(plain, f"{name}_se"), getattr(reduced, f"{name}_se"))
        assert abs(a - b) < 4 * se, name
    assert abs(reduced.roulette_balance) < 4 * reduced.roulette_balance_se


def test_variance_reduction_is_refused_on_cuda_and_bad_values_are_errors():
    stack = Stack((Layer(None, 0.1, 1.0, 0.0, 1.0),))
    with pytest.raises(InputError, match="cpu backend only"):
        simulate(stack, PencilBeam(), 100, 1, backend="cuda", variance_reduction=True)
    with pytest.raises(InputError, match="variance_reduction must be True or False"):
        simulate(stack, PencilBeam(), 100, 1, variance_reduction="yes")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="split_to_mm must be > 0"):
        simulate(stack, PencilBeam(), 100, 1, variance_reduction=True, split_to_mm=50.0)
    result = simulate(stack, PencilBeam(), 100, 1)
    with pytest.raises(InputError, match="depth must be between"):
        result.broad_beam_fluence([50.0])
