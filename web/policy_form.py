"""The author's "new assessment" form, turned into an :class:`~engine.policy.Policy`.

The form covers the common choices (scoring model, estimator, selection, exposure, content
balance, a stopping rule, pass marks, competency weights, feedback mode, time limit).
Anything else can be written as a TOML policy in the form's "advanced" box, which then
replaces the simple fields.

The scoring model is ``independent`` (each competency from its own answers) or
``correlated`` (all jointly, with the bank's correlation matrix; :mod:`engine.multidim`).
Competency weights (``weight_ID``) are the weights of the A-, C- and T-optimal selection
criteria; they are refused with any other selection rule rather than silently ignored.

The form speaks the reported scale (:mod:`engine.standing`): the precision target is in
points (``precision``: "± 40 points" is SE 0.4) and pass marks are scores (``pass_mark_ID``:
520 is a cut score of 0.2). The TOML box, like the API, takes the policy itself, on the
ability scale.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from typing import Any

from engine.errors import PolicyError
from engine.policy import (
    ContentConfig,
    EstimatorConfig,
    ExposureConfig,
    Policy,
    SelectionConfig,
    decode_policy,
)
from engine.standing import SCALE_CENTRE, SCALE_UNIT
from engine.stopping import (
    AllOf,
    AnyOf,
    Classification,
    FixedLength,
    MaxItems,
    MinItems,
    StandardErrorRule,
    StoppingRule,
)
from web.errors import InvalidInputError

ESTIMATORS = ("eap", "map", "mle", "wle")
SELECTIONS = (
    "max_info",
    "kl",
    "posterior_kl",
    "max_posterior_info",
    "min_posterior_variance",
    "a_stratified",
    "random",
    "d_optimal",
    "a_optimal",
    "c_optimal",
    "t_optimal",
    "e_optimal",
)
#: The selection rules that read the competency weights.
WEIGHTED_SELECTIONS = ("a_optimal", "c_optimal", "t_optimal")
MODELS = ("independent", "correlated")
EXPOSURES = ("none", "randomesque", "sympson_hetter", "eligibility")
BALANCES = ("targets", "none", "shadow_test")
STOPS = ("precision", "fixed", "classification")
FEEDBACK_MODES = ("instant", "end", "practice")


def _number(
    form: Mapping[str, Any], key: str, problems: list[str], *, integer: bool = False
) -> Any:
    raw = str(form.get(key) or "").strip()
    if raw == "":
        return None
    try:
        return int(raw) if integer else float(raw)
    except ValueError:
        problems.append(
            f"{key}: must be {'a whole number' if integer else 'a number'}, got {raw!r}"
        )
        return None


def _choice(
    form: Mapping[str, Any], key: str, allowed: tuple[str, ...], problems: list[str]
) -> str:
    value = str(form.get(key) or allowed[0])
    if value not in allowed:
        problems.append(f"{key}: must be one of {', '.join(allowed)}, got {value!r}")
        return allowed[0]
    return value


def _weights(
    form: Mapping[str, Any], competency_ids: list[str], selection: str, problems: list[str]
) -> dict[str, float]:
    """The competency weights given (``weight_ID``), each in (0, 100]; empty means 1."""
    weights: dict[str, float] = {}
    for cid in competency_ids:
        key = f"weight_{cid}"
        value = _number(form, key, problems)
        if value is None:
            continue
        if not 0 < value <= 100:
            problems.append(f"{key}: must be above 0 and at most 100, got {value:g}")
        elif selection not in WEIGHTED_SELECTIONS:
            problems.append(
                f"{key}: competency weights apply only to the {', '.join(WEIGHTED_SELECTIONS)} "
                f"item selection, not {selection}; leave it empty or choose one of those"
            )
        else:
            weights[cid] = value
    return weights


def policy_from_form(form: Mapping[str, Any], competency_ids: list[str]) -> Policy:
    """Build a policy from the form fields (or its advanced TOML box).

    Raises
    ------
    InvalidInputError
        Listing every field that is wrong.
    """
    advanced = str(form.get("policy_toml") or "").strip()
    if advanced:
        try:
            raw = tomllib.loads(advanced)
        except tomllib.TOMLDecodeError as exc:
            raise InvalidInputError(
                "the advanced policy is not valid TOML", [f"policy_toml: {exc}"]
            ) from None
        try:
            return decode_policy(raw, "policy_toml")
        except PolicyError as exc:
            raise InvalidInputError(
                "the advanced policy is not valid", [f"{exc.source}: {p}" for p in exc.problems]
            ) from None

    problems: list[str] = []
    model = _choice(form, "model", MODELS, problems)
    estimator = _choice(form, "estimator", ESTIMATORS, problems)
    selection = _choice(form, "selection", SELECTIONS, problems)
    exposure = _choice(form, "exposure", EXPOSURES, problems)
    balance = _choice(form, "balance", BALANCES, problems)
    stop = _choice(form, "stop", STOPS, problems)
    max_items = _number(form, "max_items", problems, integer=True)
    min_items = _number(form, "min_items", problems, integer=True)
    precision = _number(form, "precision", problems)
    fixed = _number(form, "fixed_length", problems, integer=True)
    for name, value in (
        ("max_items", max_items),
        ("min_items", min_items),
        ("fixed_length", fixed),
    ):
        if value is not None and value < 1:
            problems.append(f"{name}: must be at least 1, got {value}")
    max_se = None if precision is None else precision / SCALE_UNIT
    if precision is not None and not 0 < precision <= 500:
        problems.append(f"precision: must be between 0 and 500 points, got {precision:g}")
    cuts: dict[str, float] = {}
    lowest, highest = SCALE_CENTRE - 6 * SCALE_UNIT, SCALE_CENTRE + 6 * SCALE_UNIT
    for cid in competency_ids:
        value = _number(form, f"pass_mark_{cid}", problems)
        if value is not None:
            if not lowest <= value <= highest:
                problems.append(
                    f"pass_mark_{cid}: must be between {lowest:.0f} and {highest:.0f}, "
                    f"got {value:g}"
                )
            else:
                cuts[cid] = (value - SCALE_CENTRE) / SCALE_UNIT
    weights = _weights(form, competency_ids, selection, problems)
    rule: StoppingRule
    if stop == "fixed":
        if fixed is None:
            problems.append("fixed_length: required for a fixed-length test")
        rule = FixedLength(n=fixed or 1)
    else:
        cap = MaxItems(n=max_items or 40)
        first: StoppingRule = (
            Classification()
            if stop == "classification"
            else StandardErrorRule(max_se=max_se or 0.3)
        )
        rule = AnyOf(rules=(first, cap))
        if min_items:
            rule = AllOf(rules=(MinItems(n=min_items), rule))
    if problems:
        raise InvalidInputError("some fields are not valid", problems)
    return Policy(
        model=model,  # type: ignore[arg-type]
        estimator=EstimatorConfig(method=estimator),  # type: ignore[arg-type]
        selection=SelectionConfig(method=selection, weights=weights),  # type: ignore[arg-type]
        exposure=ExposureConfig(method=exposure),  # type: ignore[arg-type]
        content=ContentConfig(balance=balance),  # type: ignore[arg-type]
        stopping=rule,
        cut_scores=cuts,
    )
