import math
import os

import numpy as np
import pytest

from laserdose.transport.tables import disk_factors


@pytest.mark.parametrize("radius_mm", [3.0, 8.0, 56.4])
def test_disk_integral_of_gaussian_kernel_matches_closed_form(radius_mm):
    # phi = exp(-r^2/w^2) exp(-mu z) / (pi w^2): 2 pi int_0^R phi r dr = (1 - exp(-R^2/w^2)) exp(-mu z).
    width_mm, mu_per_mm = 5.0, 0.2
    r_edges = np.arange(0, 60.05, 0.05)
    z = np.array([5.0, 20.0, 31.5])
    r = 0.5 * (r_edges[1:] + r_edges[:-1])
    phi = np.exp(-(r[:, None] ** 2) / width_mm**2) * np.exp(-mu_per_mm * z[None, :]) / (math.pi * width_mm**2)
    expected = (1 - math.exp(-(radius_mm**2) / width_mm**2)) * np.exp(-mu_per_mm * z)
    assert disk_factors(r_edges, phi, np.array([radius_mm]))[0] == pytest.approx(expected, rel=2e-3)


@pytest.fixture(scope="module")
def small_table(tmp_path_factory):
    from laserdose.transport.tables import FluenceTable, build_table

    path = tmp_path_factory.mktemp("tables") / "t.npz"
    build_table(20_000, 7, wavelengths_nm=(810.0,), skin_types=(2, 6), fat_mm=(5.0, 20.0)).save(path)
    return FluenceTable.load(path)


def test_table_lookup_at_grid_points_returns_the_entries(small_table):
    t = small_table
    entry = t.factors[0, 1, 1, 3, 30]  # 810 nm, skin 6, fat 20 mm, R = 30 mm, depth bin 30
    depth = float(t.z_centres_mm[30])
    assert t.factor(810.0, 6, 20.0, depth, 30.0) == pytest.approx(entry, rel=1e-9)


def test_table_fluence_falls_with_depth_and_grows_with_area(small_table):
    # Beyond a few transport lengths fluence decays about exponentially (diffusion theory, Farrell 1992),
    # and a larger lit disk only adds light (transport is linear and phi >= 0).
    f = small_table.factors[0, 0, 0]
    assert (f[-1, 10:60:10] > f[-1, 20:70:10]).all()
    assert (f[1:] >= f[:-1]).all()


def test_conforming_depth_keeps_the_skin_the_fraction_of_fat_and_the_distance_below_it():
    from laserdose.transport.tables import SKIN_MM, conforming_depth_mm

    assert conforming_depth_mm(10.0, 1.0, 20.0) == 1.0
    assert conforming_depth_mm(10.0, SKIN_MM + 5.0, 20.0) == pytest.approx(SKIN_MM + 10.0)
    assert conforming_depth_mm(10.0, 40.0, 20.0) == pytest.approx(50.0)
    assert conforming_depth_mm(10.0, 40.0, 10.0) == 40.0


@pytest.mark.parametrize(("fat_mm", "below_fat_mm"), [(3.5, 20.0), (7.25, 31.0), (9.9, 55.5)])
def test_lookup_between_fat_entries_is_exact_when_the_layers_below_shift_with_the_fat(fat_mm, below_fat_mm):
    from laserdose.transport.tables import SKIN_MM, FluenceTable

    # Skin, then fat attenuating at mu_f, then muscle at mu_m: below the fat, log F = -mu_f fat - mu_m d
    # at a distance d below it. The lookup reads each entry d below its own fat, so it is exact between
    # entries; interpolating at a fixed depth instead would be off by (mu_m - mu_f) x the fat gap.
    mu_f, mu_m, fats = 0.12, 0.3, (2.0, 5.0, 10.0)
    z = np.arange(100) + 0.5

    def log_f(fat, depth):
        return -mu_f * np.clip(depth - SKIN_MM, 0, fat) - mu_m * np.maximum(depth - SKIN_MM - fat, 0)

    table = FluenceTable(
        wavelengths_nm=np.array([810.0]),
        skin_types=np.array([3]),
        fat_mm=np.array(fats),
        radii_mm=np.array([10.0, 50.0]),
        z_centres_mm=z,
        factors=np.exp(np.array([[log_f(f, z)] * 2 for f in fats])).reshape(1, 1, 3, 2, 100),
        photons=1,
    )
    depth = SKIN_MM + fat_mm + below_fat_mm
    assert table.factor(810.0, 3, fat_mm, depth, 30.0) == pytest.approx(
        np.exp(log_f(fat_mm, depth)), rel=1e-12
    )


def test_table_refuses_lookups_outside_its_axes(small_table):
    from laserdose.errors import InputError

    with pytest.raises(InputError, match="no wavelength_nm 980"):
        small_table.factor(980.0, 2, 10.0, 30.0, 30.0)
    with pytest.raises(InputError, match="fat_mm 40 is outside"):
        small_table.factor(810.0, 2, 40.0, 30.0, 30.0)


def test_exponential_tail_restores_an_exponential_profile_cut_off_by_empty_bins():
    # F = 0.3 exp(-0.15 z): below F = 1e-5 (z > 68.7 mm) the bins are emptied, as deep Monte Carlo bins are.
    z = np.arange(100) + 0.5
    exact = 0.3 * np.exp(-0.15 * z)
    cut = np.where(exact < 1e-5, 0.0, exact)
    table = _one_profile_table(z, cut)
    assert table.with_exponential_tail().factors.ravel() == pytest.approx(exact, rel=1e-9)


@pytest.mark.parametrize("numba_threads", ["1", "32"])
def test_an_entry_is_the_same_bits_whatever_the_workers_cores(tmp_path, numba_threads):
    # A worker's core count must not change a task's result (transport/cluster.py): the same entry in a
    # process with 1 or 32 Numba threads (32 > the 16 streams of a batch, so more threads than streams)
    # gives the very same array as here.
    import subprocess
    import sys

    from laserdose.transport.tables import TableEntry, entry_factors

    entry = TableEntry(810.0, 3, 10.0, (10.0, 50.0), 1000, 17)
    out = tmp_path / "other.npy"
    script = (
        "import sys, numpy as np\n"
        "from laserdose.transport.tables import TableEntry, entry_factors\n"
        f"np.save(sys.argv[1], entry_factors({entry!r}))\n"
    )
    env = {**os.environ, "NUMBA_NUM_THREADS": numba_threads}
    subprocess.run([sys.executable, "-c", script, str(out)], check=True, env=env, timeout=120)
    assert np.array_equal(np.load(out), entry_factors(entry))


def test_a_table_with_standard_errors_keeps_its_resolved_bins_and_continues_the_rest():
    from laserdose.transport.tables import RESOLVED_RELATIVE_SE

    # F = 0.3 exp(-0.15 z) with a relative SE growing 1 % per 10 mm: bins beyond 10 % SE (z > 95 mm)
    # are replaced by the exponential fitted above them, which here is the same law, and lose their SE.
    z = np.arange(100) + 0.5
    exact = 0.3 * np.exp(-0.15 * z)
    relative = 0.001 * z
    noisy = exact.copy()
    noisy[relative > RESOLVED_RELATIVE_SE] *= 1.5  # Monte Carlo noise where the SE is large
    table = _one_profile_table(z, noisy, se=relative * noisy, entry_photons=np.array([[[1]]]))
    tailed = table.with_exponential_tail()
    assert tailed.factors.ravel() == pytest.approx(exact, rel=1e-9)
    resolved = relative <= RESOLVED_RELATIVE_SE
    assert np.isnan(tailed.se.ravel()[~resolved]).all()
    assert tailed.se.ravel()[resolved] == pytest.approx((relative * exact)[resolved])


def test_provenance_says_how_the_table_was_built(small_table):
    import dataclasses

    assert small_table.provenance() == (
        "Monte Carlo fluence table, 20,000 photons an entry (laserdose tables build)"
    )
    precise = dataclasses.replace(
        small_table,
        se=0.01 * small_table.factors,
        entry_photons=np.array([[[400_000, 2_500_000], [900_000, 8_000_000]]]),
    )
    text = precise.provenance()
    assert "4e+05 to 8e+06 photons an entry" in text and "laserdose tables precise" in text


def _one_profile_table(z_mm, factors, se=None, **extra):
    """A table of one entry and one radius holding the depth profile `factors` (and its SE)."""
    from laserdose.transport.tables import FluenceTable

    as_entry = (1, 1, 1, 1, len(z_mm))
    return FluenceTable(
        wavelengths_nm=np.array([810.0]), skin_types=np.array([3]), fat_mm=np.array([10.0]),
        radii_mm=np.array([50.0]), z_centres_mm=z_mm, factors=factors.reshape(as_entry), photons=1,
        se=None if se is None else se.reshape(as_entry), **extra,
    )  # fmt: skip
