"""A skeleton bank for data without a bank: items from the columns, scales from a groups file.

``skillgauge calibrate`` without ``--bank`` (and :func:`calibration.api.fit`) calibrates
the data's columns as items, on one scale or on the competencies that an item-groups CSV
names. The calibration runs on a *skeleton* bank: every item has its id, its competency and
(after calibration) its parameters, while its stem and answer options are placeholders
marked :data:`PLACEHOLDER`, to be written by an author. The skeleton passes the bank schema
and ``bank validate`` (which lists the placeholders as warnings), so it can be scored with
and simulated from at once, and edited into a real bank later.

Placeholders: a dichotomous item is a single choice between a correct and a wrong answer; a
polytomous item with ``K`` thresholds is a multiple response with ``K`` keys and partial
scoring (``max(0, keys chosen - others chosen)``, categories ``0..K``).

Item groups CSV (header required)::

    item_id,competency[,model][,competency_name]
    S1WantCurse,want,gpcm,Wanting to be verbally aggressive

``model`` (optional, one of the calibration models) sets an item's model, as R mirt's
``itemtype`` vector does; ``competency_name`` names the competency (first one wins).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from calibration.data import ResponseData
from calibration.errors import CalibrationWarning, DataProblem, ResponseDataError
from calibration.models import MODELS, ModelName
from item_banks.model import (
    Bank,
    Competency,
    IrtParameters,
    Item,
    MultipleResponse,
    OnePL,
    Option,
    PartialCredit,
    SingleChoice,
    TwoPL,
)
from item_banks.validation import PLACEHOLDER

#: The competency of data without an item-groups file.
DEFAULT_COMPETENCY = "scale"
_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")


@dataclass(frozen=True)
class ItemGroups:
    """Competency (and optionally model) of every item, from an item-groups CSV."""

    source: str
    competency: dict[str, str]
    model: dict[str, ModelName] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    line: dict[str, int] = field(default_factory=dict)


def identifier_problem(value: str) -> str | None:
    """Why ``value`` cannot be a bank identifier (``None`` when it can)."""
    if not value:
        return "is empty"
    if len(value) > 64:
        return "is longer than 64 characters"
    if not _IDENTIFIER.match(value):
        return (
            "is not a bank identifier (letters, digits and _ . : -, starting with a letter "
            "or digit)"
        )
    return None


def read_item_groups(path: str | Path) -> ItemGroups:
    """Read an item-groups CSV (see the module documentation).

    Raises
    ------
    ResponseDataError
        With every problem located by line and column.
    """
    path = Path(path)
    source = str(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise ResponseDataError(
            [DataProblem(source=source, message=f"cannot read the file: {exc.strerror}")]
        ) from None
    except UnicodeDecodeError:
        raise ResponseDataError([DataProblem(source=source, message="not UTF-8 text")]) from None
    rows = list(csv.reader(text.splitlines()))
    problems: list[DataProblem] = []
    if not rows:
        raise ResponseDataError([DataProblem(source=source, message="the file is empty")])
    header = [cell.strip().lower() for cell in rows[0]]
    missing = [name for name in ("item_id", "competency") if name not in header]
    if missing:
        raise ResponseDataError(
            [
                DataProblem(
                    source=source,
                    line=1,
                    message="the header needs the columns item_id, competency; missing "
                    + ", ".join(missing),
                )
            ]
        )
    col = {name: header.index(name) for name in header}
    groups = ItemGroups(source=source, competency={})
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            problems.append(
                DataProblem(
                    source=source,
                    line=line,
                    message=f"expected {len(header)} fields, found {len(row)}",
                )
            )
            continue
        item = row[col["item_id"]].strip()
        competency = row[col["competency"]].strip()
        if item in groups.competency:
            problems.append(
                DataProblem(
                    source=source,
                    line=line,
                    column="item_id",
                    message=f'item "{item}" is listed twice (first on line {groups.line[item]})',
                )
            )
            continue
        why = identifier_problem(competency)
        if why is not None:
            problems.append(
                DataProblem(
                    source=source, line=line, column="competency", message=f'"{competency}" {why}'
                )
            )
            continue
        groups.competency[item] = competency
        groups.line[item] = line
        if "model" in col and row[col["model"]].strip():
            model = row[col["model"]].strip().lower()
            if model not in MODELS:
                problems.append(
                    DataProblem(
                        source=source,
                        line=line,
                        column="model",
                        message=f'"{model}" is not a model; choose one of {", ".join(MODELS)}',
                    )
                )
            else:
                groups.model[item] = model
        if "competency_name" in col and row[col["competency_name"]].strip():
            groups.names.setdefault(competency, row[col["competency_name"]].strip()[:200])
    if problems:
        raise ResponseDataError(problems)
    if not groups.competency:
        raise ResponseDataError([DataProblem(source=source, message="no items listed")])
    return groups


def check_items(
    data: ResponseData, groups: ItemGroups | None
) -> tuple[dict[str, str], list[CalibrationWarning]]:
    """The competency of every data column, with located errors for ids a bank refuses.

    Raises
    ------
    ResponseDataError
        When a column name is not a bank identifier, or a column has no group.
    """
    problems: list[DataProblem] = []
    competency: dict[str, str] = {}
    for item in data.item_ids:
        why = identifier_problem(item)
        if why is not None:
            problems.append(DataProblem(source=data.source, message=f'item id "{item}" {why}'))
            continue
        if groups is None:
            competency[item] = DEFAULT_COMPETENCY
        elif item in groups.competency:
            competency[item] = groups.competency[item]
        else:
            problems.append(
                DataProblem(
                    source=groups.source,
                    message=f'item "{item}" of {data.source} has no competency in this file',
                )
            )
    if problems:
        raise ResponseDataError(problems[:50])
    warnings = []
    if groups is not None:
        absent = [i for i in groups.competency if i not in set(data.item_ids)]
        if absent:
            warnings.append(
                CalibrationWarning(
                    kind="unused_group",
                    subject=groups.source,
                    message=f"{len(absent)} listed items are not in {data.source} "
                    f'(first: "{absent[0]}" on line {groups.line[absent[0]]})',
                )
            )
    return competency, warnings


def placeholder_parameters(n_categories: int) -> IrtParameters:
    """Parameters of an item before calibration (replaced by the estimates)."""
    if n_categories <= 2:
        return TwoPL(a=1.0, b=0.0)
    steps = n_categories - 1
    return PartialCredit(a=1.0, thresholds=tuple(-1.0 + 2.0 * k / steps for k in range(steps)))


def _interaction(n_categories: int) -> SingleChoice | MultipleResponse:
    if n_categories <= 2:
        return SingleChoice(
            options=(
                Option(id="a", text=f"Correct answer {PLACEHOLDER}"),
                Option(id="b", text=f"Wrong answer {PLACEHOLDER}"),
            ),
            key="a",
        )
    keys = tuple(f"k{k}" for k in range(1, n_categories))
    options = tuple(Option(id=k, text=f"Creditable answer {PLACEHOLDER}") for k in keys)
    return MultipleResponse(
        options=(*options, Option(id="x", text=f"Wrong answer {PLACEHOLDER}")),
        key=keys,
        scoring="partial",
    )


def bank_identifier(text: str) -> str:
    """A bank identifier made from a file name (``my data.csv`` -> ``my-data``)."""
    stem = re.sub(r"[^A-Za-z0-9_.:-]+", "-", Path(text).stem).strip("-._:")
    return stem[:64] or "calibrated"


def skeleton_bank(
    data: ResponseData,
    competency: Mapping[str, str],
    n_categories: Mapping[str, int],
    *,
    names: Mapping[str, str] | None = None,
    parameters: Mapping[str, IrtParameters] | None = None,
    rasch: Sequence[str] = (),
) -> Bank:
    """The skeleton bank of the data's columns (see the module documentation).

    Parameters
    ----------
    competency
        Competency of every item (in data order).
    n_categories
        Score categories of every item (2 for dichotomous items).
    parameters
        Item parameters; placeholders (:func:`placeholder_parameters`) for the others.
    rasch
        Dichotomous items whose placeholder is a Rasch item (``1pl``, ``a = 1``).
    """
    names = names or {}
    parameters = parameters or {}
    source = Path(data.source).name
    order = list(dict.fromkeys(competency[item] for item in data.item_ids))
    competencies = tuple(
        Competency(
            id=c,
            name=names.get(c, f"{c} (items of {source})" if c != DEFAULT_COMPETENCY else source)[
                :200
            ],
        )
        for c in order
    )
    items = []
    for item in data.item_ids:
        cats = max(2, int(n_categories[item]))
        irt = parameters.get(item)
        if irt is None:
            irt = OnePL(b=0.0) if item in rasch and cats == 2 else placeholder_parameters(cats)
        items.append(
            Item(
                id=item,
                competency=competency[item],
                stem=f"Item {item} {PLACEHOLDER}: calibrated from {source}.",
                interaction=_interaction(cats),
                irt=irt,
            )
        )
    return Bank(
        id=bank_identifier(data.source),
        title=f"Calibrated from {source}"[:200],
        version="0",
        competencies=competencies,
        items=tuple(items),
        notes=f"Skeleton bank made by skillgauge calibrate from {source}: every stem and "
        f"answer option is a placeholder {PLACEHOLDER}; the parameters are estimates.",
    )
