"""Small pools built from explicit parameters."""

from __future__ import annotations

from collections.abc import Sequence

from engine.pool import ItemPool, compile_pool
from item_banks.model import (
    Bank,
    Competency,
    ContentArea,
    FourPL,
    Graded,
    IrtParameters,
    Item,
    MultipleResponse,
    Option,
    PartialCredit,
    SingleChoice,
)

_OPTIONS = tuple(Option(id=x, text=x) for x in "abcdefgh")


def make_item(
    item_id: str,
    irt: IrtParameters,
    competency: str = "c1",
    areas: tuple[str, ...] = (),
    status: str = "operational",
    exposure: float | None = None,
) -> Item:
    """An item whose interaction fits its model."""
    if isinstance(irt, Graded | PartialCredit):
        k = len(irt.thresholds)
        interaction: SingleChoice | MultipleResponse = MultipleResponse(
            options=_OPTIONS[: k + 1],
            key=tuple(o.id for o in _OPTIONS[:k]),
            scoring="partial",
        )
    else:
        interaction = SingleChoice(options=_OPTIONS[:4], key="a")
    return Item(
        id=item_id,
        competency=competency,
        stem="?",
        interaction=interaction,
        irt=irt,
        content_areas=areas,
        status=status,  # type: ignore[arg-type]
        exposure=exposure,
    )


def make_bank(
    items: Sequence[Item],
    competencies: Sequence[str] = ("c1",),
    cuts: Sequence[float | None] | None = None,
    areas: Sequence[str] = (),
) -> Bank:
    """A bank holding ``items``."""
    cuts = cuts or [None] * len(competencies)
    return Bank(
        id="test",
        title="Test bank",
        version="1",
        competencies=tuple(
            Competency(id=c, name=c, cut_score=cut)
            for c, cut in zip(competencies, cuts, strict=True)
        ),
        content_areas=tuple(ContentArea(id=a, name=a) for a in areas),
        items=tuple(items),
    )


def four_pl_pool(params: Sequence[tuple[float, float, float, float]]) -> ItemPool:
    """A one-competency pool of 4PL items given as (a, b, c, d)."""
    items = [
        make_item(f"i{i}", FourPL(a=a, b=b, c=c, d=d)) for i, (a, b, c, d) in enumerate(params)
    ]
    return compile_pool(make_bank(items))


def mixed_pool() -> ItemPool:
    """Dichotomous, graded and partial-credit items in one competency."""
    items = [
        make_item("d1", FourPL(a=1.2, b=-0.5, c=0.2, d=0.98)),
        make_item("g1", Graded(a=1.4, thresholds=(-1.0, 0.3, 1.2))),
        make_item("d2", FourPL(a=0.9, b=0.8, c=0.0, d=1.0)),
        make_item("p1", PartialCredit(a=0.8, thresholds=(-0.4, 0.6))),
        make_item("g2", Graded(a=2.0, thresholds=(0.5,))),
    ]
    return compile_pool(make_bank(items))
