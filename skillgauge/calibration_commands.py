"""``skillgauge calibrate``, ``score`` and ``simulate-responses``: calibration in a terminal."""

from __future__ import annotations

import argparse
import csv
import io
import sys
import time
from pathlib import Path
from typing import Any, get_args

import numpy as np

from calibration.bank_update import write_atomically, write_bank_file, write_parameter_csv
from calibration.data import ResponseData, from_array, read_responses, write_long
from calibration.em import EMOptions
from calibration.errors import CalibrationError, ModelError, ResponseDataError
from calibration.linking import LINK_METHODS
from calibration.models import MODELS
from calibration.progress import ProgressBar
from calibration.report import render_report
from calibration.scoring import METHODS, score
from calibration.simulate import simulate_adaptive, simulate_adaptive_batch, simulate_responses
from calibration.standard_errors import SEMethod
from calibration.workflow import BankCalibration, Scale, calibrate_bank, parameter_rows
from engine.estimation import Grid
from engine.policy import (
    ExposureConfig,
    Policy,
    PretestConfig,
    SelectionConfig,
    check_policy,
    load_policy,
)
from engine.pool import compile_pool
from engine.session import Session
from engine.stopping import FixedLength
from item_banks.model import Bank
from item_banks.native import read_bank


def register(commands: Any) -> None:
    """Add ``calibrate``, ``score`` and ``simulate-responses``."""
    cal = commands.add_parser(
        "calibrate",
        help="fit item parameters from collected responses and write a new bank version",
        description="Calibrate a bank's items by marginal maximum likelihood (EM on a fixed "
        "quadrature grid) from a long or wide response CSV, one scale per competency. "
        "Writes a new bank version with the estimates and their standard errors, a "
        "parameter CSV and optionally an HTML report. The input bank is never changed.",
    )
    cal.add_argument("responses", type=Path, help="response CSV (long or wide)")
    cal.add_argument("--bank", type=Path, required=True)
    cal.add_argument(
        "--model",
        default="2pl",
        choices=[*MODELS, "bank"],
        help="IRT model for every item, or 'bank' to keep each item's model (default 2pl)",
    )
    cal.add_argument("--out", type=Path, required=True, help="the new bank version (.yaml/.json)")
    cal.add_argument("--report", type=Path, help="write an HTML report")
    cal.add_argument(
        "--params", type=Path, help="parameter CSV (default: next to --out, .params.csv)"
    )
    cal.add_argument(
        "--anchor",
        metavar="ITEMS",
        help="anchor items: comma-separated ids or @file with one id per line (default: the "
        "operational items in the data). Without --fixed the new items are linked to the "
        "bank's scale through them (--link)",
    )
    cal.add_argument(
        "--fixed",
        action="store_true",
        help="fixed-parameter calibration: hold the anchors at their bank values",
    )
    cal.add_argument(
        "--link",
        choices=LINK_METHODS,
        help="link a free calibration to the bank's scale with this method "
        "(default stocking-lord when --anchor is given)",
    )
    cal.add_argument("--format", choices=("auto", "long", "wide"), default="auto")
    cal.add_argument(
        "--se",
        choices=get_args(SEMethod),
        default="auto",
        help="standard errors: oakes, xpd (cross-product), sandwich, none; auto = oakes "
        "unless the data are so large that it would take more than seconds, then xpd",
    )
    cal.add_argument(
        "--start",
        choices=("bank", "classical"),
        default="bank",
        help="start values: the bank's current parameters or classical estimates",
    )
    cal.add_argument(
        "--correlated",
        action="store_true",
        help="also estimate the competencies' correlation matrix (between-item "
        "multidimensional model; free scale only) and store it on the new bank version",
    )
    cal.add_argument("--tol", type=float, default=1e-4, help="EM convergence tolerance")
    cal.add_argument("--quadpts", type=int, default=61, help="quadrature nodes on [-6, 6]")
    cal.add_argument("--max-em-steps", type=int, default=3000)
    cal.add_argument("--version", help="version label of the new bank (default: bumped)")
    cal.add_argument("--quiet", action="store_true", help="no progress bar")
    cal.set_defaults(handler=_calibrate)

    sc = commands.add_parser(
        "score",
        help="score every person of a response file (EAP, MAP, ML or WLE with SEs)",
        description="Estimate each person's ability on every competency they answered "
        "items of, with the bank's parameters. Output: person_id, competency, method, "
        "theta, se, n_items.",
    )
    sc.add_argument("responses", type=Path)
    sc.add_argument("--bank", type=Path, required=True)
    sc.add_argument("--method", choices=METHODS, default="eap")
    sc.add_argument("--policy", type=Path, help="take grid, prior, bounds and se_max from it")
    sc.add_argument("--format", choices=("auto", "long", "wide"), default="auto")
    sc.add_argument("--out", type=Path, help="write the scores here (default: stdout)")
    sc.set_defaults(handler=_score)

    sim = commands.add_parser(
        "simulate-responses",
        help="simulate a response export (long CSV) from a bank, for trying calibration",
        description="Draw N(0, 1) abilities (one per competency; N(0, R) when the bank carries "
        "a correlation matrix R) and answers from the bank's "
        "item parameters. With --adaptive, each simulee takes the engine's adaptive test "
        "(pretest items seeded when the bank has them) and only the administered items are "
        "exported, like the service's response export.",
    )
    sim.add_argument("--bank", type=Path, required=True)
    sim.add_argument("--persons", type=int, default=2000)
    sim.add_argument("--seed", type=int, default=1)
    sim.add_argument("--adaptive", action="store_true", help="administer adaptively")
    sim.add_argument("--policy", type=Path, help="policy TOML for --adaptive")
    sim.add_argument("--length", type=int, default=30, help="test length for --adaptive")
    sim.add_argument(
        "--lockstep",
        action="store_true",
        help="with --adaptive: all simulees advance together (the engine's batch CAT: the "
        "same rules, about 12 times faster; EAP and the vectorised criteria only)",
    )
    sim.add_argument("--out", type=Path, required=True)
    sim.set_defaults(handler=_simulate_responses)


def _fail(exc: CalibrationError) -> int:
    if isinstance(exc, ResponseDataError):
        for problem in exc.problems:
            print(problem, file=sys.stderr)
    elif isinstance(exc, ModelError):
        for line in exc.problems:
            print(line, file=sys.stderr)
    else:
        print(f"skillgauge: {exc}", file=sys.stderr)
    return 1


def _anchor_list(text: str | None) -> list[str] | None:
    if text is None:
        return None
    if text.startswith("@"):
        path = Path(text[1:])
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise CalibrationError(f"{path}: cannot read the anchor list: {exc.strerror}") from None
        return [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    return [part.strip() for part in text.split(",") if part.strip()]


def _calibrate(args: argparse.Namespace) -> int:
    try:
        return _run_calibration(args)
    except CalibrationError as exc:
        return _fail(exc)


def _run_calibration(args: argparse.Namespace) -> int:
    if args.out.resolve() == args.bank.resolve():
        raise CalibrationError(
            f"--out {args.out} is the input bank; write the new version to another file"
        )
    bank = read_bank(args.bank)
    data = read_responses(args.responses, fmt=args.format, item_ids=[i.id for i in bank.items])
    scale: Scale = "fixed" if args.fixed else ("link" if (args.anchor or args.link) else "free")
    options = EMOptions(
        tol=args.tol, quadrature_points=args.quadpts, max_em_steps=args.max_em_steps
    )
    bar = ProgressBar(tol=args.tol, enabled=False if args.quiet else None)
    began = time.perf_counter()
    if args.correlated:
        return _run_correlated(args, bank, data, options, bar, began)
    try:
        result = calibrate_bank(
            bank,
            data,
            model=args.model,
            scale=scale,
            anchors=_anchor_list(args.anchor),
            link_method=args.link or "stocking-lord",
            start=args.start,
            se=args.se,
            options=options,
            version=args.version,
            progress=bar.update,
        )
    finally:
        bar.finish()
    elapsed = time.perf_counter() - began
    params_path = args.params or args.out.with_name(args.out.stem + ".params.csv")
    write_bank_file(result.bank, args.out)
    write_parameter_csv(parameter_rows(result), params_path)
    if args.report:
        write_atomically(render_report(result).encode("utf-8"), args.report)
    print(summary_table(result, args, elapsed, params_path))
    return 0


def _run_correlated(  # noqa: PLR0917 (the parts _run_calibration already built)
    args: argparse.Namespace,
    bank: Bank,
    data: ResponseData,
    options: EMOptions,
    bar: ProgressBar,
    began: float,
) -> int:
    from calibration.correlated_bank import calibrate_bank_correlated

    if args.fixed or args.anchor or args.link:
        raise CalibrationError(
            "--correlated estimates every item on the N(0, R) scale; it does not take "
            "--fixed, --anchor or --link"
        )
    try:
        result = calibrate_bank_correlated(
            bank,
            data,
            model=args.model,
            start=args.start,
            options=options,
            version=args.version,
            progress=bar.update,
        )
    finally:
        bar.finish()
    elapsed = time.perf_counter() - began
    params_path = args.params or args.out.with_name(args.out.stem + ".params.csv")
    write_bank_file(result.bank, args.out)
    write_parameter_csv(parameter_rows(result), params_path)
    if args.report:
        write_atomically(render_report(result).encode("utf-8"), args.report)
    table = summary_table(result, args, elapsed, params_path)
    fit = result.correlated
    assert fit is not None
    ids = fit.competencies
    lines = [
        f"Correlations (SE), QMC-EM: {fit.em_steps} steps, "
        f"{'converged' if fit.converged else 'NOT converged'}, logLik {fit.loglik:.2f}, "
        f"AIC {fit.aic:.2f}, BIC {fit.bic:.2f}"
    ]
    for a, row in enumerate(ids):
        cells = "  ".join(
            f"{fit.correlation[a, b]:6.3f} ({fit.correlation_se[a, b]:.3f})"
            if a != b
            else f"{1.0:6.3f}        "
            for b in range(len(ids))
        )
        lines.append(f"  {row[:18]:<18}{cells}")
    head, _, tail = table.rpartition("\nWrote ")
    print(head + "\n" + "\n".join(lines) + "\nWrote " + tail)
    return 0


def summary_table(
    result: BankCalibration, args: argparse.Namespace, elapsed: float, params_path: Path
) -> str:
    """The closing summary printed by ``calibrate``."""
    out = io.StringIO()
    old, new = result.old_bank, result.bank
    out.write(
        f"Calibrated {args.bank} with {args.responses}: model {args.model}, scale "
        f"{result.settings['scale']}; version {old.version} -> {new.version} "
        f"in {elapsed:.1f} s\n"
    )
    header = (
        f"{'competency':<20}{'persons':>8}{'est.':>6}{'anch.':>6}{'kept':>6}{'logLik':>13}"
        f"{'AIC':>12}{'BIC':>12}{'M2 (df)':>14}{'RMSEA':>7}{'steps':>7}  conv"
    )
    out.write(header + "\n")
    for s in result.scales:
        r = s.result
        est = sum(1 for v in s.status.values() if v == "estimated")
        anchors = sum(1 for v in s.status.values() if v.startswith("anchor"))
        kept = sum(1 for v in s.status.values() if v.startswith("kept"))
        m2 = "" if s.model_fit.m2 is None else f"{s.model_fit.m2:.2f} ({s.model_fit.m2_df})"
        rmsea = "" if s.model_fit.rmsea is None else f"{s.model_fit.rmsea:.3f}"
        out.write(
            f"{s.competency[:19]:<20}{r.n_persons:>8}{est:>6}{anchors:>6}{kept:>6}"
            f"{r.loglik:>13.2f}{r.aic:>12.2f}{r.bic:>12.2f}{m2:>14}{rmsea:>7}"
            f"{r.trace.em_steps:>7}  {'yes' if r.converged else 'NO'}\n"
        )
        if s.linking is not None:
            out.write(
                f"{'':<20}linked ({s.linking.method}): theta_bank = {s.linking.a:.4f} "
                f"theta_new {s.linking.b:+.4f}\n"
            )
        if r.model.estimate_mean or r.model.estimate_sd:
            out.write(f"{'':<20}population: mean {r.latent_mean:.3f}, SD {r.latent_sd:.3f}\n")
    flagged = [(s.competency, item, why) for s in result.scales for item, why in s.flags.items()]
    if flagged:
        out.write(f"Flagged items ({len(flagged)}):\n")
        for comp, item, why in flagged[:30]:
            out.write(f"  {comp}/{item}: {'; '.join(why)}\n")
        if len(flagged) > 30:
            out.write(f"  ... and {len(flagged) - 30} more (see the parameter CSV)\n")
    if result.warnings:
        out.write(f"Warnings ({len(result.warnings)}):\n")
        for w in result.warnings[:30]:
            out.write(f"  {w}\n")
    written = [str(args.out), str(params_path)] + ([str(args.report)] if args.report else [])
    out.write("Wrote " + ", ".join(written))
    return out.getvalue()


def _score(args: argparse.Namespace) -> int:
    try:
        return _run_score(args)
    except CalibrationError as exc:
        return _fail(exc)


def _run_score(args: argparse.Namespace) -> int:
    bank = read_bank(args.bank)
    policy = load_policy(args.policy) if args.policy else Policy()
    est = policy.estimator
    grid = Grid.normal(
        est.grid.lower, est.grid.upper, est.grid.points, est.prior.mean, est.prior.sd
    )
    pool = compile_pool(bank)
    data = read_responses(args.responses, fmt=args.format, item_ids=[i.id for i in bank.items])
    unknown = [i for i in data.item_ids if i not in pool.index]
    if unknown:
        raise CalibrationError(
            f"{data.source}: items not in bank {bank.id}: " + ", ".join(unknown[:10])
        )
    columns = np.array([pool.index[i] for i in data.item_ids], dtype=np.intp)
    too_high = data.responses.max(axis=0) >= pool.n_categories[columns]
    if too_high.any():
        bad = [data.item_ids[k] for k in np.flatnonzero(too_high)]
        raise ModelError(
            [
                f'{data.source}: item "{b}": a code is not a category of its model '
                f"(0..{int(pool.n_categories[pool.index[b]]) - 1})"
                for b in bad[:20]
            ]
        )
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("person_id", "competency", "method", "theta", "se", "n_items"))
    for k, competency in enumerate(pool.competency_ids):
        mine = np.flatnonzero(pool.competency[columns] == k)
        if mine.size == 0:
            continue
        scores = score(
            pool,
            columns[mine],
            np.ascontiguousarray(data.responses[:, mine]),
            args.method,
            grid=grid,
            bounds=est.bounds,
            start=est.prior.mean,
            se_max=est.se_max,
        )
        answered = scores.n_responses > 0
        writer.writerows(
            (data.person_ids[p], competency, args.method, f"{t:.6f}", f"{s:.6f}", int(n))
            for p, t, s, n in zip(
                np.flatnonzero(answered).tolist(),
                scores.theta[answered].tolist(),
                scores.se[answered].tolist(),
                scores.n_responses[answered].tolist(),
                strict=True,
            )
        )
    if args.out:
        write_atomically(buffer.getvalue().encode("utf-8"), args.out)
        print(f"Scored {data.n_persons} persons ({args.method}); wrote {args.out}")
    else:
        sys.stdout.write(buffer.getvalue())
    return 0


def _simulate_responses(args: argparse.Namespace) -> int:
    bank = read_bank(args.bank)
    pool = compile_pool(bank)
    if args.persons < 1:
        print("skillgauge simulate-responses: --persons must be at least 1", file=sys.stderr)
        return 1
    if args.lockstep and not args.adaptive:
        print("skillgauge simulate-responses: --lockstep needs --adaptive", file=sys.stderr)
        return 1
    rng = np.random.default_rng(args.seed)
    theta = rng.standard_normal((args.persons, pool.n_competencies))
    if pool.correlation is not None:  # a correlated bank: abilities ~ N(0, R)
        theta = theta @ np.linalg.cholesky(pool.correlation).T
    if args.adaptive:
        if args.policy:
            policy = load_policy(args.policy)
        else:
            pretest = not bool(pool.operational.all())
            policy = Policy(
                selection=SelectionConfig(method="a_stratified"),
                exposure=ExposureConfig(method="randomesque", randomesque_size=10),
                stopping=FixedLength(n=args.length),
                pretest=PretestConfig(rate=0.3 if pretest else 0.0, max_items=8 if pretest else 0),
            )
        check_policy(policy, pool, source=str(args.policy or "the default adaptive policy"))
        simulate = simulate_adaptive_batch if args.lockstep else simulate_adaptive
        matrix = simulate(Session(pool, policy), theta, seed=args.seed + 1)
    else:
        matrix = np.empty((args.persons, pool.n_items), dtype=np.int8)
        for k in range(pool.n_competencies):
            items = np.flatnonzero(pool.competency == k)
            matrix[:, items] = simulate_responses(pool, theta[:, k], rng, items=items)
    width = len(str(args.persons))
    data = from_array(
        matrix,
        item_ids=pool.item_ids,
        person_ids=[f"p{k + 1:0{width}d}" for k in range(args.persons)],
        source=str(args.out),
    )
    write_long(data, args.out)
    print(
        f"Wrote {int((matrix >= 0).sum())} responses of {args.persons} simulated persons to "
        f"{args.out}"
    )
    return 0
