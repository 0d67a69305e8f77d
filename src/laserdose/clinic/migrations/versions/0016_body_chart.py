"""The body chart of a course: the treated zones marked on an outline of the back.

Revision ID: 0016_body_chart
Revises: 0015_visit_notes
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_body_chart"
down_revision = "0015_visit_notes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Give courses a body_chart (no zone marked on existing courses).

    A plain ADD COLUMN: a batch copy of `courses` would drop the table that sessions and outcomes point at.
    """
    column = sa.Column("body_chart", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
    op.add_column("courses", column)


def downgrade() -> None:
    """Drop the body chart."""
    with op.batch_alter_table("courses") as batch:
        batch.drop_column("body_chart")
