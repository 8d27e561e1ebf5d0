"""R mirt interchange: mod2values written and read back, R's CSV forms read, located errors."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from calibration import api
from calibration.data import ResponseData, from_array
from calibration.em import EMOptions, FitResult, calibrate
from calibration.mirt_tables import (
    MOD2VALUES_COLUMNS,
    ParameterTableError,
    mod2values_rows,
    read_coef_table,
    read_mod2values,
    read_parameter_table,
    write_mod2values,
)
from calibration.models import ModelName
from calibration.simulate import simulate_responses
from calibration.skeleton import skeleton_bank
from engine.pool import compile_pool
from item_banks.model import FourPL, Graded, OnePL, PartialCredit, ThreePL, TwoPL
from tests.calibration.conftest import lsat7_data


def polytomous_data(seed: int = 3) -> ResponseData:
    ids = [f"q{k}" for k in range(6)]
    params = {
        i: PartialCredit(a=1.0 + 0.1 * k, thresholds=(-0.8 + 0.2 * k, 0.4))
        for k, i in enumerate(ids)
    }
    stub = from_array(np.zeros((1, 6), dtype=np.int8), item_ids=ids)
    bank = skeleton_bank(stub, dict.fromkeys(ids, "s"), dict.fromkeys(ids, 3), parameters=params)
    pool = compile_pool(bank)
    rng = np.random.default_rng(seed)
    matrix = simulate_responses(pool, rng.standard_normal(1500), rng)
    return from_array(matrix, item_ids=ids, source="poly")


@pytest.fixture(scope="module")
def fits() -> dict[str, FitResult]:
    options = EMOptions(tol=1e-5)
    lsat7 = lsat7_data()
    poly = polytomous_data()
    out: dict[str, FitResult] = {}
    dichotomous: tuple[ModelName, ...] = ("rasch", "1pl", "2pl", "3pl")
    for model in dichotomous:
        out[model] = calibrate(lsat7, model, options=options)
    # the 4PL is not identified on LSAT7 (its slopes run to the guard); a few EM steps give
    # the table its layout, which is all these tests read
    out["4pl"] = calibrate(lsat7, "4pl", options=EMOptions(max_em_steps=4))
    polytomous: tuple[ModelName, ...] = ("grm", "gpcm", "pcm")
    for model in polytomous:
        out[model] = calibrate(poly, model, options=options)
    return out


@pytest.mark.parametrize("model", ["rasch", "1pl", "2pl", "3pl", "4pl", "grm", "gpcm", "pcm"])
def test_mod2values_round_trip(fits: dict[str, FitResult], model: str, tmp_path: Path) -> None:
    result = fits[model]
    path = tmp_path / "values.csv"
    write_mod2values(result, path)
    values = read_mod2values(path)
    assert list(values.parameters) == list(result.item_ids)
    assert set(values.models.values()) == {model}
    for i, item in enumerate(result.item_ids):
        back = values.parameters[item]
        expected = result.family(i).to_bank(result.irt_vector(i))
        assert type(back) is type(expected)
        assert back.a == pytest.approx(expected.a, rel=1e-12)
        for name in ("b", "c", "d", "thresholds"):
            if hasattr(expected, name):
                np.testing.assert_allclose(getattr(back, name), getattr(expected, name), rtol=1e-12)
    assert values.mean == result.latent_mean
    assert values.variance == pytest.approx(result.latent_sd**2, rel=1e-12)


def test_mod2values_rows_are_mirts_layout(fits: dict[str, FitResult]) -> None:
    rows = mod2values_rows(fits["3pl"])
    assert list(rows[0]) == list(MOD2VALUES_COLUMNS)
    first = [(r["item"], r["class"], r["name"], r["est"]) for r in rows[:4]]
    assert first == [
        ("Item.1", "dich", "a1", "TRUE"),
        ("Item.1", "dich", "d", "TRUE"),
        ("Item.1", "dich", "g", "TRUE"),
        ("Item.1", "dich", "u", "FALSE"),
    ]
    g = rows[2]
    assert (g["prior.type"], g["prior_1"], g["prior_2"], g["lbound"], g["ubound"]) == (
        "expbeta",
        "5.0",
        "17.0",
        "0.0",
        "1.0",
    )
    assert [int(r["parnum"]) for r in rows] == list(range(1, len(rows) + 1))
    assert [(r["item"], r["name"], r["est"]) for r in rows[-2:]] == [
        ("GROUP", "MEAN_1", "FALSE"),
        ("GROUP", "COV_11", "FALSE"),
    ]
    rasch = mod2values_rows(fits["rasch"])
    assert rasch[0]["name"] == "a1" and rasch[0]["value"] == "1.0" and rasch[0]["est"] == "FALSE"
    assert rasch[-1]["name"] == "COV_11" and rasch[-1]["est"] == "TRUE"  # mirt's Rasch
    one = mod2values_rows(fits["1pl"])
    assert {r["const"] for r in one if r["name"] == "a1"} == {"1"}  # one slope for all
    gpcm = [r for r in mod2values_rows(fits["gpcm"]) if r["item"] == "q0"]
    assert [r["name"] for r in gpcm] == ["a1", "ak0", "ak1", "ak2", "d0", "d1", "d2"]
    assert [r["value"] for r in gpcm[1:4]] == ["0.0", "1.0", "2.0"]
    pcm = [r for r in mod2values_rows(fits["pcm"]) if r["item"] == "q0"]
    assert (pcm[0]["class"], pcm[0]["value"], pcm[0]["est"]) == ("gpcm", "1.0", "FALSE")
    graded = [r["name"] for r in mod2values_rows(fits["grm"]) if r["item"] == "q0"]
    assert graded == ["a1", "d1", "d2"]


R_MOD2VALUES = """\
"group","item","class","name","parnum","value","lbound","ubound","est","const","nconst","prior.type","prior_1","prior_2"
"all","Item.1","dich","a1",1,0.988,-Inf,Inf,TRUE,"none","none","none",NaN,NaN
"all","Item.1","dich","d",2,1.8561,-Inf,Inf,TRUE,"none","none","none",NaN,NaN
"all","Item.1","dich","g",3,0,0,1,FALSE,"none","none","none",NaN,NaN
"all","Item.1","dich","u",4,1,0,1,FALSE,"none","none","none",NaN,NaN
"all","Item.2","graded","a1",5,1.2,-Inf,Inf,TRUE,"none","none","none",NaN,NaN
"all","Item.2","graded","d1",6,1.5,-Inf,Inf,TRUE,"none","none","none",NaN,NaN
"all","Item.2","graded","d2",7,-0.6,-Inf,Inf,TRUE,"none","none","none",NaN,NaN
"all","Item.3","gpcm","a1",8,0.8,-Inf,Inf,TRUE,"none","none","none",NaN,NaN
"all","Item.3","gpcm","ak0",9,0,-Inf,Inf,FALSE,"none","none","none",NaN,NaN
"all","Item.3","gpcm","ak1",10,1,-Inf,Inf,FALSE,"none","none","none",NaN,NaN
"all","Item.3","gpcm","ak2",11,2,-Inf,Inf,FALSE,"none","none","none",NaN,NaN
"all","Item.3","gpcm","d0",12,0,-Inf,Inf,FALSE,"none","none","none",NaN,NaN
"all","Item.3","gpcm","d1",13,0.4,-Inf,Inf,TRUE,"none","none","none",NaN,NaN
"all","Item.3","gpcm","d2",14,0.2,-Inf,Inf,TRUE,"none","none","none",NaN,NaN
"all","Item.4","dich","a1",15,1.1,-Inf,Inf,TRUE,"none","none","none",NaN,NaN
"all","Item.4","dich","d",16,-0.55,-Inf,Inf,TRUE,"none","none","none",NaN,NaN
"all","Item.4","dich","g",17,0.2,0,1,TRUE,"none","none","expbeta",5,17
"all","Item.4","dich","u",18,1,0,1,FALSE,"none","none","none",NaN,NaN
"all","GROUP","GroupPars","MEAN_1",19,0,-Inf,Inf,FALSE,"none","none","none",NaN,NaN
"all","GROUP","GroupPars","COV_11",20,1,1e-04,Inf,FALSE,"none","none","none",NaN,NaN
"""


def test_read_a_mod2values_table_as_r_writes_it(tmp_path: Path) -> None:
    path = tmp_path / "values.csv"
    path.write_text(R_MOD2VALUES, encoding="utf-8")
    values = read_mod2values(path)
    assert values.models == {"Item.1": "2pl", "Item.2": "grm", "Item.3": "gpcm", "Item.4": "3pl"}
    one = values.parameters["Item.1"]
    assert isinstance(one, TwoPL) and one.b == pytest.approx(-1.8561 / 0.988)
    two = values.parameters["Item.2"]
    assert isinstance(two, Graded)
    np.testing.assert_allclose(two.thresholds, [-1.5 / 1.2, 0.6 / 1.2])
    three = values.parameters["Item.3"]
    assert isinstance(three, PartialCredit)
    np.testing.assert_allclose(three.thresholds, [-0.4 / 0.8, 0.2 / 0.8])
    four = values.parameters["Item.4"]
    assert isinstance(four, ThreePL) and four.c == 0.2
    assert values.lines["Item.3"] == 9
    assert read_parameter_table(path).parameters == values.parameters


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ('"gpcm","ak2",11,2', '"gpcm","ak2",11,3'),
            'line 12: column value: item "Item.3": ak2 = 3',
        ),
        (
            ('"dich","u",4,1,', '"nominal","u",4,1,'),
            'line 5: column class: item "Item.1": class "nominal"',
        ),
        (
            ('"dich","d",2,1.8561', '"dich","a2",2,1.8561'),
            'line 3: column name: item "Item.1": "a2"',
        ),
        (
            ('"graded","d1",6,1.5', '"graded","d1",6,abc'),
            "line 7: column value: 'abc' is not a number",
        ),
        (('"dich","a1",15,1.1', '"dich","a1",15,25'), 'line 16: item "Item.4": slope a = 25'),
        (('"all","Item.3","gpcm","a1"', '"g2","Item.3","gpcm","a1"'), "multiple-group tables"),
    ],
)
def test_bad_mod2values_tables_are_refused_with_located_lines(
    tmp_path: Path, edit: tuple[str, str], message: str
) -> None:
    path = tmp_path / "values.csv"
    assert edit[0] in R_MOD2VALUES
    path.write_text(R_MOD2VALUES.replace(edit[0], edit[1], 1), encoding="utf-8")
    with pytest.raises(ParameterTableError) as caught:
        read_mod2values(path)
    assert any(message in str(p) for p in caught.value.problems), caught.value.problems
    assert all(str(p).startswith(str(path)) for p in caught.value.problems)


def test_not_a_mod2values_table(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("item,value\nq1,2\n", encoding="utf-8")
    with pytest.raises(ParameterTableError, match="line 1: not a mod2values table"):
        read_mod2values(path)


R_COEF_IRT = """\
"","a","b","g","u"
"Item.1",0.988,-1.87864372469636,0,1
"Item.2",1.081,-0.747456059204440,0,1
"Item.3",1,0.25,0,1
"Item.4",1.2,0.3,0.18,1
"Item.5",1.3,0.1,0.1,0.95
"""

R_COEF_MIXED = """\
"","a","b","g","u","b1","b2"
"q1",1.2,0.3,0,1,NA,NA
"q2",0.9,NA,NA,NA,-0.5,0.7
"""

R_COEF_SLOPE_INTERCEPT = """\
"","a1","d","g","u","ak0","ak1","ak2","d0","d1","d2"
"q1",1.2,-0.36,0,1,NA,NA,NA,NA,NA,NA
"q2",0.9,NA,NA,NA,0,1,2,0,0.45,-0.18
"q3",1.1,NA,NA,NA,NA,NA,NA,NA,0.8,-0.4
"""


def test_read_rs_coef_tables(tmp_path: Path) -> None:
    path = tmp_path / "coef.csv"
    path.write_text(R_COEF_IRT, encoding="utf-8")
    table = read_coef_table(path)
    assert table.models == {
        "Item.1": "2pl",
        "Item.2": "2pl",
        "Item.3": "rasch",
        "Item.4": "3pl",
        "Item.5": "4pl",
    }
    assert table.parameters["Item.1"] == TwoPL(a=0.988, b=-1.87864372469636)
    assert table.parameters["Item.3"] == OnePL(b=0.25)
    five = table.parameters["Item.5"]
    assert isinstance(five, FourPL) and (five.c, five.d) == (0.1, 0.95)
    assert five.b == pytest.approx(0.1)

    path.write_text(R_COEF_MIXED, encoding="utf-8")
    with pytest.raises(ParameterTableError, match=r'line 3: item "q2": b1..bK do not say'):
        read_coef_table(path)
    mixed = read_coef_table(path, "gpcm")
    assert mixed.parameters["q2"] == PartialCredit(a=0.9, thresholds=(-0.5, 0.7))
    graded = read_coef_table(path, {"q2": "grm"})
    assert graded.parameters["q2"] == Graded(a=0.9, thresholds=(-0.5, 0.7))

    path.write_text(R_COEF_SLOPE_INTERCEPT, encoding="utf-8")
    slope = read_coef_table(path)
    assert slope.models == {"q1": "2pl", "q2": "gpcm", "q3": "grm"}
    q2 = slope.parameters["q2"]
    assert isinstance(q2, PartialCredit)
    np.testing.assert_allclose(q2.thresholds, [-0.45 / 0.9, 0.63 / 0.9])
    q3 = slope.parameters["q3"]
    assert isinstance(q3, Graded)
    np.testing.assert_allclose(q3.thresholds, [-0.8 / 1.1, 0.4 / 1.1])
    assert read_parameter_table(path).parameters == slope.parameters


def test_bad_coef_tables_are_refused_with_located_lines(tmp_path: Path) -> None:
    path = tmp_path / "coef.csv"
    path.write_text('"a","b"\n1,2\n', encoding="utf-8")
    with pytest.raises(ParameterTableError, match="line 1: no column of item names"):
        read_coef_table(path)
    path.write_text('"","a","b"\n"x",one,2\n"y",-1,0\n"z",1\n', encoding="utf-8")
    with pytest.raises(ParameterTableError) as caught:
        read_coef_table(path)
    text = [str(p) for p in caught.value.problems]
    assert f"{path}: line 2: column a: 'one' is not a number" in text
    assert any("line 3" in t and "slope a = -1" in t for t in text)
    assert any("line 4" in t and "expected 3 fields, found 2" in t for t in text)


def rows_of(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("model", ["2pl", "3pl", "grm", "gpcm", "pcm"])
def test_api_coef_tables_are_read_back_as_the_same_parameters(
    model: ModelName, tmp_path: Path
) -> None:
    data = lsat7_data() if model in ("2pl", "3pl") else polytomous_data()
    fit = api.fit(data, model)
    path = tmp_path / "coef.csv"
    for irt_pars in (True, False):
        fit.coef(irt_pars=irt_pars).to_csv(path, index=False)
        table = read_coef_table(path)
        assert set(table.models.values()) == {model}
        for item in fit.bank.items:
            back, expected = table.parameters[item.id], item.irt
            assert type(back) is type(expected)
            assert back.a == pytest.approx(expected.a, rel=1e-9)
            for name in ("b", "c", "thresholds"):
                if hasattr(expected, name):
                    np.testing.assert_allclose(
                        getattr(back, name), getattr(expected, name), rtol=1e-9, atol=1e-12
                    )
    assert rows_of(path)[0]["model"] == model
    assert not math.isnan(float(rows_of(path)[0]["a1"]))
