"""Draw the package layers of laserdose from the import-linter contracts in pyproject.toml.

    python scripts/layer_diagram.py            # rewrite docs/layers.svg
    python scripts/layer_diagram.py --check    # exit 1 if docs/layers.svg differs from the contracts

The "layers" contract lists packages from the top (may import everything below) to the bottom (imports
nothing above it); packages on one line separated by "|" are independent of each other. The figure draws
one row per layer, top to bottom, and lists the contract's ignored imports and the forbidden contracts
underneath, so the design page shows exactly what the linter enforces.
"""

from __future__ import annotations

import sys
import textwrap
import tomllib
from html import escape
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "docs" / "layers.svg"

WIDTH = 760
ROW_H = 44
BOX_H = 30
GAP = 12
MARGIN = 20
FONT = 'font-family="DejaVu Sans, Arial, sans-serif"'


def contracts(pyproject: Path = ROOT / "pyproject.toml") -> list[dict[str, Any]]:
    """The import-linter contracts of `pyproject`, in file order."""
    with pyproject.open("rb") as handle:
        config = tomllib.load(handle)
    found: list[dict[str, Any]] = config["tool"]["importlinter"]["contracts"]
    return found


def _layer_rows(contract: dict[str, Any]) -> list[list[str]]:
    rows = []
    for layer in contract["layers"]:
        names = [part.strip().strip("()").removeprefix("laserdose.") for part in layer.split("|")]
        rows.append(names)
    return rows


def _text(
    x: float, y: float, text: str, size: int = 13, anchor: str = "middle", weight: str = "normal"
) -> str:
    return (
        f'<text x="{x:.0f}" y="{y:.0f}" {FONT} font-size="{size}" text-anchor="{anchor}" '
        f'font-weight="{weight}">{escape(text)}</text>'
    )


def svg(items: list[dict[str, Any]]) -> str:
    """The figure for `items` (the contracts) as SVG text."""
    layered = next(item for item in items if item["type"] == "layers")
    rows = _layer_rows(layered)
    notes = [f"ignored import: {rule}" for rule in layered.get("ignore_imports", [])]
    for item in items:
        if item["type"] == "forbidden":
            sources = ", ".join(name.removeprefix("laserdose.") for name in item["source_modules"])
            forbidden = ", ".join(name.removeprefix("laserdose.") for name in item["forbidden_modules"])
            notes.append(f"forbidden: {sources} -> {forbidden}")
    # One line holds about 100 characters of the 12 px font across the figure's width.
    notes = [line for note in notes for line in textwrap.wrap(note, 100, subsequent_indent="    ")]
    top = MARGIN + 30
    height = top + len(rows) * ROW_H + 16 + 18 * len(notes) + MARGIN
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="laserdose package layers">',
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
        _text(
            MARGIN,
            MARGIN + 12,
            f"{layered['name']}: each row may import only the rows below it",
            anchor="start",
            weight="bold",
        ),  # fmt: skip
    ]
    inner = WIDTH - 2 * MARGIN
    for index, names in enumerate(rows):
        y = top + index * ROW_H
        box_w = (inner - GAP * (len(names) - 1)) / len(names)
        for position, name in enumerate(names):
            x = MARGIN + position * (box_w + GAP)
            parts.append(
                f'<rect x="{x:.0f}" y="{y}" width="{box_w:.0f}" height="{BOX_H}" rx="5" '
                'fill="#e8eef7" stroke="#35577d"/>'
            )
            parts.append(_text(x + box_w / 2, y + BOX_H / 2 + 5, name))
        if index < len(rows) - 1:
            x_mid = WIDTH / 2
            parts.append(
                f'<path d="M{x_mid:.0f},{y + BOX_H} L{x_mid:.0f},{y + ROW_H - 3}" stroke="#35577d" '
                'stroke-width="1.5"/>'
            )
            parts.append(
                f'<path d="M{x_mid - 5:.0f},{y + ROW_H - 9} L{x_mid:.0f},{y + ROW_H - 2} '
                f'L{x_mid + 5:.0f},{y + ROW_H - 9}" fill="none" stroke="#35577d" stroke-width="1.5"/>'
            )
    y_notes = top + len(rows) * ROW_H + 16
    for number, note in enumerate(notes):
        parts.append(_text(MARGIN, y_notes + 18 * number, note, size=12, anchor="start"))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main(argv: list[str]) -> int:
    """Write docs/layers.svg, or with --check report whether it is current."""
    text = svg(contracts())
    if "--check" in argv:
        if TARGET.read_text(encoding="utf-8") != text:
            print("docs/layers.svg is out of date: run python scripts/layer_diagram.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
