"""The skin of the back model against in vivo skin reflectance at 650-1000 nm; docs/skin_reflectance.py
puts the comparison on the validation page.

Measurements: the NIST reference data set of human skin reflectance [Cooksey2017]: 100 adults, inner
right forearm, directional-hemispherical reflectance factor in an integrating sphere (specular part
included), three repeats per subject, 250-2500 nm every 3 nm. We read the per-subject averages of the
published data file and typed, at five wavelengths of the grid, the smallest, 5th percentile, median, 95th
percentile and largest value over the 100 subjects, and the spectrum of the darkest subject (lowest
reflectance at 550 nm, subject 44). 649 nm, where melanin and blood still dominate, anchors the near
infrared to the red. The data set records no skin type, so it bounds the population's
range; it cannot say which value belongs to which Fitzpatrick type.

Model: total reflectance Rsp + Rd of the back model (BMI 25) under a broad beam with the Fresnel boundary.
The layers are laterally infinite, so a pencil beam's reflectance summed over the whole surface equals a
broad beam's, and a pencil beam is what we trace.

Tolerances: the measured population range itself, widened by 3 standard errors of our run. Three things
separate model and measurement and are not corrected, so a value must sit inside the range rather than
near its median: (1) forearm skin is not lumbar skin (the inner forearm is less pigmented and its dermis
thinner); (2) a sphere collects only what leaves within its port, while the model counts every photon
(for a pencil beam on the back model 6-9 % of Rd leaves more than 5 mm from the axis; how much of it a
port misses depends on the spot and port sizes, which we did not read); (3) the sphere measures at
8 degrees incidence, the model at normal incidence (Fresnel reflectance differs by < 0.1 %).
"""

from __future__ import annotations

import pytest

from laserdose.optics.back import back_model
from laserdose.transport import Grid, PencilBeam, Stack, simulate

# [Cooksey2017] per-subject averages over the 100 subjects [S, read in the data file]:
# wavelength [nm] -> (min, 5th percentile, median, 95th percentile, max) of the reflectance factor [-].
NIST_SKIN = {
    649: (0.2619, 0.3877, 0.5749, 0.6301, 0.6568),
    799: (0.4550, 0.5399, 0.6197, 0.6689, 0.6836),
    850: (0.4895, 0.5448, 0.6079, 0.6515, 0.6645),
    901: (0.4960, 0.5219, 0.5722, 0.6101, 0.6240),
    949: (0.4536, 0.4705, 0.5192, 0.5617, 0.5703),
    1000: (0.4483, 0.4675, 0.5079, 0.5461, 0.5588),
}
# [Cooksey2017] the darkest subject (lowest reflectance at 550 nm, 0.1136; subject 44) [S]:
NIST_DARKEST = {649: 0.2619, 799: 0.4550, 850: 0.4895, 901: 0.4960, 949: 0.4679, 1000: 0.4690}
WAVELENGTHS_NM = tuple(NIST_SKIN)
REFERENCE_BMI = 25.0
SE_ALLOWANCE = 3.0


def total_reflectance(skin_type: int, wavelength_nm: float, photons: int, seed: int) -> tuple[float, float]:
    """Total reflectance Rsp + Rd of the back model under a broad beam, and its standard error [-].

    Args:
        skin_type: Fitzpatrick skin type 1-6.
        wavelength_nm: wavelength [nm].
        photons: packets to trace.
        seed: seed of the run.
    """
    stack = Stack.from_layers(back_model(skin_type, wavelength_nm, bmi=REFERENCE_BMI).layers)
    result = simulate(stack, PencilBeam(), photons, seed=seed, grid=Grid(1.0, 10, 1.0, 10), threads=1)
    return result.specular_reflectance + result.diffuse_reflectance, result.diffuse_reflectance_se


def _inside_population(wavelength_nm: int, reflectance: float, se: float) -> bool:
    low, *_, high = NIST_SKIN[wavelength_nm]
    return low - SE_ALLOWANCE * se <= reflectance <= high + SE_ALLOWANCE * se


def test_typed_population_is_ordered():
    # A typo guard on the typed numbers: min <= p5 <= median <= p95 <= max, darkest subject >= min.
    for wavelength_nm, values in NIST_SKIN.items():
        assert list(values) == sorted(values)
        assert values[0] <= NIST_DARKEST[wavelength_nm] <= values[2]


def test_light_skin_at_850_nm_inside_the_measured_population():
    reflectance, se = total_reflectance(1, 850, 5_000, seed=850)
    assert _inside_population(850, reflectance, se)


@pytest.mark.slow
@pytest.mark.parametrize("skin_type", [1, 2])
@pytest.mark.parametrize("wavelength_nm", WAVELENGTHS_NM)
def test_light_skin_inside_the_measured_population(skin_type, wavelength_nm):
    reflectance, se = total_reflectance(skin_type, wavelength_nm, 10_000, seed=wavelength_nm + skin_type)
    assert _inside_population(wavelength_nm, reflectance, se)


@pytest.mark.slow
@pytest.mark.parametrize("skin_type", [1, 2, 3, 4, 5, 6])
def test_reflectance_falls_with_skin_type_and_stays_physical(skin_type):
    # More epidermal melanin reflects less; every value is a fraction of the incident power.
    lighter, se_lighter = total_reflectance(max(skin_type - 1, 1), 850, 10_000, seed=11)
    darker, se_darker = total_reflectance(skin_type, 850, 10_000, seed=12)
    assert 0.0 < darker < 1.0
    if skin_type > 1:
        assert darker < lighter + SE_ALLOWANCE * (se_lighter + se_darker)


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="known gap, docs/validation.md 'Skin reflectance': types IV-VI reflect less at 800 nm than the "
    "darkest of the 100 measured subjects",
)
@pytest.mark.parametrize("skin_type", [4, 5, 6])
def test_dark_skin_inside_the_measured_population(skin_type):
    reflectance, se = total_reflectance(skin_type, 799, 10_000, seed=799 + skin_type)
    assert _inside_population(799, reflectance, se)
