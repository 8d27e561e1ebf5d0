"""The JSON API under ``/api/v1``: msgspec schemas in, msgspec schemas out."""
