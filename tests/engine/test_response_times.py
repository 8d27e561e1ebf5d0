"""The lognormal response-time model in a session: speed, l_t, NT10 and reading time."""

from __future__ import annotations

import math

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from engine.pool import compile_pool
from engine.response_times import ItemTiming, compile_timing, speed_fit
from engine.synthetic import synthetic_bank
from item_banks import decode_bank
from item_banks.errors import BankValidationError
from item_banks.model import Bank, TimeParameters
from item_banks.native import content_hash, encode_bank
from item_banks.reading import count_words, reading_words


def timed_bank(n: int = 40, seed: int = 1) -> Bank:
    """A synthetic 2PL bank whose items carry lognormal time parameters."""
    bank = synthetic_bank(n, "2pl", 1, seed=seed)
    rng = np.random.default_rng(seed)
    items = tuple(
        msgspec.structs.replace(
            item,
            time=TimeParameters(
                alpha=round(float(rng.uniform(1.5, 2.5)), 3),
                beta=round(float(rng.normal(3.5, 0.4)), 3),
            ),
        )
        for item in bank.items
    )
    return msgspec.structs.replace(bank, items=items)


# --------------------------------------------------------------------------- schema


def test_time_parameters_are_optional_and_leave_old_banks_unchanged() -> None:
    bank = synthetic_bank(5, "2pl", 1, seed=1)
    assert b"time" not in encode_bank(bank, "json")
    timed = msgspec.structs.replace(
        bank,
        items=(
            msgspec.structs.replace(bank.items[0], time=TimeParameters(alpha=2.0, beta=3.0)),
            *bank.items[1:],
        ),
    )
    assert content_hash(timed) != content_hash(bank)
    again = decode_bank(encode_bank(timed, "yaml"), source="t.yaml", fmt="yaml")
    assert again.items[0].time == TimeParameters(alpha=2.0, beta=3.0)


def test_bad_time_parameters_are_located() -> None:
    bank = synthetic_bank(3, "2pl", 1, seed=1)
    raw = msgspec.to_builtins(bank)
    raw["items"][1]["time"] = {"alpha": -1.0, "beta": 3.0}
    with pytest.raises(BankValidationError) as caught:
        decode_bank(msgspec.json.encode(raw), source="b.json", fmt="json")
    text = str(caught.value)
    assert "b.json" in text and "s2" in text and "time.alpha" in text


# --------------------------------------------------------------------------- reading


def test_word_counts() -> None:
    assert count_words("") == 0
    assert count_words("Which of these is a well-known Python idiom?") == 8
    assert count_words("Don't `x = [i for i in y]`; **bold** 3.14") == 10
    bank = synthetic_bank(1, "2pl", 1, seed=1)
    # "Synthetic item 1." + four options "Option A".."Option D"
    assert reading_words(bank.items[0]) == 3 + 4 * 2


# --------------------------------------------------------------------------- speed and l_t


def test_speed_and_lt_by_hand() -> None:
    alpha = np.array([2.0, 1.0, 1.5])
    beta = np.array([3.0, 4.0, 3.5])
    seconds = np.array([15.0, 70.0, 20.0])
    fit = speed_fit(alpha, beta, seconds, np.zeros(3, dtype=np.intp), 1)
    y = [math.log(s) for s in seconds]
    w = [a * a for a in alpha]
    tau = sum(wi * (b - yi) for wi, b, yi in zip(w, beta, y, strict=True)) / sum(w)
    z = [a * (yi - b + tau) for a, yi, b in zip(alpha, y, beta, strict=True)]
    assert fit.tau[0] == pytest.approx(tau)
    assert fit.tau_se[0] == pytest.approx(1 / math.sqrt(sum(w)))
    np.testing.assert_allclose(fit.residuals, z)
    assert fit.lt[0] == pytest.approx(sum(v * v for v in z))
    assert fit.df[0] == 2
    assert fit.p_value[0] == pytest.approx(math.exp(-fit.lt[0] / 2))  # chi2 with 2 df


def test_lt_is_chi_square_with_n_minus_one_df_under_the_model() -> None:
    """Simulated learners (tau ~ N(0, 0.3^2)) on 20 timed items: l_t ~ chi2(19) exactly."""
    rng = np.random.default_rng(3)
    n_people, n = 4000, 20
    alpha = rng.uniform(1.2, 2.5, n)
    beta = rng.normal(3.5, 0.5, n)
    tau = rng.normal(0, 0.3, n_people)
    log_t = beta[None, :] - tau[:, None] + rng.standard_normal((n_people, n)) / alpha
    group = np.repeat(np.arange(n_people), n)
    fit = speed_fit(
        np.tile(alpha, n_people), np.tile(beta, n_people), np.exp(log_t).ravel(), group, n_people
    )
    assert stats.kstest(fit.lt, stats.chi2(19).cdf).pvalue > 0.01
    assert np.mean(fit.p_value < 0.01) == pytest.approx(0.01, abs=0.005)
    # speed recovered: the SE is the sampling SD of the estimate
    err = (fit.tau - tau) / fit.tau_se
    assert abs(err.mean()) < 0.06 and 0.95 < err.std() < 1.05


def test_preknowledge_times_raise_lt() -> None:
    """Five of 20 items answered four times faster than the learner's pace: l_t is large."""
    rng = np.random.default_rng(4)
    alpha = np.full(20, 2.0)
    beta = np.full(20, 3.5)
    log_t = beta + rng.standard_normal(20) / alpha
    log_t[:5] -= math.log(4.0)
    fit = speed_fit(alpha, beta, np.exp(log_t), np.zeros(20, dtype=np.intp), 1)
    assert fit.p_value[0] < 0.001
    assert fit.residuals[:5].mean() < -1.5 < fit.residuals[5:].mean()


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(2, 25),
    shift=st.floats(-3, 3),
)
def test_a_uniformly_faster_learner_only_changes_speed(seed: int, n: int, shift: float) -> None:
    """Scaling every time by e^-c raises tau by c and leaves the residuals and l_t alone."""
    rng = np.random.default_rng(seed)
    alpha = rng.uniform(0.5, 3.0, n)
    beta = rng.normal(3.0, 1.0, n)
    seconds = np.exp(beta + rng.standard_normal(n) / alpha)
    group = np.zeros(n, dtype=np.intp)
    a = speed_fit(alpha, beta, seconds, group, 1)
    b = speed_fit(alpha, beta, seconds * math.exp(-shift), group, 1)
    assert b.tau[0] == pytest.approx(a.tau[0] + shift, abs=1e-9)
    np.testing.assert_allclose(b.residuals, a.residuals, atol=1e-9)
    assert b.lt[0] == pytest.approx(a.lt[0], abs=1e-9)
    # the weighted residuals sum to zero at the ML speed
    assert float((alpha * a.residuals).sum()) == pytest.approx(0.0, abs=1e-9)


def test_untimed_answers_and_items_are_left_out() -> None:
    alpha = np.array([2.0, np.nan, 1.0, 1.0])
    beta = np.array([3.0, np.nan, 3.0, 3.0])
    seconds = np.array([20.0, 5.0, np.nan, 0.0])
    fit = speed_fit(alpha, beta, seconds, np.zeros(4, dtype=np.intp), 1)
    assert fit.n_items[0] == 1
    assert np.isnan(fit.lt[0]) and np.isnan(fit.p_value[0])  # one answer: no fit
    assert fit.tau[0] == pytest.approx(3.0 - math.log(20.0))
    assert np.isnan(fit.residuals[1:]).all()


def test_empty() -> None:
    fit = speed_fit(np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.intp), 1)
    assert fit.n_items[0] == 0 and np.isnan(fit.tau[0]) and np.isnan(fit.lt[0])


# --------------------------------------------------------------------------- thresholds


def test_nt10_threshold_and_reading_time() -> None:
    timing = ItemTiming(
        alpha=np.array([2.0, 2.0, np.nan]),
        beta=np.array([math.log(20.0), math.log(200.0), np.nan]),
        words=np.array([50, 10, 25]),
    )
    nt = timing.rapid_threshold()
    assert nt[0] == pytest.approx(0.1 * 20.0 * math.exp(1 / 8))  # 10 % of the mean time
    assert nt[1] == 10.0  # capped at 10 s
    assert np.isnan(nt[2])
    np.testing.assert_allclose(timing.reading_seconds(500.0), [6.0, 1.2, 3.0])


def test_compile_timing_follows_pool_order() -> None:
    bank = timed_bank(10)
    pool = compile_pool(bank)
    timing = compile_timing(bank, pool)
    for item in bank.items:
        k = pool.index[item.id]
        assert item.time is not None
        assert timing.alpha[k] == item.time.alpha and timing.beta[k] == item.time.beta
        assert timing.words[k] == reading_words(item)
    assert timing.timed.all()
