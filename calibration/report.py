"""A self-contained HTML calibration report: curves, information, fit, flagged items.

Charts are SVG strings from :mod:`engine.charts` (no JavaScript, nothing fetched); every
chart's data is also given as a table. Per competency the report shows the summary (persons,
estimation method, log-likelihood, AIC, BIC, M2 / RMSEA / SRMSR, G2, convergence, marginal
and empirical reliability; see :mod:`calibration.reliability`), the test information and
standard-error curves, the item characteristic curves (with observed proportions in groups
of persons ordered by their EAP estimate) of the flagged and newly estimated items, up to
:data:`MAX_CURVES` in all, the parameter and fit table, and the local-dependence pairs.
"""

from __future__ import annotations

import math
from html import escape

import numpy as np

from calibration.figures import curve_chart, information_chart
from calibration.fit import ItemFit, person_eap
from calibration.reliability import Reliability, scale_reliability
from calibration.workflow import BankCalibration, ScaleCalibration
from engine.pool import compile_pool

MAX_CURVES = 24
_STYLE = """
body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#111}
table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}th,td{border:1px solid #bbb;
padding:.25rem .5rem;text-align:right}th:first-child,td:first-child{text-align:left}
td.text{text-align:left}caption{text-align:left;font-weight:600;margin-bottom:.3rem}
figure{margin:1rem 0;display:inline-block;vertical-align:top}svg{max-width:100%;height:auto}
.flag{color:#a00}.warn{background:#fff4e5;border-left:4px solid #E69F00;padding:.5rem 1rem}
"""


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:.{digits}f}"


def _table(caption: str, header: list[str], rows: list[list[str]], text_cols: int = 1) -> str:
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="text">{escape(c)}</td>' if k < text_cols else f"<td>{escape(c)}</td>"
            for k, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return (
        f"<table><caption>{escape(caption)}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def _summary(scale: ScaleCalibration, reliability: Reliability, method: str) -> str:
    r = scale.result
    m = scale.model_fit
    rows = [
        ["Persons", str(r.n_persons)],
        [
            "Estimation",
            "conditional ML (items); the population by marginal ML with the items fixed"
            if method == "cml"
            else "marginal ML (EM)",
        ],
        ["Items estimated / anchors / kept", _counts(scale)],
        ["Log-likelihood", _fmt(r.loglik, 3)],
        ["AIC / BIC", f"{_fmt(r.aic, 2)} / {_fmt(r.bic, 2)}"],
        ["Estimated parameters", str(r.n_parameters)],
        [
            "Population mean / SD",
            f"{_fmt(r.latent_mean)} / {_fmt(r.latent_sd)}"
            + ("" if (r.model.estimate_mean or r.model.estimate_sd) else " (fixed)"),
        ],
        [
            "Converged",
            f"{'yes' if r.converged else 'NO'} after {r.trace.em_steps} EM steps "
            f"(largest change {r.trace.max_change:.1e})",
        ],
        ["Standard errors", r.se_method or "not computed"],
        *(
            [
                [
                    "Conditional log-likelihood (CML)",
                    f"{_fmt(scale.conditional.loglik, 3)} ({scale.conditional.n_parameters} "
                    f"parameters; {scale.conditional.n_persons} persons, "
                    f"{scale.conditional.n_extreme} with an extreme score left out)",
                ]
            ]
            if scale.conditional is not None
            else []
        ),
        [
            "Marginal reliability",
            f"{_fmt(reliability.marginal)} (population N({reliability.mean:.3f}, "
            f"{reliability.sd:.3f}^2))",
        ],
        ["Empirical reliability (EAP)", _fmt(reliability.empirical)],
    ]
    if m.m2 is not None:
        ci = m.rmsea_ci or (math.nan, math.nan)
        rows.append(["M2 (df, p)", f"{m.m2:.3f} ({m.m2_df}, {_fmt(m.m2_p)})"])
        rows.append(["RMSEA [90% CI]", f"{_fmt(m.rmsea)} [{_fmt(ci[0])}, {_fmt(ci[1])}]"])
        rows.append(["SRMSR", _fmt(m.srmsr)])
    if m.g2 is not None:
        rows.append(["G2 (df, p)", f"{m.g2:.2f} ({m.g2_df}, {_fmt(m.g2_p)})"])
    if scale.linking is not None:
        lk = scale.linking
        rows.append(
            [
                "Linking",
                f"{lk.method}: theta_bank = {lk.a:.4f} theta_new + {lk.b:+.4f} "
                f"({len(lk.common_items)} common items)",
            ]
        )
    out = _table("Summary", ["", "value"], rows, text_cols=2)
    notes = [*m.notes, *([scale.fit_note] if scale.fit_note else [])]
    if notes:
        out += "<p>" + "<br>".join(escape(n) for n in notes) + "</p>"
    return out


def _counts(scale: ScaleCalibration) -> str:
    est = sum(1 for s in scale.status.values() if s == "estimated")
    anchor = sum(1 for s in scale.status.values() if s.startswith("anchor"))
    kept = sum(1 for s in scale.status.values() if s.startswith("kept"))
    return f"{est} / {anchor} / {kept}"


def _observed_points(
    scale: ScaleCalibration, eap: np.ndarray, item: str, groups: int = 10
) -> tuple[list[float], list[float]]:
    """Mean observed score / max score of the item's responders in EAP-ordered groups."""
    result = scale.result
    if item not in result.item_ids:
        return [], []
    design = result.model.design
    column = result.item_ids.index(item)
    answered = design.patterns[:, column] >= 0
    theta = eap[answered]
    score = design.patterns[answered, column].astype(np.float64)
    weight = design.counts[answered]
    if weight.sum() < 5 * groups:
        return [], []
    order = np.argsort(theta)
    cumulative = np.cumsum(weight[order])
    bins = np.minimum((cumulative / cumulative[-1] * groups).astype(int), groups - 1)
    top = float(design.n_categories[column] - 1)
    xs, ys = [], []
    for g in range(groups):
        sel = order[bins == g]
        if sel.size:
            w = weight[sel]
            xs.append(float(np.average(theta[sel], weights=w)))
            ys.append(float(np.average(score[sel], weights=w)) / top)
    return xs, ys


def _item_table(calibration: BankCalibration, scale: ScaleCalibration) -> str:
    by_id = {item.id: item for item in calibration.bank.items}
    fits = {f.item: f for f in scale.item_fit}
    rows = []
    for item, status in scale.status.items():
        f = fits.get(item)
        if item not in by_id:  # a skeleton's item that could not be estimated
            rows.append(
                [item, status, *["-"] * 5, *_fit_cells(f), "; ".join(scale.flags.get(item, []))]
            )
            continue
        params = by_id[item].irt
        se = params.se
        loc = (
            ", ".join(f"{t:.3f}" for t in getattr(params, "thresholds", ()))
            if hasattr(params, "thresholds")
            else f"{getattr(params, 'b', math.nan):.3f}"
        )
        rows.append(
            [
                item,
                status,
                f"{params.a:.3f}",
                "-" if se is None or se.a is None else f"{se.a:.3f}",
                loc,
                "-" if se is None or se.b is None else f"{se.b:.3f}",
                _fmt(getattr(params, "c", None)),
                *_fit_cells(f),
                "; ".join(scale.flags.get(item, [])),
            ]
        )
    return _table(
        "Items: new parameters (bank metric, D = 1) and fit",
        [
            "Item",
            "Status",
            "a",
            "SE a",
            "b / thresholds",
            "SE b",
            "c",
            "S-X2",
            "df",
            "p",
            "Infit",
            "Outfit",
            "Flags",
        ],
        rows,
        text_cols=2,
    )


def _fit_cells(f: ItemFit | None) -> list[str]:
    return [
        _fmt(None if f is None else f.s_x2, 2),
        "-" if f is None or not math.isfinite(f.s_x2) else str(f.df),
        _fmt(None if f is None else f.p_value),
        _fmt(None if f is None else f.infit, 2),
        _fmt(None if f is None else f.outfit, 2),
    ]


def render_report(calibration: BankCalibration) -> str:
    """Return the calibration report as one HTML document."""
    bank = calibration.bank
    pool = compile_pool(bank)
    title = f"Calibration report: {bank.title} (version {bank.version})"
    parts = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body><main>",
        f"<h1>{escape(title)}</h1>",
        f"<p>Responses: {escape(calibration.data.source)} "
        f"({calibration.data.n_persons} persons, {calibration.data.n_items} items, "
        f"{int((calibration.data.responses >= 0).sum())} responses). "
        + (
            "No bank was given: the items are the data's columns, and the bank written is a "
            "skeleton whose stems and answers are placeholders to be written. "
            if calibration.from_responses
            else f"Previous version: {escape(calibration.old_bank.version)}. "
        )
        + "Settings: "
        + escape(", ".join(f"{k} {v}" for k, v in calibration.settings.items() if v))
        + ".</p>",
    ]
    if calibration.warnings:
        parts.append(
            '<div class="warn"><strong>Warnings</strong><ul>'
            + "".join(f"<li>{escape(str(w))}</li>" for w in calibration.warnings)
            + "</ul></div>"
        )
    for scale in calibration.scales:
        parts.append(f"<h2>Competency {escape(scale.competency)}</h2>")
        parts.append(
            _summary(
                scale, scale_reliability(scale, pool), calibration.settings.get("method", "mml")
            )
        )
        calibrated = [i for i in scale.status if i in pool.index]
        parts.append(f"<figure>{information_chart(pool, calibrated, scale.competency)}</figure>")
        flagged = [i for i in scale.status if i in scale.flags]
        if flagged:
            parts.append("<h3>Flagged items</h3><ul>")
            parts.extend(
                f'<li><span class="flag">{escape(i)}</span>: '
                f"{escape('; '.join(scale.flags[i]))}</li>"
                for i in flagged
            )
            parts.append("</ul>")
        estimated = [i for i in calibrated if scale.status[i] == "estimated"]
        shown = list(
            dict.fromkeys([i for i in flagged if i in pool.index] + estimated + calibrated)
        )
        parts.append("<h3>Item characteristic curves</h3>")
        parts.append(
            "<p>Lines: the model on the bank's scale; points: observed mean score of the "
            "item's responders in ten groups ordered by their EAP estimate. Flagged items "
            "first, then newly estimated items"
            + (
                f"; {MAX_CURVES} of {len(shown)} items shown (the table lists all)"
                if len(shown) > MAX_CURVES
                else ""
            )
            + ".</p>"
        )
        eap, _ = person_eap(scale.result)
        if scale.linking is not None:
            eap = scale.linking.a * eap + scale.linking.b
        parts.extend(
            "<figure>"
            + curve_chart(
                pool, i, flagged=i in scale.flags, observed=_observed_points(scale, eap, i)
            )
            + "</figure>"
            for i in shown[:MAX_CURVES]
        )
        parts.append(_item_table(calibration, scale))
        dep = scale.local_dependence
        if dep.flagged:
            parts.append(
                _table(
                    f"Local dependence: Q3 more than 0.2 above the mean Q3 ({dep.mean:.3f})",
                    ["Item", "Item", "Q3"],
                    [[a, b, f"{v:.3f}"] for a, b, v in dep.flagged[:50]],
                    text_cols=2,
                )
            )
        elif dep.note:
            parts.append(f"<p>Local dependence: {escape(dep.note)}.</p>")
        else:
            parts.append(
                f"<p>Local dependence: no pair has Q3 more than 0.2 above the mean Q3 "
                f"({_fmt(dep.mean)}).</p>"
            )
    parts.append("</main></body></html>")
    return "".join(parts)
