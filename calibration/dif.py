"""Differential item functioning by a covariate column: groups, matching, Mantel-Haenszel.

:func:`dif_groups` turns a covariate column of the response data (the long export keeps one
value per person) into a reference and a focal group, refusing with a located error a column
that is missing, varies within a person, has one value, has several values and no focal
value named, or leaves a group too small. :func:`mantel_haenszel_dif` runs the
Mantel-Haenszel procedure on every item (:mod:`calibration.mantel_haenszel`).

Matching
--------
``total`` (the default for complete data)
    The summed score over every analysed item, *including* the studied item, as Holland &
    Thayer (1988) prescribe: it makes the MH odds ratio unbiased under the Rasch model
    (Zwick, 1990). One stratum per score.
``rest``
    The summed score over the other items (the studied item left out).
``theta``
    For data where persons answered different items (an adaptive test): each person's EAP
    estimate from the bank's parameters over the analysed items, cut into ``theta_strata``
    strata of equal size (Zwick, Thayer & Wingersky, 1994, match CAT examinees on an
    ability-based score). Needs the bank. ``total`` and ``rest`` refuse data with missing
    responses: a sum over different items is not a common scale.

Purification (``purify=True``): two-stage refinement of the matching criterion (Holland &
Thayer, 1988; Zwick, 2012): items classified B or C in the first stage leave the criterion
(the studied item stays in a ``total`` score) and every item is tested again.

References
----------
Holland, P. W., & Thayer, D. T. (1988). Differential item performance and the
Mantel-Haenszel procedure. In H. Wainer & H. I. Braun (Eds.), *Test Validity*.
Zwick, R. (1990). When do item response function and Mantel-Haenszel definitions of
differential item functioning coincide? *Journal of Educational Statistics*, 15(3), 185-197.
Zwick, R., Thayer, D. T., & Wingersky, M. (1994). A simulation study of methods for
assessing differential item functioning in computerized adaptive tests. *Applied
Psychological Measurement*, 18(2), 121-140.
Zwick, R. (2012). A review of ETS differential item functioning assessment procedures.
ETS Research Report RR-12-08.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Literal

import msgspec
import numpy as np
from numpy.typing import NDArray

from calibration.data import ResponseData
from calibration.errors import CalibrationWarning, DataProblem, ResponseDataError
from calibration.mantel_haenszel import EtsCategory, mantel, mantel_haenszel
from calibration.scoring import score
from engine.estimation import Grid
from engine.pool import ItemPool

Matching = Literal["total", "rest", "theta"]
#: Smallest group the analysis accepts by default (ETS's minimum for the focal group is of
#: this order; Zwick, 2012, discusses 100-200 as typical requirements).
MIN_GROUP = 50


@dataclass(frozen=True)
class Groups:
    """Reference and focal group membership of every person.

    ``member`` is ``0`` (reference), ``1`` (focal) or ``-1`` (no value: left out).
    """

    column: str
    reference: str
    focal: str
    member: NDArray[np.int8]
    warnings: tuple[CalibrationWarning, ...] = ()

    @property
    def n_reference(self) -> int:
        """Persons in the reference group."""
        return int((self.member == 0).sum())

    @property
    def n_focal(self) -> int:
        """Persons in the focal group."""
        return int((self.member == 1).sum())


def _problem(data: ResponseData, message: str, line: int | None = None) -> ResponseDataError:
    return ResponseDataError(
        [DataProblem(source=data.source, line=line, column=None, message=message)]
    )


def dif_groups(
    data: ResponseData,
    column: str,
    *,
    focal: str | None = None,
    reference: str | None = None,
    min_group: int = MIN_GROUP,
) -> Groups:
    """The reference and focal groups a covariate column defines.

    Parameters
    ----------
    column
        A covariate column of the data (an extra column of the long or wide CSV).
    focal, reference
        The focal and reference values. With two values and neither named, the less frequent
        value is focal. With more than two, ``focal`` is required; the reference is
        ``reference`` or every other value.
    min_group
        Fewest persons each group needs.

    Raises
    ------
    ResponseDataError
        Located: the column is missing, varies within a person, has a single value, has more
        than two values without ``focal``, lacks the named values, or a group is too small.
    """
    if column not in data.covariates:
        names = ", ".join(sorted(data.covariates)) or "none"
        raise _problem(
            data, f'no column "{column}" in the data; its covariate columns are: {names}', 1
        )
    for warning in data.warnings:
        if warning.kind == "varying_covariate" and warning.subject == f"column {column}":
            found = re.search(r"line (\d+)", warning.message)
            raise _problem(
                data,
                f'column "{column}" takes different values for the same person: a group must '
                "be one value per person",
                int(found.group(1)) if found else None,
            )
    values = [v.strip() for v in data.covariates[column]]
    counts = Counter(v for v in values if v)
    blank = sum(1 for v in values if not v)
    if not counts:
        raise _problem(data, f'column "{column}" is empty for every person')
    if len(counts) == 1:
        (only,) = counts
        raise _problem(
            data, f'column "{column}" has the single value "{only}": there is no group to compare'
        )
    listed = ", ".join(f'"{v}" ({n})' for v, n in counts.most_common())
    for name, value in (("--focal", focal), ("--reference", reference)):
        if value is not None and value not in counts:
            raise _problem(data, f'{name} "{value}" is not a value of column "{column}": {listed}')
    if focal is None:
        if len(counts) > 2:
            raise _problem(
                data,
                f'column "{column}" has {len(counts)} values ({listed}): name the focal group '
                "with --focal",
            )
        focal = (
            counts.most_common()[-1][0]
            if reference is None
            else next(v for v in counts if v != reference)
        )
    if reference == focal:
        raise _problem(data, "the focal and reference values must differ")
    ref_label = reference or (
        next(v for v in counts if v != focal) if len(counts) == 2 else f"not {focal}"
    )
    member = np.full(len(values), -1, dtype=np.int8)
    for k, v in enumerate(values):
        if v == focal:
            member[k] = 1
        elif v and (reference is None or v == reference):
            member[k] = 0
    warnings: list[CalibrationWarning] = []
    if blank:
        warnings.append(
            CalibrationWarning(
                kind="no_group",
                subject=f"{blank} persons",
                message=f'have no value in column "{column}" and are left out',
            )
        )
    for label, size in (
        (f'reference group "{ref_label}"', int((member == 0).sum())),
        (f'focal group "{focal}"', int((member == 1).sum())),
    ):
        if size < min_group:
            raise _problem(
                data,
                f'column "{column}": the {label} has {size} persons; DIF analysis needs at '
                f"least {min_group} in each group (--min-group)",
            )
    return Groups(column, ref_label, focal, member, tuple(warnings))


class MHItem(msgspec.Struct, frozen=True, kw_only=True):
    """The Mantel-Haenszel result for one item (NaN-free: ``None`` where undefined).

    Dichotomous items have ``alpha_mh``, ``delta_mh`` and ``se_delta``; polytomous items
    ``smd`` and ``smd_ratio`` (SMD / item SD). ``chi2`` is MH's (continuity-corrected) or
    Mantel's; ``category`` the ETS A/B/C or AA/BB/CC; ``favours`` which group the item is
    easier for, given matched ability.
    """

    item_id: str
    polytomous: bool
    n_reference: int
    n_focal: int
    strata: int
    chi2: float | None
    p_value: float | None
    category: EtsCategory
    favours: Literal["reference", "focal", ""]
    alpha_mh: float | None = None
    delta_mh: float | None = None
    se_delta: float | None = None
    smd: float | None = None
    smd_ratio: float | None = None


class MHAnalysis(msgspec.Struct, frozen=True, kw_only=True):
    """Mantel-Haenszel DIF of every item, with the settings used."""

    column: str
    reference: str
    focal: str
    n_reference: int
    n_focal: int
    matching: Matching
    purified: bool
    criterion_removed: tuple[str, ...]
    items: tuple[MHItem, ...]


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _strata_theta(
    pool: ItemPool, responses: NDArray[np.int8], columns: NDArray[np.intp], n_strata: int
) -> NDArray[np.intp]:
    theta = score(pool, columns, responses, "eap", grid=Grid.normal()).theta
    edges = np.quantile(theta, np.linspace(0, 1, n_strata + 1)[1:-1])
    return np.searchsorted(edges, theta, side="right").astype(np.intp)


def _item_test(
    item_id: str,
    scores: NDArray[np.int8],
    member: NDArray[np.int8],
    stratum: NDArray[np.intp],
    n_categories: int,
) -> MHItem:
    answered = (scores >= 0) & (member >= 0)
    y = scores[answered]
    focal = member[answered] == 1
    s = stratum[answered]
    n_r, n_f = int((~focal).sum()), int(focal.sum())
    if n_categories > 2:
        m = mantel(y, focal, s)
        favours: Literal["reference", "focal", ""] = (
            ""
            if not math.isfinite(m.smd) or m.category == "AA"
            else ("focal" if m.smd > 0 else "reference")
        )
        return MHItem(
            item_id=item_id,
            polytomous=True,
            n_reference=n_r,
            n_focal=n_f,
            strata=m.strata,
            chi2=_finite(m.chi2),
            p_value=_finite(m.p_value),
            category=m.category,
            favours=favours,
            smd=_finite(m.smd),
            smd_ratio=_finite(m.smd_ratio),
        )
    k = int(s.max()) + 1 if s.size else 0
    right = y == 1

    def count(mask: NDArray[np.bool_]) -> NDArray[np.float64]:
        return np.bincount(s[mask], minlength=k).astype(np.float64)

    t = mantel_haenszel(
        count(~focal & right), count(~focal & ~right), count(focal & right), count(focal & ~right)
    )
    category = t.category
    favours = (
        ""
        if category == "A" or not math.isfinite(t.delta)
        else ("focal" if t.delta > 0 else "reference")
    )
    return MHItem(
        item_id=item_id,
        polytomous=False,
        n_reference=n_r,
        n_focal=n_f,
        strata=t.strata,
        chi2=_finite(t.chi2),
        p_value=_finite(t.p_value),
        category=category,
        favours=favours,
        alpha_mh=_finite(t.alpha),
        delta_mh=_finite(t.delta),
        se_delta=_finite(t.se_delta),
    )


def mantel_haenszel_dif(
    data: ResponseData,
    groups: Groups,
    *,
    matching: Matching | None = None,
    purify: bool = False,
    pool: ItemPool | None = None,
    theta_strata: int = 20,
) -> MHAnalysis:
    """Mantel-Haenszel DIF of every item of ``data`` between the two groups.

    Parameters
    ----------
    matching
        ``total``, ``rest`` or ``theta`` (see the module notes); default ``total`` for
        complete data and ``theta`` when some responses are missing.
    purify
        Two-stage refinement of the matching criterion.
    pool
        The bank's compiled pool (required for ``theta`` matching); its items must include
        every data column.
    theta_strata
        Number of equal-size ability strata for ``theta`` matching.

    Raises
    ------
    ResponseDataError
        When ``total``/``rest`` matching meets missing responses, or ``theta`` matching has
        no bank.
    """
    responses = data.responses
    missing = bool((responses < 0).any())
    chosen: Matching = matching or ("theta" if missing else "total")
    if chosen in ("total", "rest") and missing:
        raise _problem(
            data,
            f"{chosen} score matching needs every person to answer every item, and some "
            "responses are missing (an adaptive test?): use --matching theta with --bank",
        )
    if chosen == "theta" and pool is None:
        raise _problem(data, "theta matching needs the bank's parameters (--bank)")
    n_categories = np.maximum(responses.max(axis=0).astype(np.intp) + 1, 2)
    columns: NDArray[np.intp] = np.zeros(0, dtype=np.intp)
    if pool is not None:
        columns = np.array([pool.index[i] for i in data.item_ids], dtype=np.intp)
        n_categories = pool.n_categories[columns]
    criterion = np.ones(data.n_items, dtype=bool)
    removed: tuple[str, ...] = ()
    for stage in range(2 if purify else 1):
        results = _stage(
            data,
            groups,
            matching=chosen,
            criterion=criterion,
            pool=pool,
            columns=columns,
            n_categories=n_categories,
            theta_strata=theta_strata,
        )
        if stage == 0 and purify:
            flagged = np.array([r.category not in ("A", "AA") for r in results])
            if not flagged.any():
                break
            criterion = ~flagged
            removed = tuple(i for i, f in zip(data.item_ids, flagged, strict=True) if f)
    return MHAnalysis(
        column=groups.column,
        reference=groups.reference,
        focal=groups.focal,
        n_reference=groups.n_reference,
        n_focal=groups.n_focal,
        matching=chosen,
        purified=bool(removed),
        criterion_removed=removed,
        items=tuple(results),
    )


def _stage(
    data: ResponseData,
    groups: Groups,
    *,
    matching: Matching,
    criterion: NDArray[np.bool_],
    pool: ItemPool | None,
    columns: NDArray[np.intp],
    n_categories: NDArray[np.intp],
    theta_strata: int,
) -> list[MHItem]:
    responses = data.responses
    if matching == "theta":
        assert pool is not None
        stratum = _strata_theta(pool, responses[:, criterion], columns[criterion], theta_strata)
    else:
        total = np.where(responses >= 0, responses, 0)[:, criterion].sum(axis=1).astype(np.intp)
    results = []
    for j, item_id in enumerate(data.item_ids):  # one 2 x 2 x K table per item
        if matching != "theta":
            own = np.maximum(responses[:, j], 0).astype(np.intp)
            if matching == "rest":
                stratum = total - own * criterion[j]
            else:
                stratum = total + own * (not criterion[j])  # the studied item always counts
        results.append(
            _item_test(item_id, responses[:, j], groups.member, stratum, int(n_categories[j]))
        )
    return results
