"""DIF results as CSV rows and as an HTML section that plugs into the calibration report.

:func:`render_dif_section` returns one ``<section>`` (a heading, what was done, one table):
no ``<html>`` wrapper, so :func:`calibration.report.render_report` or a web page can place it
among its own sections. Numbers are printed with the precision they have: p-values below
0.001 are shown as "< 0.001", never as 0.
"""

from __future__ import annotations

import math
from html import escape

from calibration.dif import MHAnalysis, MHItem
from calibration.dif_lr import LRAnalysis, LRItem

_ORDER = {"C": 0, "CC": 0, "B": 1, "BB": 1, "A": 2, "AA": 2}
_MATCHING = {
    "total": "the total score over the analysed items (the studied item included)",
    "rest": "the rest score (the studied item left out)",
    "theta": "ability strata of equal size from each person's EAP estimate (bank parameters)",
}


def _num(value: float | None, digits: int = 2) -> str:
    if value is None or not math.isfinite(value):
        return ""
    return f"{value:.{digits}f}"


def _p(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return ""
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def dif_rows(mh: MHAnalysis, lr: LRAnalysis | None = None) -> list[dict[str, object]]:
    """One row per item for ``--out dif.csv``: MH results, then the LR test when run."""
    tests = {item.item_id: item for item in lr.items} if lr is not None else {}
    rows: list[dict[str, object]] = []
    for item in mh.items:
        lr_item = tests.get(item.item_id)
        row: dict[str, object] = {
            "item_id": item.item_id,
            "type": "polytomous" if item.polytomous else "dichotomous",
            "n_reference": item.n_reference,
            "n_focal": item.n_focal,
            "strata": item.strata,
            "mh_chi2": item.chi2,
            "mh_p": item.p_value,
            "alpha_mh": item.alpha_mh,
            "delta_mh": item.delta_mh,
            "se_delta": item.se_delta,
            "smd": item.smd,
            "smd_sd": item.smd_ratio,
            "ets": item.category,
            "favours": item.favours,
            "lr_g2": lr_item.g2 if lr_item else None,
            "lr_df": lr_item.df if lr_item else None,
            "lr_p": lr_item.p_value if lr_item else None,
            "lr_note": (
                lr_item.note if lr_item else (lr.not_tested.get(item.item_id, "") if lr else "")
            ),
        }
        if lr_item is not None:
            for name, ref, foc in zip(lr_item.names, lr_item.reference, lr_item.focal, strict=True):
                row[f"{name}_reference"] = ref
                row[f"{name}_focal"] = foc
        rows.append(row)
    return rows


def _effect(item: MHItem) -> str:
    if item.polytomous:
        return f"SMD/SD {_num(item.smd_ratio)}" if item.smd_ratio is not None else ""
    return f"{_num(item.delta_mh)} (SE {_num(item.se_delta)})" if item.delta_mh is not None else ""


def _lr_cells(item: LRItem | None, not_tested: str) -> list[str]:
    if item is None:
        return [f"not tested: {not_tested}" if not_tested else "", ""]
    changes = ", ".join(
        f"{name} {ref:.2f} → {foc:.2f}"
        for name, ref, foc in zip(item.names, item.reference, item.focal, strict=True)
        if abs(foc - ref) >= 0.005 and name in ("a", "b", "c", "b1", "b2", "b3", "b4")
    )
    test = f"{item.g2:.2f} ({item.df}), p {_p(item.p_value)}"
    return [f"{test}; {item.note}" if item.note else test, changes]


def render_dif_section(mh: MHAnalysis, lr: LRAnalysis | None = None) -> str:
    """The DIF results as an HTML ``<section>`` (items with the largest DIF first)."""
    tests = {item.item_id: item for item in lr.items} if lr is not None else {}
    items = sorted(mh.items, key=lambda i: (_ORDER[i.category], i.item_id))
    flagged = [i for i in items if i.category not in ("A", "AA")]
    parts = [
        '<section class="dif"><h2>Differential item functioning</h2>',
        f"<p>Groups by column <code>{escape(mh.column)}</code>: reference "
        f"&ldquo;{escape(mh.reference)}&rdquo; ({mh.n_reference} persons), focal "
        f"&ldquo;{escape(mh.focal)}&rdquo; ({mh.n_focal} persons). Mantel-Haenszel matched on "
        f"{escape(_MATCHING[mh.matching])}"
        + (
            f"; purified: {escape(', '.join(mh.criterion_removed))} left the criterion"
            if mh.purified
            else ""
        )
        + ". ETS categories: A/AA negligible, B/BB moderate, C/CC large (Zwick, 2012). "
        "Delta below 0: the item is harder for the focal group than for reference members "
        "of the same ability.</p>",
    ]
    if lr is not None:
        parts.append(
            "<p>Likelihood-ratio test of a two-group calibration (each item free in both "
            "groups against all items equal, the focal group's mean and SD free): focal "
            f"mean {lr.focal_mean:.2f}, SD {lr.focal_sd:.2f} on the reference group's "
            "scale.</p>"
        )
    parts.append(
        f"<p>{len(flagged)} of {len(items)} items show moderate or large DIF.</p>"
        if flagged
        else f"<p>None of the {len(items)} items shows moderate or large DIF.</p>"
    )
    header = ["Item", "ETS", "Easier for", "Effect", "MH χ²", "p", "n ref / focal"]
    if lr is not None:
        header += ["LR G² (df)", "Parameters ref → focal"]
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in header)
    rows = []
    for item in items:
        cells = [
            item.item_id,
            item.category,
            item.favours,
            _effect(item),
            _num(item.chi2),
            _p(item.p_value),
            f"{item.n_reference} / {item.n_focal}",
        ]
        if lr is not None:
            cells += _lr_cells(tests.get(item.item_id), lr.not_tested.get(item.item_id, ""))
        marker = ' class="flag"' if item.category not in ("A", "AA") else ""
        rows.append(
            f"<tr{marker}>" + "".join(f"<td>{escape(str(c))}</td>" for c in cells) + "</tr>"
        )
    parts.append(
        "<table><caption>DIF by item</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></section>"
    )
    return "".join(parts)
