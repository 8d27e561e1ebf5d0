"""Shared fixtures: small banks built in code, the synthetic bank, the sample bank path."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.pool import ItemPool, compile_pool
from engine.synthetic import synthetic_bank
from item_banks.model import Bank

REPO = Path(__file__).resolve().parent.parent
SAMPLE_BANK = REPO / "item_banks" / "samples" / "python-data-analysis.yaml"


@pytest.fixture(scope="session")
def bank_3pl() -> Bank:
    """A 200-item 3PL bank over 3 competencies."""
    return synthetic_bank(200, "3pl", 3, seed=4)


@pytest.fixture(scope="session")
def pool_3pl(bank_3pl: Bank) -> ItemPool:
    """The compiled 200-item 3PL pool."""
    return compile_pool(bank_3pl)


@pytest.fixture(scope="session")
def pool_2pl_single() -> ItemPool:
    """A 300-item 2PL pool with one competency."""
    return compile_pool(synthetic_bank(300, "2pl", 1, seed=8))
