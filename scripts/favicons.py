"""Render the favicon's SVG to favicon.ico (16, 32, 48 px) and apple-touch-icon.png (180 px).

Run after changing src/laserdose/web/static/favicon.svg:
`python scripts/favicons.py` (needs playwright and Debian's chromium, as the browser tests do).
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

STATIC = Path(__file__).resolve().parent.parent / "src" / "laserdose" / "web" / "static"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def render(svg: str, size_px: int) -> Image.Image:
    """The SVG drawn by chromium at `size_px` x `size_px`, transparent outside the drawing."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": size_px, "height": size_px})
        page.set_content(f'<style>html,body{{margin:0;background:transparent}}svg{{display:block;width:{size_px}px;'
                         f'height:{size_px}px}}</style>{svg}')  # fmt: skip
        png = page.screenshot(omit_background=True)
        browser.close()
    return Image.open(io.BytesIO(png)).convert("RGBA")


def main() -> None:
    """Write favicon.ico and apple-touch-icon.png beside favicon.svg."""
    svg = (STATIC / "favicon.svg").read_text()
    render(svg, 180).save(STATIC / "apple-touch-icon.png", optimize=True)
    large = render(svg, 256)
    large.save(STATIC / "favicon.ico", sizes=[(16, 16), (32, 32), (48, 48)])


if __name__ == "__main__":
    main()
