r"""What a policy will do on its bank, forecast by simulation before anyone takes the test.

:func:`engine.policy.check_policy` refuses a policy that *cannot* run (a standard error no
test from the bank can reach). A policy can pass that check and still never do what it
promises: a target of SE 0.45 that the bank could reach only with every one of its items,
while the test stops at 24 questions, ends every session at the maximum. :func:`forecast`
runs the policy on simulated learners, :math:`\theta \sim N(\mu, \sigma^2)` per competency
from the policy's prior, and reports:

* the share of sessions that end with every competency at or below the standard-error
  target (the strictest ``standard_error`` rule of the stopping rule);
* the share that stop before the maximum length, and the length's mean and 10th/90th
  percentiles;
* the largest share of sessions that start with the same item (exposure control);

and plain-word warnings when the target is met by fewer than half of the sessions, or when
most sessions start with the same item.

The lockstep batch (:func:`engine.batch.run_batch`) runs the simulation. For what it does not
vectorise (MAP/ML/WLE estimation, KL and posterior selection rules, shadow tests) the
forecast runs the nearest policy it does (EAP, maximum information, content targets) and
says so in ``approximation``: a per-learner loop would take seconds per forecast, too slow
for a page, and the length and precision a policy reaches depend on the bank's information
far more than on the estimator.

References
----------
Thompson, N. A., & Weiss, D. J. (2011). A framework for the development of computerized
adaptive tests. *Practical Assessment, Research & Evaluation*, 16(1). (Simulation studies
of a CAT's stopping rule and exposure before it goes live.)
"""

from __future__ import annotations

import msgspec
import numpy as np

from engine.batch import check_batch_policy, run_batch
from engine.errors import PolicyError
from engine.policy import ContentConfig, Policy, SelectionConfig
from engine.pool import ItemPool
from engine.session import Session
from engine.standing import scaled_se
from engine.stopping import AllOf, AnyOf, StandardErrorRule, StoppingRule, length_bound

#: Below this share of sessions meeting the SE target, the author is warned.
LOW_SHARE = 0.5
#: At or above this share of sessions starting with the same item, the author is warned.
SAME_START = 0.5


class PolicyForecast(msgspec.Struct, frozen=True, kw_only=True):
    """The simulated behaviour of a policy on its bank (see the module notes)."""

    simulees: int
    seed: int
    se_target: float | None
    met_se_target: float | None
    max_items: int | None
    stopped_early: float | None
    mean_length: float
    length_p10: int
    length_p90: int
    same_first_item: float
    first_item: str
    approximation: str = ""
    warnings: tuple[str, ...] = ()


def se_target(rule: StoppingRule) -> float | None:
    """The strictest standard-error target anywhere in ``rule`` (None when it has none)."""
    if isinstance(rule, StandardErrorRule):
        return rule.max_se
    if isinstance(rule, AnyOf | AllOf):
        found = [t for t in (se_target(child) for child in rule.rules) if t is not None]
        return min(found) if found else None
    return None


def _percent(share: float) -> str:
    return f"{100 * share:.0f}%"


def batch_stand_in(
    policy: Policy, selection_methods: tuple[str, ...], *, correlated: bool = False
) -> tuple[Policy, str]:
    """The nearest policy the batch simulator runs, and what was replaced (empty: nothing).

    ``correlated`` says the session scores jointly (the policy asks for it and the bank has
    a correlation matrix): the batch runs the independent model instead, which needs at
    least as many questions for the same precision, so the forecast's length is an upper
    estimate and its precision a lower one.
    """
    replaced = []
    model = policy.model
    if correlated:
        replaced.append(
            "the independent model for the correlated one (an upper estimate of length)"
        )
        model = "independent"
    estimator, selection, content = policy.estimator, policy.selection, policy.content
    if estimator.method != "eap":
        replaced.append(f"EAP for {estimator.method.upper()}")
        estimator = msgspec.structs.replace(estimator, method="eap")
    if selection.method not in selection_methods:
        replaced.append(f"maximum information for {selection.method}")
        selection = SelectionConfig(strata=selection.strata)
    if content.balance == "shadow_test":
        replaced.append("content targets for the shadow test")
        content = ContentConfig(
            balance="targets", competencies=content.competencies, areas=content.areas
        )
    if not replaced:
        return policy, ""
    stand_in = msgspec.structs.replace(
        policy, model=model, estimator=estimator, selection=selection, content=content
    )
    return stand_in, "simulated with " + ", ".join(replaced)


def forecast(
    pool: ItemPool,
    policy: Policy,
    *,
    simulees: int = 500,
    seed: int = 1,
) -> PolicyForecast:
    """Simulate ``policy`` on ``pool`` and say what sessions will do (module notes).

    Parameters
    ----------
    pool, policy
        The bank and the policy, already checked by :func:`engine.policy.check_policy`.
    simulees
        Simulated learners.
    seed
        Seed of the abilities and of the sessions: the forecast is reproducible.
    """
    engine = Session(pool, policy)
    approximation = ""
    try:
        check_batch_policy(engine)
    except PolicyError:
        stand_in, approximation = batch_stand_in(
            policy, engine.selector.ROW_METHODS, correlated=engine.model == "correlated"
        )
        engine = Session(pool, stand_in)
    rng = np.random.default_rng(seed)
    prior = policy.estimator.prior
    n = simulees
    theta = prior.mean + prior.sd * rng.standard_normal((n, pool.n_competencies))
    batch = run_batch(engine, theta, seed)
    se = batch.se
    lengths = batch.lengths
    firsts = batch.items[:, 0].astype(np.intp)
    target = se_target(policy.stopping)
    met = None if target is None else float(np.mean(np.all(se <= target + 1e-9, axis=1)))
    bound = length_bound(policy.stopping)
    early = None if bound is None else float(np.mean(lengths < bound))
    started = firsts[firsts >= 0]
    counts = np.bincount(started, minlength=pool.n_items) if started.size else np.zeros(1)
    top = int(np.argmax(counts))
    same = float(counts[top] / max(1, started.size))
    warnings = []
    if target is not None and met is not None and met < LOW_SHARE:
        points = float(scaled_se(target))
        limit = f"the maximum of {bound} questions" if bound is not None else "the end"
        warnings.append(
            f"Only {_percent(met)} of {n} simulated sessions reach the precision target "
            f"(± {points:.0f} points, SE {target:g}) before {limit}; the others run to "
            "the maximum, so learners are promised an early stop they will not get. "
            "Relax the target, allow more questions, or add items that measure this well."
        )
    if policy.model == "correlated" and pool.correlation is None:
        warnings.append(
            "The policy asks for the correlated model, but this bank version has no "
            "correlation matrix between its skills, so every session is scored independent "
            "(each skill from its own questions). Calibrate the bank with --correlated to "
            "estimate the matrix, or choose the independent model."
        )
    if same >= SAME_START and started.size > 1:
        warnings.append(
            f"{_percent(same)} of simulated sessions start with the same question "
            f'("{pool.item_ids[top]}"): use exposure control (for example randomesque) so '
            "learners do not all see the same first questions."
        )
    return PolicyForecast(
        simulees=n,
        seed=seed,
        se_target=target,
        met_se_target=met,
        max_items=bound,
        stopped_early=early,
        mean_length=float(np.mean(lengths)),
        length_p10=int(np.percentile(lengths, 10, method="lower")),
        length_p90=int(np.percentile(lengths, 90, method="higher")),
        same_first_item=same,
        first_item=pool.item_ids[top],
        approximation=approximation,
        warnings=tuple(warnings),
    )
