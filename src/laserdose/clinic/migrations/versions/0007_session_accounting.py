"""Closing a course; completing an interrupted session; confirming a second dose on one day.

A new table course_closures holds each closing (reason, note, outcome summary) and its reopening.
treatment_sessions gain completes_session_id (a unique index: an interrupted session is completed once)
and the same-day confirmation (same_day_confirmed_by_id, same_day_confirmed_at, same_day_reason).
Existing courses stay open and existing sessions unlinked. No table that others reference is rebuilt.

Revision ID: 0007_session_accounting
Revises: 0010_clinic_day
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_session_accounting"
down_revision = "0010_clinic_day"
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create course_closures; add the completion and confirmation columns to treatment_sessions."""
    op.create_table(
        "course_closures",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("course_id", sa.Integer(), sa.ForeignKey("courses.id"), nullable=False),
        sa.Column("closed_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("closed_at", _TZ, nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("reopened_by_id", sa.Integer(), sa.ForeignKey("users.id")),
        sa.Column("reopened_at", _TZ),
        sa.Column("reopen_reason", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "reason IN ('completed', 'stopped_early', 'referred', 'lost_to_follow_up')",
            name="ck_course_closures_reason",
        ),
    )
    op.create_index("ix_course_closures_course_id", "course_closures", ["course_id"])
    with op.batch_alter_table("treatment_sessions") as batch:
        batch.add_column(sa.Column("completes_session_id", sa.Integer()))
        batch.add_column(sa.Column("same_day_confirmed_by_id", sa.Integer()))
        batch.add_column(sa.Column("same_day_confirmed_at", _TZ))
        batch.add_column(sa.Column("same_day_reason", sa.Text(), nullable=False, server_default=""))
        batch.create_foreign_key(
            "fk_treatment_sessions_completes", "treatment_sessions", ["completes_session_id"], ["id"]
        )
        batch.create_foreign_key("fk_treatment_sessions_same_day_by", "users", ["same_day_confirmed_by_id"],
                                 ["id"])  # fmt: skip
        batch.create_index("uq_treatment_sessions_completes", ["completes_session_id"], unique=True)


def downgrade() -> None:
    """Drop the columns, the index and the table."""
    with op.batch_alter_table("treatment_sessions") as batch:
        batch.drop_index("uq_treatment_sessions_completes")
        batch.drop_constraint("fk_treatment_sessions_same_day_by", type_="foreignkey")
        batch.drop_constraint("fk_treatment_sessions_completes", type_="foreignkey")
        for name in ("same_day_reason", "same_day_confirmed_at", "same_day_confirmed_by_id",
                     "completes_session_id"):  # fmt: skip
            batch.drop_column(name)
    op.drop_index("ix_course_closures_course_id", table_name="course_closures")
    op.drop_table("course_closures")
