"""Where the hand-written sample bank lives (package data)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

SAMPLE_BANK = "python-data-analysis.yaml"


def sample_bank_path() -> Path:
    """Path of the sample bank shipped with the package."""
    return Path(str(resources.files("item_banks") / "samples" / SAMPLE_BANK))
