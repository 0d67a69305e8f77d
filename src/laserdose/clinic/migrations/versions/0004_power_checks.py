"""Power checks with an external meter, the clinic's QA rules, and the check a session relied on.

Revision ID: 0004_power_checks
Revises: 0005_hardening
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_power_checks"
down_revision = "0005_hardening"
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create power_checks and qa_policy; give treatment_sessions power_check_id and calibration."""
    op.create_table(
        "power_checks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("machine_serial", sa.String(64), nullable=False, index=True),
        sa.Column("machine_profile", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("at", _TZ, nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("meter_id", sa.String(64), nullable=False),
        sa.Column("meter_calibrated_on", sa.Date()),
        sa.Column("tolerance_fraction", sa.Float(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("worst_deviation", sa.Float()),
        sa.Column("readings", sa.JSON(), nullable=False),
        sa.Column("calibration", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.CheckConstraint("kind IN ('check', 'service')", name="ck_power_checks_kind"),
        sa.CheckConstraint("tolerance_fraction > 0 AND tolerance_fraction <= 1", name="ck_power_checks_tol"),
    )
    op.create_table(
        "qa_policy",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tolerance_fraction", sa.Float(), nullable=False),
        sa.Column("interval_days", sa.Integer()),
        sa.Column("updated_at", _TZ, nullable=False),
        sa.CheckConstraint("tolerance_fraction > 0 AND tolerance_fraction <= 0.2", name="ck_qa_policy_tol"),
        sa.CheckConstraint("interval_days IS NULL OR interval_days > 0", name="ck_qa_policy_interval"),
    )
    with op.batch_alter_table("treatment_sessions") as batch:
        batch.add_column(sa.Column("power_check_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("calibration", sa.JSON(), nullable=False, server_default=sa.text("'{}'")))
        batch.create_foreign_key(
            "fk_treatment_sessions_power_check", "power_checks", ["power_check_id"], ["id"]
        )


def downgrade() -> None:
    """Drop the power-check tables and columns."""
    with op.batch_alter_table("treatment_sessions") as batch:
        batch.drop_constraint("fk_treatment_sessions_power_check", type_="foreignkey")
        batch.drop_column("calibration")
        batch.drop_column("power_check_id")
    op.drop_table("qa_policy")
    op.drop_table("power_checks")
