"""A course's body chart: the zones of the back the clinician marks as treated (clinical.body_chart).

Marked by a clinician, at any time while the course runs: each change is audited with the zones before and
after (zone names only: no patient data), so what was marked on any day stays readable in the audit log.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from laserdose.clinic.course_closing import require_open
from laserdose.clinic.models import Course, Role, User
from laserdose.clinic.patients import readable_course
from laserdose.clinic.records import audit_change
from laserdose.clinic.users import require_role
from laserdose.clinical.body_chart import check_zones


def mark(*, session: Session, actor: User, course_id: int, zones: Iterable[str]) -> Course:
    """Set the course's marked zones (clinicians); unknown zones are refused, order and repeats ignored."""
    require_role(actor, Role.CLINICIAN)
    course = readable_course(session=session, actor=actor, course_id=course_id)
    require_open(course, "changing its body chart")
    chosen = list(check_zones(zones))
    if chosen != list(course.body_chart):
        before, course.body_chart = list(course.body_chart), chosen
        audit_change(session, actor, "course.body_chart", "course", course.id, before=before, after=chosen)
    return course
