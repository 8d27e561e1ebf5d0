r"""Scale linking: put a new calibration on the bank's scale through common items.

A calibration identifies its scale by the population (N(0, 1) for this sample). When some
items also have bank parameters, the linear transformation :math:`\theta_{bank} = A\theta_{new}
+ B` that best maps one set onto the other carries every new item to the bank's scale:

.. math:: a^* = a / A, \qquad b^* = A b + B, \qquad c^* = c, \qquad d^* = d

(each GRM/GPCM threshold transforms like :math:`b`; standard errors scale like the parameter).

Four ways to find :math:`A, B` from the common items (Kolen & Brennan, 2014, ch. 6):

mean-mean (Loyd & Hoover, 1980)
    :math:`A = \bar a_{new} / \bar a_{bank}`, :math:`B = \bar b_{bank} - A \bar b_{new}`.
mean-sigma (Marco, 1977)
    :math:`A = s(b_{bank}) / s(b_{new})`, same :math:`B`.
Haebara (1980)
    minimises :math:`\sum_q w_q \sum_i \sum_k [P_{ik}(\theta_q; \text{bank}) -
    P_{ik}(\theta_q; \text{new}^*)]^2`, the squared differences of the item curves.
Stocking-Lord (1983)
    minimises :math:`\sum_q w_q [\sum_i E_i(\theta_q; \text{bank}) -
    \sum_i E_i(\theta_q; \text{new}^*)]^2`, the squared difference of the test curves.

The characteristic-curve criteria are evaluated on the bank's scale at 61 points on
:math:`[-4, 4]` weighted by the N(0, 1) density (the "non-symmetric" criterion), and minimised
with BFGS from the mean-sigma solution.

References
----------
Kolen, M. J., & Brennan, R. L. (2014). *Test Equating, Scaling, and Linking* (3rd ed.).
Springer.
Haebara, T. (1980). Equating logistic ability scales by a weighted least squares method.
*Japanese Psychological Research*, 22(3), 144-149.
Stocking, M. L., & Lord, F. M. (1983). Developing a common metric in item response theory.
*Applied Psychological Measurement*, 7(2), 201-210.
Loyd, B. H., & Hoover, H. D. (1980). Vertical equating using the Rasch model. *Journal of
Educational Measurement*, 17(3), 179-193.
Marco, G. L. (1977). Item characteristic curve solutions to three intractable testing
problems. *Journal of Educational Measurement*, 14(2), 139-160.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import msgspec
import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize

from calibration.errors import LinkingError
from engine.irt.dichotomous import Dichotomous
from engine.irt.graded import GradedResponse
from engine.irt.partial_credit import GeneralizedPartialCredit
from item_banks.model import (
    FourPL,
    Graded,
    IrtParameters,
    OnePL,
    ParameterErrors,
    PartialCredit,
    ThreePL,
    TwoPL,
    model_name,
)

Array = NDArray[np.float64]
LinkMethod = Literal["mean-mean", "mean-sigma", "haebara", "stocking-lord"]
LINK_METHODS: tuple[LinkMethod, ...] = ("mean-mean", "mean-sigma", "haebara", "stocking-lord")


class LinkingConstants(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``theta_bank = A * theta_new + B``, the method and the common items used."""

    a: float
    b: float
    method: LinkMethod
    common_items: tuple[str, ...]


def _family_of(params: IrtParameters) -> str:
    if isinstance(params, Graded):
        return "grm"
    if isinstance(params, PartialCredit):
        return "gpcm"
    return "dichotomous"


def _slopes_and_locations(items: list[IrtParameters]) -> tuple[Array, Array]:
    slopes = np.array([p.a for p in items], dtype=np.float64)
    locations: list[float] = []
    for p in items:
        if isinstance(p, Graded | PartialCredit):
            locations.extend(p.thresholds)
        else:
            locations.append(p.b)
    return slopes, np.array(locations, dtype=np.float64)


def transform(params: IrtParameters, a: float, b: float) -> IrtParameters:
    r"""Parameters (and their SEs) on the scale :math:`\theta' = A\theta + B`.

    :math:`a' = a/A`, :math:`b' = Ab + B` (thresholds alike), asymptotes unchanged; standard
    errors scale the same way (Kolen & Brennan, 2014, eq. 6.2-6.4).
    """
    se = params.se
    new_se = None
    if se is not None:
        new_se = ParameterErrors(
            a=None if se.a is None else se.a / a,
            b=None if se.b is None else se.b * a,
            c=se.c,
            d=se.d,
            thresholds=None if se.thresholds is None else tuple(t * a for t in se.thresholds),
        )
    if isinstance(params, Graded):
        return Graded(
            a=params.a / a, thresholds=tuple(a * t + b for t in params.thresholds), se=new_se
        )
    if isinstance(params, PartialCredit):
        return PartialCredit(
            a=params.a / a, thresholds=tuple(a * t + b for t in params.thresholds), se=new_se
        )
    if isinstance(params, FourPL):
        return FourPL(a=params.a / a, b=a * params.b + b, c=params.c, d=params.d, se=new_se)
    if isinstance(params, ThreePL):
        return ThreePL(a=params.a / a, b=a * params.b + b, c=params.c, se=new_se)
    if isinstance(params, TwoPL):
        return TwoPL(a=params.a / a, b=a * params.b + b, se=new_se)
    assert isinstance(params, OnePL)
    return OnePL(a=params.a / a, b=a * params.b + b, se=new_se)


def _curves(items: list[IrtParameters], theta: Array, a: float = 1.0, b: float = 0.0) -> Array:
    """Category probabilities ``(n, C, Q)`` of ``items`` put on the scale ``(a, b)``."""
    moved = [transform(p, a, b) for p in items]
    width = max(
        (len(p.thresholds) + 1 if isinstance(p, Graded | PartialCredit) else 2) for p in moved
    )
    out = np.zeros((len(moved), width, theta.size))
    dich = [k for k, p in enumerate(moved) if not isinstance(p, Graded | PartialCredit)]
    if dich:
        upper = []
        for k in dich:
            item = moved[k]
            upper.append(item.d if isinstance(item, FourPL) else 1.0)
        fam = Dichotomous.from_arrays(
            [moved[k].a for k in dich],
            [getattr(moved[k], "b", 0.0) for k in dich],
            [getattr(moved[k], "c", 0.0) for k in dich],
            upper,
        )
        out[dich, :2] = fam.probabilities(theta)
    for kind, cls in (("grm", GradedResponse), ("gpcm", GeneralizedPartialCredit)):
        members = [k for k, p in enumerate(moved) if _family_of(p) == kind]
        if members:
            thresholds = [getattr(moved[k], "thresholds", ()) for k in members]
            poly = cls.from_lists([moved[k].a for k in members], thresholds)
            p = poly.probabilities(theta)
            out[members, : p.shape[1]] = p
    return out


def link(
    new: Mapping[str, IrtParameters],
    bank: Mapping[str, IrtParameters],
    method: LinkMethod = "stocking-lord",
) -> LinkingConstants:
    r"""Linking constants :math:`A, B` from the items both mappings hold.

    ``new`` holds the common items on the new scale, ``bank`` on the bank's; the criteria
    are those of the module documentation (Kolen & Brennan, 2014, ch. 6).

    Raises
    ------
    LinkingError
        With fewer than two common items, common items of different model families, or no
        spread of difficulties (mean-sigma).
    """
    common = [item for item in new if item in bank]
    if len(common) < 2:
        raise LinkingError(
            f"linking needs at least 2 common items with bank parameters; found {len(common)}"
        )
    mismatched = [i for i in common if _family_of(new[i]) != _family_of(bank[i])]
    if mismatched:
        raise LinkingError(
            "common items must have the same model family on both scales: "
            + ", ".join(
                f'"{i}" ({model_name(new[i])} vs {model_name(bank[i])})' for i in mismatched
            )
        )
    x_items = [new[i] for i in common]
    y_items = [bank[i] for i in common]
    ax, bx = _slopes_and_locations(x_items)
    ay, by = _slopes_and_locations(y_items)
    sd_x = float(np.std(bx))
    if sd_x <= 1e-12 or float(np.std(by)) <= 1e-12:
        raise LinkingError("the common items' difficulties do not vary; cannot link")
    a_ms = float(np.std(by)) / sd_x
    if method == "mean-mean":
        a_const = float(ax.mean() / ay.mean())
        return LinkingConstants(
            a=a_const,
            b=float(by.mean() - a_const * bx.mean()),
            method=method,
            common_items=tuple(common),
        )
    b_ms = float(by.mean() - a_ms * bx.mean())
    if method == "mean-sigma":
        return LinkingConstants(a=a_ms, b=b_ms, method=method, common_items=tuple(common))
    theta = np.linspace(-4.0, 4.0, 61)
    weights = np.exp(-0.5 * theta**2)
    weights /= weights.sum()
    target = _curves(y_items, theta)
    scores = np.arange(target.shape[1], dtype=np.float64)

    def loss(v: Array) -> float:
        if v[0] <= 1e-6:
            return 1e12
        moved = _curves(x_items, theta, float(v[0]), float(v[1]))
        if method == "haebara":
            width = min(moved.shape[1], target.shape[1])
            diff = (moved[:, :width] - target[:, :width]) ** 2
            return float((diff.sum(axis=(0, 1)) * weights).sum())
        tcc_new = np.einsum("ncq,c->q", moved, scores[: moved.shape[1]])
        tcc_bank = np.einsum("ncq,c->q", target, scores)
        return float((((tcc_new - tcc_bank) ** 2) * weights).sum())

    best = minimize(
        loss,
        np.array([a_ms, b_ms]),
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-16, "maxiter": 4000},
    )
    refined = minimize(loss, best.x, method="BFGS", options={"gtol": 1e-12})
    solution = refined.x if refined.fun <= best.fun else best.x
    return LinkingConstants(
        a=float(solution[0]), b=float(solution[1]), method=method, common_items=tuple(common)
    )
