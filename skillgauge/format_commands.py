"""``skillgauge bank convert`` and ``bank diff``; ``bank validate`` reads every format.

Formats come from the file name or ``--from``/``--to`` (see
:mod:`item_banks.formats.registry`). Skipped items and warnings are printed as located lines;
refusals exit 1 with located lines and nothing written.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import msgspec

from item_banks.formats.csv_params import merge_parameters
from item_banks.formats.registry import READ_FORMATS, WRITE_FORMATS, read_any, write_any
from item_banks.model import Bank, Item, model_name
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
        print(f"skipped: {problem}")
    for problem in warnings:
        print(f"warning: {problem}")


def _convert(args: argparse.Namespace) -> int:
    limits = limits_of(args)
    result = read_any(args.input, fmt=args.source_format, limits=limits)
    bank = result.bank
    if args.params:
        bank = merge_parameters(bank, args.params.read_bytes(), str(args.params), limits=limits)
    print_notes(result.skipped, result.warnings)
    notes = write_any(bank, args.output, fmt=args.target_format)
    for note in notes:
        print(f"not carried: {note}")
    print(f"{args.output}: wrote {len(bank.items)} items ({len(result.skipped)} skipped)")
    return 0


def _params(item: Item) -> dict[str, Any]:
    raw = msgspec.to_builtins(item.irt)
    assert isinstance(raw, dict)
    raw.pop("se", None)
    return raw


def diff_lines(old: Bank, new: Bank) -> list[str]:
    """Human-readable differences: added, removed, changed items and parameter changes."""
    lines: list[str] = []
    before = {item.id: item for item in old.items}
    after = {item.id: item for item in new.items}
    for item_id in after.keys() - before.keys():
        lines.append(f"+ {item_id}: added")
    for item_id in before.keys() - after.keys():
        lines.append(f"- {item_id}: removed")
    for item_id in [i for i in before if i in after]:
        a, b = before[item_id], after[item_id]
        if a == b:
            continue
        raw_a, raw_b = msgspec.to_builtins(a), msgspec.to_builtins(b)
        fields = [k for k in sorted(set(raw_a) | set(raw_b)) if raw_a.get(k) != raw_b.get(k)]
        other = [f for f in fields if f != "irt"]
        if other:
            lines.append(f"~ {item_id}: changed {', '.join(other)}")
        if "irt" in fields:
            pa, pb = _params(a), _params(b)
            if model_name(a.irt) != model_name(b.irt):
                lines.append(f"~ {item_id}: model {model_name(a.irt)} -> {model_name(b.irt)}")
            for name in sorted(set(pa) | set(pb)):
                if name == "model" or pa.get(name) == pb.get(name):
                    continue
                va, vb = pa.get(name), pb.get(name)
                if isinstance(va, float) and isinstance(vb, float):
                    lines.append(f"~ {item_id}: {name} {va:g} -> {vb:g} ({vb - va:+.3g})")
                else:
                    lines.append(f"~ {item_id}: {name} {va} -> {vb}")
            if pa == pb:
                lines.append(f"~ {item_id}: standard errors changed")
    order = {item_id: i for i, item_id in enumerate([*before, *after])}
    lines.sort(key=lambda line: order.get(line[2:].split(":")[0], 0))
    return lines


def _diff(args: argparse.Namespace) -> int:
    limits = limits_of(args)
    old = read_any(args.old, limits=limits).bank
    new = read_any(args.new, limits=limits).bank
    lines = diff_lines(old, new)
    header = []
    for name in ("id", "title", "version"):
        if getattr(old, name) != getattr(new, name):
            header.append(f"bank {name}: {getattr(old, name)} -> {getattr(new, name)}")
    for line in [*header, *lines]:
        print(line)
    added = sum(1 for line in lines if line.startswith("+"))
    removed = sum(1 for line in lines if line.startswith("-"))
    changed = len({line[2:].split(":")[0] for line in lines if line.startswith("~")})
    print(f"{added} added, {removed} removed, {changed} changed")
    return 0
