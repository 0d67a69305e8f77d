"""Patients get given and family names (lists sort by family name) and a unique clinic record number.

Existing names are split as the clinic writes them: "Family, Given" when the name holds a comma, else the
last word is the family name; the shown name becomes "given family". Existing patients get the record
number "LD-" and their id.

Revision ID: 0009_patient_names
Revises: 0017_medications
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_patient_names"
down_revision = "0017_medications"
branch_labels = None
depends_on = None


def _split(name: str) -> tuple[str, str]:
    # Frozen here: a migration keeps the rule it was written with, whatever the app's rule becomes.
    name = " ".join(name.split())
    if "," in name:
        family, _, given = name.partition(",")
        return " ".join(given.split()), family.strip()
    given, _, family = name.rpartition(" ")
    return given, family


def upgrade() -> None:
    """Add given_name, family_name and record_number; fill them from each patient's name and id."""
    # Plain ADD COLUMN and CREATE INDEX: a batch copy of patients would fail on SQLite, whose foreign keys
    # (courses, outcomes, screenings) point at it.
    op.add_column("patients", sa.Column("given_name", sa.String(200), nullable=False, server_default=""))
    op.add_column("patients", sa.Column("family_name", sa.String(200), nullable=False, server_default=""))
    op.add_column("patients", sa.Column("record_number", sa.String(32), nullable=True))
    op.create_index("ix_patients_family_name", "patients", ["family_name"])
    op.create_index("ix_patients_record_number", "patients", ["record_number"], unique=True)
    connection = op.get_bind()
    patients = sa.table(
        "patients", sa.column("id", sa.Integer), sa.column("name", sa.String),
        sa.column("given_name", sa.String), sa.column("family_name", sa.String),
        sa.column("record_number", sa.String),
    )  # fmt: skip
    for patient_id, name in connection.execute(sa.select(patients.c.id, patients.c.name)).all():
        given, family = _split(name)
        connection.execute(
            patients.update()
            .where(patients.c.id == patient_id)
            .values(
                given_name=given,
                family_name=family,
                name=" ".join(f"{given} {family}".split()),
                record_number=f"LD-{patient_id}",
            )  # fmt: skip
        )


def downgrade() -> None:
    """Drop the name parts and the record number (the shown name stays as it is)."""
    op.drop_index("ix_patients_record_number", "patients")
    op.drop_index("ix_patients_family_name", "patients")
    with op.batch_alter_table("patients") as batch:
        batch.drop_column("record_number")
        batch.drop_column("family_name")
        batch.drop_column("given_name")
