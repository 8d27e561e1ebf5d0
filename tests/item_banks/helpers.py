"""Builders of small raw banks (plain dicts, as a file would hold them)."""

from __future__ import annotations

import copy
from typing import Any


def choice_item(item_id: str, competency: str = "c1", **irt: Any) -> dict[str, Any]:
    """A single-choice item with two options and 2PL parameters (overridable)."""
    return {
        "id": item_id,
        "competency": competency,
        "stem": f"Question {item_id}?",
        "interaction": {
            "type": "single_choice",
            "options": [
                {"id": "a", "text": "Right", "rationale": "Because."},
                {"id": "b", "text": "Wrong", "rationale": "A slip."},
            ],
            "key": "a",
        },
        "solution": "Work it out.",
        "irt": {"model": "2pl", "a": 1.0, "b": 0.0, **irt},
    }


def raw_bank(n_items: int = 3, **overrides: Any) -> dict[str, Any]:
    """A valid raw bank with one competency and ``n_items`` choice items."""
    bank: dict[str, Any] = {
        "id": "demo",
        "title": "Demo bank",
        "version": "1",
        "competencies": [{"id": "c1", "name": "One", "cut_score": 0.0}],
        "items": [choice_item(f"q{i + 1}") for i in range(n_items)],
    }
    bank.update(copy.deepcopy(overrides))
    return bank
