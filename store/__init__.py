"""Persistence: the engine, migrations and the reads and idempotent writes over the tables."""
