"""The clinic's records: users, patients, screenings, courses, sessions, outcomes and the audit log."""
