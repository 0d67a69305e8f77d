"""Clinic-wide figures: responder rates by condition and protocol (MIC per Ostelo et al. 2008)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from laserdose.clinic.corrections import live
from laserdose.clinic.dose_accounting import count_doses
from laserdose.clinic.models import Course, Outcome, Patient, User
from laserdose.clinic.users import EDITORS, require_role
from laserdose.clinical import outcomes as scoring


@dataclass
class ResponderRate:
    """Courses of one condition and protocol with at least two assessments.

    Attributes:
        condition: the course's condition.
        protocol: the course's protocol.
        courses: courses with a baseline and a later assessment of at least one measure [-].
        assessed: per measure, courses with a baseline and a later score of it [-].
        responders: per measure, courses whose last score reaches the MIC from the first [-].
        recovered: courses whose last assessment has NRS 0 and RMDQ <= 2 (Kamper et al. 2010) [-].
        sessions_delivered: doses of these courses that reached the planned energy [-].
        sessions_interrupted: doses of these courses that ended short and were not completed [-].
    """

    condition: str
    protocol: str
    courses: int = 0
    assessed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    responders: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    recovered: int = 0
    sessions_delivered: int = 0
    sessions_interrupted: int = 0

    def rate(self, measure: str) -> float | None:
        """Responders / assessed for `measure` [-], or None if no course was assessed with it."""
        assessed = self.assessed.get(measure, 0)
        return self.responders.get(measure, 0) / assessed if assessed else None


def _measure_values(outcome: Outcome) -> dict[scoring.Measure, float]:
    values = {scoring.Measure.NRS: outcome.nrs, scoring.Measure.ODI: outcome.odi_percent,
              scoring.Measure.RMDQ: outcome.rmdq}  # fmt: skip
    return {measure: value for measure, value in values.items() if value is not None}


def _add_course(rate: ResponderRate, assessments: list[Outcome]) -> None:
    counted = False
    for measure in scoring.Measure:
        scores = [v[measure] for v in map(_measure_values, assessments) if measure in v]
        if len(scores) < 2:
            continue
        counted = True
        rate.assessed[measure.value] += 1
        rate.responders[measure.value] += scoring.is_responder(measure, scores[0], scores[-1])
    last = assessments[-1]
    rate.courses += counted
    if counted and last.nrs is not None and last.rmdq is not None:
        rate.recovered += scoring.is_recovered(last.nrs, last.rmdq)


def responder_rates(*, session: Session, actor: User) -> list[ResponderRate]:
    """Return responder rates per (condition, protocol), first to last assessment of each course.

    Voided assessments, and every assessment of a voided patient, are left out.
    """
    require_role(actor, *EDITORS)
    by_course: dict[int, list[Outcome]] = defaultdict(list)
    statement = select(Outcome).join(Patient, Patient.id == Outcome.patient_id)
    statement = statement.where(Outcome.course_id.is_not(None), live(Outcome), live(Patient))
    for outcome in session.scalars(statement.order_by(Outcome.assessed_on, Outcome.id)):
        by_course[outcome.course_id or 0].append(outcome)
    rates: dict[tuple[str, str], ResponderRate] = {}
    for course in session.scalars(select(Course).where(Course.id.in_(by_course))):
        key = (course.condition, course.protocol)
        rate = rates.setdefault(key, ResponderRate(*key))
        _add_course(rate, by_course[course.id])
        doses = count_doses(course)
        rate.sessions_delivered += doses.delivered
        rate.sessions_interrupted += doses.interrupted
    return sorted((r for r in rates.values() if r.courses), key=lambda r: (r.condition, r.protocol))
