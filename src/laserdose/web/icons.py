"""The inline reference to an icon of /static/icons.svg, as every page's templates show it (`icon(name)`)."""

from __future__ import annotations

import functools

from markupsafe import Markup

_ICON = Markup(
    '<svg class="icon" aria-hidden="true" focusable="false"><use href="/static/icons.svg#{}"></use></svg>'
)


@functools.lru_cache(maxsize=128)
def icon(name: str) -> Markup:
    """The icon called `name` (its id in icons.svg), escaped; made once per name (a page shows dozens)."""
    return _ICON.format(name)
