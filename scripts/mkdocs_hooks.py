"""MkDocs hooks: every reference key and trust mark gets an anchor on the references page.

Docstrings write a mark beside a key, "[S] [IEC60825-1]", which Markdown reads as a reference-style link;
with an anchor per key the site links it to the key's entry instead of warning about a missing target.
"""

import re
from typing import Any

ENTRY = re.compile(r"^- \*\*\[([^\]]+)\]\*\*", re.MULTILINE)


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    """Put an anchor `[](){#Key}` before each entry of docs/references.md."""
    if page.file.src_uri != "references.md":
        return markdown
    return ENTRY.sub(lambda match: f"- [](){{#{match.group(1)}}} **[{match.group(1)}]**", markdown)
