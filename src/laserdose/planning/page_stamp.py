"""The identification printed at the foot of every page of a clinic report: whose record, who signed, what.

A printed page that comes loose from its report must still say which patient it belongs to and which
signed plan it shows. Each page therefore carries the patient's name, birth date and record number, the
signer and the signing time in UTC, a short form of the plan's SHA-256 fingerprint with where its full
form is, and "page n of N".

Drawn with matplotlib's object API on the report's own figures (no pyplot).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.figure import Figure
from matplotlib.lines import Line2D

SHORT_FINGERPRINT_CHARS = 16  # 64 bits of the SHA-256: enough to tell two plans apart by eye
STAMP_FONT_PT = 7.0
STAMP_TOP = 0.052  # the rule above the stamp, as a fraction of the page height; content stays above it
LINE_STEP = 0.013  # one 7 pt line on an A4 page, with leading, as a fraction of the page height


@dataclass(frozen=True)
class PageStamp:
    """Who and what a report's pages are about.

    Attributes:
        patient_name: the patient's full name.
        birth_date: the patient's date of birth.
        record_number: the patient's record number in the clinic.
        signed_by: the signing clinician's name; None while the plan is unsigned.
        signed_at: when the plan was signed (aware; printed in UTC); None while unsigned.
        plan_sha256: the plan document's fingerprint (SHA-256 of its canonical JSON, 64 hex digits), or
            None when there is no plan document.
        fingerprint_home: where else the full fingerprint is written (the audit log entry of the signing);
            every report prints it in full on its first page.
    """

    patient_name: str
    birth_date: dt.date
    record_number: str
    signed_by: str | None = None
    signed_at: dt.datetime | None = None
    plan_sha256: str | None = None
    fingerprint_home: str = ""

    def patient_line(self) -> str:
        """The patient's identification: name, birth date, record number."""
        born = f"{self.birth_date:%Y-%m-%d}"
        return f"Patient: {self.patient_name}   born {born}   record no. {self.record_number}"

    def signature_line(self) -> str:
        """The signer, the signing time (UTC) and the plan's fingerprint in short, with where the full is."""
        signed = "Plan NOT SIGNED (draft)"
        if self.signed_by is not None and self.signed_at is not None:
            signed = f"Plan signed by {self.signed_by} on {utc_text(self.signed_at)}"
        if self.plan_sha256 is None:
            return signed
        where = f" and in {self.fingerprint_home}" if self.fingerprint_home else ""
        return f"{signed}   plan SHA-256 {short_fingerprint(self.plan_sha256)}... (in full on page 1{where})"


def utc_text(moment: dt.datetime) -> str:
    """`moment` as "YYYY-MM-DD HH:MM:SS UTC" (an aware datetime; a naive one is refused)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: give a time zone (UTC inside laserdose)")
    return f"{moment.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC"


def short_fingerprint(sha256_hex: str) -> str:
    """The first SHORT_FINGERPRINT_CHARS hex digits of a SHA-256 (compare them with the full one's start)."""
    return sha256_hex[:SHORT_FINGERPRINT_CHARS]


def stamp_rows(stamp: PageStamp) -> list[tuple[str, str, str]]:
    """The stamp in full as (section, item, value) rows for a report's first page."""
    rows = [
        ("patient", "name", stamp.patient_name),
        ("patient", "birth date", f"{stamp.birth_date:%Y-%m-%d}"),
        ("patient", "record number", stamp.record_number),
    ]
    if stamp.signed_by is None or stamp.signed_at is None:
        rows.append(("signature", "signed", "NOT SIGNED: a draft from the plan editor"))
    else:
        rows += [
            ("signature", "signed by", stamp.signed_by),
            ("signature", "signed at", utc_text(stamp.signed_at)),
        ]
    if stamp.plan_sha256 is not None:
        half = len(stamp.plan_sha256) // 2  # two halves: the value column wraps at the space, not mid-word
        rows.append(
            (
                "signature",
                "plan SHA-256 (canonical JSON)",
                f"{stamp.plan_sha256[:half]} {stamp.plan_sha256[half:]}",
            )
        )
    if stamp.fingerprint_home:
        rows.append(("signature", "fingerprint also in", stamp.fingerprint_home))
    return rows


def stamp_pages(pages: Sequence[Figure], stamp: PageStamp) -> None:
    """Print `stamp` and "page n of N" at the foot of every page, under a thin rule."""
    for number, page in enumerate(pages, start=1):
        rule = Line2D([0.06, 0.94], [STAMP_TOP, STAMP_TOP], transform=page.transFigure, linewidth=0.5,
                      color="#555555")  # fmt: skip
        page.add_artist(rule)
        page.text(0.06, STAMP_TOP - LINE_STEP, stamp.patient_line(), fontsize=STAMP_FONT_PT, weight="bold")
        page.text(0.06, STAMP_TOP - 2 * LINE_STEP, stamp.signature_line(), fontsize=STAMP_FONT_PT)
        page.text(0.94, STAMP_TOP - LINE_STEP, f"page {number} of {len(pages)}", fontsize=STAMP_FONT_PT,
                  ha="right")  # fmt: skip
