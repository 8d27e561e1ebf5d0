"""Item families: probabilities agree with the engine's kernels, derivatives with numbers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calibration.models import MODELS, Family, ModelName
from calibration.priors import DEFAULT_PRIORS, BetaPrior, LogNormalPrior, Priors
from engine.pool import compile_pool
from engine.synthetic import synthetic_bank

THETA = np.linspace(-5, 5, 23)


def family_for(model: ModelName, categories: int = 4, priors: Priors = DEFAULT_PRIORS) -> Family:
    return Family(
        model, 2 if model in ("rasch", "1pl", "2pl", "3pl", "4pl") else categories, priors
    )


@st.composite
def parameters(draw: st.DrawFn, model: ModelName) -> np.ndarray:
    fam = family_for(model)
    n = draw(st.integers(min_value=1, max_value=4))
    floats = st.floats(min_value=-2.5, max_value=2.5, allow_nan=False)
    x = np.array([[draw(floats) for _ in range(fam.n_params)] for _ in range(n)])
    x[:, 0] = np.abs(x[:, 0]) + 0.2  # positive slopes
    return fam.clamp(x)


@pytest.mark.parametrize("model", MODELS)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_category_probabilities_sum_to_one_and_derivatives_are_exact(
    model: ModelName, data: st.DataObject
) -> None:
    fam = family_for(model)
    xi = data.draw(parameters(model))
    p, dp = fam.jacobian(xi, THETA)
    assert np.all(p >= 0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(dp.sum(axis=1), 0.0, atol=1e-10)
    for k in np.flatnonzero(fam.free):
        h = 1e-6
        plus, minus = xi.copy(), xi.copy()
        plus[:, k] += h
        minus[:, k] -= h
        numeric = (fam.probabilities(plus, THETA) - fam.probabilities(minus, THETA)) / (2 * h)
        np.testing.assert_allclose(dp[..., k], numeric, atol=1e-7)


@pytest.mark.parametrize("model", ["2pl", "3pl", "4pl", "grm", "gpcm"])
def test_probabilities_equal_the_engine_kernels_after_conversion(model: ModelName) -> None:
    bank = synthetic_bank(15, model, 1, seed=5)  # type: ignore[arg-type]
    pool = compile_pool(bank)
    fam = family_for(model)
    xi = np.array([fam.from_bank(item.irt) for item in bank.items])
    ours = fam.probabilities(xi, THETA)
    engine, _, _ = pool.derivatives(np.arange(15), THETA)
    np.testing.assert_allclose(ours, engine[:, : ours.shape[1]], atol=1e-12)
    # and back: internal -> bank form -> internal
    for row, item in zip(xi, bank.items, strict=True):
        back = fam.to_bank(fam.irt_vector(row[None])[0])
        np.testing.assert_allclose(back.a, item.irt.a)
        converted = fam.from_bank(back)
        assert converted is not None
        np.testing.assert_allclose(converted, row, atol=1e-10)


def test_graded_intercepts_stay_ordered_for_any_internal_values() -> None:
    fam = family_for("grm", 5)
    rng = np.random.default_rng(0)
    xi = rng.normal(scale=3.0, size=(50, 5))
    d = fam.intercepts(xi)
    assert np.all(np.diff(d, axis=1) < 0)


def test_small_graded_probabilities_keep_their_precision() -> None:
    fam = family_for("grm", 3)
    xi = np.array([[2.0, 3.0, np.log(0.5)]])  # d = 3.0, 2.5
    p = fam.probabilities(xi, np.array([30.0]))
    # P(X = 1) = sigma(63) - sigma(62.5): about 1.4e-27 * (e^0.5 - 1), lost by plain differencing
    exact = np.exp(-62.5) - np.exp(-63.0)
    assert p[0, 1, 0] == pytest.approx(exact, rel=1e-9)


@settings(max_examples=30, deadline=None)
@given(
    st.floats(min_value=-4, max_value=4),
    st.floats(min_value=1.5, max_value=20),
    st.floats(min_value=1.5, max_value=20),
)
def test_prior_gradients_are_exact(value: float, alpha: float, beta: float) -> None:
    priors = Priors(c=BetaPrior(alpha=alpha, beta=beta), log_a=LogNormalPrior(mean=0.1, sd=0.6))
    fam = Family("3pl", 2, priors)
    xi = np.array([[abs(value) + 0.3, value, value / 2, 0.0]])
    grad, hess = fam.prior_gradient_hessian(xi)
    for k in (0, 2):
        h = 1e-6
        plus, minus = xi.copy(), xi.copy()
        plus[0, k] += h
        minus[0, k] -= h
        numeric = (fam.log_prior(plus) - fam.log_prior(minus))[0] / (2 * h)
        assert grad[0, k] == pytest.approx(numeric, rel=1e-5, abs=1e-6)
        g_plus, _ = fam.prior_gradient_hessian(plus)
        g_minus, _ = fam.prior_gradient_hessian(minus)
        assert hess[0, k, k] == pytest.approx(
            (g_plus[0, k] - g_minus[0, k]) / (2 * h), rel=1e-4, abs=1e-5
        )


def test_beta_prior_is_bilogs_default_centred_on_a_five_option_guess() -> None:
    prior = DEFAULT_PRIORS.c
    assert prior is not None
    assert (prior.alpha, prior.beta) == (5.0, 17.0)
    assert prior.mean == pytest.approx(20 * 0.2 / 22 + 1 / 22)
    # integrates to one
    grid = np.linspace(1e-6, 1 - 1e-6, 200_001)
    assert np.trapezoid(np.exp(prior.log_density(grid)), grid) == pytest.approx(1.0, abs=1e-6)
