"""Reading the user's files: every failure is one InputError naming the file."""

import tomllib
from pathlib import Path
from typing import Any

from laserdose.errors import InputError


def parse_toml(text: str, source: str) -> dict[str, Any]:
    """Parse TOML text that came from `source` (a path or a name shown in the error)."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{source}: not valid TOML ({exc})") from None


def read_toml(path: str | Path, what: str) -> dict[str, Any]:
    """Read and parse a TOML file; `what` names it in errors ("patient file", "config file")."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{source}: cannot read the {what} (not found)") from None
    except OSError as exc:
        raise InputError(f"{source}: cannot read the {what} ({exc.strerror or exc})") from None
    return parse_toml(text, source)
