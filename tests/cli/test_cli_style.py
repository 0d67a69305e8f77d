"""One CLI style: Annotated parameters, one `--json` flag name, Typer's public API only."""

import re
from pathlib import Path

import typer
import typer.main

from laserdose.cli.main import app

CLI_SOURCES = sorted((Path(__file__).resolve().parents[2] / "src" / "laserdose" / "cli").glob("*.py"))


def _commands(command, path: str = "laserdose"):
    yield path, command
    if hasattr(command, "list_commands"):  # a group (Typer vendors its own click: no isinstance here)
        context = typer.Context(command)
        for name in command.list_commands(context):
            yield from _commands(command.get_command(context, name), f"{path} {name}")


def test_every_machine_readable_output_is_asked_for_with_json():
    with_json, helps = [], set()
    for path, command in _commands(typer.main.get_command(app)):
        for param in command.params:
            names = [*param.opts, *param.secondary_opts]
            if any("json" in name for name in names):
                assert names == ["--json"], f"{path}: {names}"
                with_json.append(path)
                helps.add(param.help)
    printing = {"plan", "screen", "treat", "study", "simulate", "heat", "optics back", "tables build"}
    assert {f"laserdose {name}" for name in printing} <= set(with_json)
    assert len(helps) == 1  # one flag, one meaning


def test_parameters_are_declared_in_the_annotated_style():
    for source in CLI_SOURCES:
        text = source.read_text(encoding="utf-8")
        assert not re.search(r"=\s*typer\.(Option|Argument)\(", text), source.name


def test_only_typers_public_api_is_imported():
    for source in CLI_SOURCES:
        text = source.read_text(encoding="utf-8")
        private = re.search(r"typer\._|typer\.main|^import click|^from click", text, re.MULTILINE)
        assert not private, source.name
