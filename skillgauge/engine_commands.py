"""``skillgauge simulate`` and ``skillgauge demo``: the engine from the terminal."""

from __future__ import annotations

import argparse
import random
import textwrap
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from engine.learner import raw_answer
from engine.policy import Policy, check_policy, load_policy
from engine.policy_forecast import forecast, se_target
from engine.pool import compile_pool
from engine.session import Session, SessionState
from engine.simulation import simulate
from engine.simulation_report import render_report
from item_banks.native import read_bank
from item_banks.sample import SAMPLE_BANK, sample_bank_path
from item_banks.scoring import score_answer


def register(commands: Any) -> None:
    """Add ``simulate`` and ``demo``."""
    sim = commands.add_parser(
        "simulate",
        help="simulate adaptive tests of a policy on a bank",
        description="Simulate examinees with N(0,1) abilities taking the adaptive test and "
        "report bias, RMSE, test length, exposure and overlap, overall and by ability band.",
    )
    sim.add_argument("--bank", type=Path, required=True)
    sim.add_argument("--policy", type=Path, help="policy TOML (default policy if omitted)")
    sim.add_argument("--examinees", type=int, default=1000)
    sim.add_argument("--seed", type=int, default=1)
    sim.add_argument("--correlation", type=float, default=0.0, help="between competencies")
    sim.add_argument("--json", action="store_true", help="print the summary as JSON")
    sim.add_argument("--report", type=Path, help="write an HTML report with SVG plots")
    sim.set_defaults(handler=_simulate)

    demo = commands.add_parser(
        "demo",
        help="run one adaptive session in the terminal, answered by a simulated learner",
    )
    demo.add_argument("--bank", type=Path, help=f"bank file (default: the sample {SAMPLE_BANK})")
    demo.add_argument("--policy", type=Path, help="policy TOML (default policy if omitted)")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument(
        "--ability", type=float, nargs="*", help="the learner's true ability per competency"
    )
    demo.set_defaults(handler=_demo)


def _simulate(args: argparse.Namespace) -> int:
    bank = read_bank(args.bank)
    policy = load_policy(args.policy) if args.policy else Policy()
    if args.examinees < 1:
        print("skillgauge simulate: --examinees must be at least 1")
        return 1
    pool = compile_pool(bank)
    check_policy(policy, pool, source=str(args.policy or "the default policy"))
    run, summary = simulate(
        pool, policy, examinees=args.examinees, seed=args.seed, correlation=args.correlation
    )
    if args.report:
        policy_text = msgspec.json.format(msgspec.json.encode(policy), indent=2).decode()
        args.report.write_text(render_report(run, summary, policy_text), encoding="utf-8")
    if args.json:
        print(msgspec.json.format(msgspec.json.encode(summary), indent=2).decode())
        return 0
    print(f"{summary.examinees} simulees on {summary.bank} (seed {summary.seed})")
    print(f"{'competency':<24}{'bias':>8}{'RMSE':>8}{'mean SE':>9}{'r':>7}")
    for acc in summary.accuracy:
        r = "" if acc.correlation is None else f"{acc.correlation:.3f}"
        print(f"{acc.competency:<24}{acc.bias:>+8.3f}{acc.rmse:>8.3f}{acc.mean_se:>9.3f}{r:>7}")
    print(
        f"test length: mean {summary.mean_length:.1f}, SD {summary.sd_length:.1f}, "
        f"range {summary.min_length}-{summary.max_length}"
    )
    print(
        f"exposure: max {summary.max_exposure:.3f}, mean {summary.mean_exposure:.3f}, "
        f"{summary.unused_items} items unused; test overlap {summary.overlap:.3f}"
    )
    print(f"{'ability band':<12}{'n':>6}{'length':>8}{'max exp':>9}{'overlap':>9}  RMSE")
    for band in summary.bands:
        rmse = " ".join(f"{a.rmse:.3f}" for a in band.accuracy)
        print(
            f"{band.band:<12}{band.examinees:>6}{band.mean_length:>8.1f}"
            f"{band.max_exposure:>9.3f}{band.overlap:>9.3f}  {rmse}"
        )
    for reason, count in summary.stop_reasons.items():
        print(f"stopped: {reason}: {count}")
    target = se_target(policy.stopping)
    if target is not None:
        met = float(np.mean(np.all(run.se <= target + 1e-9, axis=1)))
        print(f"SE target {target:g}: met by {100 * met:.0f}% of the simulees")
    for warning in forecast(pool, policy).warnings:
        print(f"warning: {warning}")
    if args.report:
        print(f"report: {args.report}")
    return 0


def _first_line(markdown: str, width: int = 70) -> str:
    text = " ".join(line.strip() for line in markdown.splitlines() if line.strip())
    text = text.replace("`", "")
    return textwrap.shorten(text, width=width, placeholder="...")


def _estimates(session: Session, state: SessionState) -> str:
    return " | ".join(
        f"{cid} {theta:+.2f} ± {se:.2f}"
        for cid, theta, se in zip(session.pool.competency_ids, state.theta, state.se, strict=True)
    )


def _demo(args: argparse.Namespace) -> int:
    path = args.bank or sample_bank_path()
    bank = read_bank(path)
    policy = load_policy(args.policy) if args.policy else Policy()
    pool = compile_pool(bank)
    check_policy(policy, pool, source=str(args.policy or "the default policy"))
    session = Session(pool, policy)
    rng = random.Random(args.seed)
    k = pool.n_competencies
    if args.ability:
        if len(args.ability) != k:
            print(f"skillgauge demo: --ability needs {k} values ({', '.join(pool.competency_ids)})")
            return 1
        ability = np.array(args.ability, dtype=np.float64)
    else:
        ability = np.round(np.random.default_rng(args.seed).normal(0.3, 0.9, size=k), 2)
    items = {item.id: item for item in bank.items}
    print(f'Skillgauge demo: "{bank.title}" version {bank.version}, {len(bank.items)} items')
    print(
        "Simulated learner, true ability: "
        + ", ".join(f"{cid} {t:+.2f}" for cid, t in zip(pool.competency_ids, ability, strict=True))
    )
    print(
        f"Policy: {policy.estimator.method.upper()} estimation, {policy.selection.method} "
        f"selection, content balance {policy.content.balance}, exposure {policy.exposure.method}"
    )
    print()
    state = session.start(args.seed)
    step = 0
    while True:
        state = session.next_item(state)
        if state.finished or state.pending is None:
            break
        index = state.pending
        item = items[pool.item_ids[index]]
        comp = int(pool.competency[index])
        probs = pool.response_probabilities(index, float(ability[comp]))
        draw, category, total = rng.random(), 0, probs[0]
        while draw >= total and category < len(probs) - 1:
            category += 1
            total += probs[category]
        answer = raw_answer(item, category, rng)
        scored = score_answer(item, answer)
        state = session.record(state, index, scored.category)
        step += 1
        tag = " (pretest, not scored)" if item.status == "pretest" else ""
        if isinstance(answer, list):
            shown = ", ".join(answer) if answer else "(nothing selected)"
        else:
            shown = answer
        verdict = (
            "right" if scored.correct else ("partly right" if scored.category > 0 else "wrong")
        )
        print(f"{step:>2}. {item.id} [{item.competency}]{tag} {_first_line(item.stem)}")
        print(
            f"    answer: {shown} -> {verdict} (category {scored.category}/{scored.max_category})"
        )
        print(f"    {_estimates(session, state)}")
        if state.finished:
            break
    result = session.result(state)
    print()
    print(f"Stopped after {result.items} items: {result.stop_reason}")
    print(f"{'competency':<24}{'true':>7}{'theta':>8}{'SE':>7}{'cut':>7}  result")
    for c, true in zip(result.competencies, ability, strict=True):
        cut = "" if c.cut_score is None else f"{c.cut_score:+.2f}"
        verdict = (
            "" if c.classification is None else f"{c.classification} ({c.confidence:.0%} confident)"
        )
        print(f"{c.competency:<24}{true:>+7.2f}{c.theta:>+8.2f}{c.se:>7.2f}{cut:>7}  {verdict}")
    return 0
