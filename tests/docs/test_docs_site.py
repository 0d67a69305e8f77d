"""The documentation site builds with no warnings, works offline, and documents every package."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import laserdose

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = sorted(
    path.name for path in Path(laserdose.__file__).parent.iterdir() if (path / "__init__.py").exists()
)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def test_site_builds_strictly(site):
    assert (site / "index.html").exists()
    assert (site / "references.html").exists()


def test_site_needs_no_network(site):
    # No web fonts, scripts or style sheets from elsewhere: the site is read in clinics without internet.
    remote = re.compile(r"""<(?:script|link)[^>]+(?:src|href)=["']https?://""")
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert not remote.search(text), page
        assert "fonts.googleapis" not in text, page


def test_api_reference_renders_docstrings(site):
    text = (site / "api" / "safety.html").read_text(encoding="utf-8")
    assert "laserdose.safety.iec60825" in text
    assert "skin_mpe" in text


def test_every_package_has_an_api_page():
    pages = {path.stem for path in (ROOT / "docs" / "api").glob("*.md")}
    missing = [name for name in PACKAGES if name not in pages]
    assert missing == []
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for name in PACKAGES:
        assert f"api/{name}.md" in nav, name
        assert f"::: laserdose.{name}" in (ROOT / "docs" / "api" / f"{name}.md").read_text(encoding="utf-8")


def test_readme_leads_with_run_and_test():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = text.split("```sh\n", 1)[1].split("```", 1)[0].splitlines()
    assert [line.split()[:2] for line in first_block[:2]] == [["make", "run"], ["make", "test"]]
    assert 150 <= len(text.splitlines()) <= 250
    assert "not a certified medical device" in text
