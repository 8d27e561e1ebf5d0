"""The lockstep batch CAT against Session: the same choices, estimates and stop reasons.

The reference below is the service's own loop: one :class:`Session` per simulee, driven by
``start`` / ``next_item`` / ``record``, with each answer decided by the same uniform draw
the batch uses (:func:`engine.batch.uniforms`, stream ``ANSWER``). With
``draws="session"`` the batch reproduces Session's random streams, so everything must be
equal bit for bit. With the default vectorised draws only the random numbers differ: those
tests check what is done with them (uniform among the best items, acceptance with
probability K) and that results do not depend on the block size.
"""

from __future__ import annotations

import dataclasses

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.batch import ANSWER, BatchRun, run_batch, simulee_seeds, uniforms
from engine.errors import PolicyError
from engine.exposure import update_eligibility
from engine.policy import (
    ContentConfig,
    EstimatorConfig,
    ExposureConfig,
    Policy,
    PretestConfig,
    SelectionConfig,
)
from engine.pool import ItemPool, compile_pool
from engine.session import Session, SessionState
from engine.stopping import (
    AllOf,
    AnyOf,
    Classification,
    FixedLength,
    MaxItems,
    MinItems,
    StandardErrorRule,
)
from engine.synthetic import synthetic_bank

NONE = ContentConfig(balance="none")
POOL = compile_pool(synthetic_bank(200, "2pl", 1, seed=11))
PRETEST = compile_pool(synthetic_bank(120, "2pl", 2, seed=3, pretest=20))
RNG = np.random.default_rng(3)
THETA = RNG.standard_normal(60)
THETA2 = RNG.standard_normal((60, 2))


def reference(
    session: Session, theta: np.ndarray, seed: int, *, update_every: int = 1
) -> list[SessionState]:
    """Each simulee through its own Session, as engine.simulation.run does."""
    pool = session.pool
    abilities = theta.reshape(theta.shape[0], -1)
    seeds = simulee_seeds(seed, abilities.shape[0])
    eligibility = np.ones(pool.n_items) if session.policy.exposure.method == "eligibility" else None
    current = eligibility
    counts = np.zeros(pool.n_items)
    states = []
    for j in range(abilities.shape[0]):
        if eligibility is not None and j % update_every == 0:
            current = eligibility
        state = session.start(int(seeds[j]), eligibility=current)
        step = 0
        while True:
            state = session.next_item(state)
            if state.finished or state.pending is None:
                break
            item = state.pending
            k = min(int(pool.competency[item]), abilities.shape[1] - 1)
            p, _, _ = pool.derivatives(np.array([item]), np.array([[abilities[j, k]]]))
            u = uniforms(seed, (ANSWER, step), j, 1)[0]
            category = min(
                int((u >= np.cumsum(p[0, :, 0])[:-1]).sum()), pool.n_categories[item] - 1
            )
            state = session.record(state, item, category)
            step += 1
            if state.finished:
                break
        states.append(state)
        if eligibility is not None:
            counts[[i for i in state.items if pool.operational[i]]] += 1
            if (j + 1) % update_every == 0:
                rate = counts / (j + 1)
                eligibility = update_eligibility(eligibility, rate, session.policy.exposure.r_max)
    return states


def assert_same(
    session: Session, theta: np.ndarray, seed: int, *, update_every: int = 1
) -> BatchRun:
    """The batch with Session's streams equals the Session loop, simulee by simulee."""
    states = reference(session, theta, seed, update_every=update_every)
    run = run_batch(session, theta, seed, draws="session", update_every=update_every)
    reasons = run.stop_reasons(session)
    for j, state in enumerate(states):
        given = run.items[j][run.items[j] >= 0]
        assert given.tolist() == list(state.items), j
        assert run.categories[j][: given.size].tolist() == list(state.categories), j
        np.testing.assert_array_equal(run.theta[j], np.array(state.theta))  # bit for bit
        np.testing.assert_array_equal(run.se[j], np.array(state.se))
        assert np.flatnonzero(run.excluded[j]).tolist() == sorted(state.excluded), j
        assert reasons[j] == state.stop_reason, j
        assert run.finished[j] == state.finished
    return run


def _with_exposure(pool: ItemPool, k: np.ndarray) -> ItemPool:
    return dataclasses.replace(pool, exposure=k)


SH_POOL = _with_exposure(POOL, np.where(POOL.slope > 1.1, 0.3, 1.0))
SH_PRETEST = _with_exposure(PRETEST, np.where(np.arange(PRETEST.n_items) % 5 < 3, 0.15, 1.0))

CASES = {
    "max_info, no exposure control": (POOL, Policy(content=NONE, stopping=FixedLength(n=30))),
    "content targets (default policy)": (POOL, Policy()),
    "randomesque 5": (
        POOL,
        Policy(exposure=ExposureConfig(method="randomesque"), stopping=FixedLength(n=20)),
    ),
    "a-stratified, randomesque 10": (
        POOL,
        Policy(
            selection=SelectionConfig(method="a_stratified"),
            exposure=ExposureConfig(method="randomesque", randomesque_size=10),
            content=NONE,
            stopping=FixedLength(n=30),
        ),
    ),
    "Sympson-Hetter": (
        SH_POOL,
        Policy(exposure=ExposureConfig(method="sympson_hetter"), stopping=FixedLength(n=25)),
    ),
    "Sympson-Hetter widening, pretest, competency and area targets, SPRT": (
        SH_PRETEST,
        Policy(
            exposure=ExposureConfig(method="sympson_hetter"),
            pretest=PretestConfig(rate=0.2, max_items=4),
            content=ContentConfig(competencies={"c1": 0.7, "c2": 0.3}, areas={"recall": 0.4}),
            stopping=AllOf(
                rules=(
                    MinItems(n=3),
                    AnyOf(rules=(Classification(method="sprt"), MaxItems(n=30))),
                )
            ),
        ),
    ),
    "pretest seeding, randomesque, area targets": (
        PRETEST,
        Policy(
            exposure=ExposureConfig(method="randomesque"),
            pretest=PretestConfig(rate=0.3, max_items=6),
            content=ContentConfig(areas={"recall": 0.3, "analysis": 0.3}),
            stopping=FixedLength(n=20),
        ),
    ),
    "random selection": (
        PRETEST,
        Policy(selection=SelectionConfig(method="random"), stopping=FixedLength(n=10)),
    ),
    "max posterior information": (
        PRETEST,
        Policy(selection=SelectionConfig(method="max_posterior_info"), stopping=FixedLength(n=15)),
    ),
    "confidence-interval classification": (
        PRETEST,
        Policy(stopping=AnyOf(rules=(Classification(method="ci"), MaxItems(n=30)))),
    ),
    "standard error rule, variable length": (
        PRETEST,
        Policy(stopping=AnyOf(rules=(StandardErrorRule(max_se=0.35), MaxItems(n=50)))),
    ),
    "pool exhausted before the SE is reached": (
        compile_pool(synthetic_bank(12, "2pl", 1, seed=4)),
        Policy(stopping=StandardErrorRule(max_se=0.5)),
    ),
}
for _model in ("3pl", "4pl", "grm", "gpcm"):
    CASES[f"{_model} pool, randomesque 3"] = (
        compile_pool(synthetic_bank(60, _model, 2, seed=4)),
        Policy(
            exposure=ExposureConfig(method="randomesque", randomesque_size=3),
            stopping=FixedLength(n=12),
        ),
    )
# Above 300 polytomous items the selector computes information exactly (no table).
CASES["large grm pool, exact information"] = (
    compile_pool(synthetic_bank(320, "grm", 1, seed=4)),
    Policy(stopping=FixedLength(n=8)),
)


@pytest.mark.parametrize("case", list(CASES))
def test_the_batch_makes_the_sessions_choices_and_estimates(case: str) -> None:
    pool, policy = CASES[case]
    theta = THETA2 if pool.n_competencies == 2 else THETA
    run = assert_same(Session(pool, policy), theta[:40] * 1.5, seed=7)
    assert run.finished.all()


def test_the_exhausted_pool_ends_every_extreme_test() -> None:
    pool, policy = CASES["pool exhausted before the SE is reached"]
    run = run_batch(Session(pool, policy), np.array([-3.0, 3.0]), seed=1)
    assert run.exhausted.all()
    assert (run.lengths == 12).all()


@pytest.mark.parametrize("update_every", [1, 10])
def test_eligibility_is_updated_as_in_the_simulation_loop(update_every: int) -> None:
    session = Session(
        POOL,
        Policy(
            exposure=ExposureConfig(method="eligibility", r_max=0.2),
            content=NONE,
            stopping=FixedLength(n=25),
        ),
    )
    run = assert_same(session, THETA, seed=5, update_every=update_every)
    assert run.excluded.any()


def test_eligibility_at_the_average_rate_relaxes_as_session_does() -> None:
    # r_max = length / bank size leaves some learners without an eligible item: both the
    # Session and the batch then make every item not yet given eligible again.
    pool = compile_pool(synthetic_bank(40, "2pl", 1, seed=2))
    policy = Policy(
        exposure=ExposureConfig(method="eligibility", r_max=0.25),
        content=NONE,
        stopping=FixedLength(n=10),
    )
    run = assert_same(Session(pool, policy), THETA, seed=6)
    assert (run.lengths == 10).all()
    assert (run.excluded.sum(axis=1) > 30).any()  # more than 30 ineligible: relaxed


@settings(max_examples=12, deadline=None)
@given(
    bank_seed=st.integers(0, 1000),
    n_items=st.integers(15, 50),
    model=st.sampled_from(["2pl", "3pl", "grm"]),
    length=st.integers(1, 15),
    size=st.integers(1, 6),
    seed=st.integers(0, 2**31 - 1),
)
def test_any_bank_and_length_gives_the_sessions_tests(
    bank_seed: int, n_items: int, model: str, length: int, size: int, seed: int
) -> None:
    pool = compile_pool(synthetic_bank(n_items, model, 1, seed=bank_seed))  # type: ignore[arg-type]
    policy = Policy(
        exposure=ExposureConfig(method="randomesque", randomesque_size=size),
        stopping=FixedLength(n=length),
    )
    theta = np.random.default_rng(bank_seed).normal(0.0, 1.5, 6)
    run = assert_same(Session(pool, policy), theta, seed)
    assert (run.lengths == length).all()


# --------------------------------------------------------------------------- vectorised draws

VECTOR_CASES = [
    "randomesque 5",
    "Sympson-Hetter widening, pretest, competency and area targets, SPRT",
    "random selection",
]


@pytest.mark.parametrize("case", VECTOR_CASES)
def test_vectorised_results_do_not_depend_on_the_block_size(case: str) -> None:
    pool, policy = CASES[case]
    theta = THETA2 if pool.n_competencies == 2 else THETA
    session = Session(pool, policy)
    small = run_batch(session, theta, seed=3, block=7)
    whole = run_batch(session, theta, seed=3)
    for field in ("items", "categories", "theta", "se", "excluded", "finished"):
        np.testing.assert_array_equal(getattr(small, field), getattr(whole, field))


def test_vectorised_randomesque_picks_uniformly_among_the_best() -> None:
    size = 5
    session = Session(
        POOL,
        Policy(
            exposure=ExposureConfig(method="randomesque", randomesque_size=size),
            content=NONE,
            stopping=FixedLength(n=1),
        ),
    )
    n = 6000
    run = run_batch(session, np.zeros(n), seed=11)
    # Every simulee starts at the prior mean: the five most informative items there.
    values = session.selector.information(np.zeros(1))
    best = set(np.argsort(values)[-size:].tolist())
    counts = np.bincount(run.items[:, 0], minlength=POOL.n_items)
    assert set(np.flatnonzero(counts).tolist()) == best
    expected = n / size
    sd = np.sqrt(n * (1 / size) * (1 - 1 / size))
    assert np.all(np.abs(counts[list(best)] - expected) < 4 * sd)


def test_vectorised_randomesque_always_gives_one_of_the_best_items() -> None:
    pool, policy = CASES["randomesque 5"]
    session = Session(pool, policy)
    run = run_batch(session, THETA[:30], seed=2)
    for j in range(30):  # replay each test through Session and rank its criterion
        state = session.start(0)
        for item, category in zip(run.items[j], run.categories[j], strict=True):
            if item < 0:
                break
            values = session.selector.information(np.array(state.theta))
            values[list(state.items)] = -np.inf
            assert values[item] >= np.sort(values)[-5]
            state = session.record(
                msgspec.structs.replace(state, pending=int(item)), item, category
            )


def test_vectorised_sympson_hetter_administers_with_probability_k() -> None:
    values = Session(POOL, Policy()).selector.information(np.zeros(1))
    first, second = np.argsort(values)[-2:][::-1]
    k = np.ones(POOL.n_items)
    k[first] = 0.25
    session = Session(
        _with_exposure(POOL, k),
        Policy(
            exposure=ExposureConfig(method="sympson_hetter"),
            content=NONE,
            stopping=FixedLength(n=1),
        ),
    )
    n = 4000
    run = run_batch(session, np.zeros(n), seed=4)
    took_first = int((run.items[:, 0] == first).sum())
    assert abs(took_first - 0.25 * n) < 4 * np.sqrt(n * 0.25 * 0.75)
    assert ((run.items[:, 0] == first) | (run.items[:, 0] == second)).all()
    # Refused items are excluded for the rest of the test, as in SessionState.excluded.
    np.testing.assert_array_equal(run.refused[:, first], run.items[:, 0] == second)
    np.testing.assert_array_equal(run.excluded, run.refused)


def test_vectorised_eligibility_keeps_exposure_near_r_max() -> None:
    session = Session(
        POOL,
        Policy(
            exposure=ExposureConfig(method="eligibility", r_max=0.2),
            content=NONE,
            stopping=FixedLength(n=20),
        ),
    )
    run = run_batch(session, np.random.default_rng(1).standard_normal(5000), seed=1)
    rates = run.administered().mean(axis=0)
    assert rates.max() <= 0.25  # without control the best items reach 1.0
    assert rates.sum() == pytest.approx(20.0)


def test_answers_follow_the_model_at_the_true_ability() -> None:
    session = Session(POOL, Policy(content=NONE, stopping=FixedLength(n=1)))
    theta = np.random.default_rng(9).standard_normal(20_000)
    run = run_batch(session, theta, seed=9)
    (item,) = set(run.items[:, 0].tolist())
    p = POOL.dichotomous.correct(theta)[item]
    correct = run.categories[:, 0].astype(float)
    assert abs(correct.sum() - p.sum()) < 4 * np.sqrt((p * (1 - p)).sum())
    # and they depend on the ability as the model says (logistic regression slope ~ a)
    high, low = theta > 1, theta < -1
    assert correct[high].mean() - p[high].mean() == pytest.approx(0.0, abs=0.03)
    assert correct[low].mean() - p[low].mean() == pytest.approx(0.0, abs=0.03)


# --------------------------------------------------------------------------- small things


def test_uniforms_are_a_pure_function_of_the_position() -> None:
    whole = uniforms(5, (1, 2), 0, 23)
    np.testing.assert_array_equal(uniforms(5, (1, 2), 7, 9), whole[7:16])
    assert not np.array_equal(uniforms(5, (1, 3), 0, 23), whole)
    assert not np.array_equal(uniforms(6, (1, 2), 0, 23), whole)
    assert ((whole >= 0) & (whole < 1)).all()


def test_the_response_matrix_holds_every_answer() -> None:
    pool, policy = CASES["pretest seeding, randomesque, area targets"]
    run = run_batch(Session(pool, policy), THETA2, seed=1)
    matrix = run.responses()
    assert matrix.shape == (60, pool.n_items)
    assert ((matrix >= 0).sum(axis=1) == run.n_given).all()
    assert (run.lengths == 20).all()
    assert (run.n_given > run.lengths).any()  # pretest items were seeded


@pytest.mark.parametrize(
    ("policy", "field"),
    [
        (Policy(estimator=EstimatorConfig(method="map")), "estimator.method"),
        (Policy(selection=SelectionConfig(method="kl")), "selection.method"),
        (
            Policy(content=ContentConfig(balance="shadow_test"), stopping=FixedLength(n=10)),
            "content.balance",
        ),
    ],
)
def test_policies_the_batch_cannot_run_exactly_are_refused(policy: Policy, field: str) -> None:
    with pytest.raises(PolicyError, match=field):
        run_batch(Session(POOL, policy), THETA, seed=1)


def test_bad_arguments_are_refused() -> None:
    session = Session(POOL, Policy())
    with pytest.raises(ValueError, match="columns"):
        run_batch(session, np.zeros((3, 2)), seed=1)
    with pytest.raises(ValueError, match="at least one"):
        run_batch(session, np.zeros(0), seed=1)
