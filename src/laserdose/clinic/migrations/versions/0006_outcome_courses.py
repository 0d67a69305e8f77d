"""Link outcomes saved without a course to the patient's course where that is unambiguous.

An outcome without a course whose patient has exactly one course is put on that course; the others stay
unlinked (`laserdose db unlinked-outcomes` lists them for a clinician to attach).

Revision ID: 0006_outcome_courses
Revises: 0004_power_checks
Create Date: 2026-12-02
"""

from alembic import op

revision = "0006_outcome_courses"
down_revision = "0004_power_checks"
branch_labels = None
depends_on = None

_LINK = """
UPDATE outcomes SET course_id = (
    SELECT MIN(courses.id) FROM courses WHERE courses.patient_id = outcomes.patient_id
)
WHERE course_id IS NULL
  AND (SELECT COUNT(*) FROM courses WHERE courses.patient_id = outcomes.patient_id) = 1
"""


def upgrade() -> None:
    """Link each unlinked outcome of a one-course patient to that course."""
    op.execute(_LINK)


def downgrade() -> None:
    """Nothing to undo: which links were made here is not recorded, and they are right either way."""
