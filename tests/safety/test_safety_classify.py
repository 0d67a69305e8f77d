"""AELs and classification (IEC 60825-1:2014 Tables 3-8, 4.3) against the tables and textbook cases."""

import pytest
from pytest import approx

from laserdose.errors import InputError
from laserdose.safety.classify import BeamGeometry, Emission, ael, aperture_fraction, classify
from laserdose.safety.pulses import PulseTrain

C4_810 = 10**0.22  # Table 9: C4 = 10^(0.002 (810 - 700))


def test_class_1_and_3r_aels_700_1050_nm():
    # [IEC60825-1]: Class 1: 7.7e-8 C4 J (to Ti), 7e-4 C4 t^0.75 J (to 10 s), 3.9e-4 C4 C7 W (>= 10 s);
    # Class 3R: 3.5e-3 C4 t^0.75 J, 2e-3 C4 C7 W.
    assert ael("1", 810, 1e-6).energy_j == approx(7.7e-8 * C4_810)
    assert ael("1", 810, 1.0).energy_j == approx(7e-4 * C4_810)
    assert ael("1", 810, 100.0).power_w == approx(3.9e-4 * C4_810)
    assert ael("3R", 810, 1.0).energy_j == approx(3.5e-3 * C4_810)
    assert ael("3R", 810, 100.0).power_w == approx(2e-3 * C4_810)
    assert ael("1M", 810, 100.0).power_w == ael("1", 810, 100.0).power_w  # 1M shares the Class 1 AEL


def test_class_3b_aels():
    # [IEC60825-1]: Class 3B: 0.03 C4 J for short emissions, 0.5 W for long ones.
    assert ael("3B", 810, 0.01).energy_j == approx(0.03 * C4_810)
    assert ael("3B", 810, 100.0).power_w == approx(0.5)
    assert ael("3B", 1064, 0.2).energy_j == approx(0.15)  # C4 = 5


def test_visible_class_2_and_3r_are_1_and_5_mw():
    # IEC 60825-1:2014 Tables 5 and 6 (and every laser safety textbook): Class 2 = 1 mW, Class 3R = 5 mW
    # for visible CW emission, time base 0.25 s.
    assert ael("2", 635, 0.25).power_w == approx(1e-3)
    assert ael("3R", 532, 0.25).power_w == approx(5e-3)


@pytest.mark.parametrize("duration_s", [1e-12, 1e-9, 1e-6, 1e-3, 1.0, 10.0, 100.0, 3e4])
@pytest.mark.parametrize("wavelength_nm", [650, 810, 980, 1064, 1300])
def test_class_1_ael_is_mpe_times_pupil_area(wavelength_nm, duration_s):
    # [IEC60825-1]: AEL = MPE x 3.85e-5 m2 (7 mm pupil); the standard rounds the products (e.g.
    # 18 x 3.85e-5 = 6.93e-4 printed as 7e-4), so agreement within 2 % is expected.
    from laserdose.safety.iec60825 import eye_mpe

    expected = eye_mpe(wavelength_nm, duration_s).h_j_per_m2 * 3.85e-5
    assert ael("1", wavelength_nm, duration_s).energy_j == approx(expected, rel=0.02)


@pytest.mark.parametrize(
    ("wavelength_nm", "power_w", "expected"),
    [
        (635, 0.9e-3, "2"),  # < 1 mW red pointer: Class 2
        (532, 4e-3, "3R"),  # 1-5 mW visible: Class 3R
        (810, 0.5e-3, "1"),  # below 3.9e-4 C4 = 0.647 mW: Class 1
        (810, 3e-3, "3R"),  # below 2e-3 C4 = 3.3 mW
        (810, 0.5, "3B"),  # at 0.5 W: Class 3B
        (980, 15.0, "4"),  # therapy laser: Class 4
    ],
)
def test_cw_classification(wavelength_nm, power_w, expected):
    # AEL values of [IEC60825-1] and IEC 60825-1:2014 Tables 3-8.
    assert classify([Emission(wavelength_nm, power_w)]).laser_class == expected


def test_several_wavelengths_add():
    # 4.3 / additivity [IEC60825-1]: 0.3 W at 810 nm and 0.3 W at 980 nm are each Class 3B, but
    # sum(P / AEL) = 0.6 + 0.6 > 1: Class 4.
    assert classify([Emission(810, 0.3)]).laser_class == "3B"
    both = classify([Emission(810, 0.3), Emission(980, 0.3)])
    assert both.laser_class == "4"
    assert both.ratios["3B"] == approx(1.2)


def test_wide_collimated_beam_is_class_1m():
    # Conditions 1 (50 mm at 2 m) and 3 (7 mm at 100 mm): a 20 mm collimated 810 nm beam of 5 mW passes
    # (7/20)^2 = 12.25 % through condition 3 = 0.61 mW < 0.647 mW, but all of it through condition 1.
    beam = BeamGeometry(20.0, 0.0)
    assert aperture_fraction(beam, (7.0, 100.0)) == approx(0.1225)
    assert classify([Emission(810, 5e-3)], beam=beam).laser_class == "1M"
    assert classify([Emission(810, 5e-3)]).laser_class == "3B"
    # 1 W in a 200 mm collimated beam: (7/200)^2 = 0.12 % (1.2 mW) through condition 3, more than the
    # Class 1 AEL; (50/200)^2 = 6.25 % (62.5 mW) through condition 1, more than 3R (3.3 mW) and less than
    # 3B (0.5 W): Class 3B, not 4 - the wide beam cannot put 1 W into an eye.
    assert (
        classify([Emission(810, 1.0)], beam=BeamGeometry(200.0, 0.0)).laser_class == "3B"
    )  # whole beam: 5 mW > 2e-3 C4 = 3.3 mW


def test_pulsed_classification_uses_the_pulse_rules():
    # 810 nm, 10 ns pulses at 10 Hz, 0.1 mW average: the average power alone is Class 1 (0.647 mW), but
    # each 10 uJ pulse exceeds 7.7e-8 C4 J = 0.13 uJ (rule 1) and the 3R 3.8e-7 C4 J: Class 3B.
    pulsed = classify([Emission(810, 1e-4, PulseTrain(10e-9, 10.0, 100.0))])
    assert pulsed.laser_class == "3B"
    assert classify([Emission(810, 1e-4)]).laser_class == "1"


def test_class_3b_has_no_rule_3():
    # 810 nm, 10 ns pulses at 5 kHz, 0.4 W average for the 100 s time base: rule 2 gives 0.4 / 0.5 = 0.8;
    # the 80 uJ pulses are far below 0.03 C4 J, and rule 3 (C5) is not applied to Class 3B (BS EN
    # 60825-1:2014 as read by the MATLAB implementation, docs/safety.md): Class 3B.
    result = classify([Emission(810, 0.4, PulseTrain(10e-9, 5e3, 100.0))])
    assert result.laser_class == "3B"
    assert result.ratios["3B"] == approx(0.8)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: ael("5", 810, 1.0), "unknown laser class"),
        (lambda: ael("1", 1550, 1.0), "only 400-1400 nm"),
        (lambda: ael("1", 810, 0.0), "duration must be between"),
        (lambda: classify([]), "at least one emission"),
        (lambda: classify([Emission(810, -1.0)]), "power must be between"),
        (lambda: BeamGeometry(0.0, 0.0), "beam diameter must be > 0"),
        (lambda: BeamGeometry(5.0, -1.0), "divergence must be between"),
        (lambda: BeamGeometry(5.0, 1.0, "donut"), "flat or gaussian"),
    ],
)
def test_bad_input_is_rejected(call, message):
    with pytest.raises(InputError, match=message):
        call()
