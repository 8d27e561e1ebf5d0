"""Organisations: members and roles, the capability table, the guard that enforces it."""
