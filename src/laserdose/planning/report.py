"""Report pages drawn with matplotlib (no extra dependency), written together as one PDF."""

import textwrap
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
from matplotlib.backends.backend_pdf import PdfPages  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from laserdose.safety.summary import SafetySummary, summary_rows  # noqa: E402

A4_INCHES = (8.27, 11.69)
ROWS_PER_PAGE = 26
COLUMN_WIDTHS = (0.15, 0.33, 0.52)  # fractions of the page's table width
WRAP_CHARACTERS = (16, 40, 56)  # what fits each column at 7 pt
ROW_HEIGHT = 0.022  # one line of 7 pt text, as a fraction of the table's axes


def table_pages(title: str, rows: Sequence[tuple[str, str, str]]) -> list[Figure]:
    """A4 pages holding `rows` (section, item, value) as a table under `title`, continued as needed."""
    chunks = [rows[i : i + ROWS_PER_PAGE] for i in range(0, len(rows), ROWS_PER_PAGE)] or [rows]
    pages = []
    for number, chunk in enumerate(chunks, start=1):
        figure = Figure(figsize=A4_INCHES)
        suffix = f" ({number}/{len(chunks)})" if len(chunks) > 1 else ""
        figure.suptitle(title + suffix, x=0.08, y=0.96, ha="left", fontsize=14)
        axes = figure.add_axes((0.05, 0.05, 0.9, 0.86))
        axes.axis("off")
        cells = [
            [textwrap.fill(text, width) for text, width in zip(row, WRAP_CHARACTERS, strict=True)]
            for row in chunk
        ]
        table = axes.table(
            cellText=cells,
            colLabels=["section", "item", "value"],
            colWidths=list(COLUMN_WIDTHS),
            loc="upper left",
            cellLoc="left",
        )
        table.auto_set_font_size(False)
        table.set_fontsize(7)
        for (row, _column), cell in table.get_celld().items():
            lines = 1 if row == 0 else max(text.count("\n") + 1 for text in cells[row - 1])
            cell.set_height(ROW_HEIGHT * (lines + 0.4))
        pages.append(figure)
    return pages


def safety_pages(summary: SafetySummary) -> list[Figure]:
    """The laser safety summary of a machine (IEC 60825-1:2014) as report pages."""
    return table_pages(f"Laser safety summary: {summary.device}", summary_rows(summary))


def write_pdf(path: str | Path, pages: Sequence[Figure]) -> None:
    """Write `pages` as one PDF document."""
    with PdfPages(path, metadata={"Creator": "laserdose"}) as pdf:
        for page in pages:
            pdf.savefig(page)
