"""Charts of a calibration: item characteristic curves and the test information curve.

The charts are the SVG strings of :mod:`engine.charts` (no JavaScript, nothing fetched); the
HTML report embeds them, and the notebook API wraps them in :class:`Figure`, which Jupyter
renders through ``_repr_svg_``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from calibration.reliability import information_curve
from engine.charts import Axes, Series, line_chart
from engine.pool import ItemPool

Array = NDArray[np.float64]
THETA = np.linspace(-4.0, 4.0, 81)


@dataclass(frozen=True)
class Figure:
    """An SVG chart that renders in Jupyter (``_repr_svg_``) and can be saved."""

    svg: str
    title: str

    def _repr_svg_(self) -> str:
        return self.svg

    def save(self, path: str | Path) -> None:
        """Write the chart as an SVG file."""
        Path(path).write_text(self.svg, encoding="utf-8")

    def __str__(self) -> str:
        return self.svg


def information_chart(
    pool: ItemPool, ids: list[str], scale: str, *, theta: Array = THETA, se: bool = True
) -> str:
    r"""Test information :math:`I(\theta)` of the items ``ids`` and, optionally, the SE."""
    items = np.array([pool.index[i] for i in ids], dtype=np.intp)
    info = information_curve(pool, items, theta)
    series = [Series("information", theta.tolist(), info.tolist())]
    if se:
        error = 1.0 / np.sqrt(np.maximum(info, 1e-12))
        series.append(
            Series("standard error", theta.tolist(), np.minimum(error, 3.0).tolist(), dashed=True)
        )
    return line_chart(
        Axes(
            title=f"Test information: {scale}",
            x_label="ability (theta)",
            y_label="information / standard error" if se else "information",
            description=f"Test information{' and standard error' if se else ''} of the "
            f"{len(ids)} calibrated items of {scale} from {theta[0]:g} to {theta[-1]:g}.",
        ),
        series,
    )


def curve_chart(
    pool: ItemPool,
    item: str,
    *,
    flagged: bool = False,
    observed: tuple[list[float], list[float]] = ([], []),
    theta: Array = THETA,
) -> str:
    """One item's characteristic curve (expected score / max and category curves)."""
    p, _, _ = pool.derivatives(np.array([pool.index[item]]), theta)
    k = int(pool.n_categories[pool.index[item]])
    if k == 2:
        series = [Series("model P(correct)", theta.tolist(), p[0, 1].tolist())]
    else:
        expected = (p[0, :k] * np.arange(k)[:, None]).sum(axis=0) / (k - 1)
        series = [Series("model expected score / max", theta.tolist(), expected.tolist())]
        series += [
            Series(f"category {c}", theta.tolist(), p[0, c].tolist(), dashed=True) for c in range(k)
        ]
    if observed[0]:
        series.append(
            Series("observed (EAP groups)", observed[0], observed[1], points=True, line=False)
        )
    return line_chart(
        Axes(
            title=f"{item}{' (flagged)' if flagged else ''}",
            x_label="ability (theta)",
            y_label="probability / score",
            description=f"Item characteristic curve of {item}"
            + (
                " with observed proportions in ten groups of persons ordered by their EAP estimate."
                if observed[0]
                else "."
            ),
            width=340,
            height=230,
            x_range=(float(theta[0]), float(theta[-1])),
            y_range=(0.0, 1.0),
        ),
        series,
    )


def curves_chart(pool: ItemPool, ids: list[str], scale: str, *, theta: Array = THETA) -> str:
    """The characteristic curves of several items in one chart (expected score / max)."""
    items = np.array([pool.index[i] for i in ids], dtype=np.intp)
    p, _, _ = pool.derivatives(items, theta)
    cats = pool.n_categories[items]
    scores = np.arange(p.shape[1], dtype=np.float64)
    expected = np.einsum("jcq,c->jq", p, scores) / (cats - 1)[:, None]
    series = [Series(item, theta.tolist(), expected[k].tolist()) for k, item in enumerate(ids)]
    return line_chart(
        Axes(
            title=f"Item characteristic curves: {scale}",
            x_label="ability (theta)",
            y_label="P(correct) / expected score / max",
            description=f"Expected score (as a share of the maximum) of the {len(ids)} items "
            f"of {scale} from {theta[0]:g} to {theta[-1]:g}: "
            + ", ".join(ids[:50])
            + ("..." if len(ids) > 50 else "."),
            x_range=(float(theta[0]), float(theta[-1])),
            y_range=(0.0, 1.0),
            legend=len(ids) <= 7,
        ),
        series,
    )
