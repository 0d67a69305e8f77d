"""The home-exercise library and each course's programme; the shipped exercises seeded.

Revision ID: 0014_exercises
Revises: 0006_outcome_courses
Create Date: 2026-12-02
"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

from laserdose.clinical.exercises import shipped_library

revision = "0014_exercises"
down_revision = "0006_outcome_courses"
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create exercises and course_exercises, and add the shipped library."""
    exercises = op.create_table(
        "exercises",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False, unique=True),
        sa.Column("instructions", sa.Text(), nullable=False),
        sa.Column("sets", sa.Integer(), nullable=False),
        sa.Column("repetitions", sa.Integer(), nullable=False),
        sa.Column("hold_s", sa.Integer(), nullable=False),
        sa.Column("per_week", sa.Integer(), nullable=False),
        sa.Column("drawing", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("evidence_note", sa.Text(), nullable=False),
        sa.Column("shipped", sa.Boolean(), nullable=False),
        sa.Column("retired", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("users.id")),
        sa.Column("created_at", _TZ, nullable=False),
    )
    op.create_table(
        "course_exercises",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("course_id", sa.Integer(), sa.ForeignKey("courses.id"), nullable=False, index=True),
        sa.Column("exercise_id", sa.Integer(), sa.ForeignKey("exercises.id"), nullable=False),
        sa.Column("sets", sa.Integer(), nullable=False),
        sa.Column("repetitions", sa.Integer(), nullable=False),
        sa.Column("hold_s", sa.Integer(), nullable=False),
        sa.Column("per_week", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("assigned_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("assigned_at", _TZ, nullable=False),
        sa.Column("stopped_at", _TZ),
        sa.Column("stopped_by_id", sa.Integer(), sa.ForeignKey("users.id")),
    )
    now = dt.datetime.now(dt.UTC)
    rows = [
        {
            "name": e.name, "instructions": e.instructions, "sets": e.dosage.sets,
            "repetitions": e.dosage.repetitions, "hold_s": e.dosage.hold_s, "per_week": e.dosage.per_week,
            "drawing": e.drawing, "evidence": e.evidence, "evidence_note": e.evidence_note, "shipped": True,
            "retired": False, "created_at": now,
        }
        for e in shipped_library()
    ]  # fmt: skip
    op.bulk_insert(exercises, rows)


def downgrade() -> None:
    """Drop the programme and library tables."""
    op.drop_table("course_exercises")
    op.drop_table("exercises")
