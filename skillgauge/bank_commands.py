"""``skillgauge bank ...``: validate, synthesise and tune item banks."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import msgspec

from engine.policy import Policy, check_policy, load_policy
from engine.pool import compile_pool
from engine.simulation import sympson_hetter
from engine.synthetic import synthetic_bank
from item_banks.errors import BankValidationError
from item_banks.formats.registry import read_any
from item_banks.model import Bank, model_name
from item_banks.native import content_hash, read_bank, write_bank
from item_banks.secrecy import secrecy_warnings
from item_banks.validation import lint_bank, placeholder_warnings
from skillgauge.format_commands import add_limits, limits_of, print_notes, register_bank


def register(commands: Any) -> None:
    """Add the ``bank`` command group."""
    bank = commands.add_parser("bank", help="validate, synthesise and tune item banks")
    sub = bank.add_subparsers(dest="bank_command", required=True, metavar="SUBCOMMAND")

    validate = sub.add_parser(
        "validate",
        help="check bank files; one located line per problem",
        description="Check bank files. A valid bank prints a one-line summary; every problem "
        "prints one line naming the file, item and field. Exit status 1 if any file is invalid.",
    )
    validate.add_argument("files", nargs="+", type=Path, metavar="FILE")
    validate.add_argument(
        "--warnings",
        action="store_true",
        help="also list authoring warnings (options without rationale, items without solution)",
    )
    validate.add_argument(
        "--awarding",
        action="store_true",
        help="the bank is used by an assessment that awards credentials: warn about the "
        "answer keys it holds (such a bank must stay private)",
    )
    add_limits(validate)
    validate.set_defaults(handler=_validate)
    register_bank(sub)

    synth = sub.add_parser("synth", help="write a synthetic bank for simulation and benchmarks")
    synth.add_argument("--items", type=int, required=True)
    synth.add_argument(
        "--model", choices=["1pl", "2pl", "3pl", "4pl", "grm", "gpcm"], default="3pl"
    )
    synth.add_argument("--competencies", type=int, default=1)
    synth.add_argument("--categories", type=int, default=4, help="for grm/gpcm")
    synth.add_argument("--pretest", type=int, default=0, help="mark the last N items pretest")
    synth.add_argument("--seed", type=int, default=1)
    synth.add_argument(
        "--correlation",
        type=float,
        help="store a latent correlation matrix with this correlation between every two "
        "competencies (for correlated sessions)",
    )
    synth.add_argument("--out", type=Path, required=True, help="FILE.yaml or FILE.json")
    synth.set_defaults(handler=_synth)

    sh = sub.add_parser(
        "sympson-hetter",
        help="set Sympson-Hetter exposure parameters by simulation and write a new bank",
    )
    sh.add_argument("--bank", type=Path, required=True)
    sh.add_argument("--policy", type=Path, help="policy TOML (default policy if omitted)")
    sh.add_argument("--r-max", type=float, default=0.25)
    sh.add_argument("--examinees", type=int, default=2000)
    sh.add_argument("--iterations", type=int, default=15)
    sh.add_argument("--seed", type=int, default=1)
    sh.add_argument("--out", type=Path, required=True)
    sh.set_defaults(handler=_sympson_hetter)


def summary_line(bank: Bank, source: str) -> str:
    """One line describing a valid bank."""
    operational = sum(1 for item in bank.items if item.status == "operational")
    models = Counter(model_name(item.irt) for item in bank.items)
    model_text = ", ".join(f"{m} {n}" for m, n in sorted(models.items()))
    return (
        f'{source}: ok: "{bank.title}" version {bank.version}: {len(bank.items)} items '
        f"({operational} operational, {len(bank.items) - operational} pretest), "
        f"{len(bank.competencies)} competencies, models {model_text}; "
        f"sha256 {content_hash(bank)[:12]}"
    )


def _validate(args: argparse.Namespace) -> int:
    status = 0
    for path in args.files:
        try:
            result = read_any(path, limits=limits_of(args))
        except BankValidationError as exc:
            for problem in exc.problems:
                print(problem)
            status = 1
            continue
        bank = result.bank
        print(summary_line(bank, str(path)))
        print_notes(result.skipped, result.warnings)
        # placeholders (a skeleton bank's stems) are always listed; the rest on request
        lint = lint_bank if args.warnings else placeholder_warnings
        for warning in lint(bank, str(path)):
            print(f"warning: {warning}")
        for warning in secrecy_warnings(bank, str(path), awarding=args.awarding):
            print(f"warning: {warning}")
    return status


def _synth(args: argparse.Namespace) -> int:
    try:
        bank = synthetic_bank(
            args.items,
            args.model,
            args.competencies,
            args.seed,
            categories=args.categories,
            pretest=args.pretest,
            correlation=args.correlation,
        )
    except ValueError as exc:
        print(f"skillgauge bank synth: {exc}", file=sys.stderr)
        return 1
    write_bank(bank, args.out)
    print(summary_line(bank, str(args.out)))
    return 0


def _sympson_hetter(args: argparse.Namespace) -> int:
    bank = read_bank(args.bank)
    policy = load_policy(args.policy) if args.policy else Policy()
    pool = compile_pool(bank)
    check_policy(policy, pool, source=str(args.policy or "the default policy"))
    result = sympson_hetter(
        pool,
        policy,
        r_max=args.r_max,
        examinees=args.examinees,
        iterations=args.iterations,
        seed=args.seed,
    )
    items = tuple(
        msgspec.structs.replace(item, exposure=round(k, 4) if k < 1.0 else None)
        for item, k in zip(bank.items, result.exposure, strict=True)
    )
    write_bank(msgspec.structs.replace(bank, items=items), args.out)
    trail = " -> ".join(f"{m:.3f}" for m in result.max_exposure)
    state = "converged" if result.converged else "did not converge; raise --iterations"
    print(f"maximum exposure by iteration: {trail} ({state})")
    limited = sum(1 for k in result.exposure if k < 1.0)
    print(f"{args.out}: {limited} items limited (K < 1), r_max {args.r_max:g}")
    return 0
