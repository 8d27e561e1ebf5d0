"""Calibration: fit item parameters from response data (filled in below)."""
