"""``skillgauge bank convert`` and ``bank diff``; ``bank validate`` reads every format.

Formats come from the file name or ``--from``/``--to`` (see
:mod:`item_banks.formats.registry`). Skipped items and warnings are printed as located lines;
refusals exit 1 with located lines and nothing written.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from item_banks.diff import diff_banks
from item_banks.errors import BankValidationError, Problem
from item_banks.formats.csv_params import merge_parameters
from item_banks.formats.registry import READ_FORMATS, WRITE_FORMATS, read_any, write_any
from item_banks.model import Bank
from item_banks.native import Limits


def add_limits(parser: argparse.ArgumentParser) -> None:
    """The size limits every reading command accepts."""
    parser.add_argument("--max-mb", type=float, default=20.0, help="per file (default 20)")
    parser.add_argument("--max-items", type=int, default=5000, help="per bank (default 5000)")


def limits_of(args: argparse.Namespace) -> Limits:
    """The :class:`Limits` the arguments ask for."""
    return Limits(max_bytes=int(args.max_mb * 1024 * 1024), max_items=args.max_items)


def register_bank(sub: Any) -> None:
    """Add ``convert`` and ``diff`` to the ``bank`` command group."""
    convert = sub.add_parser(
        "convert",
        help="convert a bank between formats (QTI, GIFT, Moodle XML, CSV, native)",
        description="Read IN in any supported format and write OUT (native .json/.yaml or a "
        "QTI 3.0 package .zip). Skipped items, warnings and what OUT cannot carry are printed.",
    )
    convert.add_argument("input", type=Path, metavar="IN")
    convert.add_argument("output", type=Path, metavar="OUT")
    convert.add_argument("--from", dest="source_format", choices=READ_FORMATS)
    convert.add_argument("--to", dest="target_format", choices=WRITE_FORMATS)
    convert.add_argument(
        "--params", type=Path, help="CSV of IRT parameters to merge (item_id, model, a, b...)"
    )
    add_limits(convert)
    convert.set_defaults(handler=_convert)

    diff = sub.add_parser(
        "diff", help="items added, removed and changed between two banks, with parameter changes"
    )
    diff.add_argument("old", type=Path, metavar="A")
    diff.add_argument("new", type=Path, metavar="B")
    add_limits(diff)
    diff.set_defaults(handler=_diff)


def print_notes(skipped: Any, warnings: Any) -> None:
    """Print skipped items and warnings, one located line each."""
    for problem in skipped:
        print(problem)  # its message starts with "skipped:"
    for problem in warnings:
        print(f"warning: {problem}")


def _convert(args: argparse.Namespace) -> int:
    limits = limits_of(args)
    result = read_any(args.input, fmt=args.source_format, limits=limits)
    bank = result.bank
    print_notes(result.skipped, result.warnings)
    if args.params:
        try:
            table = args.params.read_bytes()
        except OSError as exc:
            raise BankValidationError(
                [Problem(source=str(args.params), message=f"cannot read the file: {exc.strerror}")]
            ) from None
        bank = merge_parameters(bank, table, str(args.params), limits=limits)
        print(f"{args.params}: merged IRT parameters; version {bank.version}")
    notes = write_any(bank, args.output, fmt=args.target_format, media=result.media)
    for note in notes:
        print(note)  # its message says what is not carried
    print(f"{args.output}: wrote {len(bank.items)} items ({len(result.skipped)} skipped)")
    return 0


def _value(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _change(old: float | None, new: float | None) -> str:
    if old is None or new is None:
        return "-"
    delta = new - old
    return f"{delta:+.3f}" if abs(delta) >= 0.0005 else f"{delta:+.1e}"


def _table(rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  "
        + "  ".join(
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ).rstrip()
        for row in rows
    ]


def diff_lines(old: Bank, new: Bank, old_name: str = "A", new_name: str = "B") -> list[str]:
    """The differences as a psychometrician reads them in a terminal.

    Bank fields that changed, one line per added, removed and changed item, then a table
    of every IRT parameter and standard error that changed (old, new, new - old), and a
    summary line.
    """
    diff = diff_banks(old, new)
    lines = [f"bank {name}: {was!r} -> {now!r}" for name, was, now in diff.header]
    ids = [*diff.added, *diff.removed, *(item for item, _ in diff.changed)]
    width = max((len(i) for i in ids), default=0)
    lines += [f"added    {item}" for item in diff.added]
    lines += [f"removed  {item}" for item in diff.removed]
    for item, changed in diff.changed:
        shown = ", ".join(changed[:4]) + (
            f" and {len(changed) - 4} more" if len(changed) > 4 else ""
        )
        lines.append(f"changed  {item.ljust(width)}  {shown}")
    if diff.parameters:
        lines.append("IRT parameters (logistic metric, D = 1):")
        rows = [["item", "model", "parameter", old_name, new_name, "change"]]
        rows += [
            [c.item, c.model, c.parameter, _value(c.old), _value(c.new), _change(c.old, c.new)]
            for c in diff.parameters
        ]
        lines += _table(rows, right={3, 4, 5})
    counts = [
        f"{len(diff.added)} added",
        f"{len(diff.removed)} removed",
        f"{len(diff.changed)} changed",
        f"{len(diff.reparameterised)} with new parameters",
    ]
    lines.append(f"{len(new.items)} items: {', '.join(counts)}")
    return lines


def _diff(args: argparse.Namespace) -> int:
    limits = limits_of(args)
    old = read_any(args.old, limits=limits).bank
    new = read_any(args.new, limits=limits).bank
    print(f"A = {args.old}: {old.title!r} version {old.version}, {len(old.items)} items")
    print(f"B = {args.new}: {new.title!r} version {new.version}, {len(new.items)} items")
    for line in diff_lines(old, new):
        print(line)
    return 0
