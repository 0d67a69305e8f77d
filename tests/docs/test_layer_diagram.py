"""The design page's layer figure is the one drawn from the import-linter contracts."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _script():
    spec = importlib.util.spec_from_file_location("layer_diagram", ROOT / "scripts" / "layer_diagram.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_layers_svg_matches_the_contracts():
    script = _script()
    assert (ROOT / "docs" / "layers.svg").read_text(encoding="utf-8") == script.svg(script.contracts())


def test_every_layer_of_the_contract_is_drawn():
    script = _script()
    text = script.svg(script.contracts())
    layered = next(item for item in script.contracts() if item["type"] == "layers")
    for layer in layered["layers"]:
        for name in layer.split("|"):
            assert f">{name.strip().strip('()').removeprefix('laserdose.')}</text>" in text


def test_a_changed_contract_changes_the_figure(tmp_path):
    script = _script()
    pyproject = tmp_path / "pyproject.toml"
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    pyproject.write_text(
        text.replace('"(laserdose.optics)",', '"(laserdose.optics)",\n    "laserdose.newlayer",')
    )
    assert ">newlayer</text>" in script.svg(script.contracts(pyproject))
    assert ">newlayer</text>" not in script.svg(script.contracts())


def test_design_page_shows_the_figure():
    assert "](layers.svg)" in (ROOT / "docs" / "design.md").read_text(encoding="utf-8")
