"""Every page of a report carries the letterhead: clinic, maker, title, footer lines and "page n of N"."""

import io
import subprocess

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from laserdose.machines.profile import load_profile
from laserdose.planning.letterhead import BODY_BOTTOM, BODY_TOP, Letterhead, maker_line
from laserdose.planning.report import table_pages, write_pdf


def _pages_text(pdf: bytes) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True)
    return text.stdout.decode().split("\f")[:-1]  # pdftotext ends each page with a form feed


def test_each_page_says_who_issues_it_whose_machine_and_page_n_of_n():
    profile = load_profile("15w-dual")
    rows = [("section", f"item {i}", "value") for i in range(60)]  # more than two pages of rows
    pages = table_pages("Rows", rows)
    footer = ("Patient: Ada Example",)
    head = Letterhead("Test report", "Riverside Spine Clinic", profile, footer, "issued today")
    buffer = io.BytesIO()
    write_pdf(buffer, pages, head)
    texts = _pages_text(buffer.getvalue())
    assert len(texts) == len(pages) == 3
    for number, text in enumerate(texts, start=1):
        assert f"page {number} of 3" in text
        assert "Riverside Spine Clinic" in text and "Test report" in text
        assert "laserdose demo devices Dual 15" in text  # 15w-dual.toml: manufacturer and model
        assert "Patient: Ada Example" in text and "issued today" in text
    assert sum(len(axes.images) for axes in pages[0].axes) == 1  # the maker's logo, on the first page too


def test_without_a_clinic_or_machine_the_header_says_so():
    page = Figure()
    write_pdf(io.BytesIO(), [page], Letterhead("Plan"))
    texts = [t.get_text() for t in page.texts]
    assert "laserdose" in texts and "Plan" in texts and "page 1 of 1" in texts
    assert maker_line(None) in texts


def test_full_table_pages_stay_between_the_header_and_the_footer():
    two_lines = ("section", "item", "a value long enough to wrap onto a second line of its column")
    for page in table_pages("Rows", [two_lines] * 52):
        renderer = FigureCanvasAgg(page).get_renderer()
        page.draw(renderer)
        [table] = page.axes[0].tables
        box = table.get_window_extent(renderer).transformed(page.transFigure.inverted())
        assert BODY_BOTTOM <= box.y0 and box.y1 <= BODY_TOP
