"""Visit notes: subjective, objective, assessment and plan of each visit, with pain before and after.

Revision ID: 0015_visit_notes
Revises: 0014_exercises
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_visit_notes"
down_revision = "0014_exercises"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create visit_notes."""
    op.create_table(
        "visit_notes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("course_id", sa.Integer(), sa.ForeignKey("courses.id"), nullable=False, index=True),
        sa.Column("session_id", sa.Integer(), sa.ForeignKey("treatment_sessions.id")),
        sa.Column("author_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("visit_on", sa.Date(), nullable=False),
        sa.Column("subjective", sa.Text(), nullable=False),
        sa.Column("objective", sa.Text(), nullable=False),
        sa.Column("assessment", sa.Text(), nullable=False),
        sa.Column("plan", sa.Text(), nullable=False),
        sa.Column("pain_before", sa.Integer()),
        sa.Column("pain_after", sa.Integer()),
        sa.Column("exercise_adherence_percent", sa.Float()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("pain_before BETWEEN 0 AND 10", name="ck_visit_notes_pain_before"),
        sa.CheckConstraint("pain_after BETWEEN 0 AND 10", name="ck_visit_notes_pain_after"),
        sa.CheckConstraint("exercise_adherence_percent BETWEEN 0 AND 100", name="ck_visit_notes_adherence"),
    )


def downgrade() -> None:
    """Drop visit_notes."""
    op.drop_table("visit_notes")
