"""Shared data for the calibration tests: LSAT7 and simulated response sets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from calibration.data import ResponseData, from_array
from calibration.em import FitResult, calibrate

DATA = Path(__file__).parent / "data"


def lsat7_patterns() -> tuple[np.ndarray, np.ndarray]:
    """The 32 LSAT7 response patterns and their frequencies (see data/lsat7.csv)."""
    table = np.loadtxt(DATA / "lsat7.csv", delimiter=",", comments="#", skiprows=6, dtype=int)
    return table[:, :5], table[:, 5]


def lsat7_data() -> ResponseData:
    patterns, counts = lsat7_patterns()
    rows = np.repeat(patterns, counts, axis=0)
    return from_array(rows, item_ids=[f"Item.{k}" for k in range(1, 6)], source="LSAT7")


@pytest.fixture(scope="session")
def lsat7() -> ResponseData:
    return lsat7_data()


@pytest.fixture(scope="session")
def lsat7_2pl(lsat7: ResponseData) -> FitResult:
    return calibrate(lsat7, "2pl")
