r"""The likelihood-ratio DIF test of a two-group calibration (IRT-LR-DIF).

For each studied item, two two-group models are fitted by marginal maximum likelihood
(Thissen, Steinberg & Wainer, 1993):

* **compact**: every item's parameters equal in both groups; the reference population is
  N(0, 1) (it fixes the scale), the focal population's mean and SD are free (the groups may
  differ in ability: impact is not DIF);
* **augmented**: the same, except that the studied item's parameters are free in each group.

The other items are the anchor that links the groups. Under no DIF,
:math:`G^2 = 2(\log L_{aug} - \log L_{comp})` is :math:`\chi^2` with as many degrees of freedom
as the item has free parameters (2 for a 2PL item; 1 for the 1PL, whose common slope is
shared).

Estimation: the augmented model is the compact model fitted to data in which the studied
item is two columns, one answered only by the reference group and one only by the focal
group, so both are the same EM: each group's E-step on its own quadrature weights
(:math:`N(0,1)` and :math:`N(\mu_F, \sigma_F^2)`), the expected counts summed over groups,
the M-step of :mod:`calibration.mstep` per item family, and the focal mean and SD by
:meth:`calibration.quadrature.Quadrature.fit_latent`. Start values come from a single-group
calibration of the pooled data (:func:`calibration.em.calibrate`). The item priors of the
calibration (a Beta prior on 3PL lower asymptotes) stay on, so for such items the fit is a
posterior mode; :math:`G^2` uses the log-likelihoods.

References
----------
Thissen, D., Steinberg, L., & Wainer, H. (1993). Detection of differential item functioning
using the parameters of item response models. In P. W. Holland & H. Wainer (Eds.),
*Differential Item Functioning* (pp. 67-113). Hillsdale, NJ: Erlbaum.
Bock, R. D., & Zimowski, M. F. (1997). Multiple group IRT. In W. J. van der Linden & R. K.
Hambleton (Eds.), *Handbook of Modern Item Response Theory* (pp. 433-448). Springer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import msgspec
import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.special import chdtrc

from calibration.data import ResponseData, collapse, from_array
from calibration.dif import Groups
from calibration.em import EMOptions, calibrate, squarem
from calibration.errors import CalibrationError
from calibration.models import Family, ModelName
from calibration.mstep import m_step
from calibration.quadrature import Quadrature

Array = NDArray[np.float64]
_LOG_FLOOR = math.log(1e-300)


@dataclass(frozen=True)
class _GroupData:
    """One group's collapsed patterns as a sparse category-indicator matrix."""

    indicators: sparse.csr_matrix  # (U, J * C)
    counts: Array  # (U,)


def _group_data(responses: NDArray[np.int8], width: int) -> _GroupData:
    patterns = collapse(responses)
    u, j = patterns.patterns.shape
    rows, cols = np.nonzero(patterns.patterns >= 0)
    codes = patterns.patterns[rows, cols].astype(np.intp)
    matrix = sparse.csr_matrix(
        (np.ones(rows.size), (rows, cols * width + codes)), shape=(u, j * width)
    )
    return _GroupData(matrix, patterns.counts)


@dataclass
class _Model:
    """A two-group model: item families (with the data columns of each) and the focal latent."""

    families: list[Family]
    members: list[NDArray[np.intp]]
    xi: list[Array]
    n_columns: int
    width: int

    def log_probabilities(self, theta: Array) -> Array:
        out = np.full((self.n_columns, self.width, theta.size), _LOG_FLOOR)
        for fam, cols, x in zip(self.families, self.members, self.xi, strict=True):
            p = fam.probabilities(x, theta)
            with np.errstate(divide="ignore"):
                out[cols, : p.shape[1]] = np.maximum(np.log(p), _LOG_FLOOR)
        return out

    def row(self, column: int) -> Array:
        """Internal parameters of the item in data column ``column``."""
        for cols, x in zip(self.members, self.xi, strict=True):
            hit = np.flatnonzero(cols == column)
            if hit.size:
                return np.array(x[hit[0]])
        raise KeyError(column)

    def n_free(self) -> int:
        total = 0
        for fam, x in zip(self.families, self.xi, strict=True):
            per = int(fam.free.sum())
            total += x.shape[0] * per - (x.shape[0] - 1 if fam.shared_slope and x.shape[0] else 0)
        return total


def _pack(model: _Model, mean: float, sd: float) -> Array:
    return np.concatenate([x.ravel() for x in model.xi] + [np.array([mean, math.log(sd)])])


def _unpack(model: _Model, vector: Array) -> tuple[list[Array], float, float]:
    xi, pos = [], 0
    for fam, x in zip(model.families, model.xi, strict=True):
        block = vector[pos : pos + x.size].reshape(x.shape)
        xi.append(fam.clamp(block.copy()))
        pos += x.size
    return xi, float(vector[pos]), float(math.exp(min(max(vector[pos + 1], -3.0), 3.0)))


def _e_step(
    model: _Model,
    xi: list[Array],
    *,
    groups: list[_GroupData],
    quadrature: Quadrature,
    mean: float,
    sd: float,
) -> tuple[Array, Array, float]:
    """Expected counts ``(J, C, Q)`` summed over groups, the focal node counts, log L."""
    theta = quadrature.points
    model.xi = xi
    table = model.log_probabilities(theta).reshape(-1, theta.size)
    counts = np.zeros_like(table)
    loglik = 0.0
    focal_nodes = np.zeros(theta.size)
    for g, data in enumerate(groups):
        log_w = quadrature.log_weights(0.0, 1.0) if g == 0 else quadrature.log_weights(mean, sd)
        joint = data.indicators @ table + log_w
        top = joint.max(axis=1, keepdims=True)
        weights = np.exp(joint - top)
        total = weights.sum(axis=1)
        loglik += float(data.counts @ (top[:, 0] + np.log(total)))
        post = weights * (data.counts / total)[:, None]
        counts += np.asarray(data.indicators.T @ post)
        if g == 1:
            focal_nodes = post.sum(axis=0)
    return counts.reshape(model.n_columns, model.width, theta.size), focal_nodes, loglik


def _fit(
    model: _Model,
    groups: list[_GroupData],
    quadrature: Quadrature,
    mean: float,
    sd: float,
    *,
    tol: float,
    max_steps: int,
) -> tuple[float, float, float, bool]:
    """Fit the two-group model by EM with SQUAREM (:func:`calibration.em.squarem`).

    The model's parameters are left at the estimate; returns the log-likelihood there, the
    focal mean and SD, and whether EM met the tolerance within ``max_steps``.
    """
    theta = quadrature.points

    def em_map(vector: Array) -> tuple[Array, float, float]:
        xi, mu, sigma = _unpack(model, vector)
        counts, focal_nodes, loglik = _e_step(
            model, xi, groups=groups, quadrature=quadrature, mean=mu, sd=sigma
        )
        new = [
            m_step(fam, x, counts[cols, : fam.n_categories], theta)
            for fam, cols, x in zip(model.families, model.members, xi, strict=True)
        ]
        new_mu, new_sigma = quadrature.fit_latent(focal_nodes, mu, sigma, estimate_mean=True)
        prior = sum(
            float(fam.log_prior(x).sum()) for fam, x in zip(model.families, xi, strict=True)
        )
        model.xi = new
        return _pack(model, new_mu, new_sigma), loglik, loglik + prior

    vector, trace = squarem(em_map, _pack(model, mean, sd), tol=tol, max_em_steps=max_steps)
    xi, mean, sd = _unpack(model, vector)
    _, _, loglik = _e_step(model, xi, groups=groups, quadrature=quadrature, mean=mean, sd=sd)
    return loglik, mean, sd, trace.converged


def compact_row(model: _Model, column: int) -> Array:
    """Bank-form parameters of the item in data column ``column``."""
    for fam, cols, x in zip(model.families, model.members, model.xi, strict=True):
        hit = np.flatnonzero(cols == column)
        if hit.size:
            return np.asarray(fam.irt_vector(x[hit[0] : hit[0] + 1])[0])
    raise KeyError(column)


class LRItem(msgspec.Struct, frozen=True, kw_only=True):
    """The likelihood-ratio DIF test of one item, with its parameters in each group.

    ``reference`` and ``focal`` are the bank-form parameters (``a``, ``b``... in the order of
    ``names``) when free in each group, on the reference group's scale. ``note`` says why the
    test is unreliable when it is (EM did not converge, or a group's estimates ran to the
    parameter bounds: too few or uninformative answers).
    """

    item_id: str
    g2: float
    df: int
    p_value: float
    names: tuple[str, ...]
    reference: tuple[float, ...]
    focal: tuple[float, ...]
    note: str = ""


class LRAnalysis(msgspec.Struct, frozen=True, kw_only=True):
    """IRT-LR-DIF for every item, and the compact model's fit and impact.

    ``compact`` holds every item's bank-form parameters in the compact model (equal in both
    groups); ``focal_mean`` and ``focal_sd`` are the focal population's on the reference
    group's N(0, 1) scale. ``excluded`` lists the items the calibration could not estimate
    (left out of both models), ``not_tested`` the items with too few answers in a group (they
    stay in the models as anchors).
    """

    loglik_compact: float
    compact: dict[str, tuple[float, ...]]
    focal_mean: float
    focal_sd: float
    converged: bool
    items: tuple[LRItem, ...]
    excluded: dict[str, str]
    not_tested: dict[str, str]


def likelihood_ratio_dif(
    data: ResponseData,
    groups: Groups,
    model: ModelName | list[ModelName] = "2pl",
    *,
    n_categories: dict[str, int] | None = None,
    items: list[str] | None = None,
    min_answers: int = 50,
    tol: float = 1e-5,
    max_steps: int = 500,
    quadrature_points: int = 61,
) -> LRAnalysis:
    """IRT-LR-DIF of ``items`` (default all) between the groups.

    Parameters
    ----------
    data
        Responses (``-1`` not administered); persons without a group are left out.
    model
        One model for every item or one per data column (as :func:`calibration.em.calibrate`).
    n_categories
        Categories of polytomous items (e.g. from the bank).
    items
        The items to test (the others are tested too when omitted).
    min_answers
        Items with fewer answers in either group are not tested (their parameters in a group
        could not be estimated); they still anchor the other items.

    Raises
    ------
    CalibrationError
        When the pooled calibration fails, or a requested item is unknown or excluded.
    """
    keep = groups.member >= 0
    rows = np.flatnonzero(keep)
    pooled = from_array(
        data.responses[rows].astype(np.float64).clip(min=-1),
        item_ids=data.item_ids,
        person_ids=[data.person_ids[k] for k in rows],
        source=data.source,
    )
    start = calibrate(pooled, model, n_categories=n_categories, options=EMOptions(warm_start=False))
    ids = list(start.item_ids)
    column_of = {item: data.item_ids.index(item) for item in ids}
    wanted = items if items is not None else ids
    for item in wanted:
        if item not in column_of:
            reason = start.excluded.get(item, "not in the data")
            raise CalibrationError(f'item "{item}" cannot be tested: {reason}')
    responses = data.responses[rows][:, [column_of[i] for i in ids]]
    member = groups.member[rows]
    width = max(int(c) for c in start.n_categories)
    quadrature = Quadrature.grid(quadrature_points)

    def build(split: int | None, fitted: _Model | None = None) -> tuple[_Model, list[_GroupData]]:
        """The compact model (``split`` None) or the one with item ``split`` free by group."""
        n = len(ids)
        sources = list(range(n))
        matrix = responses
        if split is not None:
            # the studied item becomes two columns: its own for the reference group, and a
            # new last column for the focal group
            matrix = np.concatenate((responses, responses[:, split : split + 1]), axis=1)
            matrix[member == 1, split] = -1
            matrix[member != 1, n] = -1
            sources.append(split)
        keys: dict[tuple[ModelName, int], int] = {}
        families: list[Family] = []
        members: list[list[int]] = []
        starts: list[list[Array]] = []
        for col, source in enumerate(sources):
            key = (start.models[source], start.n_categories[source])
            if key not in keys:
                keys[key] = len(families)
                families.append(Family(key[0], key[1], EMOptions().priors))
                members.append([])
                starts.append([])
            f = keys[key]
            converted = (
                families[f].from_bank(start.irt(source)) if fitted is None else fitted.row(source)
            )
            if converted is None:  # pragma: no cover - calibrate's own parameters convert
                raise CalibrationError(f'item "{ids[source]}": no start values')
            members[f].append(col)
            starts[f].append(converted)
        model = _Model(
            families,
            [np.array(m, dtype=np.intp) for m in members],
            [np.array(x) for x in starts],
            matrix.shape[1],
            width,
        )
        split_groups = [
            _group_data(np.ascontiguousarray(matrix[member == g]), width) for g in (0, 1)
        ]
        return model, split_groups

    compact, data_groups = build(None)
    loglik_c, mean, sd, converged = _fit(
        compact, data_groups, quadrature, 0.0, 1.0, tol=tol, max_steps=max_steps
    )
    n_free_c = compact.n_free()
    results = []
    not_tested: dict[str, str] = {}
    answered = responses >= 0
    for item in wanted:
        j = ids.index(item)
        counts = [int((answered[:, j] & (member == g)).sum()) for g in (0, 1)]
        if min(counts) < min_answers:
            not_tested[item] = (
                f"{counts[0]} reference and {counts[1]} focal answers (needs {min_answers} each)"
            )
            continue
        augmented, aug_groups = build(j, compact)
        loglik_a, _, _, fitted = _fit(
            augmented, aug_groups, quadrature, mean, sd, tol=tol, max_steps=max_steps
        )
        df = augmented.n_free() - n_free_c
        g2 = max(2.0 * (loglik_a - loglik_c), 0.0)
        fam_index = next(
            f for f, cols in enumerate(augmented.members) if j in cols and len(ids) in cols
        )
        fam = augmented.families[fam_index]
        cols = list(augmented.members[fam_index])
        vec = fam.irt_vector(augmented.xi[fam_index])
        names = fam.irt_names()
        at_bounds = bool(
            fam.at_guard(augmented.xi[fam_index])[[cols.index(j), cols.index(len(ids))]].any()
        )
        note = ("EM did not converge" if not (fitted and converged) else "") or (
            "a group's estimates ran to the parameter bounds: too few or uninformative answers"
            if at_bounds
            else ""
        )
        results.append(
            LRItem(
                item_id=item,
                g2=g2,
                df=df,
                p_value=float(chdtrc(df, g2)),
                names=names,
                reference=tuple(float(v) for v in vec[cols.index(j)]),
                focal=tuple(float(v) for v in vec[cols.index(len(ids))]),
                note=note,
            )
        )
    compact_parameters = {
        item: tuple(float(v) for v in compact_row(compact, k)) for k, item in enumerate(ids)
    }
    return LRAnalysis(
        loglik_compact=loglik_c,
        compact=compact_parameters,
        focal_mean=mean,
        focal_sd=sd,
        converged=converged,
        items=tuple(results),
        excluded=dict(start.excluded),
        not_tested=not_tested,
    )
