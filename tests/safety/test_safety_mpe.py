"""Eye and skin MPE (IEC 60825-1:2014 Annex A) against worked examples and the tables' own formulas."""

import math

import pytest
from pytest import approx

from laserdose.errors import InputError
from laserdose.safety.iec60825 import alpha_max, c4, c5, c6, c7, correction_factors, eye_mpe, skin_mpe, t2, ti
from laserdose.safety.pulses import PulseTrain, pulsed_mpe


@pytest.mark.parametrize(("wavelength_nm", "expected"), [(810, 16.60), (980, 36.31), (1064, 50.0)])
@pytest.mark.parametrize("duration_s", [10.0, 100.0, 3e4])
def test_eye_mpe_long_exposure_matches_worked_examples(wavelength_nm, expected, duration_s):
    # [IEC60825-1] worked example [D, both codes agree]: 16.60 / 36.31 / 50 W/m2 for t >= 10 s.
    assert eye_mpe(wavelength_nm, duration_s).e_w_per_m2 == approx(expected, rel=5e-4)


@pytest.mark.parametrize(("wavelength_nm", "expected"), [(810, 3319), (980, 7262), (1064, 10000)])
def test_skin_mpe_long_exposure_matches_worked_examples(wavelength_nm, expected):
    # [IEC60825-1] worked example [D]: skin MPE > 10 s = 3319 / 7262 / 10000 W/m2.
    assert skin_mpe(wavelength_nm, 600.0).e_w_per_m2 == approx(expected, rel=5e-4)


def test_correction_factors_match_table_9_formulas():
    # IEC 60825-1:2014 Table 9 [IEC60825-1].
    assert c4(810) == approx(10**0.22)
    assert c4(1200) == 5.0
    assert c4(650) == 1.0
    assert c7(1064) == 1.0
    assert c7(1175) == approx(10 ** (0.018 * 25))
    assert c7(1300) == approx(8 + 10**2)
    assert ti(980) == 5e-6 and ti(1064) == 13e-6
    assert alpha_max(1e-4) == 5.0 and alpha_max(0.01) == approx(20.0) and alpha_max(1.0) == 100.0
    assert c6(1.0, 1.0) == 1.0 and c6(30.0, 1.0) == approx(20.0) and c6(300.0, 1.0) == approx(100 / 1.5)
    assert t2(1.5) == approx(10.0) and t2(100.0) == approx(100.0) and t2(500.0) == approx(100.0)


def test_correction_factors_report_value_and_rule():
    # Same Table 9 values as above, gathered with their formulas [IEC60825-1].
    factors = correction_factors(980, 1.0, 30.0)
    assert factors["C4"]["value"] == approx(10**0.56)
    assert factors["C6"]["value"] == approx(20.0)
    assert factors["T2_s"]["value"] == approx(10 * 10 ** (28.5 / 98.5))
    assert all(isinstance(item["rule"], str) and item["rule"] for item in factors.values())
    assert factors["C3"]["value"] is None  # photochemical factor only used at 400-600 nm
    assert correction_factors(500, 100.0)["C3"]["value"] == approx(10.0)  # 10^(0.02 x 50)


def test_visible_quarter_second_mpe_is_18_t_075():
    # Table A.1, 400-700 nm, Ti-10 s: H = 18 t^0.75 J/m2; at 0.25 s that is 25.46 W/m2 (2.5 mW/cm2, the
    # value behind the ~224 m NOHD example of [ANSIZ136.1]).
    limit = eye_mpe(550, 0.25)
    assert limit.h_j_per_m2 == approx(18 * 0.25**0.75)
    assert limit.e_w_per_m2 == approx(25.46, rel=1e-3)
    assert "18 C4 C6 C7 t^0.75" in limit.rule


def test_short_pulse_rows():
    # Table A.1 [IEC60825-1]: 10 ps-Ti: 2e-3 C4 J/m2 (700-1050 nm), 2e-2 C7 J/m2 (1050-1400 nm).
    assert eye_mpe(980, 10e-9).h_j_per_m2 == approx(2e-3 * 10 ** (0.002 * 280))
    assert eye_mpe(1064, 10e-9).h_j_per_m2 == approx(2e-2)
    assert eye_mpe(1064, 1e-3).h_j_per_m2 == approx(90 * 1e-3**0.75)  # 90 C7 t^0.75 = 18 C4 C7 t^0.75


def test_extended_source_uses_c6_and_t2():
    # Table A.2: t <= T2: H = 18 C4 C6 t^0.75; t > T2: E = 18 C4 C6 T2^-0.25 [IEC60825-1].
    # alpha = 100 mrad: C6 = 100/1.5, T2 = 100 s.
    k = 18 * 10**0.22 * (100 / 1.5)
    assert eye_mpe(810, 50.0, 100.0).h_j_per_m2 == approx(k * 50**0.75)
    assert eye_mpe(810, 1000.0, 100.0).e_w_per_m2 == approx(k * 100**-0.25)
    assert "T2" in eye_mpe(810, 1000.0, 100.0).rule


def test_blue_light_photochemical_limit_binds_at_long_exposure():
    # Table A.1, 400-600 nm, 100 s-3e4 s: E = 1 C3 W/m2 with C3 = 1 at 400-450 nm (ANSI Z136.1 Table 5:
    # C_B x 1e-4 W/cm2, the same value) - far below the thermal 10 W/m2.
    limit = eye_mpe(440, 1000.0)
    assert limit.e_w_per_m2 == approx(1.0)
    assert "photochemical" in limit.rule
    assert eye_mpe(650, 1000.0).e_w_per_m2 == approx(10.0)  # thermal only above 600 nm


@pytest.mark.parametrize(
    ("wavelength_nm", "duration_s", "h_j_per_m2"),
    [
        (1550, 1e-6, 1e4),  # 1500-1800 nm, 1 ns-10 s: 1e4 J/m2
        (1450, 1e-6, 1e3),  # 1400-1500 nm, 1 ns-1 ms: 1e3 J/m2
        (1450, 1.0, 5600.0),  # 1 ms-10 s: 5600 t^0.25
        (10600, 100.0, 1e5),  # CO2 laser, t >= 10 s: 1000 W/m2 (ANSI Z136.1: 0.1 W/cm2)
    ],
)
def test_cornea_limits_beyond_1400_nm(wavelength_nm, duration_s, h_j_per_m2):
    # IEC 60825-1:2014 Table A.1 beyond 1400 nm [C: independent implementation, see docs/safety.md]; the
    # same rows are in Directive 2006/25/EC Annex II Table 2.2 (French Labour Code, Annexe II).
    assert eye_mpe(wavelength_nm, duration_s).h_j_per_m2 == approx(h_j_per_m2)


@pytest.mark.parametrize(
    ("wavelength_nm", "duration_s", "h_j_per_m2"),
    [
        (1450, 1e-10, 100.0),
        (1600, 1e-10, 1000.0),
        (2000, 1e-4, 1e3),
        (3000, 1e-8, 100.0),
        (3000, 1.0, 5600.0),
    ],
)
def test_skin_beyond_1400_nm_equals_the_eye_rows(wavelength_nm, duration_s, h_j_per_m2):
    # Directive 2006/25/EC Annex II Table 2.4 (skin): below 1 ns E = 1e12 / 1e13 / 1e12 / 1e11 W/m2 for
    # 1400-1500 / 1500-1800 / 1800-2600 / 2600 nm-1 mm, and "see the eye limits" (Table 2.2) beyond.
    assert skin_mpe(wavelength_nm, duration_s).h_j_per_m2 == approx(h_j_per_m2)
    assert skin_mpe(wavelength_nm, duration_s).h_j_per_m2 == eye_mpe(wavelength_nm, duration_s).h_j_per_m2


def test_skin_rows_400_1400_nm():
    # Table A.5 [IEC60825-1]: <1 ns 2e11 C4 W/m2; 1-100 ns 200 C4; 100 ns-10 s 1.1e4 C4 t^0.25.
    assert skin_mpe(1064, 1e-10).e_w_per_m2 == approx(1e12)
    assert skin_mpe(1064, 1e-8).h_j_per_m2 == approx(1000.0)
    assert skin_mpe(980, 1.0).h_j_per_m2 == approx(1.1e4 * 10**0.56)


def test_c5_branches():
    # C5 rules of [LundSchulmeister2013].
    assert c5(980, 1e-8, 600, 1.5)[0] == 1.0
    assert c5(980, 1e-8, 1e4, 1.5)[0] == approx(0.5)  # 5 N^-0.25
    assert c5(980, 1e-8, 1e8, 1.5)[0] == 0.4
    assert c5(980, 1e-3, 1e4, 4.0)[0] == 1.0  # pulses > Ti, alpha <= 5 mrad
    assert c5(980, 1e-3, 16, 8.0)[0] == approx(0.5)  # 5 mrad < alpha <= alpha_max(1 ms)=6.3: N^-0.25
    assert c5(980, 1e-3, 1e3, 8.0)[0] == 0.2  # alpha > alpha_max, N > 625
    # Extra branches found in two independent implementations of the 2014 edition (docs/safety.md):
    # alpha > 100 mrad with pulses > Ti, and pulses <= Ti counted over <= 0.25 s, both give C5 = 1.
    assert c5(980, 1e-3, 1e3, 150.0)[0] == 1.0
    assert c5(980, 1e-8, 1e4, 1.5, window_s=0.25)[0] == 1.0


def test_repetitive_pulses_rule_3_binds_for_short_pulses():
    # Three rules [LundSchulmeister2013] by hand at 980 nm, 10 ns pulses, 1 kHz, 10 s (N = 1e4):
    # rule 1: 2e-3 C4; rule 2: 10 C4 x 10 s / 1e4; rule 3: rule 1 x 5 x 1e4^-0.25 = rule 1 x 0.5.
    k4 = 10**0.56
    limit = pulsed_mpe(980, PulseTrain(10e-9, 1e3, 10.0))
    assert limit.rule_values_j_per_m2 == approx((2e-3 * k4, 100 * k4 / 1e4, 1e-3 * k4))
    assert limit.h_per_pulse_j_per_m2 == approx(1e-3 * k4)
    assert limit.rule.startswith("rule 3")
    assert limit.e_average_w_per_m2 == approx(1e-3 * k4 * 1e3)


def test_repetitive_pulses_rule_2_binds_for_therapy_pulsing():
    # 25 us pulses at 20 kHz for 10 s: pulses > Ti and alpha <= 5 mrad so C5 = 1; the average-power rule
    # gives 10 C4 x 10 s / 2e5 pulses [IEC60825-1].
    limit = pulsed_mpe(980, PulseTrain(25e-6, 2e4, 10.0))
    assert limit.h_per_pulse_j_per_m2 == approx(10 * 10**0.56 * 10 / 2e5)
    assert limit.rule.startswith("rule 2")


def test_skin_pulses_use_rules_1_and_2_only():
    # Table A.5: 1-100 ns: H = 200 C4; 100 ns-10 s: 1.1e4 C4 t^0.25; >= 10 s: E = 2000 C4.
    k4 = 10**0.56
    few = pulsed_mpe(980, PulseTrain(10e-9, 10.0, 1.0), target="skin")  # rule 2: 1.1e4 C4 / 10 per pulse
    assert math.isinf(few.rule_values_j_per_m2[2])
    assert few.h_per_pulse_j_per_m2 == approx(200 * k4) and few.rule.startswith("rule 1")
    many = pulsed_mpe(980, PulseTrain(10e-9, 1e3, 10.0), target="skin")  # rule 2: 2000 C4 x 10 s / 1e4
    assert many.h_per_pulse_j_per_m2 == approx(2 * k4) and many.rule.startswith("rule 2")


def test_pulses_closer_than_ti_are_grouped():
    # 4.3 f): pulses within Ti count as one pulse of duration Ti. 10 ns at 1 MHz, 980 nm: 5 pulses per
    # 5 us group; rule 1 per real pulse = H(Ti) / 5 with H(Ti) = 18 C4 Ti^0.75 (Ti row boundary).
    limit = pulsed_mpe(980, PulseTrain(10e-9, 1e6, 1.0))
    assert limit.rule_values_j_per_m2[0] == approx(18 * 10**0.56 * 5e-6**0.75 / 5)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: eye_mpe(100, 1.0), "wavelength must be between 180"),
        (lambda: eye_mpe(2e6, 1.0), "wavelength must be between 180"),
        (lambda: eye_mpe(300, 1.0), "ultraviolet limits are not"),
        (lambda: eye_mpe(980, -1.0), "duration must be between"),
        (lambda: eye_mpe(980, 1e5), "duration must be between"),
        (lambda: eye_mpe(980, 1.0, -2.0), "alpha must be between"),
        (lambda: skin_mpe(float("nan"), 1.0), "wavelength"),
        (lambda: PulseTrain(1e-3, 2e3, 1.0), "pulses overlap"),
        (lambda: PulseTrain(1e-6, 1.0, 0.5), "shorter than one pulse period"),
        (lambda: pulsed_mpe(980, PulseTrain(1e-6, 10.0, 1.0), target="lung"), "unknown target"),
    ],
)
def test_bad_input_is_rejected(call, message):
    with pytest.raises(InputError, match=message):
        call()
