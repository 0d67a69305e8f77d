"""Sources are cited by keys that docs/references.md defines, and nothing points outside the repository."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REFERENCES = ROOT / "docs" / "references.md"
# Text files a reader of the product meets: code, data notes, templates, tests and the documentation.
SUFFIXES = {".py", ".toml", ".md", ".html", ".json", ".txt", ".csv", ".mako", ".ini", ".cfg"}
SCANNED = ("src", "tests", "docs", "benchmarks", "scripts", "examples")

# A key is defined where an entry starts: "- **[Key]** Authors Year. ..."
DEFINITION = re.compile(r"^- \*\*\[([^\]]+)\]\*\*", re.MULTILINE)
# What looks like a citation key: a name ending in a year (Jacques2013) or a standard's number (IEC60825-1).
CITATION = re.compile(
    r"\[((?:[A-Z][A-Za-z'-]*)+(?:19|20)\d\d[a-z]?|(?:IEC|ISO|EN|ANSI|NIST|ICNIRP|NICE)[A-Z0-9.\-]*)\]"
)
# Documents the repository does not hold: the briefings it was built from, or another checkout's folders.
OUTSIDE = re.compile(r"DESIGN\.md|REFERENCES\.md|\.\./shared|shared/data|/work/")
# A path into the documentation, e.g. docs/design.md or docs/safety-case.md.
DOCS_PATH = re.compile(r"(?<![\w/.])docs/[A-Za-z0-9_\-/]+\.(?:md|py|png|svg)")


def _files() -> list[Path]:
    found = []
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*")):
            if path.is_file() and path.suffix in SUFFIXES and "__pycache__" not in path.parts:
                found.append(path)
    found.append(ROOT / "README.md")
    return found


def _defined_keys() -> set[str]:
    return set(DEFINITION.findall(REFERENCES.read_text(encoding="utf-8")))


def test_references_page_defines_each_key_once():
    keys = DEFINITION.findall(REFERENCES.read_text(encoding="utf-8"))
    assert len(keys) > 50
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    assert duplicates == []


def test_every_cited_key_is_defined():
    defined = _defined_keys()
    missing = []
    for path in _files():
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            for key in CITATION.findall(line):
                if key not in defined:
                    missing.append(f"{path.relative_to(ROOT)}:{number}: [{key}]")
    assert missing == []


def test_the_code_cites_keys():
    # The check above must have something to check: the code cites sources by key.
    cited = set()
    for path in _files():
        cited.update(CITATION.findall(path.read_text(encoding="utf-8", errors="replace")))
    assert {"IEC60825-1", "CarslawJaeger1959", "Kamper2010"} <= cited


def test_no_file_points_outside_the_repository():
    pointing = []
    for path in _files():
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if OUTSIDE.search(line) and path != Path(__file__).resolve():
                pointing.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    assert pointing == []


def test_paths_into_the_docs_exist():
    broken = []
    for path in _files():
        for target in DOCS_PATH.findall(path.read_text(encoding="utf-8", errors="replace")):
            if not (ROOT / target).exists():
                broken.append(f"{path.relative_to(ROOT)}: {target}")
    assert broken == []


@pytest.mark.parametrize(
    ("line", "keys"),
    [
        ("# 36.31 W/m2 [IEC60825-1] worked example [D]", ["IEC60825-1"]),
        ("# dT = 2 q0 sqrt(kappa t / pi) / k [CarslawJaeger1959].", ["CarslawJaeger1959"]),
        ("def f(x: list[Any]) -> dict[str, Outcome]: ...  # [S] [U] [mm]", []),
    ],
)
def test_citation_pattern_finds_keys_and_not_type_hints(line, keys):
    assert CITATION.findall(line) == keys
