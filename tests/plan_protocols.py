"""A clinic-added protocol for the tests that need a plan which can be signed, with the real physics.

With the shipped fluence table the patient's uncertainty (fat and depth +/- 2 SD, optics +/- 10 %) spreads
the target dose over a factor of about 20, wider than the shipped windows (0.5-4 J/cm^2, a factor of 8), so
no shipped protocol gives a feasible plan and nothing could be signed. A clinic may add protocols
(LASERDOSE_PROTOCOLS_DIR, clinical/protocols.py); this one copies chronic-nonspecific-lbp with the window
widened to 0.01-30 J/cm^2 (30 J/cm^2: the inhibitory end of the biphasic response, Sharma 2011). It is a
test fixture, not a clinical recommendation.
"""

from __future__ import annotations

from pathlib import Path

from laserdose.clinical.protocols import shipped_dir

WIDE_PROTOCOL = "wide-window-test"


def write_wide_protocol(directory: Path) -> Path:
    """Write wide-window-test.toml into `directory` and return the directory."""
    text = (shipped_dir() / "chronic-nonspecific-lbp.toml").read_text(encoding="utf-8")
    text = text.replace('name = "chronic-nonspecific-lbp"', f'name = "{WIDE_PROTOCOL}"', 1)
    text = text.replace("window_j_per_cm2 = [0.5, 4.0]", "window_j_per_cm2 = [0.01, 30.0]")
    text = text.replace(
        'title = "Chronic non-specific low back pain"', 'title = "Test clinic: wide window"', 1
    )
    assert f'name = "{WIDE_PROTOCOL}"' in text and "[0.01, 30.0]" in text, "the shipped protocol changed"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{WIDE_PROTOCOL}.toml").write_text(text, encoding="utf-8")
    return directory
