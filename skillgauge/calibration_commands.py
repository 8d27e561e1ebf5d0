"""``skillgauge calibrate``, ``score`` and ``simulate-responses``: calibration in a terminal."""

from __future__ import annotations

import argparse
import csv
import io
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, get_args

import numpy as np

from calibration.bank_update import (
    updated_bank,
    write_atomically,
    write_bank_file,
    write_parameter_csv,
)
from calibration.correlated import CorrelatedFit
from calibration.data import ResponseData, from_array, read_responses, write_long
from calibration.em import MIN_ANSWERS, EMOptions
from calibration.errors import CalibrationError, DataProblem, ModelError, ResponseDataError
from calibration.linking import LINK_METHODS
from calibration.mirt_tables import read_parameter_table, write_mod2values
from calibration.models import MODELS
from calibration.progress import ProgressBar
from calibration.reliability import scale_reliability
from calibration.report import render_report
from calibration.scoring import METHODS as SCORE_METHODS
from calibration.scoring import score
from calibration.simulate import simulate_adaptive, simulate_adaptive_batch, simulate_responses
from calibration.skeleton import check_items, read_item_groups, skeleton_bank
from calibration.standard_errors import SEMethod
from calibration.workflow import (
    METHODS,
    BankCalibration,
    Scale,
    calibrate_bank,
    calibrate_responses,
    parameter_rows,
)
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
from item_banks.model import Bank, category_count
from item_banks.native import read_bank


def register(commands: Any) -> None:
    """Add ``calibrate``, ``score`` and ``simulate-responses``."""
    cal = commands.add_parser(
        "calibrate",
        help="fit item parameters from collected responses (with or without a bank)",
        description="Calibrate items by marginal maximum likelihood (EM on a fixed "
        "quadrature grid), or the Rasch and partial credit models by conditional maximum "
        "likelihood (--method cml), from a long or wide response CSV, one scale per "
        "competency. With --bank: writes a new bank version with the estimates and their "
        "standard errors, a parameter CSV and optionally an HTML report; the input bank is "
        "never changed. Without --bank: the data's columns are the items, on one scale or on "
        "the competencies of --groups; --out params.csv writes the parameter CSV, --out "
        "bank.yaml a skeleton bank (stems to be written) and the CSV next to it; the report "
        "is written unless --no-report. Output folders are created.",
    )
    cal.add_argument("responses", type=Path, help="response CSV (long or wide)")
    cal.add_argument("--bank", type=Path, help="the bank whose items the data answer")
    cal.add_argument(
        "--groups",
        type=Path,
        help="without --bank: CSV item_id,competency[,model][,competency_name] mapping items "
        "to competencies (one scale each; default: one scale for all items)",
    )
    cal.add_argument(
        "--model",
        default="2pl",
        choices=[*MODELS, "bank"],
        help="IRT model for every item, or 'bank' to keep each item's model (default 2pl)",
    )
    cal.add_argument(
        "--method",
        choices=METHODS,
        default="mml",
        help="mml: marginal ML (every model); cml: conditional ML of the rasch and pcm "
        "models (as psychotools and eRm), the population then by MML with the items fixed",
    )
    cal.add_argument(
        "--out",
        type=Path,
        required=True,
        help="the new bank version (.yaml/.json); without --bank also a parameter CSV (.csv)",
    )
    cal.add_argument(
        "--report", type=Path, help="write an HTML report (without --bank: default next to --out)"
    )
    cal.add_argument("--no-report", action="store_true", help="without --bank: no report")
    cal.add_argument(
        "--params", type=Path, help="parameter CSV (default: next to --out, .params.csv)"
    )
    cal.add_argument(
        "--mod2values",
        type=Path,
        metavar="CSV",
        help="also write R mirt's mod2values table (one file per competency: NAME.COMP.csv "
        "when there are several) to check or continue the calibration in R",
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
    cal.add_argument(
        "--start-values",
        type=Path,
        metavar="CSV",
        help="without --bank: MML start values from R mirt's mod2values or coef() CSV (e.g. "
        "to continue a calibration checked in R)",
    )
    cal.add_argument("--tol", type=float, default=1e-4, help="EM convergence tolerance")
    cal.add_argument("--quadpts", type=int, default=61, help="quadrature nodes on [-6, 6]")
    cal.add_argument("--max-em-steps", type=int, default=3000)
    cal.add_argument("--version", help="version label of the new bank (default: bumped)")
    cal.add_argument(
        "--min-answers",
        type=int,
        default=MIN_ANSWERS,
        help="items with fewer answers are held at their bank values (without one: "
        "estimated with a weak log-normal prior on the slope) and reported "
        f"(default {MIN_ANSWERS})",
    )
    cal.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads of the E-step on sparse (CAT) data; the estimates do not depend on it "
        "(default: the number of CPUs)",
    )
    cal.add_argument("--quiet", action="store_true", help="no progress bar")
    cal.add_argument(
        "--progress",
        action="store_true",
        help="show the progress (phases, EM steps, items still moving) on stderr even "
        "when it is not a terminal",
    )
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
    sc.add_argument("--method", choices=SCORE_METHODS, default="eap")
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

    imp = commands.add_parser(
        "import-params",
        help="bank parameters from R mirt's coef() or mod2values CSV",
        description="Read item parameters from R (write.csv(coef(mod, IRTpars = TRUE, "
        "simplify = TRUE)$items) or write.csv(mod2values(mod))) or from the notebook API's "
        "coef() table, and write a new version of --bank with them, or without --bank a "
        "skeleton bank of those items (stems to be written).",
    )
    imp.add_argument("table", type=Path, metavar="CSV", help="coef() or mod2values CSV")
    imp.add_argument("--bank", type=Path, help="the bank whose items get the parameters")
    imp.add_argument("--groups", type=Path, help="without --bank: item_id,competency CSV")
    imp.add_argument(
        "--model",
        choices=("grm", "gpcm", "pcm"),
        help="the model of polytomous items given as a, b1..bK (coef with IRTpars = TRUE)",
    )
    imp.add_argument("--version", help="version label of the new bank (default: bumped)")
    imp.add_argument("--out", type=Path, required=True, help="the new bank (.yaml/.json)")
    imp.set_defaults(handler=_import_params)


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
    except OutputError as exc:
        print(f"skillgauge calibrate: {exc}", file=sys.stderr)
        return 1


class OutputError(Exception):
    """An output path cannot be written (one located line)."""


def prepare_output(path: Path) -> None:
    """Create ``path``'s folder and check that a file can be written there.

    Raises
    ------
    OutputError
        Naming the path and the reason (not a folder, permission denied...).
    """
    try:
        if path.is_dir():
            raise OutputError(f"cannot write {path}: it is a folder")
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=True):
            pass
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None


def _write(path: Path, write: Callable[[Path], None]) -> None:
    try:
        write(path)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None


@dataclass
class _Outputs:
    bank: Path | None
    params: Path
    report: Path | None
    mod2values: Path | None

    def paths(self) -> list[Path]:
        return [p for p in (self.bank, self.params, self.report, self.mod2values) if p]


def _outputs(args: argparse.Namespace) -> _Outputs:
    out: Path = args.out
    is_csv = out.suffix.lower() == ".csv"
    if args.bank is not None and is_csv:
        raise CalibrationError(
            f"--out {out}: with --bank, --out is the new bank version (.yaml or .json); "
            "name the parameter CSV with --params"
        )
    if not is_csv and out.suffix.lower() not in (".yaml", ".yml", ".json"):
        raise CalibrationError(
            f"--out {out}: give a bank file (.yaml, .json)"
            + ("" if args.bank is not None else " or a parameter CSV (.csv)")
        )
    bank = None if is_csv else out
    params = args.params or (out if is_csv else out.with_name(out.stem + ".params.csv"))
    report = args.report
    if report is None and args.bank is None and not args.no_report:
        report = out.with_name(out.stem + ".report.html")
    return _Outputs(bank, params, report, args.mod2values)


def _mod2values_paths(path: Path, scales: list[str]) -> list[Path]:
    if len(scales) == 1:
        return [path]
    return [path.with_name(f"{path.stem}.{name}{path.suffix or '.csv'}") for name in scales]


def _run_calibration(args: argparse.Namespace) -> int:
    if args.bank is not None and args.out.resolve() == args.bank.resolve():
        raise CalibrationError(
            f"--out {args.out} is the input bank; write the new version to another file"
        )
    if args.bank is None:
        given = [
            flag
            for flag, value in (
                ("--anchor", args.anchor),
                ("--fixed", args.fixed),
                ("--link", args.link),
            )
            if value
        ]
        if args.correlated:
            given.append("--correlated")
        if given or args.model == "bank":
            raise CalibrationError(
                f"{', '.join(given) or '--model bank'} needs --bank (without a bank the data's "
                "columns are calibrated freely on this sample's scale)"
            )
    elif args.groups is not None or args.start_values is not None:
        flag = "--groups" if args.groups is not None else "--start-values"
        raise CalibrationError(
            f"{flag} is for data without --bank (with a bank, its parameters are the start "
            "values and its competencies the scales)"
        )
    outputs = _outputs(args)
    for path in outputs.paths():
        prepare_output(path)
    if args.min_answers < 0:
        raise CalibrationError("--min-answers must be 0 or more")
    if args.threads is not None and args.threads < 1:
        raise CalibrationError("--threads must be 1 or more")
    options = EMOptions(
        tol=args.tol,
        quadrature_points=args.quadpts,
        max_em_steps=args.max_em_steps,
        min_answers=args.min_answers,
        threads=args.threads,
    )
    bar = ProgressBar(
        tol=args.tol, enabled=False if args.quiet else (True if args.progress else None)
    )
    began = time.perf_counter()
    try:
        if args.bank is None:
            groups = read_item_groups(args.groups) if args.groups else None
            start = read_parameter_table(args.start_values) if args.start_values else None
            bar.phase(f"reading {args.responses}")
            data = read_responses(args.responses, fmt=args.format)
            result = calibrate_responses(
                data,
                model=args.model,
                method=args.method,
                groups=groups,
                se=args.se,
                options=options,
                version=args.version,
                progress=bar.update,
                phase=bar.phase,
                start=None if start is None else start.parameters,
            )
        else:
            bank = read_bank(args.bank)
            bar.phase(f"reading {args.responses}")
            data = read_responses(
                args.responses, fmt=args.format, item_ids=[i.id for i in bank.items]
            )
            scale: Scale = (
                "fixed" if args.fixed else ("link" if (args.anchor or args.link) else "free")
            )
            result = (
                _calibrate_correlated(args, bank, data, options, bar)
                if args.correlated
                else calibrate_bank(
                    bank,
                    data,
                    model=args.model,
                    method=args.method,
                    scale=scale,
                    anchors=_anchor_list(args.anchor),
                    link_method=args.link or "stocking-lord",
                    start=args.start,
                    se=args.se,
                    options=options,
                    version=args.version,
                    progress=bar.update,
                    phase=bar.phase,
                )
            )
    finally:
        bar.finish()
    elapsed = time.perf_counter() - began
    written: list[Path] = []
    if outputs.bank is not None:
        _write(outputs.bank, lambda path: write_bank_file(result.bank, path))
        written.append(outputs.bank)
    _write(outputs.params, lambda path: write_parameter_csv(parameter_rows(result), path))
    written.append(outputs.params)
    if outputs.report is not None:
        html = render_report(result).encode("utf-8")
        _write(outputs.report, lambda path: write_atomically(html, path))
        written.append(outputs.report)
    if outputs.mod2values is not None:
        scales = [s.competency for s in result.scales]
        for s, path in zip(
            result.scales, _mod2values_paths(outputs.mod2values, scales), strict=True
        ):
            prepare_output(path)
            _write(path, partial(write_mod2values, s.result))
            written.append(path)
    table = summary_table(result, args, elapsed, written)
    correlated = getattr(result, "correlated", None)  # a CorrelatedBankCalibration's matrix
    print(table if correlated is None else _with_correlations(table, correlated))
    return 0


def _calibrate_correlated(
    args: argparse.Namespace, bank: Bank, data: ResponseData, options: EMOptions, bar: ProgressBar
) -> BankCalibration:
    from calibration.correlated_bank import calibrate_bank_correlated

    if args.fixed or args.anchor or args.link or args.method != "mml":
        raise CalibrationError(
            "--correlated estimates every item on the N(0, R) scale by MML; it does not take "
            "--fixed, --anchor, --link or --method cml"
        )
    return calibrate_bank_correlated(
        bank,
        data,
        model=args.model,
        start=args.start,
        options=options,
        version=args.version,
        progress=bar.update,
    )


def _with_correlations(table: str, fit: CorrelatedFit) -> str:
    """The summary with the estimated correlation matrix (and SEs) before its last line."""
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
    return head + "\n" + "\n".join(lines) + "\nWrote " + tail


def summary_table(
    result: BankCalibration, args: argparse.Namespace, elapsed: float, written: list[Path]
) -> str:
    """The closing summary printed by ``calibrate``."""
    out = io.StringIO()
    old, new = result.old_bank, result.bank
    pool = compile_pool(new)
    how = f"model {result.settings['model']}" + (
        " by CML" if result.settings.get("method") == "cml" else ""
    )
    if result.from_responses:
        out.write(
            f"Calibrated {args.responses} without a bank: {how}, "
            f"{result.data.n_persons} persons, {result.data.n_items} items in {elapsed:.1f} s\n"
        )
    else:
        out.write(
            f"Calibrated {args.bank} with {args.responses}: {how}, scale "
            f"{result.settings['scale']}; version {old.version} -> {new.version} "
            f"in {elapsed:.1f} s\n"
        )
    kept_head = "n.e." if result.from_responses else "kept"
    header = (
        f"{'competency':<20}{'persons':>8}{'est.':>6}{'anch.':>6}{kept_head:>6}{'logLik':>13}"
        f"{'AIC':>12}{'BIC':>12}{'M2 (df)':>14}{'RMSEA':>7}{'rxx':>7}{'steps':>7}  conv"
    )
    out.write(header + "\n")
    for s in result.scales:
        r = s.result
        est = sum(1 for v in s.status.values() if v == "estimated")
        anchors = sum(1 for v in s.status.values() if v.startswith("anchor"))
        kept = sum(1 for v in s.status.values() if v.startswith(("kept", "not estimated")))
        m2 = "" if s.model_fit.m2 is None else f"{s.model_fit.m2:.2f} ({s.model_fit.m2_df})"
        rmsea = "" if s.model_fit.rmsea is None else f"{s.model_fit.rmsea:.3f}"
        rxx = scale_reliability(s, pool).marginal
        out.write(
            f"{s.competency[:19]:<20}{r.n_persons:>8}{est:>6}{anchors:>6}{kept:>6}"
            f"{r.loglik:>13.2f}{r.aic:>12.2f}{r.bic:>12.2f}{m2:>14}{rmsea:>7}{rxx:>7.3f}"
            f"{r.trace.em_steps:>7}  {'yes' if r.converged else 'NO'}\n"
        )
        if s.linking is not None:
            out.write(
                f"{'':<20}linked ({s.linking.method}): theta_bank = {s.linking.a:.4f} "
                f"theta_new {s.linking.b:+.4f}\n"
            )
        if r.model.estimate_mean or r.model.estimate_sd:
            out.write(f"{'':<20}population: mean {r.latent_mean:.3f}, SD {r.latent_sd:.3f}\n")
        if s.conditional is not None:
            c = s.conditional
            out.write(
                f"{'':<20}CML: conditional logLik {c.loglik:.3f} ({c.n_parameters} parameters, "
                f"{c.n_persons} persons; {c.n_extreme} with an extreme score left out)\n"
            )
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
    out.write("Wrote " + ", ".join(str(p) for p in written))
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


def _import_params(args: argparse.Namespace) -> int:
    try:
        return _run_import(args)
    except CalibrationError as exc:
        return _fail(exc)
    except OutputError as exc:
        print(f"skillgauge import-params: {exc}", file=sys.stderr)
        return 1


def _run_import(args: argparse.Namespace) -> int:
    if args.out.suffix.lower() not in (".yaml", ".yml", ".json"):
        raise CalibrationError(f"--out {args.out}: give a bank file (.yaml, .json)")
    if args.bank is not None and args.out.resolve() == args.bank.resolve():
        raise CalibrationError(
            f"--out {args.out} is the input bank; write the new version to another file"
        )
    table = read_parameter_table(args.table, args.model)
    note = f"Item parameters imported from {args.table.name} by skillgauge import-params."
    if args.bank is not None:
        bank = read_bank(args.bank)
        known = {item.id for item in bank.items}
        unknown = [i for i in table.parameters if i not in known]
        if unknown:
            raise ResponseDataError(
                [
                    DataProblem(
                        source=str(args.table),
                        line=table.lines[i],
                        message=f'item "{i}" is not in bank "{bank.id}"',
                    )
                    for i in unknown[:50]
                ]
            )
        new = updated_bank(bank, table.parameters, note=note, version=args.version)
    else:
        items = list(table.parameters)
        placeholder = from_array(
            np.zeros((1, len(items)), dtype=np.int8), item_ids=items, source=str(args.table)
        )
        groups = read_item_groups(args.groups) if args.groups else None
        competency, _ = check_items(placeholder, groups)
        skeleton = skeleton_bank(
            placeholder,
            competency,
            {i: category_count(p) for i, p in table.parameters.items()},
            names=None if groups is None else groups.names,
            parameters=table.parameters,
        )
        new = updated_bank(skeleton, {}, note=note, version=args.version or "1")
    prepare_output(args.out)
    _write(args.out, lambda path: write_bank_file(new, path))
    models = ", ".join(f"{m} {n}" for m, n in Counter(table.models.values()).items())
    print(
        f"Imported {len(table.parameters)} items ({models}) from {args.table}; "
        f"wrote {args.out} (version {new.version})"
    )
    return 0
