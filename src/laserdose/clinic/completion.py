"""Completing an interrupted session, and the confirmation a second dose on one day needs.

An interrupted dose is completed with what remains of the same plan: per wavelength, the planned energy
minus what the dose's sessions delivered by their records (`device.plan.remainder_delivery`). Only a
record whose energy can be trusted is completed: one that ended normally, with a reading per wavelength,
and without an interruption that leaves light unaccounted (the server or the link lost mid-session).

A new dose on the calendar day (the clinic's zone, `local_day`) of an earlier dose of the same course is
refused unless the user confirms it with a reason; who, when and why are stored on the session.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from laserdose.clinic.dose_accounting import Dose, dose_of, doses, planned_delivery, session_energy_j
from laserdose.clinic.local_day import clinic_zone, local_date
from laserdose.clinic.models import Course, TreatmentSession, User, utcnow
from laserdose.clinic.records import Conflict
from laserdose.device.plan import remainder_delivery
from laserdose.device.record_doses import COUNTER_DOUBTS
from laserdose.domain.plan import Delivery
from laserdose.errors import InputError

MIN_REASON_CHARS = 10  # a second dose on one day needs a reason of a few words at least
# Interruptions after which the record's energy is a lower bound only: light may have gone unrecorded.
# (COUNTER_DOUBTS: those after which the machine's energy counter itself was in doubt.)
UNACCOUNTED = ("the server stopped", "link lost", "console error", "the host stopped")


def energy_doubt(record: TreatmentSession, wavelengths: set[str]) -> str:
    """Why the record's delivered energy cannot be trusted for a completion, or "" when it can."""
    if record.status == "running":
        return "it is still running"
    for item in record.interruptions:
        reason = str(item.get("reason", ""))
        if reason.startswith(UNACCOUNTED) or any(doubt in reason for doubt in COUNTER_DOUBTS):
            return f"its energy is uncertain ({reason})"
    energies = record.energy_j_by_wavelength
    if not energies and record.duration_s == 0.0:
        return ""  # never armed: nothing was emitted
    if set(energies) != wavelengths:
        return f"it recorded energy for {sorted(energies)} nm, the plan is for {sorted(wavelengths)} nm"
    return ""


@dataclass(frozen=True)
class Completion:
    """What completing an interrupted dose delivers.

    Attributes:
        dose: the interrupted dose.
        delivery: the remainder of the plan for the machine.
        delivered_j: what the dose's sessions delivered per wavelength [J].
    """

    dose: Dose
    delivery: Delivery
    delivered_j: dict[str, float]

    @property
    def completes_session_id(self) -> int:
        """The session the completion follows (the dose's latest)."""
        return self.dose.last.id


def completion_of(course: Course, session_id: int) -> Completion:
    """The remainder that completes the interrupted dose whose latest session is `session_id`.

    Raises:
        Conflict: the session is not the latest of an interrupted dose of this course, or its energy
            cannot be trusted, or nothing remains.
    """
    dose = dose_of(course.sessions, session_id)
    if dose is None:
        raise Conflict(f"treatment session {session_id} is not a session of course {course.id}")
    if dose.state != "interrupted":
        raise Conflict(f"treatment session {session_id} is part of a dose that is {dose.state}")
    if dose.last.id != session_id:
        raise Conflict(f"treatment session {session_id} was already completed by session {dose.last.id}")
    delivery = planned_delivery(course)
    if delivery is None:
        raise Conflict(f"course {course.id} has no plan the machine can deliver")
    planned = {f"{wl:g}" for wl in delivery.power_w_by_wavelength}
    delivered = dict.fromkeys(planned, 0.0)
    for record in dose.sessions:
        doubt = energy_doubt(record, planned)
        if doubt:
            raise Conflict(f"treatment session {record.id} cannot be completed: {doubt}")
        for key, energy_j in record.energy_j_by_wavelength.items():
            delivered[key] += float(energy_j)
    try:
        rest = remainder_delivery(delivery, delivered)
    except InputError as exc:
        raise Conflict(f"treatment session {session_id} cannot be completed: {exc}") from None
    return Completion(dose, rest, delivered)


@dataclass(frozen=True)
class SameDay:
    """A user's confirmation that a second dose on one calendar day is meant (the reason, free text)."""

    reason: str


def same_day_doses(course: Course, day: dt.date, zone: ZoneInfo, *, besides: int | None) -> list[Dose]:
    """The course's doses that emitted light on `day` (clinic zone), except the one holding `besides`."""
    found = []
    for dose in doses(course.sessions):
        if besides is not None and any(r.id == besides for r in dose.sessions):
            continue
        emitted = [r for r in dose.sessions if session_energy_j(r) > 0.0 or r.status == "running"]
        if any(local_date(r.started_at, zone) == day for r in emitted):
            found.append(dose)
    return found


def require_same_day_confirmation(
    course: Course, actor: User, started_at: dt.datetime, confirmation: SameDay | None,
    *, besides: int | None = None, zone: ZoneInfo | None = None,
) -> dict[str, object]:  # fmt: skip
    """The confirmation fields to store on a new session, or Conflict when a needed one is missing.

    Args:
        course: the course of the new session.
        actor: the user who starts or records it (the confirmer).
        started_at: when it starts (aware).
        confirmation: the user's confirmation, or None.
        besides: a session of the dose being completed (a completion is not a second dose of its own).
        zone: the clinic's zone (default `clinic_zone()`).
    """
    zone = zone or clinic_zone()
    day = local_date(started_at, zone)
    earlier = same_day_doses(course, day, zone, besides=besides)
    if not earlier:
        return {}
    reason = confirmation.reason.strip() if confirmation is not None else ""
    if len(reason) < MIN_REASON_CHARS:
        first = earlier[0].first
        at = first.started_at.astimezone(zone)
        raise SameDayConfirmationNeeded(
            f"course {course.id} already had a dose on {day.isoformat()} (clinic time, {zone.key}): "
            f"session {first.id} at {at:%H:%M}, {earlier[0].energy_j:.0f} J; a second dose that day needs "
            f"a confirmation with a reason (at least {MIN_REASON_CHARS} characters)"
        )
    return {
        "same_day_confirmed_by_id": actor.id, "same_day_confirmed_at": utcnow(), "same_day_reason": reason,
    }  # fmt: skip


class SameDayConfirmationNeeded(Conflict):
    """A second dose on one calendar day without the user's confirmation."""


@dataclass(frozen=True)
class DoseOptions:
    """What the console offers for a course now: completions, and whether a new dose needs confirming.

    Attributes:
        completions: the interrupted doses that can be completed, oldest first.
        not_completable: (session id, why) of the interrupted doses that cannot.
        today: the ended doses that emitted light on the clinic's calendar day of `now`.
        zone: the clinic's zone name.
    """

    completions: list[Completion]
    not_completable: list[tuple[int, str]]
    today: list[Dose]
    zone: str


def dose_options(course: Course, now: dt.datetime, zone: ZoneInfo | None = None) -> DoseOptions:
    """The completions and the same-day state of `course` at `now` (for the console and the chart)."""
    zone = zone or clinic_zone()
    completions, refused = [], []
    for dose in doses(course.sessions):
        if dose.state != "interrupted":
            continue
        try:
            completions.append(completion_of(course, dose.last.id))
        except Conflict as exc:
            refused.append((dose.last.id, str(exc)))
    today = [
        d for d in same_day_doses(course, local_date(now, zone), zone, besides=None) if d.state != "running"
    ]
    return DoseOptions(completions, refused, today, zone.key)
