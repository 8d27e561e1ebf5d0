"""The notebook API: inputs of every shape, its tables and figures, goldens, recovery, edges."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calibration import api
from calibration.data import from_array
from calibration.errors import CalibrationError, ResponseDataError
from calibration.frames import response_data
from calibration.mirt_tables import read_mod2values
from calibration.simulate import simulate_responses
from calibration.skeleton import skeleton_bank
from calibration.workflow import Method
from engine.pool import compile_pool
from item_banks.model import TwoPL
from tests.calibration.conftest import lsat7_data
from tests.calibration.test_golden_lsat7 import MIRT_A, MIRT_D
from tests.conftest import REPO

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture(scope="module")
def lsat7_frame() -> pd.DataFrame:
    data = lsat7_data()
    return pd.DataFrame(data.responses, columns=list(data.item_ids))


@pytest.fixture(scope="module")
def lsat7_fit(lsat7_frame: pd.DataFrame) -> api.Calibration:
    return api.fit(lsat7_frame, "2pl", source="LSAT7")


def test_coef_matches_mirts_published_lsat7_estimates(lsat7_fit: api.Calibration) -> None:
    coef = lsat7_fit.coef()
    assert list(coef.columns[:7]) == ["item", "scale", "model", "a", "b", "g", "u"]
    np.testing.assert_allclose(coef["a"], MIRT_A, atol=2e-3)
    np.testing.assert_allclose(coef["b"], -MIRT_D / MIRT_A, atol=3e-3)
    assert (coef["g"] == 0).all() and (coef["u"] == 1).all()
    slope_intercept = lsat7_fit.coef(irt_pars=False)
    np.testing.assert_allclose(slope_intercept["a1"], MIRT_A, atol=2e-3)
    np.testing.assert_allclose(slope_intercept["d"], MIRT_D, atol=2e-3)
    assert {"se_a", "se_b", "s_x2", "df", "p", "infit", "outfit"} <= set(coef.columns)
    assert (coef["status"] == "estimated").all()


def test_every_table(lsat7_fit: api.Calibration) -> None:
    fit = lsat7_fit
    model = fit.model_fit()
    assert model.loc[0, "loglik"] == pytest.approx(-2658.805, abs=5e-3)
    assert model.loc[0, "m2"] == pytest.approx(11.938, abs=0.05)
    items = fit.item_fit()
    assert list(items.columns) == [
        "item",
        "scale",
        "n",
        "s_x2",
        "df",
        "p",
        "rmsea",
        "infit",
        "outfit",
    ]
    assert (items["n"] == 1000).all()
    scores = fit.scores()
    assert len(scores) == 1000 and set(scores.columns) == {
        "person_id",
        "scale",
        "method",
        "theta",
        "se",
        "n_items",
    }
    assert scores["theta"].mean() == pytest.approx(0.0, abs=0.05)
    wle = fit.scores("wle")
    assert (wle["method"] == "wle").all() and wle["theta"].std() > scores["theta"].std()
    reliability = fit.reliability()
    assert 0.3 < float(reliability["marginal"].iloc[0]) < 0.6
    assert 0.3 < float(reliability["empirical"].iloc[0]) < 0.6
    info = fit.information(theta=[-1.0, 0.0, 1.0])
    assert list(info["theta"]) == [-1.0, 0.0, 1.0]
    np.testing.assert_allclose(info["se"], 1 / np.sqrt(info["information"]))
    assert "marginal rxx" in repr(fit) and "LSAT7" in repr(fit)


def test_figures_render_as_svg(lsat7_fit: api.Calibration, tmp_path: Path) -> None:
    for figure in (
        lsat7_fit.plot_icc(),
        lsat7_fit.plot_icc("Item.3"),
        lsat7_fit.plot_information(),
        lsat7_fit.plot_information(se=False),
    ):
        root = ElementTree.fromstring(figure._repr_svg_())
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert root.get("role") == "img"
        assert root.find("{http://www.w3.org/2000/svg}title") is not None
    lsat7_fit.plot_icc("Item.3").save(tmp_path / "icc.svg")
    assert (tmp_path / "icc.svg").read_text().startswith("<svg")
    with pytest.raises(CalibrationError, match='no calibrated item "nope"'):
        lsat7_fit.plot_icc("nope")


def test_numpy_wide_and_long_frames_give_the_same_estimates(lsat7_frame: pd.DataFrame) -> None:
    array = api.fit(lsat7_frame.to_numpy(dtype=float), "2pl", item_ids=list(lsat7_frame.columns))
    wide = api.fit(lsat7_frame, "2pl")
    named = lsat7_frame.assign(person_id=[f"p{k}" for k in range(1000)])
    long = named.melt(id_vars="person_id", var_name="item_id", value_name="response")
    from_long = api.fit(long.sample(frac=1.0, random_state=1), "2pl")  # any row order
    for other in (array, from_long):
        np.testing.assert_allclose(
            other.coef().set_index("item").loc[wide.coef()["item"], "a"].to_numpy(),
            wide.coef()["a"].to_numpy(),
            atol=1e-9,
        )
    renamed = long.rename(columns={"person_id": "who", "item_id": "what", "response": "x"})
    assert api.fit(renamed, "2pl", person="who", item="what", response="x").data.n_persons == 1000
    assert from_long.scores()["person_id"].iloc[0].startswith("p")


def test_missing_responses_in_frames() -> None:
    frame = pd.DataFrame(
        {"person_id": ["a", "b", "c", "d"], "q1": [1, 0, None, 1], "q2": [0, None, 1, 1]}
    )
    data = response_data(frame)
    assert data.person_ids == ("a", "b", "c", "d")
    assert data.responses.tolist() == [[1, 0], [0, -1], [-1, 1], [1, 1]]


def test_groups_make_one_scale_per_competency() -> None:
    frame = pd.read_csv(GOLDEN / "verbal_aggression_poly.csv", index_col="person_id")
    mode = {item: ("want" if "Want" in item else "do") for item in frame.columns}
    by_dict = api.fit(frame, "gpcm", groups=mode)
    assert by_dict.scales == ["want", "do"]
    table = pd.DataFrame({"item_id": list(mode), "competency": list(mode.values())})
    table["model"] = ["pcm" if c == "want" else "grm" for c in mode.values()]
    by_frame = api.fit(frame, "gpcm", groups=table)
    models = by_frame.coef().groupby("scale")["model"].unique()
    assert list(models["want"]) == ["pcm"] and list(models["do"]) == ["grm"]
    with pytest.raises(CalibrationError, match="there are 2 scales"):
        by_frame.plot_information()
    assert by_frame.plot_information("do").title == "information do"
    assert len(by_frame.reliability()) == 2


def test_cml_through_the_api() -> None:
    frame = pd.read_csv(GOLDEN / "mathexam14w_solved.csv", index_col="person_id")
    fit = api.fit(frame, "rasch", method="cml")
    assert fit.calibration.scales[0].conditional is not None
    assert fit.calibration.scales[0].conditional.loglik == pytest.approx(-3635.23351338, abs=1e-6)
    assert fit.coef()["se_b"].notna().all()
    assert "by CML" in repr(fit)
    with pytest.raises(CalibrationError, match="CML needs one model for all items, rasch or pcm"):
        api.fit(frame, "2pl", method="cml")


def test_mod2values_frame_and_file(lsat7_fit: api.Calibration, tmp_path: Path) -> None:
    frame = lsat7_fit.mod2values()
    assert frame["parnum"].tolist() == list(range(1, 23))
    assert frame["est"].dtype == bool and frame.loc[0, "name"] == "a1"
    lsat7_fit.write_mod2values(tmp_path / "v.csv")
    back = read_mod2values(tmp_path / "v.csv")
    for item in lsat7_fit.bank.items:
        assert back.parameters[item.id].a == pytest.approx(item.irt.a, rel=1e-12)


def test_writers(lsat7_fit: api.Calibration, tmp_path: Path) -> None:
    lsat7_fit.write_bank(tmp_path / "bank.yaml")
    lsat7_fit.write_parameters(tmp_path / "params.csv")
    lsat7_fit.write_report(tmp_path / "report.html")
    assert "Marginal reliability" in (tmp_path / "report.html").read_text()
    done = subprocess.run(
        [sys.executable, "-m", "skillgauge", "bank", "validate", str(tmp_path / "bank.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert ": ok: " in done.stdout and "placeholder" in done.stdout


def test_recovery_of_a_simulated_2pl() -> None:
    rng = np.random.default_rng(8)
    truth = [
        TwoPL(a=float(a), b=float(b))
        for a, b in zip(rng.uniform(0.6, 2.0, 20), rng.normal(0, 1, 20), strict=True)
    ]
    ids = [f"x{k}" for k in range(20)]
    stub = from_array(np.zeros((1, 20), dtype=np.int8), item_ids=ids)
    bank = skeleton_bank(
        stub,
        dict.fromkeys(ids, "s"),
        dict.fromkeys(ids, 2),
        parameters=dict(zip(ids, truth, strict=True)),
    )
    theta = rng.standard_normal(5000)
    matrix = simulate_responses(compile_pool(bank), theta, rng).astype(float)
    matrix[rng.random(matrix.shape) < 0.2] = np.nan  # not administered
    fit = api.fit(pd.DataFrame(matrix, columns=ids), "2pl")
    coef = fit.coef().set_index("item").loc[ids]
    # the calibration's scale is this sample's N(0, 1): the truth on that scale
    m, s = theta.mean(), theta.std()
    a = np.array([p.a for p in truth]) * s
    b = (np.array([p.b for p in truth]) - m) / s
    assert np.sqrt(np.mean((coef["a"] - a) ** 2)) < 0.1
    assert np.sqrt(np.mean((coef["b"] - b) ** 2)) < 0.1
    # the standard errors describe the errors: mean squared z near 1 (20 items)
    for name, true in (("a", a), ("b", b)):
        z = (coef[name] - true) / coef[f"se_{name}"]
        assert 0.4 < float(np.mean(z**2)) < 2.0, name
    scores = fit.scores().set_index("person_id")
    squared = np.corrcoef(scores["theta"], theta)[0, 1] ** 2
    assert squared == pytest.approx(float(fit.reliability()["empirical"].iloc[0]), abs=0.03)


@settings(max_examples=10, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    persons=st.integers(40, 300),
    items=st.integers(2, 8),
    sd=st.floats(0.3, 2.5),
    missing=st.floats(0.0, 0.4),
)
def test_any_rasch_data_gives_a_result_or_a_clear_error(
    seed: int, persons: int, items: int, sd: float, missing: float
) -> None:
    rng = np.random.default_rng(seed)
    theta = rng.normal(0.0, sd, persons)
    b = rng.normal(0.0, 1.5, items)
    matrix = (rng.random((persons, items)) < 1 / (1 + np.exp(b - theta[:, None]))).astype(float)
    matrix[rng.random(matrix.shape) < missing] = np.nan
    methods: tuple[Method, ...] = ("mml", "cml")
    for method in methods:
        try:
            fit = api.fit(matrix, "rasch", method=method, max_em_steps=500)
        except CalibrationError as exc:
            assert str(exc).startswith("<array>")  # a located message, not a traceback
            continue
        rel = fit.reliability_records()[0]
        assert 0.0 <= rel["marginal"] <= 1.0
        assert 0.0 <= rel["empirical"] <= 1.0 or np.isnan(rel["empirical"])
        estimated = [r for r in fit.coef_records() if r["model"]]
        assert estimated and np.isfinite([r["b"] for r in estimated]).all()
        assert all(r["se_b"] is None or r["se_b"] > 0 for r in estimated)


def test_edge_cases_all_correct_all_wrong_one_item_empty() -> None:
    with pytest.raises(CalibrationError, match="every response to every item is the same"):
        api.fit(np.ones((40, 5)), "2pl")
    with pytest.raises(CalibrationError, match="every response to every item is the same"):
        api.fit(np.zeros((40, 5)), "rasch")
    rng = np.random.default_rng(1)
    one = (rng.random((200, 1)) < 0.6).astype(float)
    with pytest.raises(CalibrationError, match="needs at least 2 to be identified"):
        api.fit(one, "rasch")
    with pytest.raises(CalibrationError, match="needs at least 3 to be identified"):
        api.fit(np.hstack([one, one[::-1]]), "2pl")
    with pytest.raises(ResponseDataError, match="no responses: the data are empty"):
        api.fit(np.empty((0, 4)), "2pl")
    with pytest.raises(ResponseDataError, match="no responses"):
        api.fit(np.full((5, 3), np.nan), "2pl")
    with pytest.raises(ResponseDataError, match="expected a 2-D"):
        api.fit(np.array([1, 0, 1]), "2pl")
    # an item that everyone answered alike is left out, with a row saying so
    matrix = (rng.random((500, 6)) < 0.5).astype(float)
    matrix[:, 2] = 1.0
    fit = api.fit(matrix, "2pl")
    row = fit.coef().set_index("item").loc["item3"]
    assert row["status"].startswith("not estimated: every one of its 500 responses is 1")
    assert np.isnan(row["a"])
    assert "item3" not in {item.id for item in fit.bank.items}


def test_bad_values_are_located_by_row_and_column() -> None:
    frame = pd.DataFrame({"q1": [0, 1, 1], "q2": [1, 0.5, 0]})
    with pytest.raises(ResponseDataError, match=r"row 1, column q2: 0.5 is not a score category"):
        api.fit(frame)
    text = pd.DataFrame({"q1": [0, 1], "q2": ["1", "yes"]})
    with pytest.raises(ResponseDataError, match=r"row 1, column q2: 'yes' is not a number"):
        api.fit(text)
    long = pd.DataFrame({"person_id": ["a", "a"], "item_id": ["q", "q"], "response": [1, 0]})
    with pytest.raises(ResponseDataError, match='row 1: person "a" answered item "q" twice'):
        api.fit(long)
    with pytest.raises(ResponseDataError, match=r"row 3, item column 1: 7.5"):
        api.fit(np.array([[0, 1], [1, 0], [7.5, 1]]))


def test_the_api_imports_and_fits_without_pandas() -> None:
    """pandas is an optional extra: numpy in, dictionaries out, a clear message for tables."""
    script = textwrap.dedent(
        """
        import sys
        sys.modules["pandas"] = None  # as if not installed
        import numpy as np
        from calibration import api
        rng = np.random.default_rng(2)
        fit = api.fit((rng.random((400, 6)) < 0.6).astype(float), "rasch")
        records = fit.coef_records()
        assert len(records) == 6 and records[0]["model"] == "rasch"
        assert fit.reliability_records()[0]["marginal"] > 0
        assert fit.plot_information()._repr_svg_().startswith("<svg")
        try:
            fit.coef()
        except ImportError as exc:
            print(exc)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, cwd=REPO
    )
    assert done.returncode == 0, done.stderr
    assert "pip install 'skillgauge[notebook]'" in done.stdout


def test_a_calibration_continues_from_its_mod2values_table(tmp_path: Path) -> None:
    frame = pd.read_csv(GOLDEN / "verbal_aggression_poly.csv", index_col="person_id")
    rough = api.fit(frame, "gpcm", tol=1e-2)
    rough.write_mod2values(tmp_path / "values.csv")
    cold = api.fit(frame, "gpcm", tol=1e-6)
    warm = api.fit(frame, "gpcm", tol=1e-6, start=tmp_path / "values.csv")
    assert warm.result().trace.em_steps < cold.result().trace.em_steps
    np.testing.assert_allclose(warm.coef()["a"], cold.coef()["a"], atol=2e-4)
    assert warm.result().loglik == pytest.approx(cold.result().loglik, abs=1e-4)
