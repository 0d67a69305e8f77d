"""Every console example in the README and the documentation prints what the docs say it prints."""

import re
from pathlib import Path
from unittest import SkipTest

import pytest
from consoledocs import ROOT, SYBIL, Shell, apply_updates, documents, prepare

# Pages whose examples run the Monte Carlo engine or the heat solvers for more than a few seconds.
SLOW = {"docs/guide/simulate.md", "docs/guide/heat.md", "docs/guide/plan.md", "docs/guide/study.md",
        "docs/guide/device.md"}  # fmt: skip


def _param(path: Path):
    name = str(path.relative_to(ROOT))
    marks = [pytest.mark.slow] if name in SLOW else []
    return pytest.param(path, id=name, marks=marks)


@pytest.mark.parametrize("path", [_param(path) for path in documents()])
def test_console_examples(path, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")  # the width the examples were printed at
    monkeypatch.setenv("LASERDOSE_DATABASE_URL", f"sqlite:///{tmp_path}/default.sqlite3")
    prepare(tmp_path)
    document = SYBIL.parse(path)
    document.namespace["shell"] = Shell(cwd=tmp_path)
    failures, ran = [], 0
    for example in document.examples():
        try:
            example.evaluate()
            ran += 1
        except SkipTest:
            continue
        except Exception as exc:  # report every failing block of the page, not just the first
            failures.append(f"{path.relative_to(ROOT)}:{example.line}: {exc}")
    apply_updates(path, document.namespace.get("updates", []))
    assert failures == [], "\n\n".join(failures)
    assert ran > 0 or not re.search(r"^```console", path.read_text(encoding="utf-8"), re.MULTILINE)


def test_every_skipped_block_says_why():
    for path in documents():
        for match in re.finditer(r"(?<!`)<!--+\s*skip:\s*(\w+)(.*?)--+>", path.read_text(encoding="utf-8")):
            action, reason = match.group(1), match.group(2).strip()
            assert action in {"next", "start", "end"}
            if action != "end":
                assert reason.startswith('"') and len(reason) > 10, f"{path}: skip without a reason"


def test_console_blocks_are_found():
    document = SYBIL.parse(ROOT / "docs" / "guide" / "optics.md")
    assert len(list(document.examples())) >= 3
