"""The whole model (tissue optics + transport) against measured penetration; docs/penetration.py plots it.

Hudson 2013 sent 1 W/cm2 at 808 and 980 nm through bovine tissue samples 18-95 mm thick and found 1 mW/cm2
behind 34 mm (808 nm) and 22 mm (980 nm) [Hudson2013]: the thickness at which a slab transmits 1e-3 of a
broad beam. Piao 2024 found, in cadaver dogs, that 1064 nm reached the thoracolumbar canal best of 808,
915, 975 and 1064 nm [Piao2024]: the broad-beam fluence at the nerve root of the back model.
"""

from __future__ import annotations

import math

import pytest

from laserdose.optics.back import back_model
from laserdose.optics.tissues import optical_properties
from laserdose.transport import Grid, Layer, PencilBeam, Stack, simulate
from laserdose.transport.result import DepthFluence

HUDSON_DEPTH_MM = {808: 34.0, 980: 22.0}  # 1 mW/cm2 from 1 W/cm2 in bovine tissue [Hudson2013] [S]
HUDSON_LEVEL = 1e-3
PIAO_WAVELENGTHS_NM = (808, 915, 975, 1064)  # 1064 reached the canal best [Piao2024] [S]
# Muscle [mua, mus'] in 1/mm at 810 and 980 nm compiled by Cassano 2019, Table 1 [Cassano2019] [S].
CASSANO_MUSCLE = {808: (0.028, 0.704), 980: (0.049, 0.58)}
SLAB_THICKNESSES_MM = (10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 40.0, 45.0)


def slab_transmittance(
    mua_per_mm: float, musp_per_mm: float, g: float, n: float, photons: int
) -> list[float]:
    """Total transmittance of a slab in air for each of SLAB_THICKNESSES_MM (pencil beam = broad beam)."""
    values = []
    for thickness_mm in SLAB_THICKNESSES_MM:
        stack = Stack((Layer(thickness_mm, mua_per_mm, musp_per_mm / (1 - g), g, n),))
        values.append(
            simulate(stack, PencilBeam(), photons, seed=2, grid=Grid(1.0, 10, 1.0, 10)).transmittance
        )
    return values


def depth_at(level: float, transmittance: list[float]) -> float:
    """The thickness at which the transmittance falls to `level`, interpolated in log(transmittance)."""
    pairs = list(zip(SLAB_THICKNESSES_MM, transmittance, strict=True))
    for (d1, t1), (d2, t2) in zip(pairs, pairs[1:], strict=False):
        if t1 >= level > t2 > 0:
            return d1 + (d2 - d1) * math.log(t1 / level) / math.log(t1 / t2)
    raise AssertionError(f"transmittance never crosses {level}: {transmittance}")


def hudson_depths(optics: str, photons: int) -> dict[int, float]:
    """Depth reaching 1e-3 at 808 and 980 nm with our muscle recipe ("ours") or Cassano's muscle."""
    depths = {}
    for wavelength_nm in HUDSON_DEPTH_MM:
        props = optical_properties("muscle", wavelength_nm)
        mua, musp = (
            CASSANO_MUSCLE[wavelength_nm] if optics == "cassano" else (props.mua_per_mm, props.musp_per_mm)
        )
        depths[wavelength_nm] = depth_at(
            HUDSON_LEVEL, slab_transmittance(mua, musp, props.g, props.n, photons)
        )
    return depths


def nerve_root_fluence(wavelength_nm: int, photons: int) -> DepthFluence:
    """Broad-beam fluence per incident irradiance at the nerve root of the back (skin type III, BMI 27)."""
    back = back_model(3, wavelength_nm, bmi=27.0)
    depth_mm = back.targets["nerve_root"].depth_mm
    result = simulate(
        Stack.from_layers(back.layers), PencilBeam(), photons, seed=3, grid=Grid(1.0, 100, 1.0, 70),
        variance_reduction=True, split_to_mm=depth_mm + 2,
    )  # fmt: skip
    return result.broad_beam_fluence([depth_mm])[0]


@pytest.mark.slow
def test_808_nm_reaches_deeper_than_980_nm_in_muscle_as_in_bovine_tissue():
    depths = hudson_depths("ours", photons=20_000)
    # Bovine samples are not human lumbar muscle: we ask for Hudson's ordering, the ratio of the two depths
    # within 1.2-1.9 (Hudson: 34 / 22 = 1.55) and each depth within 40 % of Hudson's [U: our tolerance].
    assert depths[808] > depths[980]
    assert 1.2 <= depths[808] / depths[980] <= 1.9
    for wavelength_nm, measured_mm in HUDSON_DEPTH_MM.items():
        assert abs(depths[wavelength_nm] - measured_mm) <= 0.4 * measured_mm, (wavelength_nm, depths)


@pytest.mark.slow
def test_1064_nm_reaches_the_nerve_root_best_as_in_cadaver_dogs():
    # 1064 nm leads 808 nm by only ~15 % at the nerve root (muscle mus' falls as wavelength^-1.02,
    # [Cassano2019]), so those two get the photons that resolve that gap at 4 SE; 915 and 975 nm trail
    # by 4x and 30x.
    photons = {808: 60_000, 915: 20_000, 975: 20_000, 1064: 60_000}
    fluence = {nm: nerve_root_fluence(nm, photons=photons[nm]) for nm in PIAO_WAVELENGTHS_NM}
    best = fluence[1064]
    for nm in PIAO_WAVELENGTHS_NM[:-1]:
        other = fluence[nm]
        assert best.ratio - other.ratio > 4 * math.hypot(best.ratio_se, other.ratio_se), (nm, fluence)
