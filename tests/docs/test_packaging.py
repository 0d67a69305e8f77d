"""Packaging: one version, a licence, type information, extras that keep the core free of the web stack."""

import tomllib
from pathlib import Path

import laserdose

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]
# Distribution names (lower case, before any version or extra) of a requirement list.
CLINIC_STACK = {"fastapi", "uvicorn", "jinja2", "sqlalchemy", "alembic", "argon2-cffi", "python-multipart",
                "pydantic-settings", "itsdangerous", "pyserial", "psycopg", "dask", "numba-cuda"}  # fmt: skip


def _names(requirements: list[str]) -> set[str]:
    names = set()
    for requirement in requirements:
        name = requirement
        for stop in "[<>=!~; ":
            name = name.split(stop)[0]
        names.add(name.lower())
    return names


def test_version_has_one_source():
    assert "version" not in PROJECT
    assert "version" in PROJECT["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "laserdose.__version__"}
    assert laserdose.__version__.count(".") == 2


def test_changelog_names_the_version():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in text
    assert f"## [{laserdose.__version__}]" in text


def test_licence_is_apache_2():
    assert PROJECT["license"] == "Apache-2.0"
    assert "Apache License" in (ROOT / "LICENSE").read_text(encoding="utf-8").splitlines()[1]


def test_package_ships_its_type_information():
    assert (ROOT / "src" / "laserdose" / "py.typed").exists()
    assert "py.typed" in PYPROJECT["tool"]["setuptools"]["package-data"]["laserdose"]


def test_core_leaves_the_web_stack_to_extras():
    core = _names(PROJECT["dependencies"])
    assert core == {"numpy", "scipy", "numba", "typer", "rich", "pydantic", "matplotlib"}
    extras = PROJECT["optional-dependencies"]
    provided = set().union(
        *(_names(extras[name]) for name in ("clinic", "device", "postgres", "distributed", "cuda"))
    )
    assert provided >= CLINIC_STACK


def test_dev_installs_every_extra():
    dev = PROJECT["optional-dependencies"]["dev"]
    assert "laserdose[clinic,device,docs,postgres,distributed,cuda]" in dev
