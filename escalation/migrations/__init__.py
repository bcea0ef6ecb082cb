"""Alembic migrations for Jethro's database, applied by `escalation.db.upgrade`."""
