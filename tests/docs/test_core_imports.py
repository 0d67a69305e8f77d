"""The engines and their commands work without the clinic, device and cluster extras installed.

Each check runs in a fresh interpreter in which importing the web stack, pyserial, Dask or numba-cuda
fails as if they were not installed (an import hook), so one virtual environment tests both installs.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Top-level modules of the [clinic], [device], [postgres], [distributed] and [cuda] extras.
EXTRAS = (
    "fastapi", "starlette", "uvicorn", "jinja2", "sqlalchemy", "alembic", "argon2", "multipart",
    "python_multipart", "pydantic_settings", "itsdangerous", "serial", "psycopg", "dask", "distributed",
    "numba_cuda", "httpx",
)  # fmt: skip
BLOCKER = f"""
import importlib.abc, sys
class _Missing(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {EXTRAS!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, _Missing())
"""


def _run(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        [sys.executable, "-c", BLOCKER + code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300
    )


ENGINE_COMMANDS = ("simulate", "heat", "safety", "study", "tables", "treat", "device")
CLINIC_COMMANDS = (["db", "upgrade"], ["users", "list"], ["audit", "verify"], ["serve"])
# Every command below runs in one interpreter (Typer's test runner), so the imports are paid once.
COMMANDS = {
    "optics": ["optics", "tissue", "--tissue", "fat", "--wavelength", "810", "--json"],
    "plan": [
        "plan", "--patient", "examples/patient.toml", "--condition", "chronic-nonspecific-lbp",
        "--device", "15w-dual", "--json",
    ],
    **{f"{name} --help": [name, "--help"] for name in ENGINE_COMMANDS},
    **{" ".join(args): args for args in CLINIC_COMMANDS},
}  # fmt: skip
RUN_COMMANDS = f"""
import json
from typer.testing import CliRunner
from laserdose.cli.main import app
results = {{}}
for key, args in {COMMANDS!r}.items():
    outcome = CliRunner().invoke(app, args)
    results[key] = [outcome.exit_code, outcome.stdout, outcome.stderr]
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def commands() -> dict[str, list[Any]]:
    result = _run(RUN_COMMANDS)
    assert result.returncode == 0, result.stderr
    outcomes: dict[str, list[Any]] = json.loads(result.stdout.splitlines()[-1])
    return outcomes


def test_the_blocker_blocks():
    result = _run("import sqlalchemy")
    assert result.returncode != 0
    assert "No module named 'sqlalchemy'" in result.stderr


def test_engines_import_without_the_extras():
    packages = ["optics", "transport", "thermal", "safety", "clinical", "planning", "device", "cli.main"]
    code = "".join(f"import laserdose.{name}\n" for name in packages) + "print('ok')"
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_engine_commands_run_without_the_extras(commands):
    code, stdout, stderr = commands["optics"]
    assert code == 0, stderr
    assert json.loads(stdout)["tissue"] == "fat"
    for key in ENGINE_COMMANDS:
        code, stdout, stderr = commands[f"{key} --help"]
        assert code == 0, (key, stderr)
        assert "Usage:" in stdout


def test_plan_runs_without_the_extras(commands):
    code, stdout, stderr = commands["plan"]
    assert code == 0, stderr
    assert json.loads(stdout)["decision"] in {"treat", "treat-with-precautions", "do-not-treat", "refer"}


def test_clinic_commands_name_the_missing_extra(commands):
    for key in ("db upgrade", "users list", "audit verify", "serve"):
        code, _, stderr = commands[key]
        assert code == 2, (key, stderr)
        assert stderr.startswith("laserdose: error: this needs laserdose[clinic] ("), stderr
        assert "pip install 'laserdose[clinic]'" in stderr
        assert len(stderr.strip().splitlines()) == 1


def test_serial_links_name_the_missing_extra():
    code = """
from laserdose.device.link import open_link
from laserdose.errors import InputError
try:
    open_link("serial://loop://")
except InputError as exc:
    print(exc)
"""
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert "pip install 'laserdose[device]'" in result.stdout
    assert "serial" in result.stdout
