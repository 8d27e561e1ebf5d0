"""A small bank with every interaction the web service presents (order and match included)."""

from __future__ import annotations

from item_banks.model import (
    Bank,
    Competency,
    Match,
    MatchPair,
    MultipleResponse,
    Numeric,
    Option,
    Order,
    ShortText,
    SingleChoice,
    TwoPL,
)
from item_banks.model import Item as BankItem


def _opts(*texts: str) -> tuple[Option, ...]:
    return tuple(
        Option(id=f"o{i + 1}", text=t, rationale=f"About {t}.") for i, t in enumerate(texts)
    )


def mixed_bank() -> Bank:
    """Six items, one of each presented interaction, one competency."""
    irt = TwoPL(a=1.2, b=0.0)
    items = (
        BankItem(
            id="m-order",
            competency="c",
            stem="Order these pandas steps for a grouped mean.",
            interaction=Order(
                options=_opts("`pd.read_csv`", "`df.groupby('g')`", "`.mean()`"),
                key=("o1", "o2", "o3"),
            ),
            irt=irt,
        ),
        BankItem(
            id="m-match",
            competency="c",
            stem="Match each function with what it returns.",
            interaction=Match(
                sources=_opts("`len([1, 2])`", "`type(1.0)`"),
                targets=tuple(
                    Option(id=f"t{i + 1}", text=t)
                    for i, t in enumerate(("`2`", "`float`", "`None`"))
                ),
                key=(MatchPair(source="o1", target="t1"), MatchPair(source="o2", target="t2")),
            ),
            irt=irt,
        ),
        BankItem(
            id="m-single",
            competency="c",
            stem="Which is a list?",
            interaction=SingleChoice(options=_opts("`[1]`", "`(1,)`"), key="o1"),
            irt=irt,
        ),
        BankItem(
            id="m-multi",
            competency="c",
            stem="Which are mutable?",
            interaction=MultipleResponse(options=_opts("list", "tuple", "dict"), key=("o1", "o3")),
            irt=irt,
        ),
        BankItem(
            id="m-number",
            competency="c",
            stem="What is `7 // 2`?",
            interaction=Numeric(key=3.0),
            irt=irt,
        ),
        BankItem(
            id="m-text",
            competency="c",
            stem="Name the method that drops missing rows.",
            interaction=ShortText(key=("dropna",)),
            irt=irt,
        ),
    )
    return Bank(
        id="mixed",
        title="Mixed interactions",
        version="1",
        competencies=(Competency(id="c", name="Mixed skills", cut_score=0.0),),
        items=items,
    )
