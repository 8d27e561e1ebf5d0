"""Repositories: plain functions over a SQLAlchemy ``Connection``, one module per table group."""
