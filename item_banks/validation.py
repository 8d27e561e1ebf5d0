"""Semantic checks of a bank that its types alone cannot express.

Types (msgspec) already guarantee shapes and ranges such as ``a > 0``. This module checks what
spans several fields: unique identifiers, references to competencies, content areas and
misconceptions, keys that name existing options, ordered thresholds, and that an item's IRT
model fits how its interaction is scored.
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from itertools import pairwise

from item_banks.errors import Problem
from item_banks.model import (
    Bank,
    FourPL,
    Graded,
    Item,
    MultipleResponse,
    Numeric,
    PartialCredit,
    ShortText,
    SingleChoice,
    category_count,
    model_name,
)


def _duplicates(ids: Iterable[str]) -> list[str]:
    return [key for key, n in Counter(ids).items() if n > 1]


def normalise_text(text: str, *, case_sensitive: bool = False) -> str:
    """Normalise a short text answer: Unicode NFKC, collapsed whitespace, optional casefold."""
    text = " ".join(unicodedata.normalize("NFKC", text).split())
    return text if case_sensitive else text.casefold()


def check_bank(bank: Bank, source: str, *, complete: bool = True) -> list[Problem]:
    """Return every semantic problem of ``bank`` (empty when it is valid).

    Parameters
    ----------
    bank
        A bank whose fields already passed type validation.
    source
        The file name used to locate problems.
    complete
        False when some items failed to decode: the checks that need every item (an empty
        bank, a competency that no item measures) are then skipped.
    """
    problems: list[Problem] = []

    def bank_problem(field: str, message: str) -> None:
        problems.append(Problem(source=source, field=field, message=message))

    for kind, ids in (
        ("competencies", [c.id for c in bank.competencies]),
        ("misconceptions", [m.id for m in bank.misconceptions]),
        ("content_areas", [a.id for a in bank.content_areas]),
    ):
        for dup in _duplicates(ids):
            bank_problem(kind, f'identifier "{dup}" is used more than once')
    for dup in _duplicates(item.id for item in bank.items):
        problems.append(
            Problem(source=source, item=dup, field="id", message="item id is used more than once")
        )

    if not bank.competencies:
        bank_problem("competencies", "the bank defines no competency")
    if complete and not bank.items:
        bank_problem("items", "the bank has no items")

    competencies = {c.id for c in bank.competencies}
    misconceptions = {m.id for m in bank.misconceptions}
    areas = {a.id for a in bank.content_areas}
    for item in bank.items:
        problems.extend(_check_item(item, source, competencies, misconceptions, areas))

    measured = Counter(item.competency for item in bank.items if item.status == "operational")
    if complete and bank.items:
        for competency in bank.competencies:
            if measured[competency.id] == 0:
                bank_problem(
                    f'competencies["{competency.id}"]',
                    "no operational item measures this competency",
                )
    return problems


def _check_item(
    item: Item,
    source: str,
    competencies: set[str],
    misconceptions: set[str],
    areas: set[str],
) -> list[Problem]:
    problems: list[Problem] = []

    def add(field: str, message: str) -> None:
        problems.append(Problem(source=source, item=item.id, field=field, message=message))

    if item.competency not in competencies:
        add("competency", f'"{item.competency}" is not a competency of this bank')
    for i, area in enumerate(item.content_areas):
        if area not in areas:
            add(f"content_areas[{i}]", f'"{area}" is not a content area of this bank')
    for dup in _duplicates(item.content_areas):
        add("content_areas", f'"{dup}" is listed more than once')

    interaction = item.interaction
    if isinstance(interaction, SingleChoice | MultipleResponse):
        option_ids = [o.id for o in interaction.options]
        for dup in _duplicates(option_ids):
            add("interaction.options", f'option id "{dup}" is used more than once')
        for i, option in enumerate(interaction.options):
            if option.misconception is not None and option.misconception not in misconceptions:
                add(
                    f"interaction.options[{i}].misconception",
                    f'"{option.misconception}" is not a misconception of this bank',
                )
        keys = (interaction.key,) if isinstance(interaction, SingleChoice) else interaction.key
        for i, key in enumerate(keys):
            if key not in option_ids:
                where = (
                    "interaction.key"
                    if isinstance(interaction, SingleChoice)
                    else (f"interaction.key[{i}]")
                )
                add(where, f'"{key}" is not one of the options ({", ".join(option_ids)})')
        if isinstance(interaction, MultipleResponse):
            for dup in _duplicates(interaction.key):
                add("interaction.key", f'"{dup}" is listed more than once')
    elif isinstance(interaction, Numeric):
        if not math.isfinite(interaction.key):
            add("interaction.key", f"must be a finite number, got {interaction.key}")
        if interaction.tolerance_mode == "relative" and interaction.key == 0:
            add("interaction.tolerance_mode", "a relative tolerance around a key of 0 is 0")
    elif isinstance(interaction, ShortText):
        seen: set[str] = set()
        for i, accepted in enumerate(interaction.key):
            norm = normalise_text(accepted, case_sensitive=interaction.case_sensitive)
            if not norm:
                add(f"interaction.key[{i}]", "is blank after normalisation")
            elif norm in seen:
                add(f"interaction.key[{i}]", f"{accepted!r} repeats an earlier accepted answer")
            seen.add(norm)

    _check_irt(item, add)
    return problems


def _check_irt(item: Item, add: Callable[[str, str], None]) -> None:
    irt = item.irt
    model = model_name(irt)
    if isinstance(irt, FourPL) and not irt.c < irt.d:
        add("irt", f"lower asymptote c must be below upper asymptote d, got c={irt.c}, d={irt.d}")
    if isinstance(irt, Graded):
        steps = irt.thresholds
        if any(not lo < hi for lo, hi in pairwise(steps)):
            add("irt.thresholds", f"must be strictly increasing for grm, got {list(steps)}")
    if (
        irt.se is not None
        and irt.se.thresholds is not None
        and isinstance(irt, Graded | PartialCredit)
        and len(irt.se.thresholds) != len(irt.thresholds)
    ):
        add("irt.se.thresholds", "needs one standard error per threshold")

    interaction = item.interaction
    polytomous = isinstance(irt, Graded | PartialCredit)
    if isinstance(interaction, MultipleResponse) and interaction.scoring == "partial":
        if not polytomous:
            add(
                "irt.model",
                f"partial scoring needs grm or gpcm with one threshold per key, got {model}",
            )
        elif category_count(irt) != len(interaction.key) + 1:
            add(
                "irt.thresholds",
                f"partial scoring of {len(interaction.key)} keys needs "
                f"{len(interaction.key)} thresholds, got {category_count(irt) - 1}",
            )
    elif polytomous:
        add(
            "irt.model",
            f"{model} needs a partially scored multiple_response interaction; "
            "this item is scored right or wrong (use 1pl-4pl)",
        )


def lint_bank(bank: Bank, source: str) -> list[Problem]:
    """Return authoring warnings: what a learner would miss, though the bank still runs.

    Distractors without a rationale and items without a worked solution give feedback that
    only says "wrong".
    """
    warnings: list[Problem] = []
    for item in bank.items:
        interaction = item.interaction
        if isinstance(interaction, SingleChoice | MultipleResponse):
            for i, option in enumerate(interaction.options):
                if not option.rationale.strip():
                    warnings.append(
                        Problem(
                            source=source,
                            item=item.id,
                            field=f"interaction.options[{i}].rationale",
                            message=f'option "{option.id}" has no rationale',
                        )
                    )
        if not item.solution.strip():
            warnings.append(
                Problem(source=source, item=item.id, field="solution", message="no solution")
            )
    return warnings
