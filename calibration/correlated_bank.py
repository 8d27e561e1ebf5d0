"""Calibrating a bank's correlated competencies: items and the latent correlation matrix.

:func:`calibrate_bank_correlated` runs the per-competency calibration of
:func:`calibration.workflow.calibrate_bank` (free scale) for start values, fit statistics and
the report, then the between-item multidimensional QMC-EM of
:func:`calibration.correlated.fit_correlated`, and writes both the items' new parameters and
the correlation matrix (with its standard errors) into the new bank version. The item fit
statistics of each competency are recomputed at the multidimensional estimates: under
between-item structure each competency's items follow the unidimensional model with
:math:`N(0, 1)`, so they remain the right diagnostics.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import msgspec
import numpy as np

from calibration.bank_update import updated_bank, within_bank_limits
from calibration.correlated import CorrelatedFit, CorrelatedOptions, fit_correlated, storable
from calibration.data import ResponseData
from calibration.em import EMOptions
from calibration.errors import CalibrationError, CalibrationWarning
from calibration.fit import item_fit, model_fit, q3
from calibration.workflow import (
    BankCalibration,
    ModelChoice,
    ScaleCalibration,
    _item_flags,
    calibrate_bank,
)
from item_banks.correlations import labelled
from item_banks.model import Bank, IrtParameters


@dataclass
class CorrelatedBankCalibration(BankCalibration):
    """A bank calibration with the competencies' correlations (``correlated``)."""

    correlated: CorrelatedFit | None = None


def _refresh(scale: ScaleCalibration) -> dict[str, IrtParameters]:
    """Fit statistics, new parameters, status and flags of a scale at its new estimates."""
    result = scale.result
    model = result.model
    result.final = model.e_step(model.xi, model.latent_mean, model.latent_sd)
    result.loglik = result.final.loglik
    result.log_posterior = result.final.loglik + model.log_prior_items(model.xi)
    scale.item_fit, scale.fit_note = item_fit(result)
    scale.model_fit = model_fit(result)
    scale.local_dependence = q3(result)
    parameters: dict[str, IrtParameters] = {}
    for i, item in enumerate(result.item_ids):
        params = result.irt(i)
        problem = within_bank_limits(params)
        if problem is not None:
            scale.status[item] = "kept: " + problem
            result.warnings.append(
                CalibrationWarning(
                    kind="out_of_range",
                    subject=f'item "{item}"',
                    message=problem + "; its previous bank parameters are kept",
                )
            )
        else:
            scale.status[item] = "estimated"
            parameters[item] = params
    scale.parameters = parameters
    scale.flags = _item_flags(scale, {f.item: f for f in scale.item_fit}, result)
    for item, reason in scale.status.items():
        if reason.startswith("kept"):
            scale.flags.setdefault(item, []).insert(0, reason)
    return parameters


def calibrate_bank_correlated(
    bank: Bank,
    data: ResponseData,
    *,
    model: ModelChoice = "2pl",
    start: Literal["bank", "classical"] = "bank",
    options: EMOptions | None = None,
    correlated: CorrelatedOptions | None = None,
    version: str | None = None,
    progress: Callable[[str, int, float, float], None] | None = None,
) -> CorrelatedBankCalibration:
    """Calibrate every item and the competencies' correlation matrix; build the new version.

    Raises
    ------
    CalibrationError
        When some competency of the bank has no responses (its row of the matrix cannot be
        estimated), the bank has one competency, or an item model fixes its slopes (Rasch).
    """
    began = time.perf_counter()
    if len(bank.competencies) < 2:
        raise CalibrationError(
            f'bank "{bank.id}" has one competency: there is no correlation to estimate'
        )
    competency_of = {item.id: item.competency for item in bank.items}
    answered = np.flatnonzero((data.responses >= 0).any(axis=0))
    present_ids = {competency_of.get(data.item_ids[int(j)]) for j in answered}
    missing = [c.id for c in bank.competencies if c.id not in present_ids]
    if missing:
        raise CalibrationError(
            "a correlated calibration needs responses to every competency of the bank; none "
            "to " + ", ".join(f'"{m}"' for m in missing)
        )
    base = calibrate_bank(
        bank, data, model=model, scale="free", start=start, se="none", options=options
    )
    present = [s.competency for s in base.scales]

    def report(steps: int, change: float, loglik: float) -> None:
        if progress is not None:
            progress("correlated", steps, change, loglik)

    fit = fit_correlated(
        [s.result for s in base.scales], present, options=correlated, progress=report
    )
    parameters: dict[str, IrtParameters] = {}
    for scale in base.scales:
        parameters.update(_refresh(scale))
    se = np.where(np.isfinite(fit.correlation_se), fit.correlation_se, 0.0)
    latent = labelled(present, storable(fit.correlation).tolist(), se.tolist())
    with_matrix = msgspec.structs.replace(bank, correlations=latent)
    pairs = ", ".join(
        f"{present[a]}-{present[b]} {fit.correlation[a, b]:.3f} ({fit.correlation_se[a, b]:.3f})"
        for a in range(len(present))
        for b in range(a + 1, len(present))
    )
    note = (
        f"Calibrated with skillgauge calibrate --correlated from {data.source}: model {model}, "
        f"between-item multidimensional QMC-EM; {len(parameters)} items updated; "
        f"correlations (SE) {pairs}; logLik {fit.loglik:.2f}."
    )
    new_bank = updated_bank(with_matrix, parameters, note=note, version=version)
    warnings = list(base.warnings) + [
        CalibrationWarning(kind=w.kind, subject=w.subject, message=f"[correlated] {w.message}")
        for w in fit.warnings
    ]
    settings = dict(base.settings)
    draws = (correlated or CorrelatedOptions()).draws
    settings.update(
        {
            "scale": "free",
            "latent": f"correlated: N(0, R), QMC-EM with {draws} points per person, "
            f"{fit.em_steps} EM steps in {time.perf_counter() - began:.1f} s",
            "se": "xpd (correlated)",
        }
    )
    return CorrelatedBankCalibration(
        old_bank=bank,
        bank=new_bank,
        data=data,
        scales=base.scales,
        warnings=warnings,
        settings=settings,
        correlated=fit,
    )
