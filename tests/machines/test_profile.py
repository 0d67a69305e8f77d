import tomllib
from importlib import resources
from pathlib import Path

import pytest

from laserdose.errors import InputError
from laserdose.machines.profile import load_profile, logo_png, parse_profile, shipped_profiles


def _shipped(name: str) -> dict:
    text = (resources.files("laserdose.machines") / "profiles" / f"{name}.toml").read_text()
    return tomllib.loads(text)


def test_the_three_demo_profiles_are_shipped_and_addressable_by_name():
    # The three illustrative machines of the user guide.
    assert set(shipped_profiles()) >= {"15w-dual", "30w-quad", "class3b-probe"}
    dual = load_profile("15w-dual")
    assert dual.wavelengths_nm == (810.0, 980.0)
    assert dual.max_total_power_w == 15.0
    assert load_profile("30w-quad").wavelengths_nm == (650.0, 810.0, 980.0, 1064.0)
    probe = load_profile("class3b-probe")
    assert probe.laser_class == "3B" and probe.pulsed is None and probe.cw


def test_profile_loads_from_a_path(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text((resources.files("laserdose.machines") / "profiles" / "15w-dual.toml").read_text())
    assert load_profile(path).name == "mine"


def test_lookup_of_missing_source_or_handpiece_lists_what_exists():
    dual = load_profile("15w-dual")
    with pytest.raises(InputError, match="has 810, 980 nm"):
        dual.source(1064)
    with pytest.raises(InputError, match="large-standoff, contact-ball"):
        dual.handpiece("tiny")
    assert dual.handpiece("contact-ball").standoff_mm == 0.0


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda d: d["sources"][0].update(max_power_w=-1),
            "max_power_w: power must be between 0 and 60 W, got -1 W",
        ),
        (lambda d: d["sources"][0].update(max_power_w=0), "max_power_w must be > 0 W, got 0 W"),
        (lambda d: d.update(max_total_power_w=150), "max_total_power_w: power must be between 0 and 60 W"),
        (lambda d: d.update(modes=["cw", "burst"]), "unknown mode 'burst'"),
        (lambda d: d["sources"][1].update(wavelength_nm=810), "wavelength twice"),
        (
            lambda d: d["sources"][0].update(wavelength_nm=300),
            "wavelength_nm: wavelength must be between 600",
        ),
        (
            lambda d: d["sources"][0].update(wavelength_nm=808.5),
            "wavelength_nm must be a whole number of nm, got 808.5",
        ),
        (lambda d: d.update(max_total_power_w=5), "below the largest source"),
        (lambda d: d["pulsed"].update(duty_cycle=[0.5, 1.5]), "duty_cycle must be"),
        (lambda d: d.pop("model"), "missing field model"),
        (lambda d: d["handpieces"][0].update(beam_profile="donut"), "beam_profile must be"),
        (lambda d: d.update(safety_features=["force-field"]), "unknown safety feature"),
        (lambda d: d["sources"][0].update(min_power_w=20), "min_power_w must be"),
    ],
)
def test_inconsistent_profiles_are_rejected_naming_the_field(mutate, message):
    data = _shipped("15w-dual")
    mutate(data)
    with pytest.raises(InputError, match=message):
        parse_profile(data, "bad")


def test_unknown_profile_name_lists_shipped(tmp_path):
    with pytest.raises(InputError, match="15w-dual"):
        load_profile("no-such-machine")
    bad = tmp_path / "bad.toml"
    bad.write_text("model = [")
    with pytest.raises(InputError, match="not valid TOML"):
        load_profile(bad)


def test_a_relative_logo_is_resolved_against_the_profile_folder(tmp_path):
    shipped = load_profile("15w-dual")
    assert Path(shipped.logo).name == "laserdose-demo-devices.svg" and Path(shipped.logo).is_file()
    assert logo_png(shipped) == Path(shipped.logo).with_suffix(".png")  # the PDF's rendering of it
    text = (Path(shipped.logo).parents[1] / "15w-dual.toml").read_text(encoding="utf-8")
    (tmp_path / "oem").mkdir()
    (tmp_path / "oem" / "brand.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    profile_file = tmp_path / "oem" / "oem-15.toml"
    profile_file.write_text(text.replace('logo = "logos/laserdose-demo-devices.svg"', 'logo = "brand.svg"'))
    oem = load_profile(profile_file)
    assert oem.logo == str(tmp_path / "oem" / "brand.svg") and logo_png(oem) is None  # no PNG beside it
