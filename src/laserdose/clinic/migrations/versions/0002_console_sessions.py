"""Treatment console: a session's status (running/ended), last heartbeat and machine identity.

Revision ID: 0002_console
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_console"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add status, last_heartbeat_at and device to treatment_sessions (existing rows: ended)."""
    op.add_column(
        "treatment_sessions",
        sa.Column("status", sa.String(16), nullable=False, server_default="ended"),
    )
    op.add_column("treatment_sessions", sa.Column("last_heartbeat_at", sa.DateTime(timezone=True)))
    op.add_column(
        "treatment_sessions",
        sa.Column("device", sa.JSON(), nullable=False, server_default=sa.text("'{}'")),
    )


def downgrade() -> None:
    """Drop the console columns."""
    with op.batch_alter_table("treatment_sessions") as batch:
        batch.drop_column("device")
        batch.drop_column("last_heartbeat_at")
        batch.drop_column("status")
