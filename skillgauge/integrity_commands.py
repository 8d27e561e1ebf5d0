"""``skillgauge dif``, ``drift`` and ``calibrate-times``: fairness, item security, timing.

Every command reads the service's long export (or a wide CSV for ``dif``), prints a summary
and writes its full results as CSV (and HTML for ``dif --report``). Bad input is printed as
located lines (file, line, column) with exit status 1, never as a traceback.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from calibration.errors import CalibrationError, ResponseDataError
from calibration.models import MODELS


def register(commands: Any) -> None:
    """Add ``dif``, ``drift`` and ``calibrate-times``."""
    dif = commands.add_parser(
        "dif",
        help="differential item functioning by a covariate column (Mantel-Haenszel, LR test)",
        description="Compare how items function for two groups of learners matched on "
        "ability: Mantel-Haenszel with the ETS A/B/C (AA/BB/CC) categories, and the "
        "likelihood-ratio test of a two-group calibration. The group column is any extra "
        "column of the response CSV (one value per person).",
    )
    dif.add_argument(
        "responses",
        type=Path,
        help="response CSV, long or wide (wide without --bank: every column but person_id "
        "and the group column is an item)",
    )
    dif.add_argument("--group", required=True, metavar="COLUMN", help="the grouping column")
    dif.add_argument("--focal", metavar="VALUE", help="the focal group's value")
    dif.add_argument(
        "--reference", metavar="VALUE", help="the reference value (default: the other values)"
    )
    dif.add_argument("--bank", type=Path, help="bank: item models and theta matching")
    dif.add_argument(
        "--matching",
        choices=("total", "rest", "theta"),
        help="matching score (default: total for complete data, theta with --bank otherwise)",
    )
    dif.add_argument("--purify", action="store_true", help="two-stage criterion refinement")
    dif.add_argument(
        "--model",
        choices=[*MODELS, "bank"],
        help="IRT model of the LR test (default: the bank's models with --bank, else 2pl)",
    )
    dif.add_argument("--no-lr", action="store_true", help="Mantel-Haenszel only (faster)")
    dif.add_argument("--min-group", type=int, default=50, help="smallest group (default 50)")
    dif.add_argument("--format", choices=("auto", "long", "wide"), default="auto")
    dif.add_argument("--out", type=Path, help="write one CSV row per item here")
    dif.add_argument("--report", type=Path, help="write the DIF section as an HTML page")
    dif.set_defaults(handler=_dif)

    drift = commands.add_parser(
        "drift",
        help="flag items whose answers or times drift from their parameters, or overexposed",
        description="CUSUM charts of each item's residuals in the order the answers were "
        "given (easier, harder, faster than the bank's parameters say), with Monte Carlo "
        "p-values, and items given more often than the policy's r_max.",
    )
    drift.add_argument("responses", type=Path, help="long CSV with response, times, answered_at")
    drift.add_argument("--bank", type=Path, required=True)
    drift.add_argument("--policy", type=Path, help="policy TOML: its exposure r_max is used")
    drift.add_argument("--r-max", type=float, help="largest exposure rate (overrides --policy)")
    drift.add_argument("--alpha", type=float, default=0.01, help="significance (default 0.01)")
    drift.add_argument("--k", type=float, default=0.25, help="CUSUM reference value (0.25)")
    drift.add_argument("--replicates", type=int, default=500, help="Monte Carlo runs (500)")
    drift.add_argument("--seed", type=int, default=1)
    drift.add_argument("--out", type=Path, help="write one CSV row per item here")
    drift.set_defaults(handler=_drift)

    times = commands.add_parser(
        "calibrate-times",
        help="fit the lognormal response-time model and write the times into a new bank",
        description="Estimate each item's time intensity (beta) and time discrimination "
        "(alpha) of van der Linden's lognormal model by marginal maximum likelihood from the "
        "recorded response times (seconds or elapsed_ms column), with standard errors, and "
        "write a new bank version carrying them. The input bank is never changed.",
    )
    times.add_argument("responses", type=Path, help="long CSV with seconds or elapsed_ms")
    times.add_argument("--bank", type=Path, required=True)
    times.add_argument("--out", type=Path, required=True, help="the new bank version")
    times.add_argument("--params", type=Path, help="also write the parameters as CSV")
    times.add_argument("--min-answers", type=int, default=20, help="per item (default 20)")
    times.set_defaults(handler=_calibrate_times)


# --------------------------------------------------------------------------- helpers


def _fail(exc: CalibrationError) -> int:
    if isinstance(exc, ResponseDataError):
        for problem in exc.problems:
            print(problem, file=sys.stderr)
    else:
        print(f"skillgauge: {exc}", file=sys.stderr)
    return 1


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}" if math.isfinite(value) else ""
    if isinstance(value, tuple | list):
        return ";".join(_cell(v) for v in value)
    return str(value)


def _write_csv(rows: Iterable[Mapping[str, object]], path: Path) -> None:
    rows = list(rows)
    columns = list(dict.fromkeys(key for row in rows for key in row))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([_cell(row.get(c)) for c in columns] for row in rows)
    _write(path, buffer.getvalue().encode("utf-8"))


def _write(path: Path, data: bytes) -> None:
    from calibration.bank_update import write_atomically

    try:
        write_atomically(data, path)
    except OSError as exc:
        raise CalibrationError(f"{path}: cannot write the file: {exc.strerror}") from None


def _p(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


# --------------------------------------------------------------------------- dif


def _dif(args: argparse.Namespace) -> int:
    try:
        return _run_dif(args)
    except CalibrationError as exc:
        return _fail(exc)


def _run_dif(args: argparse.Namespace) -> int:
    from calibration.data import read_responses
    from calibration.dif import dif_groups, mantel_haenszel_dif
    from calibration.dif_lr import likelihood_ratio_dif
    from calibration.dif_report import dif_rows, render_dif_section
    from calibration.models import bank_model
    from engine.pool import compile_pool
    from item_banks.native import read_bank

    bank = read_bank(args.bank) if args.bank else None
    item_ids = [i.id for i in bank.items] if bank else _wide_items(args)
    data = read_responses(args.responses, fmt=args.format, item_ids=item_ids)
    pool = None
    if bank is not None:
        pool = compile_pool(bank)
        _check_items(data, pool.index, f'bank "{bank.id}" version {bank.version}')
    groups = dif_groups(
        data, args.group, focal=args.focal, reference=args.reference, min_group=args.min_group
    )
    mh = mantel_haenszel_dif(data, groups, matching=args.matching, purify=args.purify, pool=pool)
    lr = None
    if not args.no_lr:
        model: Any = args.model or ("bank" if bank else "2pl")
        categories = None
        if model == "bank":
            if bank is None:
                raise CalibrationError("--model bank needs --bank")
            by_id = {i.id: i for i in bank.items}
            model = [bank_model(by_id[i].irt) for i in data.item_ids]
            assert pool is not None
            categories = {i: int(pool.n_categories[pool.index[i]]) for i in data.item_ids}
        lr = likelihood_ratio_dif(data, groups, model, n_categories=categories)
    for warning in (*data.warnings, *groups.warnings):
        print(f"warning: {warning}", file=sys.stderr)
    print(
        f"DIF by {mh.column}: reference {mh.reference!r} ({mh.n_reference}), focal "
        f"{mh.focal!r} ({mh.n_focal}); Mantel-Haenszel matched on {mh.matching}"
        + (f", purified (removed {', '.join(mh.criterion_removed)})" if mh.purified else "")
        + (f"; focal mean {lr.focal_mean:.2f}, SD {lr.focal_sd:.2f}" if lr else "")
    )
    tests = {i.item_id: i for i in lr.items} if lr else {}
    print(
        f"{'item':<20}{'ETS':>4}  {'favours':<10}{'delta/SMD':>10}{'MH p':>8}"
        f"{'LR G2':>9}{'LR p':>8}"
    )
    for item in mh.items:
        effect = item.smd_ratio if item.polytomous else item.delta_mh
        t = tests.get(item.item_id)
        print(
            f"{item.item_id[:19]:<20}{item.category:>4}  {item.favours:<10}"
            f"{'' if effect is None else f'{effect:.2f}':>10}{_p(item.p_value):>8}"
            f"{'' if t is None else f'{t.g2:.2f}':>9}{'' if t is None else _p(t.p_value):>8}"
        )
    if lr is not None:
        for item_id, reason in lr.not_tested.items():
            print(f"note: {item_id}: LR test not run: {reason}")
        for t in lr.items:
            if t.note:
                print(f"note: {t.item_id}: LR test unreliable: {t.note}")
    if args.out:
        _write_csv(dif_rows(mh, lr), args.out)
    if args.report:
        page = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            "<title>DIF report</title></head><body><main>"
            + render_dif_section(mh, lr)
            + "</main></body></html>"
        )
        _write(args.report, page.encode("utf-8"))
    return 0


def _wide_items(args: argparse.Namespace) -> list[str] | None:
    """Without a bank, a wide file's items are every column but person_id and the group."""
    from calibration.data import detect_format

    path: Path = args.responses
    if args.format == "long" or (args.format == "auto" and detect_format(path) == "long"):
        return None
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle), [])
    except OSError:
        return None  # the reader reports it, located
    names = [name.strip() for name in header]
    if args.group not in names:
        from calibration.errors import DataProblem

        others = ", ".join(n for n in names if n != "person_id") or "none"
        raise ResponseDataError(
            [
                DataProblem(
                    source=str(path),
                    line=1,
                    message=f'no column "{args.group}" in the data; its columns are: {others}',
                )
            ]
        )
    return [name for name in names if name not in ("person_id", args.group)]


def _check_items(data: Any, index: Mapping[str, int], bank_name: str) -> None:
    from calibration.errors import DataProblem

    unknown = [k for k, item in enumerate(data.item_ids) if item not in index]
    if unknown:
        problems = []
        for k in unknown[:50]:
            lines = [line for (i, _), line in data.locations.items() if i == k]
            problems.append(
                DataProblem(
                    source=data.source,
                    line=min(lines) if lines else None,
                    column="item_id",
                    message=f'item "{data.item_ids[k]}" is not a scored item of {bank_name}',
                )
            )
        raise ResponseDataError(problems)


# --------------------------------------------------------------------------- drift


def _drift(args: argparse.Namespace) -> int:
    try:
        return _run_drift(args)
    except CalibrationError as exc:
        return _fail(exc)


def _run_drift(args: argparse.Namespace) -> int:
    from calibration.drift import item_drift
    from calibration.timed_data import read_timed_long
    from engine.policy import load_policy
    from item_banks.native import read_bank

    bank = read_bank(args.bank)
    r_max = args.r_max
    if r_max is None and args.policy:
        r_max = load_policy(args.policy).exposure.r_max
    data = read_timed_long(args.responses)
    report = item_drift(
        data,
        bank,
        r_max=r_max,
        k=args.k,
        alpha=args.alpha,
        replicates=args.replicates,
        seed=args.seed,
    )
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(
        f"{report.answers} answers of {report.persons} learners to {len(report.items)} items; "
        f"CUSUM k {report.k:g}, {report.replicates} Monte Carlo runs, alpha {report.alpha:g}"
        + (f", r_max {report.r_max:g}" if report.r_max is not None else "")
        + f": {len(report.flagged)} items flagged"
    )
    if report.flagged:
        print(f"{'item':<20}{'answers':>8}{'share':>7}{'obs':>7}{'exp':>7}  flags (since)")
        for item in report.flagged:
            print(
                f"{item.item_id[:19]:<20}{item.answers:>8}{item.persons_share:>7.2f}"
                f"{item.observed or 0:>7.2f}{item.expected or 0:>7.2f}  "
                f"{', '.join(item.flags)}"
                + (f" (since {item.change_at})" if item.change_at else "")
            )
    if args.out:
        import msgspec

        _write_csv((msgspec.structs.asdict(item) for item in report.items), args.out)
    return 0


# --------------------------------------------------------------------------- times


def _calibrate_times(args: argparse.Namespace) -> int:
    try:
        return _run_times(args)
    except CalibrationError as exc:
        return _fail(exc)


def _run_times(args: argparse.Namespace) -> int:
    from calibration.bank_update import write_bank_file
    from calibration.errors import DataProblem
    from calibration.response_times import calibrate_times, with_time_parameters
    from calibration.timed_data import read_timed_long
    from item_banks.native import read_bank

    if args.out.resolve() == args.bank.resolve():
        raise CalibrationError(f"--out {args.out} is the input bank; write to another file")
    bank = read_bank(args.bank)
    data = read_timed_long(args.responses)
    known = {item.id for item in bank.items}
    unknown = [k for k, item in enumerate(data.item_ids) if item not in known]
    if unknown:
        first_line = {
            int(data.item[e]): int(data.line[e]) for e in range(data.n_answers - 1, -1, -1)
        }
        raise ResponseDataError(
            [
                DataProblem(
                    source=data.source,
                    line=first_line.get(k),
                    column="item_id",
                    message=f'item "{data.item_ids[k]}" is not in bank "{bank.id}" '
                    f"version {bank.version}",
                )
                for k in unknown[:50]
            ]
        )
    fit = calibrate_times(data, min_answers=args.min_answers)
    new = with_time_parameters(
        bank,
        fit.parameters(),
        note=f"Response-time parameters of {len(fit.item_ids)} items calibrated from "
        f"{Path(args.responses).name} ({fit.n_persons} learners).",
    )
    try:
        write_bank_file(new, args.out)
    except OSError as exc:
        raise CalibrationError(f"{args.out}: cannot write the bank: {exc.strerror}") from None
    if args.params:
        _write_csv(
            (
                {
                    "item_id": item,
                    "alpha": float(fit.alpha[k]),
                    "se_alpha": float(fit.se_alpha[k]),
                    "beta": float(fit.beta[k]),
                    "se_beta": float(fit.se_beta[k]),
                    "median_seconds": math.exp(float(fit.beta[k])),
                    "answers": int(fit.n_answers[k]),
                }
                for k, item in enumerate(fit.item_ids)
            ),
            args.params,
        )
    for warning in fit.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(
        f"{args.out}: version {new.version}: response-time parameters for "
        f"{len(fit.item_ids)} items from {fit.n_persons} learners; speed SD "
        f"{fit.sigma_tau:.3f} (SE {fit.se_sigma_tau:.3f}); log-likelihood {fit.loglik:.2f}; "
        f"EM {'converged' if fit.converged else 'did not converge'} in {fit.iterations} steps"
    )
    return 0
