"""`laserdose safety ...`: each command, JSON output and one-line errors with exit code 2."""

import json
import math

import pytest
from pytest import approx


def test_mpe_json(cli):
    result = cli("safety", "mpe", "--wavelength-nm", "980", "--duration-s", "10", "--target", "eye", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["mpe_w_per_m2"] == approx(36.31, rel=5e-4)  # [IEC60825-1] worked example [D]
    assert data["mpe_j_per_m2"] == approx(363.1, rel=5e-4)
    assert "10 C4 C7" in data["rule"]


def test_mpe_skin_and_pulsed(cli):
    skin = json.loads(
        cli(
            "safety", "mpe", "--wavelength-nm", "1064", "--duration-s", "100", "--target", "skin", "--json"
        ).stdout
    )
    assert skin["mpe_w_per_m2"] == approx(10000)  # [IEC60825-1] worked example [D]
    args = ["--pulse-duration-s", "1e-8", "--prf-hz", "1000", "--json"]
    pulsed = json.loads(cli("safety", "mpe", "--wavelength-nm", "980", "--duration-s", "10", *args).stdout)
    assert pulsed["per_pulse"] is True and pulsed["c5"] == approx(0.5)  # 5 x 1e4^-0.25


def test_nohd_json(cli):
    args = [
        "--wavelength-nm",
        "980",
        "--power-w",
        "15",
        "--beam-diameter-mm",
        "5",
        "--divergence-mrad",
        "100",
    ]
    data = json.loads(cli("safety", "nohd", *args, "--exposure-s", "10", "--json").stdout)
    assert data["nohd_m"] == approx(7.2027, rel=1e-4)  # (sqrt(4 x 15 / (pi 36.31)) - 0.005) / 0.1
    assert data["mpe_w_per_m2"] == approx(36.31, rel=5e-4)


def test_eyewear_json(cli):
    data = json.loads(
        cli(
            "safety",
            "eyewear",
            "--wavelength-nm",
            "1064",
            "--power-w",
            "50",
            "--beam-diameter-mm",
            "5",
            "--json",
        ).stdout
    )
    assert data["lb"] == "D LB6"  # textbook EN 207 example (see test_safety_hazard.py)
    # 50 W in 5 mm passes the 7 mm pupil whole: 50 / (pi 3.5 mm^2) against the 1064 nm MPE of 50 W/m2.
    assert data["od"] == pytest.approx(math.log10(50 / (math.pi * 0.0035**2) / 50.0))
    assert data["aperture_mm"] == 7.0 and "limiting aperture" in data["od_basis"]
    assert data["lb_irradiance_w_per_m2"] == pytest.approx(4 * 50 / (math.pi * 0.005**2))
    assert "own power density" in data["lb_basis"]


def test_classify_json_several_wavelengths(cli):
    args = [
        "--wavelength-nm",
        "810",
        "--power-w",
        "0.3",
        "--wavelength-nm",
        "980",
        "--power-w",
        "0.3",
        "--json",
    ]
    data = json.loads(cli("safety", "classify", *args).stdout)
    assert data["class"] == "4"  # additivity: 0.6 + 0.6 > 1 [IEC60825-1]
    assert data["ael_ratios"]["3B"] == approx(1.2)


def test_skin_time_json(cli):
    args = ["--wavelength-nm", "980", "--irradiance-w-per-m2", "30000", "--json"]
    data = json.loads(cli("safety", "skin-time", *args).stdout)
    # Table A.5: E t = 1.1e4 C4 t^0.25 -> t = (1.1e4 C4 / E)^(4/3), C4 = 10^0.56.
    assert data["max_exposure_s"] == approx((1.1e4 * 10**0.56 / 3e4) ** (4 / 3), rel=1e-6)


def test_human_tables(cli):
    for args in (
        ["mpe", "--wavelength-nm", "810", "--duration-s", "10"],
        ["classify", "--wavelength-nm", "635", "--power-w", "0.0009"],
        ["summary", "--device", "15w-dual"],
    ):
        result = cli("safety", *args)
        assert result.exit_code == 0, result.output
    assert "D LB" in cli("safety", "summary", "--device", "15w-dual").stdout


def test_summary_json(cli):
    data = json.loads(cli("safety", "summary", "--device", "30w-quad", "--json").stdout)
    assert data["computed_class"] == "4" and len(data["eyewear"]) == 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["mpe", "--wavelength-nm", "100", "--duration-s", "1"], "wavelength must be between 180"),
        (["mpe", "--wavelength-nm", "300", "--duration-s", "1"], "ultraviolet"),
        (["mpe", "--wavelength-nm", "980", "--duration-s", "-1"], "duration must be between"),
        (["mpe", "--wavelength-nm", "980", "--duration-s", "1", "--target", "lung"], "unknown target"),
        (["mpe", "--wavelength-nm", "980", "--duration-s", "1", "--prf-hz", "10"], "needs both"),
        (
            [
                "nohd",
                "--wavelength-nm",
                "980",
                "--power-w",
                "-1",
                "--beam-diameter-mm",
                "5",
                "--divergence-mrad",
                "1",
            ],
            "power",
        ),
        (["eyewear", "--wavelength-nm", "980", "--power-w", "1", "--beam-diameter-mm", "0"], "beam diameter"),
        (["classify", "--wavelength-nm", "980", "--power-w", "1", "--power-w", "2"], "one --power-w"),
        (["classify", "--wavelength-nm", "1550", "--power-w", "1"], "only 400-1400 nm"),
        (
            ["classify", "--wavelength-nm", "810", "--power-w", "1", "--beam-diameter-mm", "0"],
            "beam diameter",
        ),
        (["summary", "--device", "no-such-machine"], "no device profile"),
        (
            ["skin-time", "--wavelength-nm", "980", "--irradiance-w-per-m2", "-3"],
            "irradiance must be between",
        ),
    ],
)
def test_errors_are_one_line_with_exit_2(cli, args, message):
    result = cli("safety", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output
