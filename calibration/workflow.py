"""Calibrating a bank from collected responses: one scale per competency.

Each competency of a bank is its own ability scale, so the items of each competency are
calibrated separately (persons contribute to every competency they answered items of). How
the new estimates reach the bank's scale is the ``scale`` setting:

``free``
    Every item in the data is estimated; the scale is this sample's N(0, 1).
``fixed``
    Fixed-parameter calibration: the anchor items keep their bank parameters, the other
    items and the population mean and SD are estimated, so the new items land on the bank's
    scale directly (Kim, 2006).
``link``
    Free calibration, then linking constants from the anchors (bank vs new estimates; see
    :mod:`calibration.linking`) carry the other items to the bank's scale. Anchors keep
    their bank values.

Anchors default to the bank's operational items that appear in the data.

Reference: Kim, S. (2006). A comparative study of IRT fixed parameter calibration methods.
*Journal of Educational Measurement*, 43(4), 355-381.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import msgspec
import numpy as np

from calibration.bank_update import updated_bank, within_bank_limits
from calibration.cml import CML_MODELS, CmlResult, cml
from calibration.cml_population import fit_population
from calibration.data import ResponseData
from calibration.em import EMOptions, FitResult, calibrate
from calibration.errors import (
    CalibrationError,
    CalibrationWarning,
    DataProblem,
    ResponseDataError,
)
from calibration.fit import (
    ItemFit,
    LocalDependence,
    ModelFit,
    item_fit,
    model_fit,
    q3,
)
from calibration.linking import LinkingConstants, LinkMethod, link, transform
from calibration.models import DICHOTOMOUS, ModelName, bank_model
from calibration.skeleton import ItemGroups, check_items, skeleton_bank
from calibration.standard_errors import SEMethod, attach_standard_errors
from item_banks.model import (
    Bank,
    FourPL,
    Graded,
    IrtParameters,
    PartialCredit,
    ThreePL,
    category_count,
)

ModelChoice = ModelName | Literal["bank"]
Scale = Literal["free", "fixed", "link"]
#: ``mml``: marginal ML by EM (every model); ``cml``: conditional ML (Rasch and PCM only).
Method = Literal["mml", "cml"]
METHODS: tuple[Method, ...] = ("mml", "cml")
#: Thresholds for flagging items in the report and the summary: S-X2 p below FLAG_P;
#: infit or outfit outside Linacre's (2002) "productive for measurement" range; slopes below
#: FLAG_SLOPE. (Linacre, J. M. (2002). What do infit and outfit, mean-square and standardized
#: mean? *Rasch Measurement Transactions*, 16(2), 878.)
FLAG_P = 0.01
FLAG_MEAN_SQUARE = (0.5, 1.5)
FLAG_SLOPE = 0.3


@dataclass
class ScaleCalibration:
    """The calibration of one competency's items."""

    competency: str
    result: FitResult
    item_fit: list[ItemFit]
    fit_note: str
    model_fit: ModelFit
    local_dependence: LocalDependence
    linking: LinkingConstants | None
    parameters: dict[str, IrtParameters]  # new bank parameters of the updated items
    status: dict[str, str]  # item -> estimated | anchor | kept (+ reason)
    flags: dict[str, list[str]]
    seconds: float
    #: The CML estimates (conditional log-likelihood, normalisations) with ``method="cml"``.
    conditional: CmlResult | None = None


@dataclass
class BankCalibration:
    """The outcome of calibrating a bank: the new bank and every scale's details."""

    old_bank: Bank
    bank: Bank
    data: ResponseData
    scales: list[ScaleCalibration]
    warnings: list[CalibrationWarning] = field(default_factory=list)
    settings: dict[str, str] = field(default_factory=dict)
    #: True when the input was a skeleton bank made from the data (no bank was given):
    #: items that could not be estimated are then left out of :attr:`bank`.
    from_responses: bool = False


def _check_items(bank: Bank, data: ResponseData) -> None:
    known = {item.id for item in bank.items}
    unknown = [k for k, item in enumerate(data.item_ids) if item not in known]
    if not unknown:
        return
    problems = []
    for k in unknown[:50]:
        lines = [line for (i, _), line in data.locations.items() if i == k]
        problems.append(
            DataProblem(
                source=data.source,
                line=min(lines) if lines else None,
                column="item_id",
                message=f'item "{data.item_ids[k]}" is not in bank "{bank.id}" '
                f"version {bank.version}",
            )
        )
    raise ResponseDataError(problems)


def _item_flags(
    scale: ScaleCalibration, fits: dict[str, ItemFit], result: FitResult
) -> dict[str, list[str]]:
    flags: dict[str, list[str]] = {}
    for i, item in enumerate(result.item_ids):
        out: list[str] = []
        f = fits.get(item)
        if f is not None:
            if math.isfinite(f.p_value) and f.p_value < FLAG_P:
                out.append(f"S-X2 misfit (p = {f.p_value:.3g})")
            lo, hi = FLAG_MEAN_SQUARE
            if not lo <= f.infit <= hi or not lo <= f.outfit <= hi:
                out.append(f"infit {f.infit:.2f} / outfit {f.outfit:.2f} outside {lo}-{hi}")
        if result.estimated[i]:
            slope = float(result.irt_vector(i)[0])
            if slope < FLAG_SLOPE:
                out.append(f"low discrimination (a = {slope:.2f})")
        if out:
            flags[item] = out
    for a, b, value in scale.local_dependence.flagged[:50]:
        flags.setdefault(a, []).append(f'local dependence with "{b}" (Q3 = {value:.2f})')
        flags.setdefault(b, []).append(f'local dependence with "{a}" (Q3 = {value:.2f})')
    return flags


def calibrate_bank(
    bank: Bank,
    data: ResponseData,
    *,
    model: ModelChoice | Mapping[str, ModelName] = "2pl",
    method: Method = "mml",
    scale: Scale = "free",
    anchors: Sequence[str] | None = None,
    link_method: LinkMethod = "stocking-lord",
    start: Literal["bank", "classical"] = "bank",
    se: SEMethod = "auto",
    options: EMOptions | None = None,
    version: str | None = None,
    progress: Callable[[str, int, float, float, int | None], None] | None = None,
    from_responses: bool = False,
    start_items: Collection[str] | None = None,
    phase: Callable[[str], None] | None = None,
) -> BankCalibration:
    """Calibrate every competency that has responses, and build the new bank version.

    Parameters
    ----------
    model
        One model for all items, ``bank`` to keep each item's current model, or a model per
        item id.
    method
        ``mml`` or ``cml`` (conditional ML of the Rasch and partial credit models; the
        population is then estimated with the items fixed, see
        :mod:`calibration.cml_population`).
    scale
        ``free``, ``fixed`` or ``link`` (see the module documentation).
    anchors
        Anchor item ids (default: the operational items present in the data). Only used
        with ``scale = fixed`` or ``link``.
    start
        Start values: the bank's current parameters (when the model matches) or classical
        estimates from the data.
    progress
        Called as ``progress(competency, em_steps, max_change, loglik, moving)`` after
        every EM step (``moving``: items whose parameters still change, or None).
    from_responses
        ``bank`` is a skeleton made from the data (:func:`calibrate_responses`): its
        parameters are placeholders, so items that cannot be estimated are left out of the
        new bank instead of keeping them.
    start_items
        With ``start = bank``: only these items start from their bank parameters, the
        others from classical estimates.
    phase
        Called with the name of each phase as it starts (start values and EM, standard
        errors, item fit), for a progress display.

    Raises
    ------
    ResponseDataError
        When the data name items that are not in the bank.
    ModelError
        When a response code is not a category of its item's model.
    CalibrationError
        When a competency cannot be calibrated (no estimable item, too few anchors).
    """
    _check_items(bank, data)
    by_id = {item.id: item for item in bank.items}
    options = options or EMOptions()
    if method == "cml" and scale == "fixed":
        raise CalibrationError(
            "CML estimates every item from the data; use --link (or no anchors), not --fixed"
        )
    kept_word = "not estimated" if from_responses else "kept"
    anchor_set = set(anchors) if anchors is not None else None
    if anchor_set is not None:
        missing = sorted(a for a in anchor_set if a not in by_id)
        if missing:
            raise CalibrationError(
                f'anchor items not in bank "{bank.id}": ' + ", ".join(f'"{m}"' for m in missing)
            )
    scales: list[ScaleCalibration] = []
    all_warnings: list[CalibrationWarning] = []
    new_parameters: dict[str, IrtParameters] = {}
    unidentified: list[str] = []
    for competency in bank.competencies:
        columns = [
            k for k, item in enumerate(data.item_ids) if by_id[item].competency == competency.id
        ]
        if not columns:
            continue
        sub = data.take_items(columns)
        items = [by_id[i] for i in sub.item_ids]
        models: list[ModelName] = [
            model[it.id]
            if isinstance(model, Mapping)
            else (bank_model(it.irt) if model == "bank" else model)
            for it in items
        ]
        too_few = _too_few_items(sub, models) if scale == "free" else None
        if too_few is not None:
            unidentified.append(f'competency "{competency.id}": {too_few}')
            all_warnings.append(
                CalibrationWarning(
                    kind="not_identified",
                    subject=f'competency "{competency.id}"',
                    message=too_few
                    + (
                        "; its items are left out of the bank"
                        if from_responses
                        else "; its items keep their bank parameters"
                    ),
                )
            )
            continue
        n_categories = {
            it.id: category_count(it.irt)
            for it, m in zip(items, models, strict=True)
            if m not in DICHOTOMOUS
        }
        chosen = (
            anchor_set & set(sub.item_ids)
            if anchor_set is not None
            else {it.id for it in items if it.status == "operational"}
        )
        fixed = {it.id: it.irt for it in items if it.id in chosen} if scale == "fixed" else {}
        if scale in ("fixed", "link") and len(chosen) < 2:
            raise CalibrationError(
                f'competency "{competency.id}": {scale} calibration needs at least 2 anchor '
                f"items in the data; found {len(chosen)}"
            )
        starts = (
            {
                it.id: it.irt
                for it in items
                if it.id not in fixed and (start_items is None or it.id in start_items)
            }
            if start == "bank"
            else {}
        )

        def report(
            steps: int,
            change: float,
            loglik: float,
            moving: int | None = None,
            name: str = competency.id,
        ) -> None:
            if progress is not None:
                progress(name, steps, change, loglik, moving)

        began = time.perf_counter()
        conditional = None
        if phase is not None:
            phase(f"{competency.id}: start values and EM ({sub.n_persons:,} persons)")
        if method == "cml":
            conditional = _cml(sub, models, competency.id)
            result = fit_population(sub, conditional, options)
        else:
            result = calibrate(
                sub,
                models,
                n_categories=n_categories,
                anchors=fixed,
                start=starts,
                options=options,
                progress=report,
            )
            if phase is not None and se != "none":
                phase(f"{competency.id}: standard errors")
            attach_standard_errors(result, se)
        if phase is not None:
            phase(f"{competency.id}: item and model fit")
        fits, note = item_fit(result)
        overall = model_fit(result)
        dependence = q3(result)
        linking = None
        parameters: dict[str, IrtParameters] = {}
        status: dict[str, str] = {}
        estimated = {
            item: result.irt(i) for i, item in enumerate(result.item_ids) if result.estimated[i]
        }
        if scale == "link":
            linking = link(
                {i: estimated[i] for i in chosen if i in estimated},
                {i: by_id[i].irt for i in chosen},
                link_method,
            )
            estimated = {
                i: transform(p, linking.a, linking.b)
                for i, p in estimated.items()
                if i not in chosen
            }
        for item in sub.item_ids:
            if item in result.excluded:
                status[item] = f"{kept_word}: " + result.excluded[item]
            elif item in result.held:
                status[item] = f"{kept_word}: " + result.held[item]
            elif item in fixed:
                status[item] = "anchor (held at bank values)"
            elif scale == "link" and item in chosen:
                status[item] = "anchor (bank values kept; used for linking)"
            else:
                params = estimated[item]
                problem = within_bank_limits(params)
                if problem is not None:
                    status[item] = f"{kept_word}: " + problem
                    result.warnings.append(
                        CalibrationWarning(
                            kind="out_of_range",
                            subject=f'item "{item}"',
                            message=problem
                            + (
                                "; it is left out of the bank"
                                if from_responses
                                else "; its previous bank parameters are kept"
                            ),
                        )
                    )
                else:
                    status[item] = "estimated"
                    parameters[item] = params
        scale_cal = ScaleCalibration(
            competency=competency.id,
            result=result,
            item_fit=fits,
            fit_note=note,
            model_fit=overall,
            local_dependence=dependence,
            linking=linking,
            parameters=parameters,
            status=status,
            flags={},
            seconds=time.perf_counter() - began,
            conditional=conditional,
        )
        fit_by_item = {f.item: f for f in fits}
        scale_cal.flags = _item_flags(scale_cal, fit_by_item, result)
        for item, reason in status.items():
            if reason.startswith(kept_word):
                scale_cal.flags.setdefault(item, []).insert(0, reason)
        scales.append(scale_cal)
        all_warnings.extend(
            CalibrationWarning(
                kind=w.kind, subject=w.subject, message=f"[{competency.id}] {w.message}"
            )
            for w in result.warnings
        )
        new_parameters.update(parameters)
    if not scales:
        raise CalibrationError(
            f"{data.source}: "
            + ("; ".join(unidentified) if unidentified else "no responses to items of the bank")
        )
    total_items = sum(len(s.parameters) for s in scales)
    digest = f" (sha256 {data.digest[:12]})" if data.digest else ""
    summary = ", ".join(
        f"{s.competency}: {len(s.parameters)} items, N = {s.result.n_persons}, "
        f"logLik {s.result.loglik:.2f}"
        for s in scales
    )
    model_text = _model_text(model)
    note = (
        f"Calibrated with skillgauge calibrate from {data.source}{digest}: model {model_text}"
        f"{' by CML' if method == 'cml' else ''}, "
        f"scale {scale}{f' ({link_method})' if scale == 'link' else ''}; "
        f"{total_items} items updated. {summary}."
    )
    new_bank = updated_bank(bank, new_parameters, note=note, version=version)
    if from_responses:
        new_bank = _without_unestimated(new_bank, set(new_parameters))
        if not new_bank.items:
            reasons = "; ".join(f"{w.subject}: {w.message}" for w in all_warnings[:5])
            raise CalibrationError(
                f"{data.source}: no item could be estimated ({reasons or 'no usable responses'})"
            )
    settings = {
        "model": model_text,
        "method": method,
        "scale": scale,
        "link_method": link_method if scale == "link" else "",
        "start": start,
        "se": se,
        "quadrature": f"{options.quadrature_points} nodes on "
        f"[{options.theta_range[0]:g}, {options.theta_range[1]:g}]",
        "tol": f"{options.tol:g}",
    }
    return BankCalibration(
        old_bank=bank,
        bank=new_bank,
        data=data,
        scales=scales,
        warnings=all_warnings,
        settings=settings,
        from_responses=from_responses,
    )


#: Items a free calibration needs before its parameters are identified: two for models
#: whose slopes are fixed (the population SD is estimated instead), three when every item
#: has its own slope (with two, only the product of their slopes shows in the data).
MIN_ITEMS_FIXED_SLOPE = 2
MIN_ITEMS = 3


def _too_few_items(data: ResponseData, models: Sequence[ModelName]) -> str | None:
    """Why a freely calibrated scale of these items is not identified (``None`` if it is)."""
    top = data.responses.max(axis=0, initial=-1)
    if any(t > 1 and m in DICHOTOMOUS for t, m in zip(top.tolist(), models, strict=True)):
        return None  # codes the model does not know: calibrate() says where, first
    bottom = np.where(data.responses >= 0, data.responses, 127).min(axis=0, initial=127)
    usable = int(((top >= 0) & (top > bottom)).sum())  # at least two categories observed
    slopes = any(m not in ("rasch", "pcm", "1pl") for m in models)
    need = MIN_ITEMS if slopes else MIN_ITEMS_FIXED_SLOPE
    if usable >= need:
        return None
    if usable == 0:
        return "every response to every item is the same; nothing can be estimated"
    return (
        f"{usable} item{'s' if usable != 1 else ''} with responses in more than one category; "
        f"a free calibration of {'items with their own slopes' if slopes else 'this model'} "
        f"needs at least {need} to be identified"
    )


def _model_text(model: ModelChoice | Mapping[str, ModelName]) -> str:
    if not isinstance(model, Mapping):
        return str(model)
    counts: dict[str, int] = {}
    for name in model.values():
        counts[name] = counts.get(name, 0) + 1
    return ", ".join(f"{name} ({n} items)" for name, n in counts.items())


def _cml(data: ResponseData, models: Sequence[ModelName], competency: str) -> CmlResult:
    """CML of one scale (Rasch or partial credit model)."""
    chosen = set(models)
    if len(chosen) != 1 or not chosen <= set(CML_MODELS):
        raise CalibrationError(
            f'competency "{competency}": CML needs one model for all items, rasch or pcm; '
            f"got {', '.join(sorted(chosen))}"
        )
    (model,) = chosen
    return cml(data, "rasch" if model == "rasch" else "pcm")


def _without_unestimated(bank: Bank, estimated: set[str]) -> Bank:
    """A calibrated skeleton bank without the items (and competencies) not estimated."""
    items = tuple(item for item in bank.items if item.id in estimated)
    used = {item.competency for item in items}
    return msgspec.structs.replace(
        bank,
        items=items,
        competencies=tuple(c for c in bank.competencies if c.id in used),
    )


def calibrate_responses(
    data: ResponseData,
    *,
    model: ModelName | Mapping[str, ModelName] = "2pl",
    method: Method = "mml",
    groups: ItemGroups | None = None,
    se: SEMethod = "auto",
    options: EMOptions | None = None,
    version: str | None = None,
    progress: Callable[[str, int, float, float, int | None], None] | None = None,
    phase: Callable[[str], None] | None = None,
    start: Mapping[str, IrtParameters] | None = None,
) -> BankCalibration:
    """Calibrate data without a bank: the columns are the items (see :mod:`calibration.skeleton`).

    The items of each competency of ``groups`` (one scale without it) are calibrated freely
    on this sample's scale; the result's :attr:`BankCalibration.bank` is the skeleton bank
    with the estimates (version ``1``), without items that could not be estimated.

    Parameters
    ----------
    model
        One model for all items, or one per item id; an item-groups file's ``model``
        column overrides it for the items it names.
    method
        ``mml``, or ``cml`` for the Rasch and partial credit models.
    start
        Start values of MML for some items (e.g. a mod2values table from R,
        :func:`calibration.mirt_tables.read_mod2values`); an item whose start values are of
        another model or number of categories starts from classical estimates.

    Raises
    ------
    ResponseDataError
        When an item id is not a bank identifier or an item has no group.
    ModelError, CalibrationError
        As :func:`calibrate_bank`.
    """
    competency, warnings = check_items(data, groups)
    per_item: dict[str, ModelName] = {
        item: model[item] if isinstance(model, Mapping) else model for item in data.item_ids
    }
    if groups is not None:
        per_item.update({i: m for i, m in groups.model.items() if i in per_item})
    top = np.where(data.responses >= 0, data.responses, 0).max(axis=0, initial=0)
    n_categories = {
        item: 2 if per_item[item] in DICHOTOMOUS else max(int(top[k]) + 1, 2)
        for k, item in enumerate(data.item_ids)
    }
    given = {
        item: params
        for item, params in (start or {}).items()
        if item in n_categories and category_count(params) == n_categories[item]
    }
    skeleton = skeleton_bank(
        data,
        competency,
        n_categories,
        names=None if groups is None else groups.names,
        parameters=given,
        rasch=[i for i, m in per_item.items() if m == "rasch"],
    )
    single = set(per_item.values())
    result = calibrate_bank(
        skeleton,
        data,
        model=next(iter(single)) if len(single) == 1 else per_item,
        method=method,
        start="bank" if given else "classical",
        start_items=set(given),
        se=se,
        options=options,
        version=version or "1",
        progress=progress,
        phase=phase,
        from_responses=True,
    )
    result.warnings[:0] = warnings
    return result


def parameter_rows(calibration: BankCalibration) -> list[dict[str, object]]:
    """Rows of the parameter CSV (see :data:`calibration.bank_update.CSV_COLUMNS`)."""
    rows: list[dict[str, object]] = []
    by_id = {item.id: item for item in calibration.bank.items}
    for scale in calibration.scales:
        result = scale.result
        fits = {f.item: f for f in scale.item_fit}
        index = {item: i for i, item in enumerate(result.item_ids)}
        answered = (
            calibration.data.take_items(
                [calibration.data.item_ids.index(i) for i in scale.status]
            ).responses
            >= 0
        ).sum(axis=0)
        for k, item in enumerate(scale.status):
            row: dict[str, object] = {
                "competency": scale.competency,
                "item_id": item,
                "status": scale.status[item],
                "n": int(answered[k]),
                "flags": " | ".join(scale.flags.get(item, [])),
            }
            if item not in by_id:  # a skeleton's item that could not be estimated
                rows.append(row)
                continue
            params = by_id[item].irt
            row.update(model=type(params).__struct_config__.tag, a=params.a)
            if isinstance(params, Graded | PartialCredit):
                row["thresholds"] = params.thresholds
            else:
                row["b"] = params.b
                row["c"] = params.c if isinstance(params, ThreePL | FourPL) else None
                row["u"] = params.d if isinstance(params, FourPL) else None
            se = params.se
            if se is not None and item in scale.parameters:
                row.update(se_a=se.a, se_b=se.b, se_c=se.c, se_u=se.d, se_thresholds=se.thresholds)
            if item in index and scale.status[item] == "estimated" and scale.linking is None:
                a1, d = result.slope_intercept(index[item])
                row.update(a1=a1, d=d)
            f = fits.get(item)
            if f is not None:
                row.update(
                    s_x2=f.s_x2 if np.isfinite(f.s_x2) and f.df > 0 else None,
                    df=f.df if np.isfinite(f.s_x2) and f.df > 0 else None,
                    p=f.p_value,
                    infit=f.infit,
                    outfit=f.outfit,
                )
            rows.append(row)
    return rows
