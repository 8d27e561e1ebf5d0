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
import math
from typing import Any

import msgspec

from item_banks.errors import BankValidationError, Problem
from item_banks.formats.common import decode_text
from item_banks.messages import explain, join_path, split_path
from item_banks.model import Bank, IrtParameters
from item_banks.native import DEFAULT_LIMITS, Limits
from item_banks.validation import check_bank

REQUIRED = ("item_id", "model")
NUMBERS = ("a", "b", "c", "d", "se_a", "se_b", "se_c", "se_d")
LISTS = ("thresholds", "se_thresholds")


class Table(msgspec.Struct, frozen=True, kw_only=True):
    """A decoded CSV file: the header's columns (1-based) and each row with its line."""

    columns: dict[str, int]
    rows: list[tuple[int, dict[str, str]]]
    warnings: list[Problem] = msgspec.field(default_factory=list)


def read_csv_table(
    data: bytes, source: str, limits: Limits, *, accept_cp1252: bool = True
) -> Table:
    """Decode a CSV file (UTF-8, header row); refuse oversized or non-UTF-8 files.

    A file that is certainly Windows-1252 is read with a warning in ``Table.warnings``
    (:func:`item_banks.formats.common.decode_text`), unless ``accept_cp1252`` is False.

    Column names are trimmed and lower-cased; each row carries the line it starts on (a
    quoted cell may span lines).
    """
    if len(data) > limits.max_bytes:
        raise BankValidationError(
            [
                Problem(
                    source=source,
                    message=f"file is {len(data):,} bytes; the limit is {limits.max_bytes:,}",
                )
            ]
        )
    text, notes = decode_text(data, source, accept_cp1252=accept_cp1252)
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[tuple[int, dict[str, str]]] = []
    columns: dict[str, int] = {}
    try:
        start = reader.line_num + 1
        for cells in reader:
            if not columns:
                names = [cell.strip().lower() for cell in cells]
                columns = {name: i + 1 for i, name in reversed(list(enumerate(names))) if name}
            elif any(cell.strip() for cell in cells):
                row = {
                    name: (cells[i - 1].strip() if i <= len(cells) else "")
                    for name, i in columns.items()
                }
                rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise BankValidationError(
            [
                Problem(
                    source=source, field=f"line {reader.line_num}", message=f"not valid CSV: {exc}"
                )
            ]
        ) from None
    return Table(columns=columns, rows=rows, warnings=notes)


class _CellError(Exception):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


def _number(row: dict[str, str], name: str) -> float:
    try:
        value = float(row[name])
    except ValueError:
        raise _CellError(name, f"{row[name]!r} is not a number") from None
    if not math.isfinite(value):
        raise _CellError(name, f"{row[name]!r} is not a finite number")
    return value


def _numbers(row: dict[str, str], name: str) -> list[float]:
    try:
        values = [float(v) for v in row[name].split(";")]
    except ValueError:
        raise _CellError(name, f"{row[name]!r} is not numbers separated by ;") from None
    if not all(math.isfinite(v) for v in values):
        raise _CellError(name, f"{row[name]!r} holds a number that is not finite")
    return values


def _irt(row: dict[str, str]) -> dict[str, Any]:
    irt: dict[str, Any] = {"model": row["model"].lower()}
    se: dict[str, Any] = {}
    for name in ("a", "b", "c", "d"):
        if row.get(name):
            irt[name] = _number(row, name)
        if row.get(f"se_{name}"):
            se[name] = _number(row, f"se_{name}")
    if row.get("thresholds"):
        irt["thresholds"] = _numbers(row, "thresholds")
    if row.get("se_thresholds"):
        se["thresholds"] = _numbers(row, "se_thresholds")
    if se:
        irt["se"] = se
    return irt


def _column_of(parts: list[str | int], columns: dict[str, int]) -> str:
    """The CSV column a parameter path comes from (``se.a`` -> ``se_a``); else ``model``."""
    names = [p for p in parts if isinstance(p, str) and p != "irt"]
    name = "_".join(names[:2]) if names[:1] == ["se"] else (names[0] if names else "model")
    return name if name in columns else "model"


def _where(line: int, column: str, columns: dict[str, int]) -> str:
    return f"line {line}, column {columns.get(column, 1)} ({column})"


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
        With every problem located by line and column (``line 3, column 4 (b)``): unknown
        items, repeated items, bad numbers, parameters that do not fit the model or the item.
    """
    # A parameters file has no channel for warnings: one not in UTF-8 is refused, located.
    table = read_csv_table(data, source, limits, accept_cp1252=False)
    columns = table.columns
    problems: list[Problem] = []
    missing = [name for name in REQUIRED if name not in columns]
    if columns and missing:
        raise BankValidationError(
            [
                Problem(
                    source=source,
                    field="line 1",
                    message=f"the header needs item_id and model (missing {', '.join(missing)})",
                )
            ]
        )
    index = {item.id: i for i, item in enumerate(bank.items)}
    items = list(bank.items)
    seen: dict[str, int] = {}
    for line, row in table.rows:
        item_id = row.get("item_id", "")
        if item_id not in index:
            problems.append(
                Problem(
                    source=source,
                    item=item_id or None,
                    field=_where(line, "item_id", columns),
                    message="no such item in the bank",
                )
            )
            continue
        if item_id in seen:
            problems.append(
                Problem(
                    source=source,
                    item=item_id,
                    field=_where(line, "item_id", columns),
                    message=f"repeats line {seen[item_id]}",
                )
            )
            continue
        seen[item_id] = line
        try:
            raw = _irt(row)
        except _CellError as exc:
            problems.append(
                Problem(
                    source=source,
                    item=item_id,
                    field=_where(line, exc.column, columns),
                    message=exc.message,
                )
            )
            continue
        try:
            irt = msgspec.convert(raw, IrtParameters)
        except msgspec.ValidationError as exc:
            parts, message = explain(str(exc), raw)
            column = _column_of(parts, columns)
            name = join_path(parts)
            if message.startswith("is not a known field"):
                message = f"the {raw['model']} model has no {name}"
            elif message == "is required":
                message = f"the {raw['model']} model needs {name}"
            elif column == "model" and name != "model":
                message = f"{name}: {message}"
            problems.append(
                Problem(
                    source=source,
                    item=item_id,
                    field=_where(line, column, columns),
                    message=message,
                )
            )
            continue
        items[index[item_id]] = msgspec.structs.replace(items[index[item_id]], irt=irt)
    if not table.rows:
        problems.append(Problem(source=source, message="no parameter rows"))
    if problems:
        raise BankValidationError(problems)
    new_version = version or f"{bank.version}+params"[:40]
    merged = msgspec.structs.replace(bank, items=tuple(items), version=new_version)
    problems = []
    for found in check_bank(merged, source):
        if found.item in seen and found.field:
            column = _column_of(split_path(found.field), columns)
            found = Problem(  # noqa: PLW2901 - located in the CSV instead
                source=source,
                item=found.item,
                field=_where(seen[found.item], column, columns),
                message=f"{found.field}: {found.message}",
            )
        problems.append(found)
    if problems:
        raise BankValidationError(problems)
    return merged
