r"""Conditional maximum likelihood (CML) for the Rasch and partial credit models.

In the partial credit model (Masters, 1982; the Rasch model is its dichotomous case)

.. math:: P(X_{pi} = k \mid \theta_p) = \frac{\exp(k\theta_p + \eta_{ik})}
                                         {\sum_{h=0}^{m_i} \exp(h\theta_p + \eta_{ih})},
          \qquad \eta_{i0} = 0,\ \eta_{ik} = -\sum_{v \le k} \delta_{iv},

the raw score :math:`r_p = \sum_i x_{pi}` is sufficient for :math:`\theta_p`, and the
likelihood of a response vector given its raw score no longer involves :math:`\theta_p`:

.. math:: P(x_p \mid r_p) = \frac{\prod_i e^{\eta_{i x_{pi}}}}{\gamma_{r_p}(S_p)},

with :math:`\gamma` the elementary symmetric functions (:mod:`calibration.esf`) of the items
:math:`S_p` the person answered. CML maximises the conditional log-likelihood

.. math:: \ell_c = \sum_{i,k} t_{ik}\,\eta_{ik} - \sum_p \log\gamma_{r_p}(S_p),

where :math:`t_{ik}` counts the responses in category :math:`k` of item :math:`i`. Its
gradient is :math:`t_{ik} - \sum_p P(x_{pi} = k \mid r_p)` with
:math:`P(x_{pi} = k \mid r) = e^{\eta_{ik}} \gamma^{(i)}_{r-k} / \gamma_r`, and its negative
Hessian is the sum over persons of the conditional covariance of the category indicators
given the raw score, whose cross terms use
:math:`P(x_i = k, x_j = l \mid r) = e^{\eta_{ik} + \eta_{jl}} \gamma^{(ij)}_{r-k-l} /
\gamma_r`. Newton-Raphson with step halving maximises :math:`\ell_c`; persons with a raw
score of 0 or the maximum of their items carry no information and are left out, and persons
are grouped by the set of items they answered (missing responses are allowed, as in
psychotools and eRm).

Identification: :math:`\ell_c` is unchanged by :math:`\eta_{ik} \to \eta_{ik} + k c` (a shift
of the ability scale), so one parameter is fixed during estimation
(:math:`\eta_{11} = 0`, psychotools' choice) and the results are reported in normalisations
that do not depend on that choice: thresholds :math:`\delta_{ik}` with mean 0 over all
thresholds (psychotools ``itempar``/``threshpar``; for the Rasch model the item
difficulties sum to zero, eRm's default), cumulative parameters relative to the first item
(psychotools ``coef``), or cumulative parameters summing to zero (eRm ``betapar``, with the
opposite sign). Standard errors come from the inverse of the observed information and are
carried to each normalisation by its linear map.

References
----------
Andersen, E. B. (1972). The numerical solution of a set of conditional estimation equations.
*Journal of the Royal Statistical Society B*, 34(1), 42-54.
Masters, G. N. (1982). A Rasch model for partial credit scoring. *Psychometrika*, 47(2),
149-174.
Fischer, G. H., & Molenaar, I. W. (Eds.) (1995). *Rasch Models*. Springer (ch. 3, 15, 19).
Verhelst, N. D., Glas, C. A. W., & van der Sluis, A. (1984). Estimation problems in the Rasch
model: The basic symmetric functions. *Computational Statistics Quarterly*, 1(3), 245-262.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy.sparse.csgraph import connected_components

from calibration.data import ResponseData
from calibration.errors import CalibrationError, CalibrationWarning, ModelError
from calibration.esf import log_elementary_symmetric

Array = NDArray[np.float64]
CmlModel = Literal["rasch", "pcm"]
CML_MODELS: tuple[CmlModel, ...] = ("rasch", "pcm")
Normalisation = Literal["mean", "first", "sum"]
#: Work budget for one information matrix: rows of item-pair functions x score range x
#: items. Beyond it the data have too many distinct sets of answered items for CML.
WORK_LIMIT = 4e9


@dataclass(frozen=True)
class _Groups:
    """Persons grouped by the items they answered, with raw-score counts per group."""

    masks: NDArray[np.bool_]  # (G, J)
    score_counts: Array  # (G, R + 1)
    totals: Array  # (P,) category counts t_ik of the informative persons
    n_persons: int
    n_extreme: int


@dataclass(frozen=True)
class CmlResult:
    r"""The outcome of a CML calibration of one scale.

    Attributes
    ----------
    item_ids, n_categories
        The calibrated items (data order) and their categories :math:`m_i + 1`.
    eta
        ``(P,)`` cumulative log weights :math:`\eta_{ik}` (item-major, ``k = 1..m_i``),
        normalised so that the thresholds have mean 0.
    information
        ``(P, P)`` observed information of :math:`\eta` (singular along the scale shift).
    loglik
        The conditional log-likelihood :math:`\ell_c`.
    n_persons, n_extreme
        Persons used, and persons left out for a raw score of 0 or the maximum.
    """

    model: CmlModel
    item_ids: tuple[str, ...]
    n_categories: NDArray[np.intp]
    eta: Array
    information: Array
    loglik: float
    n_persons: int
    n_extreme: int
    iterations: int
    converged: bool
    max_gradient: float
    excluded: dict[str, str] = field(default_factory=dict)
    warnings: list[CalibrationWarning] = field(default_factory=list)

    @property
    def n_parameters(self) -> int:
        """Free parameters: one per threshold, less one for the scale's origin."""
        return int(self.eta.size) - 1

    @property
    def item_of(self) -> NDArray[np.intp]:
        """``(P,)`` item index of each parameter."""
        return np.repeat(np.arange(self.n_categories.size), self.n_categories - 1)

    @property
    def category_of(self) -> NDArray[np.intp]:
        """``(P,)`` category ``k >= 1`` of each parameter."""
        return np.concatenate([np.arange(1, m) for m in self.n_categories]).astype(np.intp)

    def _covariance_first(self) -> Array:
        r"""Covariance of :math:`\eta` with :math:`\eta_{11} = 0` (zero first row/column)."""
        p = self.eta.size
        cov = np.zeros((p, p))
        reduced = self.information[1:, 1:]
        try:
            cov[1:, 1:] = np.linalg.inv(reduced)
        except np.linalg.LinAlgError:
            cov[1:, 1:] = np.linalg.pinv(reduced)
        return cov

    def _threshold_map(self) -> Array:
        r"""Matrix ``D`` with thresholds :math:`\delta = D\eta`."""
        p = self.eta.size
        d = -np.eye(p)
        previous = np.flatnonzero(self.category_of > 1)
        d[previous, previous - 1] = 1.0
        return d

    def _map(self, normalisation: Normalisation, thresholds: bool) -> Array:
        p = self.eta.size
        k = self.category_of.astype(np.float64)
        if normalisation == "first":
            # eta - k * eta_11 (a shift of the scale that sets the first parameter to 0)
            shift = np.eye(p)
            shift[:, 0] -= k
        elif normalisation == "sum":
            shift = np.eye(p) - np.outer(k, np.ones(p)) / k.sum()
            # cumulative parameters psi = -eta sum to zero: eta' = eta - k * sum(eta)/sum(k)
        else:
            d = self._threshold_map()
            centre = np.eye(p) - np.full((p, p), 1.0 / p)
            mean_thresholds = centre @ d  # delta - mean(delta)
            if thresholds:
                return np.asarray(mean_thresholds)
            # back to cumulative weights: eta_ik = -sum_{v<=k} delta_iv
            return np.asarray(np.linalg.solve(d, mean_thresholds))
        return shift if not thresholds else self._threshold_map() @ shift

    def estimates(
        self, normalisation: Normalisation = "mean", *, thresholds: bool = True
    ) -> tuple[Array, Array]:
        r"""Parameters and their covariance in one normalisation.

        Parameters
        ----------
        normalisation
            ``mean``: thresholds with mean 0 (psychotools ``itempar``/``threshpar``);
            ``first``: the first item's first cumulative parameter is 0 (psychotools
            ``coef``); ``sum``: the cumulative parameters sum to 0 (eRm ``betapar`` with the
            opposite sign).
        thresholds
            Thresholds :math:`\delta_{ik}` (step difficulties) when true, else the
            cumulative difficulties :math:`\psi_{ik} = -\eta_{ik} = \sum_{v \le k}
            \delta_{iv}`.

        Returns
        -------
        values, covariance
            ``(P,)`` and ``(P, P)``; the covariance is :math:`A V A^\top` for the linear map
            :math:`A` of the normalisation and :math:`V` the inverse information with
            :math:`\eta_{11}` fixed (the result does not depend on that choice).
        """
        a = self._map(normalisation, thresholds)
        sign = 1.0 if thresholds else -1.0
        values = sign * (a @ self.eta)
        cov = a @ self._covariance_first() @ a.T
        return values, cov

    def item_thresholds(self) -> list[tuple[Array, Array]]:
        """Per item: thresholds (mean-zero normalisation) and their standard errors."""
        values, cov = self.estimates("mean")
        se = np.sqrt(np.maximum(np.diag(cov), 0.0))
        bounds = np.concatenate(([0], np.cumsum(self.n_categories - 1)))
        return [
            (values[bounds[i] : bounds[i + 1]], se[bounds[i] : bounds[i + 1]])
            for i in range(self.n_categories.size)
        ]


def _check(
    data: ResponseData, model: CmlModel
) -> tuple[list[int], NDArray[np.intp], dict[str, str], list[CalibrationWarning]]:
    """Columns that can be calibrated, their categories, exclusions and warnings."""
    responses = data.responses
    excluded: dict[str, str] = {}
    warnings: list[CalibrationWarning] = []
    problems: list[str] = []
    keep: list[int] = []
    cats: list[int] = []
    top = int(responses.max()) if responses.size else 0
    counts = np.stack([(responses == c).sum(axis=0) for c in range(max(top, 1) + 1)], axis=1)
    for j, item in enumerate(data.item_ids):
        present = np.flatnonzero(counts[j])
        if model == "rasch" and present.size and present.max() > 1:
            code = int(present[present > 1][0])
            problems.append(
                f'{data.where(j, code)}: column response: item "{item}": code {code} is not a '
                "category of the dichotomous rasch model (categories 0..1)"
            )
            continue
        if present.size < 2:
            reason = (
                "no responses (an empty column); not calibrated"
                if present.size == 0
                else f"every one of its {int(counts[j].sum())} responses is {int(present[0])}; "
                "its parameters cannot be estimated from these data"
            )
        elif present.size != present.max() + 1:
            gaps = sorted(set(range(int(present.max()) + 1)) - set(present.tolist()))
            reason = (
                f"no response in category {', '.join(map(str, gaps))} "
                f"(of 0..{int(present.max())}); its thresholds cannot be estimated"
            )
        else:
            keep.append(j)
            cats.append(int(present.max()) + 1)
            continue
        excluded[item] = reason
        warnings.append(
            CalibrationWarning(kind="not_estimable", subject=f'item "{item}"', message=reason)
        )
    if problems:
        raise ModelError(problems)
    return keep, np.array(cats, dtype=np.intp), excluded, warnings


def _disconnected(responses: NDArray[np.int8], cats: NDArray[np.intp]) -> list[list[int]]:
    r"""Groups of items between which the conditional likelihood has no maximum.

    The CML estimates exist (and are unique) iff the directed graph with an edge
    :math:`i \to j` whenever some person scored above the bottom of item :math:`i` and
    below the top of item :math:`j` is strongly connected (Fischer, 1981, for the Rasch
    model; for the partial credit model the condition is necessary). Otherwise the
    difference between two groups of difficulties grows without bound.

    Parameters
    ----------
    responses
        ``(N, J)`` codes, ``-1`` for not administered.
    cats
        ``(J,)`` categories per item.

    Returns
    -------
    list of list of int
        The strongly connected components (column indices) when there are two or more,
        otherwise an empty list.

    References
    ----------
    Fischer, G. H. (1981). On the existence and uniqueness of maximum-likelihood estimates
    in the Rasch model. *Psychometrika*, 46, 59-77.
    """
    above = (responses > 0).astype(np.float64)
    below = ((responses >= 0) & (responses < (cats - 1)[None, :])).astype(np.float64)
    beats = (above.T @ below) > 0
    np.fill_diagonal(beats, False)
    n, labels = connected_components(beats, directed=True, connection="strong")
    if n < 2:
        return []
    return [np.flatnonzero(labels == c).tolist() for c in range(n)]


def _groups(responses: NDArray[np.int8], n_categories: NDArray[np.intp]) -> _Groups:
    answered = responses >= 0
    scores = np.where(answered, responses, 0).astype(np.int64)
    raw = scores.sum(axis=1)
    maximum = answered @ (n_categories - 1)
    informative = (raw > 0) & (raw < maximum)
    extreme = int((answered.any(axis=1) & ~informative).sum())
    scores, answered, raw = scores[informative], answered[informative], raw[informative]
    width = int((n_categories - 1).sum()) + 1
    masks, group = np.unique(answered, axis=0, return_inverse=True)
    group = group.reshape(-1)
    score_counts = np.zeros((masks.shape[0], width))
    np.add.at(score_counts, (group, raw), 1.0)
    totals = np.array(
        [(scores[:, j] == k).sum() for j, m in enumerate(n_categories) for k in range(1, m)],
        dtype=np.float64,
    )
    return _Groups(masks, score_counts, totals, int(informative.sum()), extreme)


def _eta_matrix(eta: Array, n_categories: NDArray[np.intp]) -> Array:
    """``(J, C)`` log weights with column 0 = 0 from the flat parameter vector."""
    j = n_categories.size
    out = np.zeros((j, int(n_categories.max())))
    bounds = np.concatenate(([0], np.cumsum(n_categories - 1)))
    for i in range(j):  # set-up per item, once per evaluation (not a hot loop)
        out[i, 1 : n_categories[i]] = eta[bounds[i] : bounds[i + 1]]
    return out


def _conditional_first(
    eta_m: Array, cats: NDArray[np.intp], groups: _Groups
) -> tuple[float, Array, Array]:
    """Log-likelihood, ``(G, P, R+1)`` conditional category probabilities, ``log gamma``."""
    masks, n = groups.masks, groups.score_counts
    g_count = masks.shape[0]
    width = n.shape[1]
    lg = log_elementary_symmetric(eta_m, cats, masks)  # (G, R+1)
    # leave-one-out rows: group g without item i (only where i was answered)
    gi = np.argwhere(masks)
    loo_masks = masks[gi[:, 0]].copy()
    loo_masks[np.arange(gi.shape[0]), gi[:, 1]] = False
    lg1 = log_elementary_symmetric(eta_m, cats, loo_masks)  # (rows, R+1)
    bounds = np.concatenate(([0], np.cumsum(cats - 1)))
    p = int(bounds[-1])
    prob = np.zeros((g_count, p, width))
    for k in range(1, int(cats.max())):  # categories (a handful)
        rows = np.flatnonzero(cats[gi[:, 1]] > k)
        g, i = gi[rows, 0], gi[rows, 1]
        shifted = np.full((rows.size, width), -np.inf)
        shifted[:, k:] = lg1[rows, : width - k]
        with np.errstate(invalid="ignore", over="ignore"):
            value = np.exp(eta_m[i, k][:, None] + shifted - lg[g])
        prob[g, bounds[i] + k - 1] = np.nan_to_num(value, nan=0.0, posinf=0.0)
    used = lg[n > 0]
    if not np.isfinite(used).all():
        raise CalibrationError(
            "the elementary symmetric functions of some raw scores leave the floating-point "
            "range (too many items spread too widely for CML in double precision); use MML"
        )
    ll = -float((n[n > 0] * used).sum())
    return ll, prob, lg


def _information(
    eta_m: Array, cats: NDArray[np.intp], groups: _Groups, prob: Array, lg: Array
) -> Array:
    """Observed information: the summed conditional covariances of the indicators."""
    masks, n = groups.masks, groups.score_counts
    width = n.shape[1]
    bounds = np.concatenate(([0], np.cumsum(cats - 1)))
    p = int(bounds[-1])
    weighted = prob * n[:, None, :]
    info = -np.einsum("gpr,gqr->pq", weighted, prob)
    # within an item: diag(P_ik); the product term above covers -P_ik P_il
    info[np.arange(p), np.arange(p)] += weighted.sum(axis=(0, 2))
    same_item = np.repeat(np.arange(cats.size), cats - 1)
    block = same_item[:, None] == same_item[None, :]
    # cross terms of two items need gamma without both: rows (g, i, j), i < j
    pairs = np.array(
        [(g, i, j) for g in range(masks.shape[0]) for i, j in _pairs(masks[g])], dtype=np.intp
    ).reshape(-1, 3)
    joint = np.zeros((p, p))
    step = max(1, int(2e7 // max(width * cats.size, 1)))
    for start in range(0, pairs.shape[0], step):  # chunks of rows, to bound memory
        chunk = pairs[start : start + step]
        sub = masks[chunk[:, 0]].copy()
        sub[np.arange(chunk.shape[0]), chunk[:, 1]] = False
        sub[np.arange(chunk.shape[0]), chunk[:, 2]] = False
        lg2 = log_elementary_symmetric(eta_m, cats, sub)
        g, i, j = chunk[:, 0], chunk[:, 1], chunk[:, 2]
        for k in range(1, int(cats.max())):  # categories of the first item
            for h in range(1, int(cats.max())):  # categories of the second item
                rows = np.flatnonzero((cats[i] > k) & (cats[j] > h))
                if rows.size == 0:
                    continue
                shifted = np.full((rows.size, width), -np.inf)
                shifted[:, k + h :] = lg2[rows, : width - k - h]
                gr = g[rows]
                with np.errstate(invalid="ignore", over="ignore"):
                    value = np.exp(
                        eta_m[i[rows], k][:, None] + eta_m[j[rows], h][:, None] + shifted - lg[gr]
                    )
                value = np.nan_to_num(value, nan=0.0, posinf=0.0)
                total = (value * n[gr]).sum(axis=1)
                np.add.at(joint, (bounds[i[rows]] + k - 1, bounds[j[rows]] + h - 1), total)
    joint = joint + joint.T
    info += np.where(block, 0.0, joint)
    return np.asarray(info)


def _pairs(mask: NDArray[np.bool_]) -> list[tuple[int, int]]:
    items = np.flatnonzero(mask).tolist()
    return [(a, b) for n, a in enumerate(items) for b in items[n + 1 :]]


def _work(groups: _Groups, cats: NDArray[np.intp]) -> float:
    answered = groups.masks.sum(axis=1).astype(np.float64)
    pair_rows = float((answered * (answered - 1) / 2).sum())
    return pair_rows * float(groups.score_counts.shape[1]) * float(cats.size)


def cml(
    data: ResponseData,
    model: CmlModel = "rasch",
    *,
    tol: float = 1e-10,
    max_iter: int = 200,
) -> CmlResult:
    """Calibrate the Rasch (dichotomous) or partial credit model by conditional ML.

    Parameters
    ----------
    data
        Responses of one scale; ``-1`` means not administered.
    model
        ``rasch`` (codes 0/1) or ``pcm`` (codes ``0..m_i``, every category used).
    tol
        Stop when a Newton step changes no parameter by more than ``tol``.

    Raises
    ------
    ModelError
        When a code is not a category of the model (``rasch`` with a 2).
    CalibrationError
        When fewer than two items can be estimated, no person has an informative raw
        score, the estimates do not exist (the items are not strongly connected), or
        the data have too many distinct sets of answered items for CML.
    """
    if model not in CML_MODELS:
        raise CalibrationError(f"CML is available for {' and '.join(CML_MODELS)}, not {model!r}")
    keep, cats, excluded, warnings = _check(data, model)
    if len(keep) < 2:
        raise CalibrationError(
            f"{data.source}: CML needs at least two items with responses in every category"
        )
    responses = np.ascontiguousarray(data.responses[:, keep])
    groups = _groups(responses, cats)
    if groups.n_persons == 0:
        raise CalibrationError(
            f"{data.source}: no person has a raw score between 0 and the maximum of their items"
        )
    components = _disconnected(responses, cats)
    if components:
        named = "; ".join(
            "{"
            + ", ".join(f'"{data.item_ids[keep[j]]}"' for j in c[:5])
            + (f" and {len(c) - 5} more" if len(c) > 5 else "")
            + "}"
            for c in components[:4]
        )
        raise CalibrationError(
            f"{data.source}: the CML estimates do not exist: the items fall into "
            f"{len(components)} groups ({named}) that the answers do not link both ways "
            "(someone must do better on an item of one group than on an item of the other, "
            "and someone the reverse), so their difficulties drift apart without bound "
            "(Fischer, 1981); use MML, which the population distribution identifies, "
            "or more data"
        )
    if _work(groups, cats) > WORK_LIMIT:
        raise CalibrationError(
            f"{data.source}: {groups.masks.shape[0]} distinct sets of answered items are too "
            "many for CML (its information needs item-pair functions per set); use MML"
        )
    item_ids = tuple(data.item_ids[k] for k in keep)
    # start: log ratios of adjacent category counts (psychotools' start values)
    eta = np.zeros(int((cats - 1).sum()))
    pos = 0
    for j, m in enumerate(cats):  # set-up per item, once
        counts = np.array([(responses[:, j] == k).sum() for k in range(m)], dtype=np.float64)
        eta[pos : pos + m - 1] = np.cumsum(np.diff(np.log(np.maximum(counts, 0.5))))
        pos += m - 1
    eta -= eta[0] * np.concatenate([np.arange(1, m) for m in cats])
    totals = groups.totals

    def evaluate(vector: Array) -> tuple[float, Array, Array, Array]:
        eta_m = _eta_matrix(vector, cats)
        ll, prob, lg = _conditional_first(eta_m, cats, groups)
        ll += float(totals @ vector)
        expected = (prob * groups.score_counts[:, None, :]).sum(axis=(0, 2))
        return ll, totals - expected, prob, lg

    ll, grad, prob, lg = evaluate(eta)
    converged = False
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 - the count is reported
        info = _information(_eta_matrix(eta, cats), cats, groups, prob, lg)
        try:
            step = np.linalg.solve(info[1:, 1:], grad[1:])
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(info[1:, 1:], grad[1:], rcond=None)[0]
        t = 1.0
        for _ in range(40):
            candidate = eta.copy()
            candidate[1:] += t * step
            new = evaluate(candidate)
            if math.isfinite(new[0]) and new[0] >= ll - 1e-12 * abs(ll):
                break
            t *= 0.5
        moved = float(np.abs(t * step).max())
        eta = candidate
        ll, grad, prob, lg = new
        if moved < tol:
            converged = True
            break
    info = _information(_eta_matrix(eta, cats), cats, groups, prob, lg)
    if not converged:
        warnings.append(
            CalibrationWarning(
                kind="not_converged",
                subject=data.source,
                message=f"CML stopped after {max_iter} Newton steps without meeting the "
                f"criterion (largest gradient {float(np.abs(grad[1:]).max()):.2g})",
            )
        )
    result = CmlResult(
        model=model,
        item_ids=item_ids,
        n_categories=cats,
        eta=eta,
        information=info,
        loglik=ll,
        n_persons=groups.n_persons,
        n_extreme=groups.n_extreme,
        iterations=iterations,
        converged=converged,
        max_gradient=float(np.abs(grad[1:]).max()),
        excluded=excluded,
        warnings=warnings,
    )
    centred, _ = result.estimates("mean", thresholds=False)
    return CmlResult(
        model=model,
        item_ids=item_ids,
        n_categories=cats,
        eta=-centred,
        information=info,
        loglik=ll,
        n_persons=groups.n_persons,
        n_extreme=groups.n_extreme,
        iterations=iterations,
        converged=converged,
        max_gradient=result.max_gradient,
        excluded=excluded,
        warnings=warnings,
    )
