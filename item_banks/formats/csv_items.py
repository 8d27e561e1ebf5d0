"""Multiple-choice items from a simple CSV: one row per item, a rationale column per option.

Header row required, order free: ``id``, ``stem``, ``key`` (the letter of the correct option),
``option_a`` .. ``option_z`` with ``rationale_a`` .. ``rationale_z``, and optional
``competency``, ``solution``, ``hint``. Empty option cells are left out. The bank id comes
from the file name; without a ``competency`` column one competency named after the file is
created. Items get the provisional 2PL (a warning says so); merge calibrated parameters with
:mod:`item_banks.formats.csv_params`.
"""

from __future__ import annotations

from typing import Any

from item_banks.errors import Problem
from item_banks.formats.common import Collected, Draft, ImportResult, assemble, skill
from item_banks.formats.csv_params import read_csv_table
from item_banks.native import DEFAULT_LIMITS, Limits

LETTERS = "abcdefghijklmnopqrstuvwxyz"


def read_csv_items(data: bytes, source: str, *, limits: Limits = DEFAULT_LIMITS) -> ImportResult:
    """Read the one-row-per-item CSV layout into a bank."""
    table = read_csv_table(data, source, limits)
    collected = Collected()
    collected.warnings.extend(table.warnings)
    if table.columns and not {"id", "stem", "key"} <= set(table.columns):
        collected.errors.append(
            Problem(source=source, field="line 1", message="the header needs id, stem and key")
        )
    for line, row in table.rows:
        if collected.errors:
            break
        options: list[dict[str, Any]] = []
        for letter in LETTERS:
            text = row.get(f"option_{letter}", "")
            if text:
                option: dict[str, Any] = {"id": letter, "text": text}
                if row.get(f"rationale_{letter}"):
                    option["rationale"] = row[f"rationale_{letter}"]
                options.append(option)
        raw: dict[str, Any] = {
            "id": row.get("id", ""),
            "stem": row.get("stem", ""),
            "interaction": {
                "type": "single_choice",
                "options": options,
                "key": row.get("key", "").lower(),
            },
        }
        if row.get("solution"):
            raw["solution"] = row["solution"]
        if row.get("hint"):
            raw["hints"] = [row["hint"]]
        skills = (skill(row["competency"]),) if row.get("competency") else ()
        collected.drafts.append(Draft(raw=raw, source=f"{source}: line {line}", skills=skills))
    return assemble(collected, source=source, limits=limits)
