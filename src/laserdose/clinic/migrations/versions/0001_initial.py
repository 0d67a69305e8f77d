"""Initial clinic schema: users, patients, screenings, courses, sessions, outcomes, audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)

_SQLITE_APPEND_ONLY = [
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
]
_POSTGRES_APPEND_ONLY = [
    "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
]


def _id() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("id", sa.Integer(), primary_key=True)


def _fk(name: str, target: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.Integer(), sa.ForeignKey(target), nullable=nullable)


def upgrade() -> None:
    """Create every table and make the audit log append-only."""
    op.create_table(
        "users", _id(),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TZ, nullable=False),
        sa.CheckConstraint("role IN ('admin', 'clinician', 'operator')", name="ck_users_role"),
    )  # fmt: skip
    op.create_table(
        "patients", _id(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("skin_type", sa.Integer(), nullable=False),
        sa.Column("bmi_kg_m2", sa.Float(), nullable=False),
        sa.Column("created_at", _TZ, nullable=False),
        sa.CheckConstraint("skin_type BETWEEN 1 AND 6", name="ck_patients_skin_type"),
        sa.CheckConstraint("bmi_kg_m2 > 0", name="ck_patients_bmi"),
    )  # fmt: skip
    op.create_index("ix_patients_name", "patients", ["name"])
    op.create_table(
        "screenings", _id(), _fk("patient_id", "patients.id"), _fk("clinician_id", "users.id"),
        sa.Column("at", _TZ, nullable=False),
        sa.Column("decision", sa.String(32), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
    )  # fmt: skip
    op.create_index("ix_screenings_patient_id", "screenings", ["patient_id"])
    op.create_table(
        "courses", _id(), _fk("patient_id", "patients.id"), _fk("clinician_id", "users.id"),
        sa.Column("condition", sa.String(64), nullable=False),
        sa.Column("protocol", sa.String(64), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("sessions_planned", sa.Integer(), nullable=False),
        sa.Column("sessions_per_week", sa.Integer(), nullable=False),
        sa.Column("home_exercise", sa.Text(), nullable=False),
        sa.Column("advice", sa.Text(), nullable=False),
        _fk("signed_by_id", "users.id", nullable=True),
        sa.Column("signed_at", _TZ, nullable=True),
        sa.Column("created_at", _TZ, nullable=False),
        sa.CheckConstraint("sessions_planned > 0", name="ck_courses_sessions_planned"),
    )  # fmt: skip
    op.create_index("ix_courses_patient_id", "courses", ["patient_id"])
    op.create_table(
        "treatment_sessions", _id(), _fk("course_id", "courses.id"), _fk("operator_id", "users.id"),
        sa.Column("started_at", _TZ, nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("energy_j_by_wavelength", sa.JSON(), nullable=False),
        sa.Column("interruptions", sa.JSON(), nullable=False),
        sa.Column("completed", sa.Boolean(), nullable=False),
    )  # fmt: skip
    op.create_index("ix_treatment_sessions_course_id", "treatment_sessions", ["course_id"])
    op.create_table(
        "outcomes", _id(), _fk("patient_id", "patients.id"), _fk("course_id", "courses.id", nullable=True),
        _fk("recorded_by_id", "users.id"),
        sa.Column("assessed_on", sa.Date(), nullable=False),
        sa.Column("nrs", sa.Integer(), nullable=True),
        sa.Column("odi_percent", sa.Float(), nullable=True),
        sa.Column("odi_answers", sa.JSON(), nullable=True),
        sa.Column("rmdq", sa.Integer(), nullable=True),
        sa.Column("rmdq_answers", sa.JSON(), nullable=True),
        sa.Column("analgesic_use", sa.String(32), nullable=True),
        sa.Column("exercise_adherence_percent", sa.Float(), nullable=True),
        sa.CheckConstraint("nrs BETWEEN 0 AND 10", name="ck_outcomes_nrs"),
        sa.CheckConstraint("odi_percent BETWEEN 0 AND 100", name="ck_outcomes_odi"),
        sa.CheckConstraint("rmdq BETWEEN 0 AND 24", name="ck_outcomes_rmdq"),
    )  # fmt: skip
    op.create_index("ix_outcomes_patient_id", "outcomes", ["patient_id"])
    op.create_table(
        "audit_log", _id(),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("entity", sa.String(64), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
    )  # fmt: skip
    dialect = op.get_bind().dialect.name
    for statement in _POSTGRES_APPEND_ONLY if dialect == "postgresql" else _SQLITE_APPEND_ONLY:
        op.execute(statement)


def downgrade() -> None:
    """Drop every table (and the PostgreSQL trigger function)."""
    for table in (
        "audit_log",
        "outcomes",
        "treatment_sessions",
        "courses",
        "screenings",
        "patients",
        "users",
    ):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_log_append_only()")
