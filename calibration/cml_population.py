r"""A full calibration result from CML: the population by MML with the items held fixed.

CML (:mod:`calibration.cml`) estimates the item parameters without any assumption about the
ability distribution, and says nothing about that distribution. Item fit, model fit,
reliability, EAP scores and the report need one, so the normal population
:math:`N(\mu, \sigma^2)` is then estimated by marginal maximum likelihood (EM on the fixed
quadrature grid) with every item held at its CML estimate: the two-step procedure of
Zwinderman (1991) and of Rasch software that reports a population next to CML estimates.

The result is expressed like an MML Rasch or partial credit calibration of this library:
the scale's origin is moved to the population mean (:math:`\delta_{ik} \to \delta_{ik} -
\hat\mu`, :math:`\hat\mu \to 0`), so that bank parameters from CML and from MML are on the
same kind of scale, and the model's parameters are the item thresholds and the population
SD. The moved estimates define the same fitted model (the same probabilities of every
response pattern), so fit statistics and scores are unaffected by the move. Standard errors
are CML's, in the normalisation where the thresholds have mean 0; moving the origin by the
estimated :math:`\hat\mu` adds that estimate's own (small) uncertainty, which they do not
count.

Reference: Zwinderman, A. H. (1991). A generalized Rasch model for manifest predictors.
*Psychometrika*, 56(4), 589-600.
"""

from __future__ import annotations

import numpy as np

from calibration.cml import CmlResult
from calibration.data import ResponseData, collapse
from calibration.em import CalibrationModel, EMOptions, EMTrace, FitResult, squarem
from calibration.errors import CalibrationWarning
from calibration.estep import Design
from calibration.models import Family, ModelName
from calibration.quadrature import Quadrature

Array = np.ndarray


def fit_population(
    data: ResponseData, result: CmlResult, options: EMOptions | None = None
) -> FitResult:
    """The :class:`FitResult` of a CML calibration (see the module documentation).

    ``data`` must be the data the CML result was computed from; items that CML left out are
    left out here too.
    """
    options = options or EMOptions()
    columns = [data.item_ids.index(item) for item in result.item_ids]
    sub = data.take_items(columns)
    responses = sub.responses
    persons = np.flatnonzero((responses >= 0).any(axis=1))
    collapsed = collapse(responses[persons])
    cats = result.n_categories
    design = Design(
        collapsed.patterns, collapsed.counts, cats, cache_bytes=options.cache_mb * 2**20
    )
    quadrature = Quadrature.grid(options.quadrature_points, *options.theta_range)
    model: ModelName = "rasch" if result.model == "rasch" else "pcm"
    families: list[Family] = []
    members: list[list[int]] = []
    family_of: list[tuple[int, int]] = []
    keys: dict[int, int] = {}
    for col, m in enumerate(cats.tolist()):  # set-up per item, once
        if m not in keys:
            keys[m] = len(families)
            families.append(Family(model, m, options.priors))
            members.append([])
        family_of.append((keys[m], len(members[keys[m]])))
        members[keys[m]].append(col)
    bounds = np.concatenate(([0], np.cumsum(cats - 1)))

    def internal(eta: Array) -> list[Array]:
        out = []
        for fam, cols in zip(families, members, strict=True):
            x = np.zeros((len(cols), fam.n_params))
            x[:, 0] = 1.0
            for row, c in enumerate(cols):  # set-up per item, once
                values = eta[bounds[c] : bounds[c + 1]]
                if model == "rasch":
                    x[row, 1] = values[0]
                else:
                    x[row, 1:] = values
            out.append(x)
        return out

    member_arrays = [np.array(m, dtype=np.intp) for m in members]
    fixed_items = [np.zeros(len(m), dtype=bool) for m in members]
    population = CalibrationModel(
        design,
        quadrature,
        families=families,
        members=member_arrays,
        xi=internal(result.eta),
        estimate=fixed_items,
        estimate_mean=True,
        estimate_sd=True,
    )
    start = population.pack(population.xi, 0.0, 1.0)
    vector, trace = squarem(
        population.em_map,
        start,
        tol=options.tol,
        max_em_steps=options.max_em_steps,
        accelerate=options.accelerate == "squarem",
    )
    _, mean, sd = population.unpack(vector)
    # move the origin to the population mean: eta_ik -> eta_ik + k * mean
    k = np.concatenate([np.arange(1, m) for m in cats]).astype(np.float64)
    xi = internal(result.eta + k * mean)
    estimated = [np.ones(len(m), dtype=bool) for m in members]
    cal = CalibrationModel(
        design,
        quadrature,
        families=families,
        members=member_arrays,
        xi=xi,
        estimate=estimated,
        latent_mean=0.0,
        latent_sd=sd,
        estimate_mean=False,
        estimate_sd=True,
    )
    final = cal.e_step(xi, 0.0, sd)
    warnings = list(data.warnings) + list(result.warnings)
    if not trace.converged:
        warnings.append(
            CalibrationWarning(
                kind="not_converged",
                subject=data.source,
                message=f"the population SD did not converge in {trace.em_steps} EM steps",
            )
        )
    fit = FitResult(
        item_ids=result.item_ids,
        models=tuple(model for _ in result.item_ids),
        n_categories=tuple(int(c) for c in cats),
        estimated=tuple(True for _ in result.item_ids),
        xi=xi,
        family_of=family_of,
        model=cal,
        loglik=final.loglik,
        log_posterior=final.loglik,
        n_parameters=cal.n_free,
        n_persons=int(persons.size),
        latent_mean=0.0,
        latent_sd=sd,
        trace=EMTrace(trace.converged, trace.em_steps, trace.cycles, trace.max_change, ()),
        excluded=dict(result.excluded),
        warnings=warnings,
        data=sub,
        persons_used=persons,
        final=final,
    )
    _attach_cml_errors(fit, result)
    return fit


def _attach_cml_errors(fit: FitResult, result: CmlResult) -> None:
    """CML standard errors in the layout of :func:`calibration.standard_errors`."""
    _, cov = result.estimates("mean")
    cumulative_map = np.zeros_like(cov)
    bounds = np.concatenate(([0], np.cumsum(result.n_categories - 1)))
    for i in range(result.n_categories.size):  # set-up per item, once
        lo, hi = bounds[i], bounds[i + 1]
        cumulative_map[lo:hi, lo:hi] = np.tril(np.ones((hi - lo, hi - lo)))
    eta_cov = cumulative_map @ cov @ cumulative_map.T  # d_k = -sum_{v<=k} delta_v
    se = np.sqrt(np.maximum(np.diag(cov), 0.0))
    se_eta = np.sqrt(np.maximum(np.diag(eta_cov), 0.0))
    for i, item in enumerate(result.item_ids):
        lo, hi = bounds[i], bounds[i + 1]
        if result.model == "rasch":
            fit.standard_errors[item] = np.array([np.nan, se[lo], np.nan, np.nan])
            fit.se_internal[item] = np.array([np.nan, se_eta[lo], np.nan, np.nan])
        else:
            fit.standard_errors[item] = np.concatenate(([np.nan], se[lo:hi]))
            fit.se_internal[item] = np.concatenate(([np.nan], se_eta[lo:hi]))
    fit.se_method = "cml"
    fit.latent_se = {}
