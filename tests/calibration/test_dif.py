"""DIF: Mantel-Haenszel by hand and against R, groups, matching, the LR test of two groups."""

from __future__ import annotations

import csv
import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calibration.data import ResponseData, from_array, read_long, read_wide
from calibration.dif import dif_groups, mantel_haenszel_dif
from calibration.dif_lr import likelihood_ratio_dif
from calibration.dif_report import dif_rows, render_dif_section
from calibration.errors import CalibrationError, ResponseDataError
from calibration.mantel_haenszel import ets_category, mantel, mantel_haenszel
from engine.pool import compile_pool
from engine.synthetic import synthetic_bank

HERE = Path(__file__).parent / "data" / "dif"
# the 2 x 2 x 4 table of make_golden.R: (A ref right, B ref wrong, C focal right, D focal wrong)
A = np.array([30.0, 25, 12, 40])
B = np.array([20.0, 18, 8, 30])
C = np.array([10.0, 25, 30, 5])
D = np.array([15.0, 30, 35, 12])


def read_golden(name: str) -> list[dict[str, str]]:
    with (HERE / name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_mantel_haenszel_by_hand_on_a_small_table() -> None:
    """alpha_MH, chi2 with continuity correction and delta, stratum by stratum on paper."""
    alpha_top = alpha_bottom = sum_a = sum_e = sum_v = 0.0
    for a, b, c, d in zip(A, B, C, D, strict=True):
        t = a + b + c + d
        alpha_top += a * d / t
        alpha_bottom += b * c / t
        sum_a += a
        sum_e += (a + b) * (a + c) / t
        sum_v += (a + b) * (c + d) * (a + c) * (b + d) / (t * t * (t - 1))
    alpha = alpha_top / alpha_bottom
    chi2 = (abs(sum_a - sum_e) - 0.5) ** 2 / sum_v
    test = mantel_haenszel(A, B, C, D)
    assert test.alpha == pytest.approx(alpha, rel=1e-12)
    assert test.chi2 == pytest.approx(chi2, rel=1e-12)
    assert test.delta == pytest.approx(-2.35 * math.log(alpha), rel=1e-12)
    assert test.strata == 4
    # the R golden for the same table (stats::mantelhaen.test, make_golden.R)
    (golden,) = read_golden("table_golden.csv")
    assert test.alpha == pytest.approx(float(golden["alpha"]), rel=1e-10)
    assert test.chi2 == pytest.approx(float(golden["chi2"]), rel=1e-10)
    assert test.p_value == pytest.approx(float(golden["p"]), rel=1e-8)
    assert test.se_delta == pytest.approx(2.35 * float(golden["se_log"]), rel=1e-8)


def test_every_item_of_a_data_set_agrees_with_r() -> None:
    data = read_wide(HERE / "responses.csv", item_ids=[f"i{k}" for k in range(1, 9)])
    groups = dif_groups(data, "group", focal="F", reference="R")
    analysis = mantel_haenszel_dif(data, groups, matching="total")
    golden = {row["item_id"]: row for row in read_golden("items_golden.csv")}
    for item in analysis.items:
        row = golden[item.item_id]
        assert item.alpha_mh == pytest.approx(float(row["alpha"]), rel=1e-10)
        assert item.chi2 == pytest.approx(float(row["chi2"]), rel=1e-10)
        assert item.p_value == pytest.approx(float(row["p"]), rel=1e-8)
        assert item.se_delta == pytest.approx(2.35 * float(row["se_log"]), rel=1e-8)
    by_id = {i.item_id: i for i in analysis.items}
    assert by_id["i6"].favours == "focal" and by_id["i6"].category in ("B", "C")
    assert analysis.matching == "total" and analysis.n_focal + analysis.n_reference == 600


@pytest.mark.parametrize(
    ("delta", "se", "p", "expected"),
    [
        (-0.9, 0.1, 0.001, "A"),  # |delta| < 1
        (-2.0, 0.8, 0.20, "A"),  # not significant
        (-1.2, 0.1, 0.001, "B"),  # between 1 and 1.5
        (-1.6, 0.5, 0.001, "B"),  # >= 1.5 but not significantly above 1 (0.6/0.5 < 1.645)
        (1.6, 0.3, 0.001, "C"),  # (1.6 - 1) / 0.3 = 2 > 1.645
        (-2.5, 0.5, 0.0001, "C"),
    ],
)
def test_ets_categories(delta: float, se: float, p: float, expected: str) -> None:
    assert ets_category(delta, se, p) == expected


def test_mantel_for_polytomous_items_by_hand() -> None:
    """Mantel's chi-square and SMD on two strata, with the formulas written out."""
    scores = np.array([0, 1, 2, 2, 1, 0, 2, 1, 2, 2, 0, 1])
    focal = np.array([0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1], dtype=bool)
    stratum = np.array([0] * 6 + [1] * 6)
    f_sum = e_sum = v_sum = 0.0
    smd_num = 0.0
    for k in (0, 1):
        y = scores[stratum == k].astype(float)
        g = focal[stratum == k]
        t, n_f = y.size, g.sum()
        n_r = t - n_f
        f_sum += y[g].sum()
        e_sum += n_f / t * y.sum()
        v_sum += n_r * n_f * (t * (y**2).sum() - y.sum() ** 2) / (t * t * (t - 1))
        smd_num += n_f * (y[g].mean() - y[~g].mean())
    result = mantel(scores, focal, stratum)
    assert result.chi2 == pytest.approx((f_sum - e_sum) ** 2 / v_sum)
    assert result.smd == pytest.approx(smd_num / focal.sum())
    assert result.smd_ratio == pytest.approx(result.smd / scores.std(ddof=1))


@settings(max_examples=80, deadline=None)
@given(
    tables=st.lists(
        st.tuples(*(st.integers(0, 30) for _ in range(4))), min_size=1, max_size=8
    ).filter(lambda rows: sum(r[0] * r[3] for r in rows) > 0 and sum(r[1] * r[2] for r in rows) > 0)
)
def test_swapping_the_groups_inverts_the_odds_ratio(tables: list[tuple[int, ...]]) -> None:
    a, b, c, d = (np.array(col, dtype=float) for col in zip(*tables, strict=True))
    forward = mantel_haenszel(a, b, c, d)
    swapped = mantel_haenszel(c, d, a, b)
    assert swapped.alpha == pytest.approx(1 / forward.alpha, rel=1e-9)
    assert swapped.delta == pytest.approx(-forward.delta, abs=1e-9)
    assert swapped.se_delta == pytest.approx(forward.se_delta, rel=1e-9)
    if math.isfinite(forward.chi2):
        assert swapped.chi2 == pytest.approx(forward.chi2, rel=1e-9)
    # relabelling right / wrong inverts it too
    assert mantel_haenszel(b, a, d, c).alpha == pytest.approx(1 / forward.alpha, rel=1e-9)


def test_degenerate_tables() -> None:
    empty = mantel_haenszel(np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0))
    assert empty.strata == 0 and math.isnan(empty.chi2) and math.isnan(empty.alpha)
    # one group per stratum: nothing to compare
    lonely = mantel_haenszel(
        np.array([5.0, 0]), np.array([3.0, 0]), np.array([0.0, 4]), np.array([0.0, 2])
    )
    assert lonely.strata == 0 and math.isnan(lonely.chi2)
    # every focal member right: the odds ratio is 0 or infinite, delta undefined
    perfect = mantel_haenszel(
        np.array([5.0, 6]), np.array([5.0, 4]), np.array([4.0, 6]), np.array([0.0, 0])
    )
    assert math.isnan(perfect.delta) and perfect.category in ("A", "B")


# --------------------------------------------------------------------------- groups


def with_groups(data: ResponseData, values: list[str], column: str = "group") -> ResponseData:
    return dataclasses.replace(data, covariates={column: tuple(values)})


def simulated(n: int = 400, seed: int = 1, shift: float = 0.0) -> tuple[ResponseData, np.ndarray]:
    rng = np.random.default_rng(seed)
    focal = rng.random(n) < 0.5
    theta = rng.standard_normal(n) - 0.4 * focal
    b = np.linspace(-1.5, 1.5, 10)
    diff = np.tile(b, (n, 1))
    diff[focal, 0] += shift
    x = (rng.random((n, 10)) < 1 / (1 + np.exp(-1.2 * (theta[:, None] - diff)))).astype(float)
    data = from_array(x, item_ids=[f"s{k:02d}" for k in range(1, 11)])
    return with_groups(data, ["F" if f else "R" for f in focal]), focal


def test_groups_from_two_values_take_the_smaller_as_focal() -> None:
    data, focal = simulated()
    groups = dif_groups(data, "group")
    smaller = "F" if focal.sum() < (~focal).sum() else "R"
    assert groups.focal == smaller
    assert groups.n_focal + groups.n_reference == 400


@pytest.mark.parametrize(
    ("values", "kwargs", "message"),
    [
        (["x"] * 400, {}, 'column "group" has the single value "x"'),
        (
            ["a", "b", "c", "d"] * 100,
            {},
            'has 4 values ("a" (100), "b" (100), "c" (100), "d" (100)): name the focal',
        ),
        (
            ["a"] * 390 + ["b"] * 10,
            {},
            'the focal group "b" has 10 persons; DIF analysis needs at least 50',
        ),
        (["a", "b"] * 200, {"focal": "z"}, '--focal "z" is not a value of column "group"'),
        ([""] * 400, {}, 'column "group" is empty for every person'),
    ],
)
def test_bad_group_columns_are_refused(
    values: list[str], kwargs: dict[str, str], message: str
) -> None:
    data, _ = simulated()
    with pytest.raises(ResponseDataError) as caught:
        dif_groups(with_groups(data, values), "group", **kwargs)  # type: ignore[arg-type]
    assert message in str(caught.value)


def test_a_missing_column_names_the_columns_there_are() -> None:
    data, _ = simulated()
    with pytest.raises(ResponseDataError) as caught:
        dif_groups(data, "gender")
    assert 'line 1: no column "gender" in the data; its covariate columns are: group' in str(
        caught.value
    )


def test_a_column_that_varies_within_a_person_is_located(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_text(
        "person_id,item_id,response,group\np1,i1,1,a\np1,i2,0,b\np2,i1,0,b\np2,i2,1,b\n",
        encoding="utf-8",
    )
    with pytest.raises(ResponseDataError) as caught:
        dif_groups(read_long(path), "group", min_group=1)
    assert f"{path}: line 3: " in str(caught.value)
    assert "different values for the same person" in str(caught.value)


def test_more_than_two_values_with_a_focal_value() -> None:
    data, _ = simulated()
    values = ["a", "b", "c", "d"] * 100
    groups = dif_groups(with_groups(data, values), "group", focal="d")
    assert groups.n_focal == 100 and groups.n_reference == 300 and groups.reference == "not d"
    only = dif_groups(with_groups(data, values), "group", focal="d", reference="a")
    assert only.n_reference == 100 and (only.member == -1).sum() == 200


# --------------------------------------------------------------------------- the procedure


def test_uniform_dif_is_found_and_purification_keeps_it() -> None:
    data, _ = simulated(n=3000, seed=4, shift=1.0)
    groups = dif_groups(data, "group", focal="F")
    plain = mantel_haenszel_dif(data, groups)
    first = plain.items[0]
    assert first.category == "C" and first.favours == "reference" and first.delta_mh is not None
    assert first.delta_mh < -1.5
    others = [i.category for i in plain.items[1:]]
    assert others.count("A") >= 7  # the DIF-free items: mostly negligible
    purified = mantel_haenszel_dif(data, groups, purify=True)
    assert purified.purified and "s01" in purified.criterion_removed
    assert purified.items[0].category == "C"
    rest = mantel_haenszel_dif(data, groups, matching="rest")
    assert rest.items[0].category == "C"


def test_incomplete_data_need_theta_matching_and_a_bank() -> None:
    bank = synthetic_bank(10, "2pl", 1, seed=2)
    pool = compile_pool(bank)
    rng = np.random.default_rng(5)
    n = 2000
    focal = rng.random(n) < 0.5
    theta = rng.standard_normal(n)
    p = pool.probabilities(theta)[:, 1, :].T  # (n, items)
    x = (rng.random((n, 10)) < p).astype(float)
    # item s01 harder for the focal group
    p_dif = pool.probabilities(theta - 1.0)[0, 1, :]
    x[focal, 0] = (rng.random(focal.sum()) < p_dif[focal]).astype(float)
    x[rng.random(x.shape) < 0.3] = np.nan  # 30 % not administered
    data = with_groups(
        from_array(x, item_ids=[i.id for i in bank.items]), ["F" if f else "R" for f in focal]
    )
    groups = dif_groups(data, "group", focal="F")
    with pytest.raises(ResponseDataError, match="total score matching needs every person"):
        mantel_haenszel_dif(data, groups, matching="total")
    with pytest.raises(ResponseDataError, match="theta matching needs the bank"):
        mantel_haenszel_dif(data, groups)
    analysis = mantel_haenszel_dif(data, groups, pool=pool)
    assert analysis.matching == "theta"
    assert analysis.items[0].category == "C" and analysis.items[0].favours == "reference"
    assert [i.category for i in analysis.items[1:]].count("A") >= 7


def test_polytomous_items_get_aa_bb_cc() -> None:
    bank = synthetic_bank(6, "gpcm", 1, seed=3, categories=3)
    pool = compile_pool(bank)
    rng = np.random.default_rng(8)
    n = 2400
    focal = rng.random(n) < 0.5
    theta = rng.standard_normal(n)
    p = pool.probabilities(theta)  # (items, C, n)
    u = rng.random((n, 6))
    x = (u[:, :, None] > np.cumsum(p, axis=1).transpose(2, 0, 1)[:, :, :-1]).sum(axis=2)
    x = x.astype(float)
    p0 = pool.probabilities(theta[focal] - 1.2)[0]  # item 1 much harder for the focal group
    u0 = rng.random(focal.sum())
    x[focal, 0] = (u0[:, None] > np.cumsum(p0, axis=0).T[:, :-1]).sum(axis=1)
    data = with_groups(
        from_array(x, item_ids=[i.id for i in bank.items]), ["F" if f else "R" for f in focal]
    )
    analysis = mantel_haenszel_dif(data, dif_groups(data, "group", focal="F"))
    first = analysis.items[0]
    assert first.polytomous and first.category == "CC" and first.favours == "reference"
    assert first.smd_ratio is not None and first.smd_ratio < -0.25
    assert [i.category for i in analysis.items[1:]].count("AA") >= 4


# --------------------------------------------------------------------------- LR test


def brute_loglik(
    x: np.ndarray, focal: np.ndarray, a: np.ndarray, b: np.ndarray, mu: float, sd: float
) -> float:
    """Two-group 2PL marginal log-likelihood written out with numpy alone.

    The model's quadrature: 61 nodes on [-6, 6], normal weights normalised to 1.
    """
    nodes = np.linspace(-6, 6, 61)
    total = 0.0
    for group, (m, s) in ((False, (0.0, 1.0)), (True, (mu, sd))):
        w = np.exp(-0.5 * ((nodes - m) / s) ** 2)
        w /= w.sum()
        rows = x[focal == group]
        p = 1 / (1 + np.exp(-a[:, None] * (nodes[None, :] - b[:, None])))  # (J, Q)
        like = np.exp(rows @ np.log(p) + (1 - rows) @ np.log(1 - p))  # (n, Q)
        total += float(np.log(like @ w).sum())
    return total


def test_the_two_group_fit_maximises_the_two_group_likelihood() -> None:
    """The compact estimates are a stationary point of an independently written likelihood."""
    data, _ = simulated(n=1200, seed=9)
    groups = dif_groups(data, "group", focal="F")
    result = likelihood_ratio_dif(data, groups, "2pl", items=["s01"], tol=1e-9)
    x = data.responses.astype(float)
    is_focal = groups.member == 1
    a = np.array([result.compact[i][0] for i in data.item_ids])
    b = np.array([result.compact[i][1] for i in data.item_ids])
    mu, sd = result.focal_mean, result.focal_sd
    assert brute_loglik(x, is_focal, a, b, mu, sd) == pytest.approx(result.loglik_compact, abs=1e-6)
    assert mu == pytest.approx(-0.4, abs=0.12)  # the simulated impact
    h = 1e-4
    vector = np.concatenate((a, b, [mu, sd]))

    def f(v: np.ndarray) -> float:
        return brute_loglik(x, is_focal, v[:10], v[10:20], float(v[20]), float(v[21]))

    gradient = [
        (f(vector + h * np.eye(22)[k]) - f(vector - h * np.eye(22)[k])) / (2 * h) for k in range(22)
    ]
    assert np.abs(gradient).max() < 0.05  # at a maximum the score vanishes (n = 1200)
    item = result.items[0]
    assert item.names[:2] == ("a", "b")
    assert abs(item.focal[1] - item.reference[1]) < 0.35  # no DIF simulated


def test_lr_statistic_detects_dif_and_is_small_without_it() -> None:
    data, _ = simulated(n=2000, seed=12, shift=0.8)
    groups = dif_groups(data, "group", focal="F")
    result = likelihood_ratio_dif(data, groups, "2pl")
    by_id = {i.item_id: i for i in result.items}
    assert by_id["s01"].df == 2 and by_id["s01"].p_value < 1e-4
    assert by_id["s01"].focal[1] - by_id["s01"].reference[1] == pytest.approx(0.8, abs=0.3)
    clean = [i.g2 for i in result.items[1:]]
    assert float(np.mean(clean)) < 4.0  # chi2(2) has mean 2
    assert sum(i.p_value < 0.01 for i in result.items[1:]) <= 1
    rasch = likelihood_ratio_dif(data, groups, "1pl", items=["s01", "s02"])
    assert [i.df for i in rasch.items] == [1, 1]  # the 1PL's common slope is shared


def test_the_html_section_and_csv_rows() -> None:
    data, _ = simulated(n=2000, seed=12, shift=0.8)
    data = dataclasses.replace(data, covariates={"<lang>": data.covariates["group"]})
    groups = dif_groups(data, "<lang>", focal="F")
    mh = mantel_haenszel_dif(data, groups)
    lr = likelihood_ratio_dif(data, groups, "2pl", items=["s01", "s02"], min_answers=1200)
    html = render_dif_section(mh, lr)
    assert html.startswith('<section class="dif">') and html.endswith("</section>")
    assert "&lt;lang&gt;" in html and "<lang>" not in html
    assert "< 0.001" not in html  # escaped as text
    assert "&lt; 0.001" in html
    assert html.index("<td>s01</td>") < html.index("<td>s02</td>")  # C items first
    assert "not tested: " in html  # fewer than 1200 answers per group
    assert "1 of 10 items show moderate or large DIF" in html
    rows = dif_rows(mh, lr)
    assert [r["item_id"] for r in rows][:2] == ["s01", "s02"]
    assert rows[0]["ets"] == "C" and rows[0]["lr_g2"] is None
    assert "needs 1200 each" in str(rows[0]["lr_note"])
    assert render_dif_section(mh).count("<tr") == 11  # header + 10 items, no LR columns


@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_swapping_focal_and_reference_leaves_the_lr_statistic(seed: int) -> None:
    """The two-group model is the same model whichever group fixes the scale."""
    data, _ = simulated(n=1000, seed=seed, shift=0.5)
    forward = likelihood_ratio_dif(
        data, dif_groups(data, "group", focal="F"), "2pl", items=["s01"], tol=1e-8
    )
    backward = likelihood_ratio_dif(
        data, dif_groups(data, "group", focal="R"), "2pl", items=["s01"], tol=1e-8
    )
    assert backward.items[0].g2 == pytest.approx(forward.items[0].g2, abs=2e-3)
    assert backward.loglik_compact == pytest.approx(forward.loglik_compact, abs=2e-3)
    # the focal population of one is the reference population of the other
    assert backward.focal_mean == pytest.approx(-forward.focal_mean / forward.focal_sd, abs=0.02)


def test_an_item_everyone_got_right_cannot_be_tested() -> None:
    data, _ = simulated(n=600, seed=2)
    responses = data.responses.copy()
    responses[:, 4] = 1
    data = dataclasses.replace(data, responses=responses)
    groups = dif_groups(data, "group", focal="F")
    result = likelihood_ratio_dif(data, groups, "2pl", min_answers=10)
    assert "s05" in result.excluded and "s05" not in {i.item_id for i in result.items}
    with pytest.raises(CalibrationError, match='item "s05" cannot be tested'):
        likelihood_ratio_dif(data, groups, "2pl", items=["s05"])
    mh = mantel_haenszel_dif(data, groups)
    constant = next(i for i in mh.items if i.item_id == "s05")
    assert constant.category == "A" and constant.chi2 is None  # no variance: nothing to test
