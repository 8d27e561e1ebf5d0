"""Item drift and compromise: CUSUM by hand, simulated drift found, stable items left alone."""

from __future__ import annotations

import math
from pathlib import Path

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calibration.drift import CusumLayout, _map_items, _residuals, item_drift
from calibration.drift_simulation import simulate_drift
from calibration.errors import ResponseDataError
from calibration.timed_data import TimedResponses, read_timed_long, timed_from_arrays
from engine.estimation import Grid
from engine.pool import compile_pool
from engine.synthetic import synthetic_bank
from item_banks.model import Bank, TimeParameters


def timed_bank(n: int = 30) -> Bank:
    bank = synthetic_bank(n, "2pl", 1, seed=5)
    return msgspec.structs.replace(
        bank,
        items=tuple(
            msgspec.structs.replace(i, time=TimeParameters(alpha=2.0, beta=3.5)) for i in bank.items
        ),
    )


def cusum_loop(values: list[float], k: float) -> tuple[float, int]:
    """Page's recursion written out: the maximum and where its run began."""
    c, best, start, best_start = 0.0, 0.0, 0, 0
    for t, v in enumerate(values):
        if c == 0.0:
            start = t
        c = max(0.0, c + v - k)
        if c > best:
            best, best_start = c, start
    return best, best_start


def test_cusum_by_hand() -> None:
    layout = CusumLayout(np.zeros(4, dtype=np.intp), 1)
    maxima, began = layout.maxima(np.array([1.0, -1.0, 2.0, 0.5]), 0.5)
    # increments 0.5, -1.5, 1.5, 0.0: the chart is 0.5, 0, 1.5, 1.5
    assert maxima[0] == pytest.approx(1.5)
    assert began[0] == 2


@settings(max_examples=100, deadline=None)
@given(
    values=st.lists(st.floats(-3, 3), min_size=1, max_size=40),
    seed=st.integers(0, 1000),
    k=st.floats(0.0, 1.0),
)
def test_vectorised_charts_equal_the_recursion(values: list[float], seed: int, k: float) -> None:
    rng = np.random.default_rng(seed)
    items = rng.integers(0, 3, len(values))
    layout = CusumLayout(items.astype(np.intp), 3)
    maxima, began = layout.maxima(np.array(values), k)
    for j in range(3):
        mine = [v for v, i in zip(values, items, strict=True) if i == j]
        best, _ = cusum_loop(mine, k)
        assert maxima[j] == pytest.approx(best, abs=1e-9)
        if best > 1e-9:
            # the run from `began` reaches the maximum (ties at zero make the start ambiguous)
            run = np.cumsum(np.array(mine[began[j] :]) - k)
            assert run.max() == pytest.approx(best, abs=1e-9)
            assert (run >= -1e-9).all() or run.argmax() < np.argmax(run < -1e-9)


def simulate_cat(
    bank: Bank, n: int, seed: int, *, shift: float = 0.0, faster: float = 0.0, item: int = 4
) -> TimedResponses:
    """n learners in time order, 15 of the 30 items each; drift from the midpoint on."""
    return simulate_drift(bank, n, seed, item=item, shift=shift, faster=faster)


def test_residuals_are_standardised_under_the_model() -> None:
    bank = timed_bank()
    pool = compile_pool(bank)
    data = simulate_cat(bank, 1500, seed=1)
    res = _residuals(data, pool, bank, _map_items(data, pool, bank), Grid.normal())
    z = (data.response - res.expected) / res.sd
    assert abs(z.mean()) < 0.03 and 0.95 < z.std() < 1.05
    assert abs(np.nanmean(res.time_z)) < 0.03 and 0.97 < np.nanstd(res.time_z) < 1.03


def test_an_item_that_became_easier_and_faster_is_flagged() -> None:
    bank = timed_bank()
    data = simulate_cat(bank, 2000, seed=2, shift=-1.0, faster=0.7)
    report = item_drift(data, bank, replicates=200)
    by_id = {i.item_id: i for i in report.items}
    drifted = by_id["s05"]
    assert {"easier", "faster"} <= set(drifted.flags)
    assert drifted.observed is not None and drifted.expected is not None
    assert drifted.observed > drifted.expected
    assert report.items[0].item_id == "s05" or "s05" in [i.item_id for i in report.flagged]
    # the change began near the midpoint (learner 1000, 16 h 40 min after the first)
    assert drifted.change_at is not None and drifted.change_at.startswith("2023-11-15T1")
    stable = [i for i in report.items if i.item_id != "s05"]
    # 29 items x 3 charts at 1 %: about one by chance; the drifted item also makes the others
    # look a little harder for the learners who met it (their estimates are higher)
    assert sum(1 for i in stable if i.flags) <= 5


def test_stable_items_are_mostly_not_flagged_and_the_p_values_are_calibrated() -> None:
    bank = timed_bank()
    shares: list[float] = []
    for seed in range(6):
        report = item_drift(simulate_cat(bank, 800, seed=30 + seed), bank, replicates=100)
        assert sum(1 for i in report.items if i.flags) <= 4
        shares.extend(
            p for i in report.items for p in (i.easier_p, i.harder_p, i.faster_p) if p is not None
        )
    values = np.array(shares)
    assert values.size == 6 * 30 * 3
    assert 0.01 <= float(np.mean(values < 0.05)) <= 0.10  # uniform under the model
    assert 0.4 <= float(np.mean(values < 0.5)) <= 0.6


def test_exposure_above_r_max_is_flagged_only_when_significant() -> None:
    bank = timed_bank()
    data = simulate_cat(bank, 600, seed=4)
    report = item_drift(data, bank, r_max=0.45, replicates=20)
    for item in report.items:
        share = item.persons_share
        assert ("overexposed" in item.flags) == (share > 0.45 and (item.exposure_p or 1) < 0.01)
    # every item is given to about half of the learners: at r_max 0.40 most are flagged
    strict = item_drift(data, bank, r_max=0.40, replicates=20)
    assert sum("overexposed" in i.flags for i in strict.items) >= 20
    assert all(i.exposure_p is None for i in item_drift(data, bank, replicates=5).items)


def test_without_times_the_time_chart_is_skipped() -> None:
    bank = timed_bank()
    data = simulate_cat(bank, 300, seed=5)
    data = timed_from_arrays(
        data.person,
        data.item,
        np.full(data.n_answers, np.nan),
        response=data.response,
        item_ids=data.item_ids,
    )
    report = item_drift(data, bank, replicates=20)
    assert all(i.faster_p is None for i in report.items)
    assert any("'faster' chart is not computed" in w for w in report.warnings)
    assert any(i.change_at is None or "line" in i.change_at for i in report.items)


def test_bad_input_is_located(tmp_path: Path) -> None:
    bank = timed_bank()
    path = tmp_path / "a.csv"
    path.write_text("person_id,item_id,seconds\np1,s01,3\n", encoding="utf-8")
    with pytest.raises(ResponseDataError, match="no scores"):
        item_drift(read_timed_long(path), bank)
    path.write_text("person_id,item_id,seconds,response\np1,s01,3,1\np1,zz,4,0\n", encoding="utf-8")
    with pytest.raises(ResponseDataError) as caught:
        item_drift(read_timed_long(path), bank)
    assert f'{path}: line 3: item "zz" is not a scored item of bank' in str(caught.value)
    path.write_text("person_id,item_id,seconds,response\np1,s01,3,2\n", encoding="utf-8")
    with pytest.raises(ResponseDataError) as caught:
        item_drift(read_timed_long(path), bank)
    assert 'line 2: response 2 is not a category of item "s01" (0..1)' in str(caught.value)


def test_one_answer_per_item_still_reports() -> None:
    bank = timed_bank(3)
    data = timed_from_arrays(
        np.array([0, 1, 2]),
        np.array([0, 1, 2]),
        np.array([20.0, 30.0, 40.0]),
        response=np.array([1, 0, 1]),
        item_ids=("s1", "s2", "s3"),
    )
    report = item_drift(data, bank, replicates=10)
    assert [i.answers for i in report.items] == [1, 1, 1]
    assert all(not i.flags for i in report.items)
    assert all(math.isfinite(i.easier_cusum) for i in report.items)
