"""A self-contained HTML report of a simulation study (SVG charts, no network)."""

from __future__ import annotations

from html import escape

import numpy as np

from engine.charts import Axes, Series, bar_chart, line_chart
from engine.simulation import SimulationRun, SimulationSummary

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:64rem;margin:2rem auto;padding:0 1rem;color:#111}
table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #bbb;padding:.3rem .6rem;
text-align:right}th:first-child,td:first-child{text-align:left}caption{text-align:left;
font-weight:600;margin-bottom:.3rem}figure{margin:1.5rem 0}svg{max-width:100%;height:auto}
"""


def _table(caption: str, header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return (
        f"<table><caption>{escape(caption)}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def render_report(run: SimulationRun, summary: SimulationSummary, policy_text: str) -> str:
    """Return the report as one HTML document."""
    pool = run.pool
    parts = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        f"<title>Simulation report: {escape(summary.bank)}</title>",
        f"<style>{_STYLE}</style></head><body><main>",
        f"<h1>Simulation report: {escape(summary.bank)}</h1>",
        f"<p>{summary.examinees} simulees drawn from N(0, 1), seed {summary.seed}. "
        f"Test length {summary.mean_length:.1f} items on average (SD {summary.sd_length:.1f}, "
        f"{summary.min_length} to {summary.max_length}). Maximum exposure "
        f"{summary.max_exposure:.3f}; test overlap {summary.overlap:.3f}; "
        f"{summary.unused_items} operational items never used.</p>",
    ]
    parts.append(
        _table(
            "Recovery per competency",
            ["Competency", "Bias", "RMSE", "Mean SE", "Correlation"],
            [
                [
                    a.competency,
                    f"{a.bias:+.3f}",
                    f"{a.rmse:.3f}",
                    f"{a.mean_se:.3f}",
                    "" if a.correlation is None else f"{a.correlation:.3f}",
                ]
                for a in summary.accuracy
            ],
        )
    )
    rows = []
    for band in summary.bands:
        rmse = ", ".join(f"{a.competency} {a.rmse:.3f}" for a in band.accuracy)
        bias = ", ".join(f"{a.competency} {a.bias:+.3f}" for a in band.accuracy)
        rows.append(
            [
                band.band,
                str(band.examinees),
                bias,
                rmse,
                f"{band.mean_length:.1f}",
                f"{band.max_exposure:.3f}",
                f"{band.overlap:.3f}",
            ]
        )
    parts.append(
        _table(
            "By band of true ability",
            ["Band", "Simulees", "Bias", "RMSE", "Mean length", "Max exposure", "Overlap"],
            rows,
        )
    )
    for k, cid in enumerate(pool.competency_ids):
        true = run.true_theta[:, k]
        est = run.estimate[:, k]
        lo = float(min(true.min(), est.min(), -3.0))
        hi = float(max(true.max(), est.max(), 3.0))
        svg = line_chart(
            Axes(
                title=f"True and estimated ability: {cid}",
                x_label="true theta",
                y_label="estimated theta",
                description=(
                    f"Scatter of {true.size} simulees; the line is estimate = truth. "
                    f"RMSE {summary.accuracy[k].rmse:.3f}."
                ),
                x_range=(lo, hi),
                y_range=(lo, hi),
            ),
            [
                Series("simulees", true.tolist(), est.tolist(), points=True, line=False),
                Series("estimate = truth", [lo, hi], [lo, hi], dashed=True),
            ],
        )
        parts.append(f"<figure>{svg}</figure>")
    labels = [b.band for b in summary.bands]
    for competency in pool.competency_ids:
        values = []
        for band in summary.bands:
            match = [a.rmse for a in band.accuracy if a.competency == competency]
            values.append(match[0] if match else 0.0)
        parts.append(
            "<figure>"
            + bar_chart(
                Axes(
                    title=f"RMSE by band of true ability: {competency}",
                    x_label="band of true theta",
                    y_label="RMSE",
                ),
                labels,
                values,
            )
            + "</figure>"
        )
    rates = np.sort(np.asarray(summary.exposure_rates)[pool.operational])[::-1]
    parts.append(
        "<figure>"
        + line_chart(
            Axes(
                title="Exposure rates, items sorted from most to least used",
                x_label="item rank",
                y_label="exposure rate",
                description=(
                    f"Maximum {summary.max_exposure:.3f}, mean {summary.mean_exposure:.3f}."
                ),
                y_range=(0.0, max(1e-9, float(rates.max())) * 1.05),
            ),
            [Series("exposure", list(range(1, rates.size + 1)), rates.tolist())],
        )
        + "</figure>"
    )
    lengths = np.bincount(run.lengths)
    parts.append(
        "<figure>"
        + bar_chart(
            Axes(title="Test length", x_label="items", y_label="simulees"),
            [str(i) for i in range(lengths.size) if lengths[i]],
            [float(v) for v in lengths if v],
        )
        + "</figure>"
    )
    parts.append(
        _table(
            "Why tests stopped",
            ["Reason", "Simulees"],
            [[reason or "(not finished)", str(n)] for reason, n in summary.stop_reasons.items()],
        )
    )
    parts.append(f"<h2>Policy</h2><pre>{escape(policy_text)}</pre>")
    parts.append("</main></body></html>")
    return "".join(parts)
