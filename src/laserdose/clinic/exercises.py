"""The clinic's exercise library and each course's home programme (laserdose.clinical.exercises).

Clinicians add exercises and prescribe them in a course with a dosage; a prescription is stopped, never
deleted, so the programme a patient was given on any day stays readable. Every change is audited.
Like every clinic service: the session is keyword-only and never committed (the caller owns it).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from laserdose.clinic.course_closing import require_open
from laserdose.clinic.models import CourseExercise, Exercise, Role, User, utcnow
from laserdose.clinic.patients import readable_course
from laserdose.clinic.records import NotFound, audit_change, get_row
from laserdose.clinic.users import READERS, require_role
from laserdose.clinical.exercises import NAME_MAX, TEXT_MAX, Dosage, parse_drawing
from laserdose.errors import InputError


def library(*, session: Session, actor: User, include_retired: bool = False) -> list[Exercise]:
    """The exercises of the library, by name; retired ones only when asked."""
    require_role(actor, *READERS)
    query = select(Exercise).order_by(Exercise.name)
    if not include_retired:
        query = query.where(Exercise.retired.is_(False))
    return list(session.scalars(query))


def add_exercise(
    *,
    session: Session,
    actor: User,
    name: str,
    instructions: str,
    dosage: Dosage,
    drawing: str = "",
    evidence_note: str = "",
) -> Exercise:
    """Add the clinic's own exercise (clinicians); the name must be new to the library."""
    require_role(actor, Role.CLINICIAN)
    name, instructions = " ".join(name.split()), instructions.strip()
    if not 1 <= len(name) <= NAME_MAX:
        raise InputError(f"Name must be 1 to {NAME_MAX} characters.")
    if not 1 <= len(instructions) <= TEXT_MAX:
        raise InputError(f"Instructions must be 1 to {TEXT_MAX} characters.")
    if len(evidence_note) > TEXT_MAX:
        raise InputError(f"The evidence note must be at most {TEXT_MAX} characters.")
    parse_drawing(drawing)
    if session.scalar(select(Exercise.id).where(Exercise.name == name)) is not None:
        raise InputError(f"The library already has an exercise named {name!r}.")
    exercise = Exercise(
        name=name, instructions=instructions, sets=dosage.sets, repetitions=dosage.repetitions,
        hold_s=dosage.hold_s, per_week=dosage.per_week, drawing=drawing.strip(), evidence="clinic",
        evidence_note=evidence_note.strip(), created_by_id=actor.id,
    )  # fmt: skip
    session.add(exercise)
    session.flush()
    audit_change(session, actor, "exercise.add", "exercise", exercise.id, fields=["name", "dosage"])
    return exercise


def programme(*, session: Session, actor: User, course_id: int) -> list[CourseExercise]:
    """Every exercise ever prescribed in the course, current ones first, then by date."""
    course = readable_course(session=session, actor=actor, course_id=course_id)
    rows = session.scalars(select(CourseExercise).where(CourseExercise.course_id == course.id))
    return sorted(rows, key=lambda row: (row.stopped_at is not None, row.assigned_at, row.id))


def assign(
    *, session: Session, actor: User, course_id: int, exercise_id: int, dosage: Dosage | None, note: str = ""
) -> CourseExercise:
    """Prescribe an exercise in the course with its dosage (clinicians); one current entry per exercise.

    `dosage` None: the exercise's usual dosage from the library.
    """
    require_role(actor, Role.CLINICIAN)
    course = readable_course(session=session, actor=actor, course_id=course_id)
    require_open(course, "changing its exercise programme")
    exercise = get_row(session, Exercise, exercise_id, "exercise")
    if exercise.retired:
        raise InputError(f"{exercise.name} is retired from the library; choose another exercise.")
    if len(note) > TEXT_MAX:
        raise InputError(f"The note must be at most {TEXT_MAX} characters.")
    current = [
        row for row in programme(session=session, actor=actor, course_id=course.id) if row.stopped_at is None
    ]
    if any(row.exercise_id == exercise.id for row in current):
        raise InputError(f"{exercise.name} is already in this programme; stop it first to change its dosage.")
    dosage = dosage or dosage_of(exercise)
    row = CourseExercise(
        course_id=course.id, exercise_id=exercise.id, sets=dosage.sets, repetitions=dosage.repetitions,
        hold_s=dosage.hold_s, per_week=dosage.per_week, note=note.strip(), assigned_by_id=actor.id,
    )  # fmt: skip
    session.add(row)
    session.flush()
    audit_change(session, actor, "course.exercise.assign", "course", course.id, exercise=exercise.id)
    return row


def stop(
    *, session: Session, actor: User, course_id: int, entry_id: int, now: dt.datetime | None = None
) -> None:
    """Stop a prescribed exercise (clinicians); it stays in the programme's history."""
    require_role(actor, Role.CLINICIAN)
    course = readable_course(session=session, actor=actor, course_id=course_id)
    require_open(course, "changing its exercise programme")
    row = session.get(CourseExercise, entry_id)
    if row is None or row.course_id != course.id:
        raise NotFound(f"no exercise {entry_id} in course {course_id}")
    if row.stopped_at is not None:
        raise InputError(f"{row.exercise.name} was already stopped on {row.stopped_at.date()}.")
    row.stopped_at, row.stopped_by_id = now or utcnow(), actor.id
    audit_change(session, actor, "course.exercise.stop", "course", course.id, exercise=row.exercise_id)


def dosage_of(row: CourseExercise | Exercise) -> Dosage:
    """The dosage stored on a library exercise or a prescription."""
    return Dosage(row.sets, row.repetitions, row.hold_s, row.per_week)
