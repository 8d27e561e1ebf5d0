"""CSV item parameters merged into a bank as a new version.

Columns (header row required, order free): ``item_id``, ``model`` (``1pl``...``4pl``,
``grm``, ``gpcm``), ``a``, ``b``, ``c``, ``d`` or ``thresholds`` (``;``-separated, for grm
and gpcm), and optional standard errors ``se_a``, ``se_b``, ``se_c``, ``se_d``,
``se_thresholds``. Empty cells mean "not given". Parameters are in the logistic metric with
D = 1. The merged bank is validated as a whole; its ``version`` gets ``+params`` appended
unless a new version is given.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import msgspec

from item_banks.errors import BankValidationError, Problem
from item_banks.messages import explain, join_path
from item_banks.model import Bank, IrtParameters
from item_banks.native import DEFAULT_LIMITS, Limits
from item_banks.validation import check_bank

REQUIRED = ("item_id", "model")


def read_csv_rows(data: bytes, source: str, limits: Limits) -> list[dict[str, str]]:
    """Decode a CSV file (UTF-8, header row) into rows; refuse oversized or non-UTF-8 files."""
    if len(data) > limits.max_bytes:
        raise BankValidationError(
            [
                Problem(
                    source=source,
                    message=f"file is {len(data):,} bytes; the limit is {limits.max_bytes:,}",
                )
            ]
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BankValidationError(
            [Problem(source=source, message=f"not UTF-8 text (byte {exc.start})")]
        ) from None
    try:
        rows = list(csv.DictReader(io.StringIO(text)))
    except csv.Error as exc:
        raise BankValidationError(
            [Problem(source=source, message=f"not valid CSV: {exc}")]
        ) from None
    return [{(k or "").strip().lower(): (v or "").strip() for k, v in row.items()} for row in rows]


def _irt(row: dict[str, str]) -> dict[str, Any]:
    irt: dict[str, Any] = {"model": row["model"].lower()}
    se: dict[str, Any] = {}
    for name in ("a", "b", "c", "d"):
        if row.get(name):
            irt[name] = float(row[name])
        if row.get(f"se_{name}"):
            se[name] = float(row[f"se_{name}"])
    if row.get("thresholds"):
        irt["thresholds"] = [float(v) for v in row["thresholds"].split(";")]
    if row.get("se_thresholds"):
        se["thresholds"] = [float(v) for v in row["se_thresholds"].split(";")]
    if se:
        irt["se"] = se
    return irt


def merge_parameters(
    bank: Bank,
    data: bytes,
    source: str,
    *,
    version: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Bank:
    """Return ``bank`` with the CSV's IRT parameters, as a new version.

    Raises
    ------
    BankValidationError
        With every located problem (``line N``): unknown items, repeated items, bad numbers,
        parameters that do not fit the model or the item.
    """
    rows = read_csv_rows(data, source, limits)
    problems: list[Problem] = []
    if rows and any(column not in rows[0] for column in REQUIRED):
        raise BankValidationError(
            [Problem(source=source, field="line 1", message="the header needs item_id and model")]
        )
    index = {item.id: i for i, item in enumerate(bank.items)}
    items = list(bank.items)
    seen: dict[str, int] = {}
    for line, row in enumerate(rows, start=2):
        item_id = row.get("item_id", "")
        where = f"line {line}"
        if item_id not in index:
            problems.append(
                Problem(
                    source=source,
                    item=item_id or None,
                    field=where,
                    message="no such item in the bank",
                )
            )
            continue
        if item_id in seen:
            problems.append(
                Problem(
                    source=source,
                    item=item_id,
                    field=where,
                    message=f"repeats line {seen[item_id]}",
                )
            )
            continue
        seen[item_id] = line
        try:
            raw = _irt(row)
        except ValueError as exc:
            problems.append(Problem(source=source, item=item_id, field=where, message=str(exc)))
            continue
        try:
            irt = msgspec.convert(raw, IrtParameters)
        except msgspec.ValidationError as exc:
            parts, message = explain(str(exc), raw)
            problems.append(
                Problem(
                    source=source,
                    item=item_id,
                    field=f"{where}: {join_path(parts) or 'irt'}",
                    message=message,
                )
            )
            continue
        items[index[item_id]] = msgspec.structs.replace(items[index[item_id]], irt=irt)
    if not rows:
        problems.append(Problem(source=source, message="no parameter rows"))
    if problems:
        raise BankValidationError(problems)
    new_version = version or f"{bank.version}+params"[:40]
    merged = msgspec.structs.replace(bank, items=tuple(items), version=new_version)
    problems = [
        Problem(
            source=source,
            item=p.item,
            field=f"line {seen[p.item]}: {p.field}" if p.item in seen else p.field,
            message=p.message,
        )
        for p in check_bank(merged, source)
    ]
    if problems:
        raise BankValidationError(problems)
    return merged
