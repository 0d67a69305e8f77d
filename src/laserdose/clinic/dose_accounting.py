"""Counting a course's doses: complete and interrupted sessions apart, a completion joined to its start.

A dose is one session, or an interrupted session and the completions that delivered the rest of the same
plan (each linked by `completes_session_id` to the one before). A dose is delivered when its last session
reached the planned energy, interrupted when it ended short, running while the console delivers it. The
chart, the course report, the API and the CLI all count with `count_doses` and say it with `sentence`:
"3 of 10 delivered, 1 interrupted (68 J of 120 J)". Voided sessions are never counted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from laserdose.clinic.models import Course, TreatmentSession
from laserdose.clinic.plans import stored_plan_json
from laserdose.domain.plan import Delivery, read_delivery
from laserdose.errors import InputError

RUNNING = "running"


def session_energy_j(record: TreatmentSession) -> float:
    """Energy the session delivered over all wavelengths [J]."""
    return sum(float(v) for v in record.energy_j_by_wavelength.values())


@dataclass(frozen=True)
class Dose:
    """One dose of a course: its first session and any completions, oldest first."""

    sessions: tuple[TreatmentSession, ...]

    @property
    def first(self) -> TreatmentSession:
        """The session that started the dose."""
        return self.sessions[0]

    @property
    def last(self) -> TreatmentSession:
        """The latest session of the dose: the one a further completion would follow."""
        return self.sessions[-1]

    @property
    def state(self) -> str:
        """delivered, interrupted or running."""
        if self.last.status == RUNNING:
            return "running"
        return "delivered" if self.last.completed else "interrupted"

    @property
    def energy_j(self) -> float:
        """Energy over all its sessions and wavelengths [J]."""
        return sum(session_energy_j(record) for record in self.sessions)

    @property
    def started_at(self) -> dt.datetime:
        """When its first session started (UTC)."""
        return self.first.started_at


def doses(records: Iterable[TreatmentSession]) -> list[Dose]:
    """Group a course's sessions into doses, in the order their first sessions started.

    Voided sessions (corrections.py) are left out: they count nowhere, not as a dose, not on the day of a
    second dose, not as what a completion follows. A completion of a voided session starts its own dose.
    """
    records = sorted((r for r in records if r.voided_at is None), key=lambda r: r.id)
    ids = {r.id for r in records}
    following = {r.completes_session_id: r for r in records if r.completes_session_id is not None}
    grouped = []
    for record in records:
        if record.completes_session_id in ids:
            continue
        chain = [record]
        while chain[-1].id in following:
            chain.append(following[chain[-1].id])
        grouped.append(Dose(tuple(chain)))
    return grouped


def dose_of(records: Iterable[TreatmentSession], record_id: int) -> Dose | None:
    """The dose one of whose sessions is `record_id`, or None."""
    return next((d for d in doses(records) if any(r.id == record_id for r in d.sessions)), None)


def planned_delivery(course: Course) -> Delivery | None:
    """The course's plan as the machine gets it (None when its plan holds no delivery)."""
    try:
        return read_delivery(stored_plan_json(course))
    except InputError:
        return None


@dataclass(frozen=True)
class DoseCount:
    """How many of a course's planned sessions were delivered, and what was interrupted.

    Attributes:
        planned: sessions planned [-].
        delivered: doses that reached the planned energy (a completed interruption counts once) [-].
        interrupted_j: energy of each interrupted dose, oldest first [J].
        running: doses being delivered now [-].
        planned_j: energy of one planned session over all wavelengths, None if the plan has none [J].
        energy_j: energy delivered over the whole course [J].
    """

    planned: int
    delivered: int
    interrupted_j: tuple[float, ...]
    running: int
    planned_j: float | None
    energy_j: float

    @property
    def interrupted(self) -> int:
        """Doses that ended short of the planned energy and were not completed [-]."""
        return len(self.interrupted_j)

    def sentence(self) -> str:
        """The count for people: "3 of 10 delivered, 1 interrupted (68 J of 120 J)"."""
        text = f"{self.delivered} of {self.planned} delivered"
        if self.interrupted_j:
            energies = " and ".join(f"{e:.0f} J" for e in self.interrupted_j)
            of = f" of {self.planned_j:.0f} J" if self.planned_j is not None else ""
            text += f", {self.interrupted} interrupted ({energies}{of})"
        if self.running:
            text += f", {self.running} running"
        return text


def count_doses(course: Course) -> DoseCount:
    """Count the course's doses (see the module's docstring)."""
    grouped = doses(course.sessions)
    delivery = planned_delivery(course)
    return DoseCount(
        planned=course.sessions_planned,
        delivered=sum(d.state == "delivered" for d in grouped),
        interrupted_j=tuple(d.energy_j for d in grouped if d.state == "interrupted"),
        running=sum(d.state == "running" for d in grouped),
        planned_j=sum(delivery.energy_j_by_wavelength.values()) if delivery is not None else None,
        energy_j=sum(d.energy_j for d in grouped),
    )
