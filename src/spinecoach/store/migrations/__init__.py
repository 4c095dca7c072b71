"""Alembic environment and revisions of the spinecoach schema (shipped as package data)."""
