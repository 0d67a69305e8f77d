import json

import pytest

from laserdose.optics.back import back_model
from laserdose.optics.tissues import optical_properties


def test_tissue_json(cli):
    result = cli(
        "optics", "tissue", "--tissue", "dermis", "--wavelength", "810", "--skin-type", "4", "--json"
    )
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert set(data) == {"tissue", "wavelength_nm", "mua_per_mm", "mus_per_mm", "g", "n"}
    assert data["tissue"] == "dermis" and data["wavelength_nm"] == 810.0
    # the CLI prints the library's numbers unchanged (the numbers themselves are checked in tests/optics)
    props = optical_properties("dermis", 810.0, 4)
    assert (data["mua_per_mm"], data["mus_per_mm"], data["g"], data["n"]) == (
        props.mua_per_mm,
        props.mus_per_mm,
        props.g,
        props.n,
    )


def test_tissue_table(cli):
    result = cli("optics", "tissue", "--tissue", "fat", "--wavelength", "980")
    assert result.exit_code == 0
    assert "fat at 980 nm" in result.stdout and "mua" in result.stdout


def test_back_json(cli):
    result = cli("optics", "back", "--skin-type", "3", "--bmi", "27", "--wavelength", "980", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data == json.loads(json.dumps(back_model(3, 980.0, bmi=27.0).to_dict()))
    assert [layer["name"] for layer in data["layers"]] == ["epidermis", "dermis", "fat", "muscle", "bone"]
    assert data["layers"][-1]["thickness_mm"] is None
    assert {"facet_joint", "multifidus", "nerve_root", "sacroiliac_joint"} <= set(data["targets"])


def test_back_table_with_measured_fat(cli):
    result = cli("optics", "back", "--skin-type", "5", "--fat-mm", "12", "--wavelength", "810")
    assert result.exit_code == 0
    assert "fat 12.0 mm (measured)" in result.stdout and "facet_joint" in result.stdout


def test_spectrum_json_and_table(cli):
    result = cli(
        "optics", "spectrum", "--tissue", "muscle", "--from", "900", "--to", "1000", "--step", "50", "--json"
    )
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert [point["wavelength_nm"] for point in data["points"]] == [900.0, 950.0, 1000.0]
    table = cli("optics", "spectrum", "--tissue", "muscle", "--from", "900", "--to", "1000", "--step", "50")
    assert table.exit_code == 0 and "950" in table.stdout


def test_spectrum_plot_writes_png(cli, tmp_path):
    path = tmp_path / "fat.png"
    result = cli(
        "optics", "spectrum", "--tissue", "fat", "--from", "600", "--to", "1100", "--plot", str(path)
    )
    assert result.exit_code == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["tissue", "--tissue", "liver", "--wavelength", "810"],
            "unknown tissue 'liver'; allowed: epidermis",
        ),
        (["tissue", "--tissue", "fat", "--wavelength", "1200"], "wavelength must be between 600 and 1100 nm"),
        (
            ["tissue", "--tissue", "fat", "--wavelength", "810", "--skin-type", "7"],
            "Fitzpatrick skin type must be between 1 and 6, got 7",
        ),
        (["back", "--skin-type", "3", "--wavelength", "980"], "exactly one of --fat-mm"),
        (
            ["back", "--skin-type", "3", "--wavelength", "980", "--fat-mm", "9", "--bmi", "25"],
            "exactly one of --fat-mm",
        ),
        (["back", "--skin-type", "3", "--wavelength", "980", "--bmi", "80"], "BMI must be between 18 and 50"),
        (
            ["back", "--skin-type", "3", "--wavelength", "980", "--fat-mm", "-1"],
            "fat thickness must be between",
        ),
        (
            ["back", "--skin-type", "0", "--wavelength", "980", "--bmi", "25"],
            "Fitzpatrick skin type must be between 1 and 6, got 0",
        ),
        (
            ["spectrum", "--tissue", "fat", "--from", "900", "--to", "800"],
            "end wavelength must be between 900",
        ),
        (["spectrum", "--tissue", "fat", "--from", "500"], "wavelength must be between 600 and 1100 nm"),
        (["spectrum", "--tissue", "fat", "--plot", "/no/such/folder/x.png"], "does not exist"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli, args, message):
    result = cli("optics", *args)
    assert result.exit_code == 2
    assert result.stderr.startswith("laserdose: error: ") and message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output
