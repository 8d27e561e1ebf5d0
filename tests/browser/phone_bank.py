"""Banks that put one kind of question in front of the browser, with everything a phone meets.

Each stem has a long line of code (a code block wider than any phone), a wide Markdown table
and a long unbroken identifier; every item has hints and a worked solution (practice mode).
An assessment made from one of them (fixed length, any selection) gives only that kind of
question, so a browser test knows what it will be asked.
"""

from __future__ import annotations

from typing import Any

import httpx

from item_banks.model import (
    Bank,
    Competency,
    MultipleResponse,
    Numeric,
    Option,
    SingleChoice,
    TwoPL,
)
from item_banks.model import Item as BankItem
from item_banks.native import encode_bank

WIDE_CODE = (
    "```python\n"
    "result = frame.groupby(['region', 'product_category', 'sales_channel'])"
    "['revenue_in_thousands_of_euros'].agg(['mean', 'median', 'std', 'count'])\n"
    "```"
)
WIDE_TABLE = (
    "| region | product category | sales channel | revenue (k EUR) | units sold | margin |\n"
    "|---|---|---|---|---|---|\n"
    "| north-western-territories | industrial-equipment | wholesale-distribution "
    "| 1234.5 | 98765 | 0.125 |"
)
LONG_WORD = "`pandas.core.groupby.generic.DataFrameGroupBy.aggregate_with_named_columns`"


def _stem(n: int, question: str) -> str:
    return f"{question} (case {n})\n\n{WIDE_CODE}\n\n{WIDE_TABLE}\n\nSee {LONG_WORD}."


def phone_bank(kind: str, count: int = 6) -> Bank:
    """``count`` items of one ``kind``: ``numeric``, ``multiple_response`` or ``single_choice``."""
    items = []
    for n in range(1, count + 1):
        interaction: Any
        if kind == "numeric":
            question = "What is the mean revenue per unit in the table, in euros?"
            interaction = Numeric(key=22.5, tolerance=0.05)
        elif kind == "multiple_response":
            question = "Which of these are aggregations?"
            interaction = MultipleResponse(
                options=(
                    Option(id="a", text="`mean`", rationale="Reduces a group to a number."),
                    Option(id="b", text="`count`", rationale="Counts each group."),
                    Option(id="c", text="`shift`", rationale="Moves values; keeps the length."),
                ),
                key=("a", "b"),
            )
        else:
            question = "Which method groups the rows?"
            interaction = SingleChoice(
                options=(
                    Option(id="a", text="`groupby`", rationale="It groups the rows."),
                    Option(id="b", text="`pivot`", rationale="It reshapes."),
                    Option(id="c", text="`merge`", rationale="It joins frames."),
                ),
                key="a",
            )
        items.append(
            BankItem(
                id=f"{kind[:3]}-{n}",
                competency="c",
                stem=_stem(n, question),
                interaction=interaction,
                hints=("Look at the revenue column first.", "Divide by the units sold."),
                solution=f"{WIDE_CODE}\n\nWork it through step by step.",
                irt=TwoPL(a=1.0 + n / 10, b=(n - count / 2) / 3),
            )
        )
    return Bank(
        id=f"phone-{kind.replace('_', '-')}",
        title=f"Phone check: {kind.replace('_', ' ')}",
        version="1",
        competencies=(Competency(id="c", name="Phone skills", cut_score=0.0),),
        items=tuple(items),
    )


def phone_assessment(
    base_url: str, token: str, kind: str, *, mode: str = "instant", length: int = 3
) -> str:
    """Upload the bank of ``kind`` and create an assessment from it; return its URL."""
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url, headers=auth, timeout=30) as api:
        uploaded = api.post(
            f"/api/v1/author/banks?filename=phone-{kind}.json",
            content=encode_bank(phone_bank(kind), "json"),
        )
        assert uploaded.status_code in (200, 201), uploaded.text
        created = api.post(
            "/api/v1/author/assessments",
            json={
                "title": f"Phone check ({kind}, {mode})",
                "bank_hash": uploaded.json()["hash"],
                "feedback_mode": mode,
                "policy": {
                    "stopping": {"rule": "fixed_length", "n": length},
                    "exposure": {"method": "randomesque", "randomesque_size": 3},
                },
            },
        )
        assert created.status_code == 201, created.text
        return str(created.json()["url"])
