"""A new bank version from a calibration, and the parameter CSV.

The input bank is never modified: the calibrated parameters (with their standard errors under
``irt.se``) go into a *new* bank whose ``version`` label is bumped and whose ``notes`` record
the calibration. Items that could not be estimated keep their previous parameters. The new
bank is validated with the same checks as any uploaded bank before it is written, and it is
written atomically (a temporary file renamed over the target), so a failure never leaves a
half-written file.
"""

from __future__ import annotations

import csv
import math
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import msgspec

from calibration.errors import CalibrationError
from item_banks.errors import BankValidationError
from item_banks.model import (
    Bank,
    FourPL,
    Graded,
    IrtParameters,
    PartialCredit,
    ThreePL,
)
from item_banks.native import encode_bank, format_for
from item_banks.validation import check_bank

_NOTES_LIMIT = 20_000


def bump_version(label: str) -> str:
    """The next version label: the last number is incremented (``1.0`` -> ``1.1``).

    A label without a number gets ``.1`` appended (``beta`` -> ``beta.1``); the result is cut
    to the bank's 40-character limit.
    """
    match = re.search(r"(\d+)(?!.*\d)", label)
    if match is None:
        return (label + ".1")[-40:]
    start, end = match.span()
    width = end - start
    return (label[:start] + str(int(match.group()) + 1).zfill(width) + label[end:])[:40]


def within_bank_limits(params: IrtParameters) -> str | None:
    """Why ``params`` cannot be stored in a bank (``None`` when they can)."""
    if not 0.0 < params.a <= 10.0:
        return f"slope a = {params.a:.3g} is outside the bank's range (0, 10]"
    if isinstance(params, Graded | PartialCredit):
        if any(abs(t) > 10.0 for t in params.thresholds):
            return "a threshold lies outside the bank's range [-10, 10]"
        return None
    if abs(params.b) > 10.0:
        return f"difficulty b = {params.b:.3g} is outside the bank's range [-10, 10]"
    if isinstance(params, ThreePL | FourPL) and not 0.0 <= params.c < 1.0:
        return f"lower asymptote c = {params.c:.3g} is outside [0, 1)"
    return None


def updated_bank(
    bank: Bank,
    parameters: Mapping[str, IrtParameters],
    *,
    note: str,
    version: str | None = None,
) -> Bank:
    """``bank`` with the given items' parameters replaced, a new version label and a note.

    Raises
    ------
    BankValidationError
        When the result fails the bank checks (it is then not returned, let alone written).
    """
    items = tuple(
        msgspec.structs.replace(item, irt=parameters[item.id]) if item.id in parameters else item
        for item in bank.items
    )
    notes = (bank.notes + "\n\n" + note).strip() if bank.notes else note
    if len(notes) > _NOTES_LIMIT:
        notes = notes[-_NOTES_LIMIT:]
    new = msgspec.structs.replace(
        bank, items=items, version=version or bump_version(bank.version), notes=notes
    )
    # Round-trip through the schema so every field limit is enforced, then the cross checks.
    try:
        new = msgspec.convert(msgspec.to_builtins(new), Bank)
    except msgspec.ValidationError as exc:
        raise CalibrationError(f"the calibrated bank does not fit the bank schema: {exc}") from None
    problems = check_bank(new, source="calibrated bank")
    if problems:
        raise BankValidationError(problems)
    return new


def write_atomically(data: bytes, path: str | Path) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o666 & ~_umask())  # as if created normally (mkstemp uses 0600)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_bank_file(bank: Bank, path: str | Path) -> None:
    """Write a bank atomically in the format its extension names."""
    write_atomically(encode_bank(bank, format_for(path)), path)


CSV_COLUMNS = (
    "competency",
    "item_id",
    "model",
    "status",
    "n",
    "a",
    "b",
    "c",
    "u",
    "thresholds",
    "se_a",
    "se_b",
    "se_c",
    "se_u",
    "se_thresholds",
    "a1",
    "d",
    "s_x2",
    "df",
    "p",
    "infit",
    "outfit",
    "flags",
)


def write_parameter_csv(rows: Iterable[Mapping[str, object]], path: str | Path) -> None:
    """Write one row per item with :data:`CSV_COLUMNS` (empty cells where not applicable)."""
    lines: list[str] = []

    class _Sink:
        def write(self, text: str) -> int:
            lines.append(text)
            return len(text)

    writer = csv.DictWriter(_Sink(), fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(row.get(k)) for k in CSV_COLUMNS})
    write_atomically("".join(lines).encode("utf-8"), path)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        return f"{value:.6g}"
    if isinstance(value, tuple | list):
        return ";".join(_cell(v) for v in value)
    return str(value)
