"""Referrals: a screening's referral with its urgency and reasons, its outcome, or a clinician's override.

Revision ID: 0003_referrals
Revises: 0002_console
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_referrals"
down_revision = "0002_console"
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)


def _fk(name: str, target: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.Integer(), sa.ForeignKey(target), nullable=nullable)


def upgrade() -> None:
    """Create the referrals table (one per referring screening)."""
    op.create_table(
        "referrals",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("patient_id", "patients.id"),
        _fk("screening_id", "screenings.id"),
        sa.Column("complaint", sa.String(64), nullable=False),
        sa.Column("urgency", sa.String(16), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        _fk("referred_by_id", "users.id"),
        sa.Column("referred_at", _TZ, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("seen_by", sa.String(200), nullable=False),
        sa.Column("seen_on", sa.Date(), nullable=True),
        sa.Column("outcome_note", sa.Text(), nullable=False),
        _fk("outcome_by_id", "users.id", nullable=True),
        sa.Column("outcome_at", _TZ, nullable=True),
        sa.Column("override_reason", sa.Text(), nullable=False),
        _fk("override_by_id", "users.id", nullable=True),
        sa.Column("override_at", _TZ, nullable=True),
        sa.UniqueConstraint("screening_id"),
        sa.CheckConstraint(
            "status IN ('open', 'cleared', 'not-cleared', 'overridden')", name="ck_referrals_status"
        ),
        sa.CheckConstraint("urgency IN ('routine', 'urgent', 'emergency')", name="ck_referrals_urgency"),
    )
    op.create_index("ix_referrals_patient_id", "referrals", ["patient_id"])


def downgrade() -> None:
    """Drop the referrals table."""
    op.drop_index("ix_referrals_patient_id", "referrals")
    op.drop_table("referrals")
