"""A clinic-added protocol for the tests that need a plan which can be signed, with the real physics.

A clinic may add protocols (LASERDOSE_PROTOCOLS_DIR, clinical/protocols.py); this one copies
chronic-nonspecific-lbp with the prescription band widened to 0.1-10 x the reference dose (and the biphasic
bound to 10 x), so that patients whom the shipped band leaves outside (dark skin, high BMI) still get a
feasible plan. It is a test fixture, not a clinical recommendation.
"""

from __future__ import annotations

from pathlib import Path

from laserdose.clinical.protocols import shipped_dir

WIDE_PROTOCOL = "wide-window-test"


def write_wide_protocol(directory: Path) -> Path:
    """Write wide-window-test.toml into `directory` and return the directory."""
    text = (shipped_dir() / "chronic-nonspecific-lbp.toml").read_text(encoding="utf-8")
    text = text.replace('name = "chronic-nonspecific-lbp"', f'name = "{WIDE_PROTOCOL}"', 1)
    text = text.replace("band = [0.8, 1.25]", "band = [0.1, 10.0]").replace(
        "max_target_ratio = 2.0", "max_target_ratio = 10.0"
    )
    text = text.replace('title = "Chronic non-specific low back pain"', 'title = "Test clinic: wide band"', 1)
    assert f'name = "{WIDE_PROTOCOL}"' in text and "[0.1, 10.0]" in text, "the shipped protocol changed"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{WIDE_PROTOCOL}.toml").write_text(text, encoding="utf-8")
    return directory
