"""Run the console examples of the README and the documentation, and compare what they print.

Sybil finds the examples; this module gives it two kinds of block:

- ```` ```console ```` blocks: each `$ command` line runs, and what it prints must match the lines below it
  up to the next `$` (doctest's ELLIPSIS: `...` stands for any text, e.g. a timing);
- blocks with a title, ```` ```toml title="patient.toml" ````: the file is written into the working folder
  before the examples after it run, so that a reader sees every input a command reads.

The commands run through a small interpreter of the shell forms the docs use (`a | b`, `a; b`, `a && b`,
`> file`, `VAR=value command`, `echo`, `cat`, `head`, `tail`, `cmp`, `sed -i`, `sqlite3`, `python`), and
`laserdose` runs in this process through Typer's test runner, so the imports are paid once. A block that
cannot run in a test (a GPU, a cluster, a live server) carries `<!-- skip: next "why" -->` before it.
"""

from __future__ import annotations

import doctest
import os
import re
import shlex
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sybil import Document, Example, Region, Sybil
from sybil.parsers.markdown import SkipParser
from sybil.parsers.markdown.lexers import RawFencedCodeBlockLexer
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = RawFencedCodeBlockLexer(info_pattern=re.compile(r"console[ \t]*$\n", re.MULTILINE))
TITLED = RawFencedCodeBlockLexer(
    info_pattern=re.compile(r'\w+[ \t]+title="(?P<title>[^"]+)"[ \t]*$\n', re.MULTILINE)
)
CHECKER = doctest.OutputChecker()


class Unsupported(Exception):
    """A shell form the interpreter does not run (mark the block with a skip and a reason)."""


@dataclass
class Shell:
    """The state one document's examples share: working folder, environment, last exit code."""

    cwd: Path
    env: dict[str, str] = field(default_factory=dict)
    status: int = 0


def _session(example: Example) -> Shell:
    shell: Shell = example.namespace["shell"]
    return shell


def _steps(source: str) -> list[tuple[int, str, str]]:
    """(line offset, command, expected output) for each `$ ` line of a console block."""
    lines = source.splitlines()
    steps: list[tuple[int, str, list[str]]] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("$ "):
            command = line[2:]
            start = index
            while command.endswith("\\") and index + 1 < len(lines):
                index += 1
                command = command[:-1] + " " + lines[index].strip()
            steps.append((start, command, []))
        elif steps:
            steps[-1][2].append(line)
        else:
            raise AssertionError(f"console block must start with a '$ ' command line, got {line!r}")
        index += 1
    return [(start, command, "\n".join(want).rstrip() + "\n") for start, command, want in steps]


def evaluate_console(example: Example) -> str | None:
    """Run each command of a console block; return a report of the first mismatch, or None."""
    shell = _session(example)
    for offset, command, want in _steps(str(example.parsed)):
        got = run(command, shell)
        got = "\n".join(line.rstrip() for line in got.splitlines()).strip("\n") + "\n"
        want = "\n".join(line.rstrip() for line in want.splitlines()).rstrip() + "\n"
        if want.strip() == "" and got.strip() == "":
            continue
        if not CHECKER.check_output(want, got, doctest.ELLIPSIS):
            if os.environ.get("LASERDOSE_UPDATE_DOCS") == "1" and "..." not in want:
                example.namespace.setdefault("updates", []).append((command, want, got))
                continue
            return (
                f"line {example.line + offset + 1}: $ {command}\n--- documented\n{want}--- printed now\n{got}"
            )
    return None


def apply_updates(path: Path, updates: list[tuple[str, str, str]]) -> None:
    """Write what the commands print now into the page (LASERDOSE_UPDATE_DOCS=1; review the diff)."""
    text = path.read_text(encoding="utf-8")
    for command, want, got in updates:
        if want.strip():
            text = text.replace(f"$ {command}\n{want}", f"$ {command}\n{got}", 1)
        else:  # a command documented without its output yet
            for after in ("```", "$ "):
                if f"$ {command}\n{after}" in text:
                    text = text.replace(f"$ {command}\n{after}", f"$ {command}\n{got}{after}", 1)
                    break
    path.write_text(text, encoding="utf-8")


def write_file(example: Example) -> None:
    """Write a titled block into the working folder."""
    name, text = example.parsed
    path = _session(example).cwd / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def console_parser(document: Document) -> Any:
    """Sybil parser for console blocks."""
    for region in CONSOLE(document):
        yield Region(region.start, region.end, str(region.lexemes["source"]), evaluate_console)


def file_parser(document: Document) -> Any:
    """Sybil parser for titled blocks, the files the examples read."""
    for region in TITLED(document):
        parsed = (region.lexemes["title"], str(region.lexemes["source"]))
        yield Region(region.start, region.end, parsed, write_file)


SYBIL = Sybil(parsers=[console_parser, file_parser, SkipParser()], path=str(ROOT))


# --- the interpreter -------------------------------------------------------------------------------


def run(line: str, shell: Shell) -> str:
    """Run one command line as a terminal would show it (stderr and stdout together)."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars="|;&>")
    lexer.whitespace_split = True
    tokens = list(lexer)
    shown: list[str] = []
    pipeline: list[list[str]] = [[]]
    skip_rest = False
    for token in [*tokens, ";"]:
        if token in {";", "&&"}:
            if not skip_rest:
                shown.append(_pipeline(pipeline, shell))
            skip_rest = token == "&&" and shell.status != 0
            pipeline = [[]]
        elif token == "|":
            pipeline.append([])
        elif token in {"&", "||"}:
            raise Unsupported(f"{token!r} in {line!r}")
        else:
            pipeline[-1].append(token)
    return "".join(shown)


def _pipeline(commands: list[list[str]], shell: Shell) -> str:
    stdin: str | None = None
    shown = ""
    for position, words in enumerate(commands):
        redirect = None
        if ">" in words:
            at = words.index(">")
            words, redirect = words[:at], words[at + 1]
        out, err, shell.status = _command(words, stdin, shell)
        shown += err
        if redirect is not None:
            (shell.cwd / redirect).write_text(out, encoding="utf-8")
            out = ""
        if position == len(commands) - 1:
            shown += out
        stdin = out
    return shown


def _command(words: list[str], stdin: str | None, shell: Shell) -> tuple[str, str, int]:
    env = dict(shell.env)
    while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
        name, value = words[0].split("=", 1)
        env[name] = value
        words = words[1:]
    words = [word.replace("$?", str(shell.status)) for word in words]
    program, args = words[0], words[1:]
    if program == "laserdose":
        return _laserdose(args, stdin, env, shell)
    if program == "echo":
        return " ".join(args) + "\n", "", 0
    if program == "cat":
        return (shell.cwd / args[0]).read_text(encoding="utf-8"), "", 0
    if program in {"head", "tail"}:
        count = int(args[0].lstrip("-n")) if args else 10
        lines = (stdin or "").splitlines(keepends=True)
        return "".join(lines[:count] if program == "head" else lines[-count:]), "", 0
    if program == "cmp":
        same = (shell.cwd / args[0]).read_bytes() == (shell.cwd / args[1]).read_bytes()
        return ("", "", 0) if same else (f"{args[0]} {args[1]} differ\n", "", 1)
    if program == "sed" and len(args) == 3 and args[0] == "-i":
        _, old, new, _ = args[1].split("/")
        path = shell.cwd / args[2]
        path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
        return "", "", 0
    if program == "sqlite3":
        with sqlite3.connect(shell.cwd / args[0]) as connection:
            connection.executescript(args[1])
        return "", "", 0
    if program == "python" and args:
        done = subprocess.run(
            [sys.executable, *args], cwd=shell.cwd, capture_output=True, text=True,
            env={**os.environ, **env, "PYTHONPATH": str(ROOT / "src")}, timeout=600, check=False,
        )  # fmt: skip
        return done.stdout, done.stderr, done.returncode
    raise Unsupported(f"{program!r} is not run by the documentation tests")


def _laserdose(args: list[str], stdin: str | None, env: dict[str, str], shell: Shell) -> tuple[str, str, int]:
    from laserdose.cli.main import app

    if any(name.startswith("NUMBA_") for name in env):
        raise Unsupported("Numba settings apply only to a new interpreter")
    previous = Path.cwd()
    os.chdir(shell.cwd)
    try:
        result = CliRunner().invoke(app, args, input=stdin, env=env)
    finally:
        os.chdir(previous)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.stdout, result.stderr, result.exit_code


def documents() -> list[Path]:
    """The README and every page of the documentation site."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def prepare(folder: Path) -> None:
    """A working folder in which the examples' relative paths (examples/, benchmarks/, ...) resolve."""
    for name in ("examples", "benchmarks", "tests", "src"):
        (folder / name).symlink_to(ROOT / name)
