"""Simulation studies: recovery, exposure statistics, Sympson-Hetter, the HTML report."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from engine.policy import ContentConfig, Policy
from engine.pool import compile_pool
from engine.simulation import draw_abilities, simulate, sympson_hetter
from engine.simulation_report import render_report
from engine.stopping import AnyOf, FixedLength, MaxItems, StandardErrorRule
from engine.synthetic import synthetic_bank

POOL = compile_pool(synthetic_bank(300, "2pl", 1, seed=21))


def test_recovery_on_a_simulated_cat() -> None:
    _, summary = simulate(
        POOL,
        Policy(content=ContentConfig(balance="none"), stopping=FixedLength(n=25)),
        examinees=400,
        seed=3,
    )
    (acc,) = summary.accuracy
    assert abs(acc.bias) < 0.05
    assert acc.rmse < 0.35
    assert acc.correlation is not None
    assert acc.correlation > 0.93
    # The reported SEs describe the errors: mean SE close to the RMSE.
    assert acc.mean_se == pytest.approx(acc.rmse, rel=0.2)
    assert summary.mean_length == 25
    assert summary.stop_reasons == {"fixed length of 25 items": 400}


def test_overlap_equals_the_pairwise_definition() -> None:
    run, summary = simulate(
        POOL,
        Policy(
            content=ContentConfig(balance="none"),
            stopping=AnyOf(rules=(StandardErrorRule(max_se=0.35), MaxItems(n=30))),
        ),
        examinees=60,
        seed=5,
    )
    sets = [set(items) for items in run.administered]
    shared = [len(a & b) for a, b in itertools.combinations(sets, 2)]
    mean_length = np.mean([len(s) for s in sets])
    assert summary.overlap == pytest.approx(np.mean(shared) / mean_length, rel=1e-12)
    counts = np.zeros(POOL.n_items)
    for s in sets:
        counts[list(s)] += 1
    assert summary.max_exposure == pytest.approx(counts.max() / 60)
    assert summary.min_length < summary.max_length  # variable length under the SE rule


def test_bands_partition_the_simulees() -> None:
    _, summary = simulate(
        POOL,
        Policy(content=ContentConfig(balance="none"), stopping=FixedLength(n=10)),
        examinees=300,
        seed=8,
    )
    assert sum(b.examinees for b in summary.bands) == 300
    assert summary.bands[0].band in ("below -2", "-2 to -1")
    for band in summary.bands:
        for acc in band.accuracy:
            assert acc.rmse >= 0


def test_correlated_abilities() -> None:
    theta = draw_abilities(4000, 3, np.random.default_rng(1), correlation=0.6)
    corr = np.asarray(np.corrcoef(theta.T))
    assert corr[0, 1] == pytest.approx(0.6, abs=0.05)
    with pytest.raises(ValueError, match="correlation"):
        draw_abilities(5, 2, np.random.default_rng(1), correlation=1.0)


def test_sympson_hetter_brings_exposure_down() -> None:
    pool = compile_pool(synthetic_bank(200, "3pl", 1, seed=22))
    policy = Policy(content=ContentConfig(balance="none"), stopping=FixedLength(n=10))
    result = sympson_hetter(pool, policy, r_max=0.3, examinees=400, iterations=15, seed=2)
    assert result.max_exposure[0] == 1.0
    assert min(result.max_exposure) <= 0.3 + 0.06
    assert min(result.exposure) < 1.0
    assert all(0 < k <= 1 for k in result.exposure)


def test_report_is_self_contained_html() -> None:
    run, summary = simulate(
        compile_pool(synthetic_bank(120, "3pl", 2, seed=3)),
        Policy(stopping=FixedLength(n=10)),
        examinees=50,
        seed=1,
    )
    html = render_report(run, summary, "{}")
    assert html.startswith("<!doctype html>")
    assert html.count("<svg") == 2 + 2 + 1 + 1  # scatter and RMSE per competency, exposure, length
    assert 'role="img"' in html
    # Nothing is fetched: the only URL is the SVG namespace.
    urls = set(re.findall(r"https?://[^\"' )]+", html))
    assert urls == {"http://www.w3.org/2000/svg"}
    assert "<table>" in html
