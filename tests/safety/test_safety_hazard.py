"""NOHD, eyewear (OD, EN 207) and skin exposure time against worked examples and closed forms."""

import math

import pytest
from pytest import approx

from laserdose.errors import InputError
from laserdose.safety.hazard import (
    beam_irradiance,
    combined_nohd,
    en207_scale,
    eye_nohd,
    eyewear,
    fibre_divergence_mrad,
    max_skin_exposure,
    nohd_m,
)
from laserdose.safety.iec60825 import eye_mpe
from laserdose.safety.pulses import PulseTrain

MPE_980_W_PER_M2 = 10 * 10**0.56  # [IEC60825-1] worked example [D]: 36.31 W/m2


def test_nohd_worked_example_1_w_visible():
    # [ANSIZ136.1] worked example [S]: 1 W visible, 1 mrad, a = 0, t = 0.25 s: NOHD ~224 m
    # (also "225 m" in the Lasers in medicine textbook page on NOHD, online.flipbuilder.com/rbhw/egvu p.110).
    assert eye_nohd(532, 1.0, 0.0, 1.0, exposure_s=0.25).nohd_m == approx(224, abs=1.0)


def test_nohd_of_a_divergent_handpiece_matches_the_formula():
    # NOHD = (sqrt(4 P / (pi E)) - a) / phi [ANSIZ136.1] with E = 36.31 W/m2 at 980 nm, 15 W,
    # a = 5 mm, phi = 100 mrad.
    expected = (math.sqrt(4 * 15 / (math.pi * MPE_980_W_PER_M2)) - 0.005) / 0.1
    result = eye_nohd(980, 15.0, 5.0, 100.0)
    assert result.nohd_m == approx(expected)
    assert result.mpe_w_per_m2 == approx(36.31, rel=5e-4)


def test_bare_fibre_nohd():
    # A 0.22 NA fibre spreads over 2 asin(0.22) = 443.8 mrad; a 400 um core, 15 W at 980 nm: the NOHD
    # formula of [ANSIZ136.1] with E = 36.31 W/m2.
    divergence = fibre_divergence_mrad(0.22)
    assert divergence == approx(2000 * math.asin(0.22))
    expected = (math.sqrt(4 * 15 / (math.pi * MPE_980_W_PER_M2)) - 0.0004) / (divergence * 1e-3)
    assert eye_nohd(980, 15.0, 0.4, divergence).nohd_m == approx(expected)
    with pytest.raises(InputError, match="numerical aperture"):
        fibre_divergence_mrad(1.5)


def test_nohd_zero_when_safe_and_infinite_when_collimated():
    assert nohd_m(0.5e-3, MPE_980_W_PER_M2, 5.0, 100.0) == 0.0  # 25 W/m2 < 36 W/m2 at the aperture
    assert math.isinf(nohd_m(1.0, MPE_980_W_PER_M2, 5.0, 0.0))


def test_combined_nohd_adds_ratios():
    # Additivity [IEC60825-1]: sum E_i / MPE_i = 1 with E_i = 4 P_i / (pi d^2) gives
    # d = sqrt(4/pi sum P_i / MPE_i).
    mpe_810 = 10 * 10**0.22
    reach = math.sqrt(4 / math.pi * (10 / mpe_810 + 5 / MPE_980_W_PER_M2))
    result = combined_nohd([(810, 10.0), (980, 5.0)], 30.0, 100.0)
    assert result.nohd_m == approx((reach - 0.03) / 0.1)


def test_eyewear_od_and_en207_for_a_cw_beam():
    # OD = log10(E_a / MPE) with E_a averaged over the 7 mm limiting aperture [IEC60825-1] [ANSIZ136.1]
    # (the exposure compared with the MPE is the aperture average [Marshall2019]):
    # a 5 mm beam passes whole, so E_a = 15 W / (pi 3.5 mm^2) = 3.90e5 W/m2, not the beam's 7.64e5.
    # EN 207 uses the beam's own power density: 7.64e5 W/m2 <= 1e6 W/m2: LB5 (1e(n+1) W/m2, 315-1400 nm).
    need = eyewear(980, 15.0, 5.0)
    assert need.aperture_mm == 7.0
    assert need.irradiance_w_per_m2 == approx(15 / (math.pi * 0.0035**2))
    assert need.od == approx(math.log10(15 / (math.pi * 0.0035**2) / MPE_980_W_PER_M2))
    assert need.lb_irradiance_w_per_m2 == approx(4 * 15 / (math.pi * 0.005**2))
    assert need.lb == "D LB5"
    assert "7 mm limiting aperture" in need.od_basis and "own power density" in need.lb_basis


def test_od_for_the_ucc_10_w_nd_yag_is_averaged_over_the_pupil():
    # The UCC Laser Safety Guidelines beam (10 W CW, 1064 nm, 4 mm) with the 10 s eye MPE at 1064 nm,
    # 50 W/m2 (E = 10 C4 C7, C4 = 5). Averaged over 7 mm: 10 / (pi 0.0035^2) = 2.598e5 W/m2, OD 3.716;
    # over the beam's own 4 mm it would be log10(7.958e5 / 50) = 4.20, too high by half a decade.
    need = eyewear(1064, 10.0, 4.0)
    assert need.od == approx(math.log10(10 / (math.pi * 0.0035**2) / 50.0), abs=1e-9)
    assert need.od == approx(3.716, abs=5e-4)
    assert need.lb == "D LB5"  # the same source's EN 207 answer


def test_gaussian_beam_passes_one_minus_exp_of_the_aperture_ratio():
    # Gaussian of 1/e diameter d63: fraction through a centred aperture D is 1 - exp(-(D/d63)^2).
    fraction = 1 - math.exp(-((7.0 / 4.0) ** 2))
    need = eyewear(1064, 10.0, 4.0, beam_profile="gaussian")
    assert need.irradiance_w_per_m2 == approx(10 * fraction / (math.pi * 0.0035**2))
    wide = eyewear(1064, 10.0, 40.0, beam_profile="gaussian")  # much wider than the pupil: the peak
    assert wide.irradiance_w_per_m2 == approx(4 * 10 / (math.pi * 0.04**2), rel=0.02)


def test_a_beam_wider_than_the_aperture_keeps_its_own_irradiance():
    need = eyewear(980, 10.0, 20.0)
    assert need.irradiance_w_per_m2 == approx(4 * 10 / (math.pi * 0.02**2))
    assert need.irradiance_w_per_m2 == approx(need.lb_irradiance_w_per_m2)


def test_en207_takes_a_small_beam_over_1_mm():
    # EN 207 sets its scale for a 1 mm beam: 0.2 W in 0.5 mm is 1.02e6 W/m2 over its own area (LB6) but
    # 2.55e5 W/m2 over 1 mm (LB5).
    need = eyewear(980, 0.2, 0.5)
    assert need.lb_diameter_mm == 1.0
    assert need.lb_irradiance_w_per_m2 == approx(4 * 0.2 / (math.pi * 0.001**2))
    assert need.lb == "D LB5"


@pytest.mark.parametrize(
    ("wavelength_nm", "exposure_s", "aperture_mm"), [(980, 10, 7.0), (1550, 0.1, 1.0), (1550, 10, 3.5)]
)
def test_limiting_aperture(wavelength_nm, exposure_s, aperture_mm):
    # 7 mm at 400-1400 nm [S]; beyond 1400 nm 1 mm below 0.35 s, 1.5 t^(3/8) to 10 s (3.53 mm) [U].
    assert eyewear(wavelength_nm, 1.0, 2.0, exposure_s).aperture_mm == approx(aperture_mm, abs=0.05)


def test_en207_textbook_example_50_w_nd_yag_is_lb6():
    # "Lasers in medicine" textbook (online.flipbuilder.com/rbhw/egvu p.114): 50 W Nd:YAG at 1064 nm in a
    # 5 mm spot falls between L5 and L6 on EN 207:2017: choose D 1064 L6.
    assert eyewear(1064, 50.0, 5.0).lb == "D LB6"


def test_en207_scale_boundaries():
    # EN 207:2017 table (D: 1e(n+1) W/m2 at 315-1400 nm, 1e(n+3) beyond; I/R: 5e(n-3) J/m2; M: 1.5e(n-4)).
    assert en207_scale(980, 1e6, "D") == 5
    assert en207_scale(980, 1.01e6, "D") == 6
    assert en207_scale(10600, 1e6, "D") == 3
    assert en207_scale(1064, 5.0, "I") == 3
    assert en207_scale(1064, 1.5, "M") == 4
    assert en207_scale(980, 1.0, "D") == 1  # at least LB1


@pytest.mark.parametrize(
    ("wavelength_nm", "power_w", "diameter_mm", "pulse_s", "prf_hz", "expected"),
    [
        # UCC Laser Safety Guidelines examples as worked in the lasersafety package documentation
        # (its pages on choosing eyewear and its CLI examples; [EN207]):
        (1064, 10.0, 4.0, None, None, "D LB5"),  # 10 W CW, 4 mm
        (800, 0.9, 3.0, 200e-15, 200e3, "D LB5 + M LB6"),  # 4.5 uJ at 200 kHz, N^(1/4) correction
        (1500, 20e-3, 3.0, 200e-15, 200e3, "D LB1 + M LB1"),  # n <= 0 for M: smallest marking LB1
        (775, 3.0, 2.0, 50e-12, 80e6, "D LB5 + M LB5"),  # SHG of the 1550 nm example
        (1550, 3.0, 2.0, 50e-12, 80e6, "D LB3 + M LB1"),  # M scale -2 there: no protection needed
    ],
)
def test_en207_worked_examples(wavelength_nm, power_w, diameter_mm, pulse_s, prf_hz, expected):
    train = None if pulse_s is None else PulseTrain(pulse_s, prf_hz, 10.0)
    assert eyewear(wavelength_nm, power_w, diameter_mm, 10.0, train).lb == expected


def test_longest_skin_exposure_matches_closed_form():
    # Table A.5: E t = 1.1e4 C4 t^0.25 gives t = (1.1e4 C4 / E)^(4/3) for 100 ns < t < 10 s.
    k4 = 10**0.56
    assert max_skin_exposure(980, 3e4).max_exposure_s == approx((1.1e4 * k4 / 3e4) ** (4 / 3), rel=1e-6)
    below = max_skin_exposure(980, 1900 * k4)  # under 1.1e4 C4 10^-0.75 = 1956 C4: safe to the table's end
    assert below.max_exposure_s == 3e4 and "30000" in below.rule
    # Between 1956 C4 and 2000 C4 the table's step at 10 s makes the crossing happen before 10 s; the
    # first crossing is reported (conservative): t = (1.1e4 / 1980)^(4/3).
    step = max_skin_exposure(980, 1980 * k4)
    assert step.max_exposure_s == approx((1.1e4 / 1980) ** (4 / 3), rel=1e-6)


def test_beam_irradiance_and_bad_input():
    assert beam_irradiance(1.0, 1.0) == approx(4 / (math.pi * 1e-6))
    with pytest.raises(InputError, match="beam diameter must be > 0"):
        beam_irradiance(1.0, 0.0)
    with pytest.raises(InputError, match="power must be between"):
        eye_nohd(980, -1.0, 5.0, 100.0)
    with pytest.raises(InputError, match="divergence must be between"):
        nohd_m(1.0, 10.0, 5.0, -1.0)
    with pytest.raises(InputError, match="irradiance must be between"):
        max_skin_exposure(980, -5.0)
    with pytest.raises(InputError, match="at least one wavelength"):
        combined_nohd([], 5.0, 100.0)
    assert eye_mpe(980, 10.0).e_w_per_m2 == approx(MPE_980_W_PER_M2)
