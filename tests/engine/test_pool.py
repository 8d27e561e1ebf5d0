"""Compiling banks into pools."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import PoolError
from engine.policy import Policy
from engine.pool import compile_pool
from engine.session import Session
from item_banks.model import FourPL, Graded, OnePL, PartialCredit, ThreePL, TwoPL
from item_banks.native import content_hash, read_bank
from item_banks.sample import sample_bank_path
from tests.engine.helpers import make_bank, make_item, mixed_pool


def test_arrays_follow_the_bank() -> None:
    items = [
        make_item("a", OnePL(b=0.5), "c1", areas=("x",)),
        make_item("b", TwoPL(a=1.5, b=-1.0), "c2", areas=("x", "y")),
        make_item("c", ThreePL(a=0.7, b=2.0, c=0.2), "c1", exposure=0.4),
        make_item("d", FourPL(a=1.1, b=0.0, c=0.1, d=0.9), "c2", status="pretest"),
        make_item("e", TwoPL(a=1.0, b=0.3), "c2"),
    ]
    pool = compile_pool(make_bank(items, ("c1", "c2"), cuts=(0.5, None), areas=("x", "y")))
    assert pool.item_ids == ("a", "b", "c", "d", "e")
    assert pool.index["c"] == 2
    assert pool.competency.tolist() == [0, 1, 0, 1, 1]
    assert pool.areas.tolist() == [
        [True, False],
        [True, True],
        [False, False],
        [False, False],
        [False, False],
    ]
    assert pool.operational.tolist() == [True, True, True, False, True]
    assert pool.exposure.tolist() == [1.0, 1.0, 0.4, 1.0, 1.0]
    assert pool.dichotomous.a.tolist() == [1.0, 1.5, 0.7, 1.1, 1.0]
    assert pool.dichotomous.c.tolist() == [0.0, 0.0, 0.2, 0.1, 0.0]
    assert pool.dichotomous.d.tolist() == [1.0, 1.0, 1.0, 0.9, 1.0]
    assert pool.cut_scores[0] == 0.5
    assert np.isnan(pool.cut_scores[1])
    assert pool.n_categories.tolist() == [2] * 5


def test_mixed_pool_scatters_families_back_in_order() -> None:
    pool = mixed_pool()
    assert pool.n_categories.tolist() == [2, 4, 2, 3, 2]
    assert pool.graded_index.tolist() == [1, 4]
    assert pool.partial_index.tolist() == [3]
    theta = np.linspace(-3, 3, 7)
    probs = pool.probabilities(theta)
    assert probs.shape == (5, 4, 7)
    assert probs.sum(axis=1) == pytest.approx(np.ones((5, 7)))
    assert np.all(probs[0, 2:] == 0)  # dichotomous items have 2 categories
    p, _, _ = pool.derivatives(np.array([3, 0]), theta)
    assert p[0] == pytest.approx(probs[3])
    assert p[1] == pytest.approx(probs[0])
    info = pool.information(theta)
    assert info[1] == pytest.approx(pool.graded.information(theta)[0])
    one = pool.response_probabilities(1, 0.4)
    assert one == pytest.approx(pool.probabilities(np.array([0.4]))[1, :4, 0].tolist())
    assert pool.response_probabilities(0, 0.4) == pytest.approx(
        pool.probabilities(np.array([0.4]))[0, :2, 0].tolist()
    )


def test_pool_refusals() -> None:
    with pytest.raises(PoolError, match="has no items"):
        compile_pool(make_bank([]))
    with pytest.raises(PoolError, match="no operational items"):
        compile_pool(make_bank([make_item("a", TwoPL(a=1, b=0), status="pretest")]))
    with pytest.raises(PoolError, match='no operational item measures competency "c2"'):
        compile_pool(make_bank([make_item("a", TwoPL(a=1, b=0))], ("c1", "c2")))


def test_polytomous_location_is_the_mean_threshold() -> None:
    pool = compile_pool(
        make_bank(
            [
                make_item("g", Graded(a=1.0, thresholds=(-1.0, 0.0, 2.0))),
                make_item("p", PartialCredit(a=1.0, thresholds=(0.5, 1.5))),
            ]
        )
    )
    assert pool.location.tolist() == pytest.approx([1 / 3, 1.0])


def test_the_stored_identity_binds_sessions_whatever_the_content_hash() -> None:
    """The service compiles a stored version under its database key: a session started on
    it keeps running after the content-hash rule or the model's defaults change."""
    bank = read_bank(sample_bank_path())
    legacy = compile_pool(bank, bank_hash="stored-key")
    assert legacy.bank_hash == "stored-key"
    assert compile_pool(bank).bank_hash == content_hash(bank)
    session = Session(legacy, Policy())
    state = session.start(1)
    assert state.bank == "stored-key"
    step = session.next_item(state)
    assert step is not None
