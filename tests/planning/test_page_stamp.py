"""The page stamp of clinic reports: what its lines say, and that it reaches every page."""

import datetime as dt

import pytest
from matplotlib.figure import Figure

from laserdose.planning.page_stamp import PageStamp, short_fingerprint, stamp_pages, stamp_rows, utc_text

SHA256 = "ab" * 32  # 64 hex digits
SIGNED = PageStamp(
    patient_name="Ada Example", birth_date=dt.date(1970, 5, 17), record_number="000042", signed_by="drwho",
    signed_at=dt.datetime(2026, 3, 1, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))), plan_sha256=SHA256,
    fingerprint_home="audit log entry 7 (course.sign)",
)  # fmt: skip


def test_the_signing_time_is_printed_in_utc_and_a_naive_time_is_refused():
    assert utc_text(SIGNED.signed_at) == "2026-03-01 08:30:00 UTC"  # 10:30 at UTC+2
    with pytest.raises(ValueError, match="naive"):
        utc_text(dt.datetime(2026, 3, 1, 10, 30))


def test_the_lines_name_the_patient_the_signer_and_where_the_full_fingerprint_is():
    assert SIGNED.patient_line() == "Patient: Ada Example   born 1970-05-17   record no. 000042"
    line = SIGNED.signature_line()
    assert line.startswith("Plan signed by drwho on 2026-03-01 08:30:00 UTC")
    assert f"plan SHA-256 {SHA256[:16]}..." in line and SHA256 not in line
    assert "in full on page 1 and in audit log entry 7 (course.sign)" in line
    assert short_fingerprint(SHA256) == SHA256[:16]
    draft = PageStamp("Ada Example", dt.date(1970, 5, 17), "000042", plan_sha256=SHA256)
    assert draft.signature_line().startswith("Plan NOT SIGNED (draft)")


def test_the_first_page_rows_hold_the_full_fingerprint():
    rows = stamp_rows(SIGNED)
    [fingerprint] = [value for _, item, value in rows if item == "plan SHA-256 (canonical JSON)"]
    assert fingerprint.replace(" ", "") == SHA256
    assert ("signature", "signed at", "2026-03-01 08:30:00 UTC") in rows


def test_every_page_gets_the_stamp_and_its_number():
    pages = [Figure() for _ in range(3)]
    stamp_pages(pages, SIGNED)
    for number, page in enumerate(pages, start=1):
        texts = [text.get_text() for text in page.texts]
        assert SIGNED.patient_line() in texts and SIGNED.signature_line() in texts
        assert f"page {number} of 3" in texts
