"""Home exercises: what each asks of the patient, its dosage, its drawing and the evidence behind it.

The shipped library is `data/exercises.toml` (its header gives the evidence for exercise in chronic low
back pain); a clinic adds its own in the clinic app. Drawings are a few strokes on a 120 x 60 grid, y
downwards, one per line: `line x1 y1 x2 y2` or `circle x y r`. The same strokes are drawn as SVG in the
web pages and with matplotlib in the patient handout, so both show one picture.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

from laserdose.errors import InputError
from laserdose.files import parse_toml

DRAWING_WIDTH, DRAWING_HEIGHT = 120, 60
MAX_STROKES = 40
SETS_MAX, REPETITIONS_MAX, HOLD_S_MAX, PER_WEEK_MAX = 10, 100, 3600, 14
NAME_MAX, TEXT_MAX = 120, 4000


@dataclass(frozen=True)
class Stroke:
    """One stroke of a drawing: a line (x1, y1, x2, y2) or a circle (x, y, r), in grid units."""

    kind: str
    numbers: tuple[float, ...]


@dataclass(frozen=True)
class Dosage:
    """How much of an exercise: `sets` of `repetitions`, each held `hold_s` seconds, `per_week` days."""

    sets: int
    repetitions: int
    hold_s: int
    per_week: int

    def describe(self) -> str:
        """The dosage in words, e.g. '2 sets of 8, hold 5 s, 5 days a week'."""
        hold = f", hold {_duration(self.hold_s)}" if self.hold_s else ""
        if self.sets == 1 and self.repetitions == 1:
            return f"{_duration(self.hold_s) if self.hold_s else 'once'}, {self.per_week} days a week"
        return (
            f"{self.sets} set{'s' * (self.sets > 1)} of {self.repetitions}{hold}, {self.per_week} days a week"
        )


def _duration(seconds: int) -> str:
    return f"{seconds // 60} min" if seconds >= 120 and seconds % 60 == 0 else f"{seconds} s"


# field -> (label, lowest, highest): plausibility bounds for a home programme [U], so that a typo
# (100 sets) is caught.
DOSAGE_LIMITS = {
    "sets": ("Sets", 1, SETS_MAX),
    "repetitions": ("Repetitions", 1, REPETITIONS_MAX),
    "hold_s": ("Hold", 0, HOLD_S_MAX),
    "per_week": ("Days a week", 1, PER_WEEK_MAX),
}


def dosage_problem(field: str, value: object) -> str | None:
    """What is wrong with one dosage field's value, as a sentence naming the field, or None."""
    label, low, high = DOSAGE_LIMITS[field]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        given = f", got {value!r}" if value != "" else ""
        return f"{label} must be a whole number from {low} to {high}{given}."
    return None


def dosage(sets: int, repetitions: int, hold_s: int, per_week: int) -> Dosage:
    """A checked dosage; raises InputError with a sentence naming the field and its allowed range."""
    values = {"sets": sets, "repetitions": repetitions, "hold_s": hold_s, "per_week": per_week}
    for field, value in values.items():
        if problem := dosage_problem(field, value):
            raise InputError(problem)
    return Dosage(sets, repetitions, hold_s, per_week)


def parse_drawing(text: str) -> tuple[Stroke, ...]:
    """The strokes of a drawing; raises InputError naming the line that is wrong."""
    strokes = []
    for number, line in enumerate(text.strip().splitlines(), start=1):
        words = line.split()
        if not words:
            continue
        arity = {"line": 4, "circle": 3}.get(words[0])
        try:
            values = tuple(float(word) for word in words[1:])
        except ValueError:
            values = ()
        inside = all(0 <= v <= DRAWING_WIDTH for v in values)
        if arity is None or len(values) != arity or not inside:
            raise InputError(
                f"Drawing line {number} ({line.strip()!r}) must be 'line x1 y1 x2 y2' or 'circle x y r' "
                f"with numbers from 0 to {DRAWING_WIDTH}."
            )
        strokes.append(Stroke(words[0], values))
    if len(strokes) > MAX_STROKES:
        raise InputError(f"A drawing has at most {MAX_STROKES} strokes, got {len(strokes)}.")
    return tuple(strokes)


def drawing_svg(text: str, label: str) -> str:
    """The drawing as a standalone SVG element (numbers only: nothing from `text` reaches the markup)."""
    parts = []
    for stroke in parse_drawing(text):
        n = [f"{v:g}" for v in stroke.numbers]
        if stroke.kind == "line":
            parts.append(f'<line x1="{n[0]}" y1="{n[1]}" x2="{n[2]}" y2="{n[3]}"/>')
        else:
            parts.append(f'<circle cx="{n[0]}" cy="{n[1]}" r="{n[2]}"/>')
    escaped = label.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return (
        f'<svg class="exercise-drawing" viewBox="0 0 {DRAWING_WIDTH} {DRAWING_HEIGHT}" role="img" '
        f'aria-label="{escaped}" fill="none" stroke="currentColor" stroke-width="3" '
        f'stroke-linecap="round">{"".join(parts)}</svg>'
    )


@dataclass(frozen=True)
class LibraryExercise:
    """One exercise of the shipped library, as read from its file."""

    name: str
    instructions: str
    dosage: Dosage
    drawing: str
    evidence: str
    evidence_note: str


def shipped_library() -> list[LibraryExercise]:
    """The exercises shipped with laserdose (data/exercises.toml), each checked."""
    text = resources.files("laserdose.clinical").joinpath("data/exercises.toml").read_text("utf-8")
    return [_exercise(entry) for entry in parse_toml(text, "exercises.toml").get("exercise", [])]


def _exercise(entry: dict[str, Any]) -> LibraryExercise:
    name = str(entry["name"])
    parse_drawing(entry["drawing"])
    return LibraryExercise(
        name=name,
        instructions=" ".join(str(entry["instructions"]).split()),
        dosage=dosage(entry["sets"], entry["repetitions"], entry["hold_s"], entry["per_week"]),
        drawing=str(entry["drawing"]).strip(),
        evidence=str(entry["evidence"]),
        evidence_note=str(entry["evidence_note"]),
    )
