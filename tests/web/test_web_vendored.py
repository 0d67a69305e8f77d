"""Vendored front-end files are the published ones (SHA-256 listed beside them) and are served locally."""

import hashlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = (ROOT / "src" / "laserdose" / "web" / "static", ROOT / "tests" / "browser" / "vendor")


def _sums(folder: Path) -> dict[str, str]:
    lines = (folder / "SHA256SUMS").read_text().splitlines()
    return {name: digest for digest, name in (line.split(maxsplit=1) for line in lines if line.strip())}


def _table_files(folder: Path) -> set[str]:
    """File names in the first column of VENDORED.md's table."""
    names: set[str] = set()
    for line in (folder / "VENDORED.md").read_text().splitlines():
        if line.startswith("| ") and not line.startswith(("| file", "| ---")):
            names.update(name.strip() for name in line.split("|")[1].split(","))
    return names


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda folder: folder.name)
def test_each_vendored_file_matches_its_recorded_sha256(folder):
    sums = _sums(folder)
    assert _table_files(folder) == set(sums), "VENDORED.md and SHA256SUMS list different files"
    for name, digest in sums.items():
        assert re.fullmatch(r"[0-9a-f]{64}", digest)
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, f"{name} was changed"


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda folder: folder.name)
def test_each_vendored_file_has_its_licence_beside_it(folder):
    table = (folder / "VENDORED.md").read_text()
    licences = re.findall(r"\(([\w.-]+(?:LICENSE|LICENSE\.md))[,;)]", table)
    assert licences, "VENDORED.md names no licence file"
    for licence in licences:
        assert (folder / licence).stat().st_size > 500, f"{licence} is missing or empty"


def test_pages_load_pico_and_the_icons_from_the_app_itself(client):
    html = client.get("/login").text
    addresses = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert addresses.index("/static/pico.min.css") < addresses.index("/static/app.css")  # ours overrides
    assert {"/static/favicon.svg", "/static/favicon.ico", "/static/nav.js"} <= set(addresses)
    assert all(address.startswith(("/", "#")) and not address.startswith("//") for address in addresses)
    pico = client.get("/static/pico.min.css")
    assert pico.status_code == 200 and "Pico CSS" in pico.text[:200]
    assert client.get("/static/favicon.ico").content[:4] == b"\x00\x00\x01\x00"  # the ICO header
    symbols = set(re.findall(r'<symbol id="([\w-]+)"', client.get("/static/icons.svg").text))
    templates = "".join(path.read_text() for path in (ROOT / "src/laserdose/web/templates").glob("*.html"))
    used = set(re.findall(r'icon\("([\w-]+)"\)', templates))
    assert used and used <= symbols, f"icons without a symbol in icons.svg: {used - symbols}"
