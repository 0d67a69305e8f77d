"""Corrections without deletion: void columns on corrected records and a table of their previous versions.

Revision ID: 0008_corrections
Revises: 0010_clinic_day
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_corrections"
down_revision = "0007_session_accounting"
branch_labels = None
depends_on = None

VOIDABLE = ("patients", "screenings", "outcomes", "treatment_sessions", "visit_notes")


def upgrade() -> None:
    """Add voided_at, voided_by_id, void_reason to each voidable table; create record_versions."""
    for table in VOIDABLE:
        # Plain ADD COLUMN: no table is rebuilt, no row is touched. SQLite cannot add a constraint to a
        # table, but takes a reference written inline in the column (its NULL default satisfies it).
        op.add_column(table, sa.Column("voided_at", sa.DateTime(timezone=True)))
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"ALTER TABLE {table} ADD COLUMN voided_by_id INTEGER REFERENCES users (id)")
        else:
            op.add_column(table, sa.Column("voided_by_id", sa.Integer(), sa.ForeignKey("users.id")))
        op.add_column(table, sa.Column("void_reason", sa.Text(), nullable=False, server_default=""))
    op.create_table(
        "record_versions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("entity", sa.String(64), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("changed_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("action IN ('edit', 'void')", name="ck_record_versions_action"),
        sa.UniqueConstraint("entity", "entity_id", "version", name="uq_record_versions_version"),
    )
    op.create_index("ix_record_versions_entity_id", "record_versions", ["entity_id"])


def downgrade() -> None:
    """Drop record_versions and the void columns."""
    op.drop_index("ix_record_versions_entity_id", "record_versions")
    op.drop_table("record_versions")
    for table in VOIDABLE:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("void_reason")
            batch.drop_column("voided_by_id")
            batch.drop_column("voided_at")
