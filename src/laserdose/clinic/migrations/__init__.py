"""Alembic migrations of the clinic database, applied by `laserdose.clinic.db.upgrade`."""
