"""Form fields of the dose pages: the console's start (a completion, a same-day confirmation)."""

from __future__ import annotations

from starlette.datastructures import FormData

from laserdose.clinic.completion import SameDay
from laserdose.errors import InputError

MAX_ID = 2**31 - 1  # the id columns are 32-bit integers


def console_start_form(form: FormData) -> tuple[int | None, SameDay | None]:
    """The session a start completes (or None) and the same-day confirmation (or None).

    The confirmation counts only when its box is ticked; its reason is checked by the service.
    """
    raw = str(form.get("complete_session_id", "")).strip()
    completes = None
    if raw:
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_ID:
            raise InputError("the session to complete must be a session number")
        completes = int(raw)
    same_day = SameDay(str(form.get("same_day_reason", ""))) if form.get("confirm_same_day") else None
    return completes, same_day
