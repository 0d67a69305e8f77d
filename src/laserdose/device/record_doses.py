"""Doses in a session record file: completing the interrupted last one, and the same-day rule.

`laserdose treat --record R` appends every session of one patient's course to R. `--complete` delivers
what remains of the plan after the record's last session, when that session was interrupted and its
energy can be trusted: it ended with an outcome (recovered from the machine's own counter if the host
died), no light is unaccounted (`unaccounted_max_j` 0: the link held), and each planned wavelength has
a finite reading. A completion's session entry names the session it completes (`completes`) and the plan
of the whole dose (`dose_plan`); an interrupted completion can be completed in turn, from the sum.

A new dose on a calendar day on which the record already shows light delivered by the same plan needs
the operator's confirmation with a reason, written into the new session's entry.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from laserdose.device.plan import remainder_delivery, set_params
from laserdose.domain.plan import Delivery
from laserdose.errors import InputError

MIN_REASON_CHARS = 10
# Stop reasons after which the machine's energy counter itself is in doubt: it disagreed with the host's
# integral of the sampled power, went backwards, or a measurement could not be read (device/monitor.py).
COUNTER_DOUBTS = ("host integral", "energy counter", "malformed measurement")


@dataclass(frozen=True)
class RecordedSession:
    """One session of a record file: its opening entry and its outcome (None while open)."""

    head: dict[str, Any]
    outcome: dict[str, Any] | None

    @property
    def session_id(self) -> str:
        """The id the host sent with SET_PARAMS."""
        return str(self.head.get("session_id", ""))

    @property
    def dose_plan(self) -> dict[str, Any]:
        """The SET_PARAMS of the whole dose this session belongs to."""
        plan = self.head.get("dose_plan", self.head.get("plan", {}))
        return plan if isinstance(plan, dict) else {}

    @property
    def delivered_j(self) -> float:
        """Energy over all wavelengths by its outcome (0 while open) [J]."""
        values = (self.outcome or {}).get("delivered_j", {})
        return sum(float(v) for v in values.values()) if isinstance(values, dict) else 0.0


def recorded_sessions(entries: list[dict[str, Any]]) -> list[RecordedSession]:
    """The sessions of a record's entries, oldest first."""
    starts = [i for i, entry in enumerate(entries) if entry.get("kind") == "session"]
    sessions = []
    for begin, end in zip(starts, [*starts[1:], len(entries)], strict=False):  # none: no sessions
        outcomes = [e for e in entries[begin:end] if e.get("kind") == "outcome"]
        sessions.append(RecordedSession(entries[begin], outcomes[-1] if outcomes else None))
    return sessions


def _same_plan(session: RecordedSession, delivery: Delivery) -> bool:
    return session.dose_plan == set_params(delivery)


def _trusted_energy(session: RecordedSession, keys: set[str]) -> dict[str, float]:
    """The session's delivered energy per wavelength; InputError saying why it cannot be trusted."""
    outcome = session.outcome
    if outcome is None:
        raise InputError("its record has no outcome (the session is still open)")
    try:
        unaccounted_j = float(outcome.get("unaccounted_max_j", 0.0) or 0.0)
    except (TypeError, ValueError):
        raise InputError("its outcome's unaccounted energy is not a number") from None
    if not unaccounted_j == 0.0:  # NaN too
        raise InputError(f"up to {unaccounted_j:.1f} J may have gone unrecorded ({outcome.get('reason')})")
    reason = str(outcome.get("reason", ""))
    if any(doubt in reason for doubt in COUNTER_DOUBTS):
        raise InputError(f"the machine's energy counter was in doubt ({reason})")
    delivered = outcome.get("delivered_j", {})
    if not isinstance(delivered, dict) or set(delivered) != keys:
        raise InputError(
            f"its outcome has no energy reading for every planned wavelength ({sorted(keys)} nm)"
        )
    values = {}
    for key, value in delivered.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise InputError(f"its {key} nm energy is not a number ({value!r})")
        values[key] = float(value)
    return values


def completion_from_record(entries: list[dict[str, Any]], delivery: Delivery) -> tuple[Delivery, str]:
    """The remainder that completes the record's interrupted last dose, and the session it follows.

    Raises:
        InputError: no session, another plan, a completed or untrustworthy last session, nothing left.
    """
    sessions = recorded_sessions(entries)
    if not sessions:
        raise InputError("the record holds no session to complete")
    last = sessions[-1]
    if not _same_plan(last, delivery):
        raise InputError("the record's last session delivered another plan; complete it with that plan")
    if last.outcome is not None and last.outcome.get("completed") is True:
        raise InputError("the record's last session was completed; nothing to complete")
    by_id = {s.session_id: s for s in sessions}
    chain, current = [last], last
    while current.head.get("completes"):
        current = by_id.get(str(current.head["completes"]))  # type: ignore[assignment]
        if current is None:
            raise InputError("the session it completes is not in this record")
        chain.append(current)
    planned = set(set_params(delivery)["energy_limit_j"])
    delivered = dict.fromkeys(planned, 0.0)
    for session in chain:
        try:
            energy = _trusted_energy(session, planned)
        except InputError as exc:
            raise InputError(f"session {session.session_id or '?'} cannot be completed: {exc}") from None
        for key, value in energy.items():
            delivered[key] += value
    return remainder_delivery(delivery, delivered), last.session_id


def same_day_sessions(
    entries: list[dict[str, Any]], delivery: Delivery, now: dt.datetime, zone: ZoneInfo,
    besides: str | None = None,
) -> list[RecordedSession]:  # fmt: skip
    """Sessions of the same plan that delivered light on `now`'s calendar day in `zone`.

    `besides`: the session a completion follows; its dose is not a second dose.
    """
    day = now.astimezone(zone).date()
    found = []
    dose_of = {s.session_id: s.head.get("completes") for s in recorded_sessions(entries)}
    excluded: set[str] = set()
    current = besides
    while current:
        excluded.add(current)
        current = dose_of.get(current)
    for session in recorded_sessions(entries):
        when = dt.datetime.fromtimestamp(float(session.head.get("wall_time", 0.0)), dt.UTC)
        if session.session_id in excluded or not _same_plan(session, delivery):
            continue
        if when.astimezone(zone).date() == day and session.delivered_j > 0.0:
            found.append(session)
    return found


def same_day_note(
    earlier: list[RecordedSession], operator: str, reason: str | None, now: dt.datetime, zone: ZoneInfo
) -> dict[str, Any]:
    """The confirmation to write into the new session's entry; InputError when one is needed and missing."""
    if not earlier:
        return {}
    text = (reason or "").strip()
    if len(text) < MIN_REASON_CHARS:
        first = earlier[0]
        at = dt.datetime.fromtimestamp(float(first.head.get("wall_time", 0.0)), zone)
        raise InputError(
            f"the record already has a dose of this plan on {at.date()} (clinic time, {zone.key}) at "
            f"{at:%H:%M}, {first.delivered_j:.0f} J; give --same-day-reason (at least {MIN_REASON_CHARS} "
            "characters) to deliver a second one that day"
        )
    return {"same_day_confirmation": {"by": operator, "at": now.isoformat(), "reason": text}}


@dataclass(frozen=True)
class RecordDoses:
    """The doses of one plan in a record: delivered and interrupted counted apart.

    Attributes:
        delivered: doses whose last session reached the planned energy [-].
        interrupted_j: energy of each interrupted dose, oldest first [J].
        planned_j: energy of one dose of the plan [J].
    """

    delivered: int
    interrupted_j: tuple[float, ...]
    planned_j: float

    def sentence(self) -> str:
        """The count for people: "2 delivered, 1 interrupted (68 J of 120 J)"."""
        text = f"{self.delivered} delivered"
        if self.interrupted_j:
            energies = " and ".join(f"{e:.0f} J" for e in self.interrupted_j)
            text += f", {len(self.interrupted_j)} interrupted ({energies} of {self.planned_j:.0f} J)"
        return text


def record_doses(entries: list[dict[str, Any]], delivery: Delivery) -> RecordDoses:
    """Count the record's closed doses of `delivery`'s plan (a completion joins the dose it completes)."""
    sessions = [s for s in recorded_sessions(entries) if _same_plan(s, delivery) and s.outcome is not None]
    completed_by = {str(s.head["completes"]): s for s in sessions if s.head.get("completes")}
    delivered, interrupted = 0, []
    for first in (s for s in sessions if not s.head.get("completes")):
        chain = [first]
        while chain[-1].session_id in completed_by:
            chain.append(completed_by[chain[-1].session_id])
        if (chain[-1].outcome or {}).get("completed") is True:
            delivered += 1
        else:
            interrupted.append(sum(s.delivered_j for s in chain))
    return RecordDoses(delivered, tuple(interrupted), delivery.total_energy_j)
