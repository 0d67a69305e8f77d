"""The patient's analgesics: drug, dose, how often, started and stopped.

Revision ID: 0017_medications
Revises: 0016_body_chart
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0017_medications"
down_revision = "0016_body_chart"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create medications."""
    op.create_table(
        "medications",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("patient_id", sa.Integer(), sa.ForeignKey("patients.id"), nullable=False, index=True),
        sa.Column("drug", sa.String(120), nullable=False),
        sa.Column("dose", sa.String(60), nullable=False),
        sa.Column("how_often", sa.String(60), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("stopped_on", sa.Date()),
        sa.Column("recorded_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    """Drop medications."""
    op.drop_table("medications")
