"""The clinic's day: appointments of signed courses, the safety checklist before emission, consent.

Signed courses that exist already get their appointments as signing would have made them (from their
signing time and sessions per week); their delivered sessions are put on appointments 1, 2, ... in the
order they started, as far as the course has appointments.

Revision ID: 0010_clinic_day
Revises: 0009_patient_names
Create Date: 2026-12-02
"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

from laserdose.clinic.schedule import session_times

revision = "0010_clinic_day"
down_revision = "0009_patient_names"
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)
_APPOINTMENTS = sa.table(
    "appointments", sa.column("id", sa.Integer()), sa.column("course_id", sa.Integer()),
    sa.column("number", sa.Integer()), sa.column("planned_at", _TZ), sa.column("move_reason", sa.Text()),
    sa.column("created_at", _TZ),
)  # fmt: skip


def upgrade() -> None:
    """Create appointments, safety_checklists and consents; link treatment sessions to both."""
    op.create_table(
        "appointments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("course_id", sa.Integer(), sa.ForeignKey("courses.id"), nullable=False, index=True),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("planned_at", _TZ, nullable=False, index=True),
        sa.Column("move_reason", sa.Text(), nullable=False),
        sa.Column("created_at", _TZ, nullable=False),
        sa.UniqueConstraint("course_id", "number", name="uq_appointments_course_number"),
        sa.CheckConstraint("number > 0", name="ck_appointments_number"),
    )
    op.create_table(
        "safety_checklists",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "appointment_id", sa.Integer(), sa.ForeignKey("appointments.id"), nullable=False, index=True
        ),
        sa.Column("completed_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("completed_at", _TZ, nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("eyewear", sa.JSON(), nullable=False),
    )
    op.create_table(
        "consents",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("course_id", sa.Integer(), sa.ForeignKey("courses.id"), nullable=False, unique=True),
        sa.Column("patient_name", sa.String(200), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("taken_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("recorded_at", _TZ, nullable=False),
        sa.Column("form_version", sa.String(32), nullable=False),
    )
    with op.batch_alter_table("treatment_sessions") as batch:
        batch.add_column(sa.Column("appointment_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("checklist_id", sa.Integer(), nullable=True))
        batch.create_index("ix_treatment_sessions_appointment_id", ["appointment_id"])
        batch.create_unique_constraint("uq_treatment_sessions_checklist_id", ["checklist_id"])
        batch.create_foreign_key(
            "fk_treatment_sessions_appointment", "appointments", ["appointment_id"], ["id"]
        )
        batch.create_foreign_key(
            "fk_treatment_sessions_checklist", "safety_checklists", ["checklist_id"], ["id"]
        )
    _schedule_signed_courses()


def _schedule_signed_courses() -> None:
    bind = op.get_bind()
    courses = bind.execute(
        sa.text("SELECT id, signed_at, sessions_planned, sessions_per_week FROM courses "
                "WHERE signed_at IS NOT NULL ORDER BY id")
    ).all()  # fmt: skip
    now = dt.datetime.now(dt.UTC)
    for course_id, signed_at, planned, per_week in courses:
        if isinstance(signed_at, str):  # SQLite returns the stored text
            signed_at = dt.datetime.fromisoformat(signed_at)
        if signed_at.tzinfo is None:
            signed_at = signed_at.replace(tzinfo=dt.UTC)
        sessions = bind.execute(
            sa.text("SELECT id FROM treatment_sessions WHERE course_id = :c ORDER BY started_at, id"),
            {"c": course_id},
        ).scalars().all()  # fmt: skip
        for number, planned_at in enumerate(session_times(signed_at, planned, min(per_week, 7)), 1):
            appointment_id = bind.execute(
                sa.insert(_APPOINTMENTS).returning(_APPOINTMENTS.c.id),
                {"course_id": course_id, "number": number, "planned_at": planned_at, "move_reason": "",
                 "created_at": now},
            ).scalar_one()  # fmt: skip
            if number <= len(sessions):
                bind.execute(
                    sa.text("UPDATE treatment_sessions SET appointment_id = :a WHERE id = :s"),
                    {"a": appointment_id, "s": sessions[number - 1]},
                )


def downgrade() -> None:
    """Drop the links, then the tables."""
    with op.batch_alter_table("treatment_sessions") as batch:
        batch.drop_constraint("fk_treatment_sessions_checklist", type_="foreignkey")
        batch.drop_constraint("fk_treatment_sessions_appointment", type_="foreignkey")
        batch.drop_constraint("uq_treatment_sessions_checklist_id", type_="unique")
        batch.drop_index("ix_treatment_sessions_appointment_id")
        batch.drop_column("checklist_id")
        batch.drop_column("appointment_id")
    op.drop_table("consents")
    op.drop_table("safety_checklists")
    op.drop_table("appointments")
