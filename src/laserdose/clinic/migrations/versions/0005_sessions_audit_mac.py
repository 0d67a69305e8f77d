"""Per-user session version and TOTP secret; an HMAC column on the audit log.

Revision ID: 0005_hardening
Revises: 0003_referrals
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_hardening"
down_revision = "0003_referrals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add users.session_version, users.totp_secret, users.totp_last_step and audit_log.mac."""
    op.add_column("users", sa.Column("session_version", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("users", sa.Column("totp_secret", sa.String(64)))
    op.add_column("users", sa.Column("totp_last_step", sa.Integer()))
    # Rows written before this revision keep mac NULL: the first keyed row's MAC covers them through the
    # hash chain. ADD COLUMN does not fire the UPDATE triggers that keep the table append-only.
    op.add_column("audit_log", sa.Column("mac", sa.String(64)))


def downgrade() -> None:
    """Drop the columns."""
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("mac")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("totp_last_step")
        batch.drop_column("totp_secret")
        batch.drop_column("session_version")
