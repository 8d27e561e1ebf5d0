"""Calibrating a large bank from its own CAT: the sparse E-step, few-answer items, readers.

The scaled-down case of ``python -m bench cat-calibration``: 20,000 simulees x 30 of the
500-item bank ``synthetic_bank(500, "2pl", 1, seed=3)``, chosen by maximum information with
item eligibility at r_max = 0.1, as the engine's batch CAT administers them.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

from calibration import data as data_module
from calibration.data import _read_long_rows, from_array, read_long, write_long
from calibration.em import MIN_ANSWERS, EMOptions, calibrate, squarem
from calibration.errors import ResponseDataError
from calibration.estep import Design
from calibration.progress import ProgressBar
from calibration.sparse_estep import SparseDesign
from calibration.standard_errors import covariance
from calibration.workflow import BankCalibration, calibrate_bank
from engine.batch import run_batch
from engine.policy import ContentConfig, ExposureConfig, Policy, SelectionConfig
from engine.pool import compile_pool
from engine.session import Session
from engine.stopping import FixedLength
from engine.synthetic import synthetic_bank
from item_banks.model import Bank, TwoPL
from item_banks.native import write_bank
from skillgauge.cli import main

# --------------------------------------------------------------------------- sparse E-step


def _log_p(rng: np.random.Generator, j: int, c: int, q: int) -> np.ndarray:
    return np.log(rng.dirichlet(np.ones(c), size=(j, q)).transpose(0, 2, 1))


@settings(max_examples=40, deadline=None)
@given(
    persons=st.integers(1, 60),
    items=st.integers(1, 8),
    categories=st.integers(2, 4),
    missing=st.floats(0.0, 1.0),
    block=st.integers(1, 70),
    seed=st.integers(0, 2**31 - 1),
)
def test_sparse_e_step_equals_the_dense_one(
    persons: int, items: int, categories: int, missing: float, block: int, seed: int
) -> None:
    """Any pattern of answers (persons with none, items with none), any block size."""
    rng = np.random.default_rng(seed)
    q = 15
    responses = rng.integers(0, categories, size=(persons, items)).astype(np.int8)
    responses[rng.random(responses.shape) < missing] = -1
    cats = np.full(items, categories)
    weights = rng.uniform(0.5, 2.0, persons)
    log_p = _log_p(rng, items, categories, q)
    log_prior = np.log(rng.dirichlet(np.ones(q)))
    dense = Design(responses, weights, cats).e_step(log_p, log_prior)
    sparse = SparseDesign(responses, weights, cats, block_rows=block).e_step(log_p, log_prior)
    scale = max(1.0, float(weights.sum()))
    np.testing.assert_allclose(sparse.counts, dense.counts, atol=2e-6 * scale)
    np.testing.assert_allclose(sparse.node_counts, dense.node_counts, atol=2e-6 * scale)
    assert sparse.loglik == pytest.approx(dense.loglik, rel=1e-6, abs=1e-4)


def test_sparse_e_step_edge_cases() -> None:
    """All right, all wrong, a person with no answer (the prior), an item nobody took."""
    rng = np.random.default_rng(3)
    responses = np.array([[1, 1, -1], [0, 0, -1], [-1, -1, -1], [1, 0, -1]], dtype=np.int8)
    cats = np.full(3, 2)
    log_p = _log_p(rng, 3, 2, 11)
    log_prior = np.log(np.full(11, 1 / 11))
    design = SparseDesign(responses, np.ones(4), cats, block_rows=3)
    result = design.e_step(log_p, log_prior)
    dense = Design(responses, np.ones(4), cats).e_step(log_p, log_prior)
    np.testing.assert_allclose(result.counts, dense.counts, atol=1e-6)
    assert result.counts[2].sum() == 0.0  # the item nobody took
    weights = [w for _, w, _, _, _ in design.posterior_chunks(log_p, log_prior)]
    np.testing.assert_allclose(np.vstack(weights)[2], np.exp(log_prior), rtol=1e-5)
    assert design.n_answers == 6
    np.testing.assert_array_equal(design.answered_per_item(), [3, 3, 0])


def test_sparse_subset_equals_the_design_of_those_rows() -> None:
    rng = np.random.default_rng(5)
    responses = rng.integers(-1, 3, size=(500, 7)).astype(np.int8)
    cats = np.full(7, 3)
    design = SparseDesign(responses, np.ones(500), cats, block_rows=64)
    rows = np.flatnonzero(rng.random(500) < 0.3)
    log_p = _log_p(rng, 7, 3, 9)
    log_prior = np.log(np.full(9, 1 / 9))
    cut = design.subset(rows, with_patterns=False).e_step(log_p, log_prior)
    fresh = SparseDesign(responses[rows], np.ones(rows.size), cats).e_step(log_p, log_prior)
    np.testing.assert_allclose(cut.counts, fresh.counts, atol=1e-5)
    assert cut.loglik == pytest.approx(fresh.loglik, rel=1e-7)
    answering = design.persons_answering(np.array([2, 5]))
    np.testing.assert_array_equal(
        answering, np.flatnonzero((responses[:, [2, 5]] >= 0).any(axis=1))
    )


def test_sparse_and_dense_calibrations_agree() -> None:
    """The same estimates (within the convergence criterion) on incomplete 2PL data."""
    rng = np.random.default_rng(11)
    theta = rng.standard_normal(3000)
    a = rng.uniform(0.7, 2.0, 20)
    b = rng.normal(0, 1, 20)
    p = 1 / (1 + np.exp(-a * (theta[:, None] - b)))
    responses = (rng.random(p.shape) < p).astype(np.int8)
    responses[rng.random(p.shape) < 0.6] = -1
    data = from_array(responses)
    dense = calibrate(data, "2pl", options=EMOptions(sparse="never", tol=1e-6))
    sparse = calibrate(data, "2pl", options=EMOptions(sparse="always", tol=1e-6))
    assert isinstance(sparse.model.design, SparseDesign)
    assert isinstance(dense.model.design, Design)
    est_d = np.array([dense.irt_vector(i) for i in range(20)])
    est_s = np.array([sparse.irt_vector(i) for i in range(20)])
    np.testing.assert_allclose(est_s, est_d, atol=2e-3)
    assert sparse.loglik == pytest.approx(dense.loglik, rel=1e-7)


def test_freezing_meets_the_same_criterion() -> None:
    """Per-item freezing returns a point where one free EM step moves nothing by tol."""

    def em_map(x: np.ndarray) -> tuple[np.ndarray, float, float]:
        target = np.array([1.0, -2.0, 0.5, 3.0])
        rate = np.array([0.2, 0.9, 0.5, 0.95])  # two fast items, two slow ones
        new = target + rate * (x - target)
        value = -float(((x - target) ** 2).sum())
        return new, value, value

    x, trace = squarem(
        em_map, np.zeros(4), tol=1e-8, max_em_steps=5000, groups=np.array([0, 1, 2, 3])
    )
    assert trace.converged
    step, _, _ = em_map(x)
    assert float(np.abs(step - x).max()) < 1e-8
    np.testing.assert_allclose(x, [1.0, -2.0, 0.5, 3.0], atol=1e-6)


# --------------------------------------------------------------------------- the CAT case

PERSONS = 20_000


@pytest.fixture(scope="module")
def cat_bank() -> Bank:
    return synthetic_bank(500, "2pl", 1, seed=3)


@pytest.fixture(scope="module")
def cat_data(cat_bank: Bank, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    """The long CSV of 20,000 CAT simulees and their true abilities."""
    pool = compile_pool(cat_bank)
    policy = Policy(
        selection=SelectionConfig(method="max_info"),
        exposure=ExposureConfig(method="eligibility", r_max=0.1),
        content=ContentConfig(balance="none"),
        stopping=FixedLength(n=30),
    )
    theta = np.random.default_rng(10_000).standard_normal(PERSONS)
    run = run_batch(Session(pool, policy), theta, seed=20_000)
    path = tmp_path_factory.mktemp("cat") / "responses.csv"
    write_long(from_array(run.responses(), item_ids=pool.item_ids), path)
    return path, theta


@pytest.fixture(scope="module")
def cat_fit(cat_bank: Bank, cat_data: tuple[Path, np.ndarray]) -> BankCalibration:
    return calibrate_bank(cat_bank, read_long(cat_data[0]), model="2pl")


def test_cat_recovery_on_items_with_enough_answers(
    cat_bank: Bank, cat_data: tuple[Path, np.ndarray], cat_fit: BankCalibration
) -> None:
    scale = cat_fit.scales[0]
    result = scale.result
    assert isinstance(result.model.design, SparseDesign)
    assert result.converged
    theta = cat_data[1]
    answers = result.model.design.answered_per_item()
    by_id = {item.id: item.irt for item in cat_bank.items}
    rows = [
        i
        for i, item in enumerate(result.item_ids)
        if result.estimated[i] and answers[i] >= 1000 and item in scale.parameters
    ]
    assert len(rows) >= 150
    est = np.array([result.irt_vector(i)[:2] for i in rows])
    true_a = np.array([by_id[result.item_ids[i]].a for i in rows]) * theta.std()
    true_b = np.array(
        [(by_id[result.item_ids[i]].b - theta.mean()) / theta.std() for i in rows]  # type: ignore[union-attr]
    )
    rmse_a = math.sqrt(float(np.mean((est[:, 0] - true_a) ** 2)))
    rmse_b = math.sqrt(float(np.mean((est[:, 1] - true_b) ** 2)))
    # measured: 0.122 and 0.050 on 298 items, the same as the dense E-step's to 4 digits
    assert rmse_a < 0.14
    assert rmse_b < 0.07


def test_every_item_with_few_answers_has_a_located_warning(
    cat_bank: Bank, cat_data: tuple[Path, np.ndarray], cat_fit: BankCalibration
) -> None:
    result = cat_fit.scales[0].result
    answers = result.model.design.answered_per_item()
    few = [item for i, item in enumerate(result.item_ids) if answers[i] < MIN_ANSWERS]
    assert few  # the CAT leaves some items with a handful of answers
    warned = {str(w.subject).split('"')[1]: w for w in cat_fit.warnings if w.kind == "few_answers"}
    for item in few:
        warning = warned[item]
        assert f"{cat_data[0]}: line " in str(warning.subject)
        assert "held at its bank values" in warning.message
        assert cat_fit.scales[0].status[item].startswith("kept: only")
        assert item not in cat_fit.scales[0].parameters
    bank_params = {item.id: item.irt for item in cat_fit.bank.items}
    old = {item.id: item.irt for item in cat_bank.items}
    assert all(bank_params[item] == old[item] for item in few)


def test_no_absurd_slope_without_a_warning(cat_fit: BankCalibration) -> None:
    scale = cat_fit.scales[0]
    warned = {str(w.subject).split('"')[1] for w in cat_fit.warnings if '"' in str(w.subject)}
    for item, params in scale.parameters.items():
        if not (0.2 <= params.a <= 4.0 and abs(params.b) <= 6.0):  # type: ignore[union-attr]
            assert item in warned or item in scale.flags, item
    for item, status in scale.status.items():
        if status.startswith("kept"):
            assert item in warned or item in scale.flags, item


def test_item_block_standard_errors_bound_the_full_cross_product(
    cat_fit: BankCalibration,
) -> None:
    """The item blocks leave out the items' coupling: SEs a little below the full XPD's."""
    result = cat_fit.scales[0].result
    blocks = np.sqrt(np.diag(covariance(result, "xpd-items").matrix))
    full = np.sqrt(np.diag(covariance(result, "xpd").matrix))
    ratio = blocks / full
    assert np.median(ratio) > 0.9
    assert np.median(ratio) <= 1.0 + 1e-9
    assert float(np.quantile(ratio, 0.05)) > 0.7


def test_min_answers_zero_estimates_every_item(
    cat_bank: Bank, cat_data: tuple[Path, np.ndarray]
) -> None:
    data = read_long(cat_data[0])
    few = calibrate(data, "2pl", options=EMOptions(min_answers=50, max_em_steps=60))
    none = calibrate(data, "2pl", options=EMOptions(min_answers=0, max_em_steps=60))
    assert any(w.kind == "few_answers" for w in few.warnings)
    assert not any(w.kind == "few_answers" for w in none.warnings)
    # without bank values, few-answer items get the weak slope prior instead of being held
    assert not few.held
    assert any("log-normal" in w.message for w in few.warnings if w.kind == "few_answers")


# --------------------------------------------------------------------------- readers


def _write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_columnar_reader_equals_the_row_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, newline: str
) -> None:
    rows = [
        "person_id,item_id,response,group",
        "p1,i2,1,a",
        "p1,i1,0,a",
        "p2,i1,NA,b",
        " p3 ,i3,2,c",
        "p2,i2,0,x",
        "p4,i1,,d",
        "p3,i1,1.0,c",
    ]
    path = _write(tmp_path / "long.csv", newline.join(rows) + newline)
    expected = _read_long_rows(path)
    monkeypatch.setattr(data_module, "COLUMNAR_BYTES", 0)
    assert data_module._read_long_columnar(path) is not None
    got = read_long(path)
    assert got.person_ids == expected.person_ids == ("p1", "p2", "p3", "p4")
    assert got.item_ids == expected.item_ids
    np.testing.assert_array_equal(got.responses, expected.responses)
    assert got.locations == expected.locations
    assert got.covariates == expected.covariates
    assert got.digest == expected.digest
    assert [w.message for w in got.warnings] == [w.message for w in expected.warnings]


def test_columnar_reader_equals_the_row_reader_across_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocks of 256 bytes parse with their own dictionaries; the ids still come out in
    order of first appearance, as the row reader numbers them."""
    rng = np.random.default_rng(5)
    lines = ["person_id,item_id,response,group"]
    for row in range(600):
        person = int(rng.integers(0, 80))
        item = int(rng.integers(0, 25))
        lines.append(f"q{person},it{item}-{row},{int(rng.integers(0, 3))},g{person % 4}")
    path = _write(tmp_path / "blocks.csv", "\n".join(lines) + "\n")
    expected = _read_long_rows(path)
    monkeypatch.setattr(data_module, "COLUMNAR_BYTES", 0)
    monkeypatch.setattr(data_module, "COLUMNAR_BLOCK", 256)
    got = data_module._read_long_columnar(path)
    assert got is not None
    assert got.person_ids == expected.person_ids
    assert got.item_ids == expected.item_ids
    np.testing.assert_array_equal(got.responses, expected.responses)
    assert got.locations == expected.locations
    assert got.covariates == expected.covariates


@pytest.mark.parametrize(
    ("body", "line", "column"),
    [
        ("p1,i1,1\np1,i2,yes\n", 3, "response"),
        ("p1,i1,1\np1,i1,0\n", 3, None),
        ("p1,i1,1\np2,i2\n", 3, None),
        ("p1,i1,1\n\n,i2,1\n", 4, "person_id"),
    ],
)
def test_columnar_reader_leaves_located_errors_to_the_row_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, line: int, column: str | None
) -> None:
    path = _write(tmp_path / "bad.csv", "person_id,item_id,response\n" + body)
    monkeypatch.setattr(data_module, "COLUMNAR_BYTES", 0)
    with pytest.raises(ResponseDataError) as caught:
        read_long(path)
    problem = caught.value.problems[0]
    assert problem.line == line
    assert problem.column == column
    assert problem.source == str(path)


# --------------------------------------------------------------------------- progress


def test_progress_names_phases_and_items_still_moving() -> None:
    stream = io.StringIO()
    bar = ProgressBar(tol=1e-4, stream=stream, enabled=True)
    bar.phase("reading responses.csv")
    bar.update("c1", 3, 0.5, -1234.5, 17)
    bar.update("c1", 6, 0.01, math.nan, 2)
    bar.finish()
    text = stream.getvalue()
    assert "reading responses.csv ...\n" in text
    assert "17 items still moving" in text
    assert "logLik -1,234.50" in text
    last = text.rsplit("\r", 1)[1]
    assert "2 items still moving" in last
    assert "logLik" not in last  # a focused step's partial log-likelihood is not shown


def test_cli_min_answers_and_progress(
    cat_bank: Bank,
    cat_data: tuple[Path, np.ndarray],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bank_path = tmp_path / "bank.json"
    write_bank(cat_bank, bank_path)
    out = tmp_path / "new.json"
    argv = ["calibrate", str(cat_data[0]), "--bank", str(bank_path), "--model", "2pl"]
    assert main([*argv, "--out", str(out), "--progress", "--se", "none"]) == 0
    err = capsys.readouterr().err
    assert f"reading {cat_data[0]} ..." in err
    assert "c1: start values and EM (20,000 persons) ..." in err
    assert "items still moving" in err
    assert "c1: item and model fit ..." in err
    assert main([*argv, "--out", str(tmp_path / "bad.json"), "--min-answers", "-1"]) == 1
    assert "--min-answers must be 0 or more" in capsys.readouterr().err


def test_cli_threads_do_not_change_the_estimates(
    cat_bank: Bank,
    cat_data: tuple[Path, np.ndarray],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bank_path = tmp_path / "bank.json"
    write_bank(cat_bank, bank_path)
    argv = ["calibrate", str(cat_data[0]), "--bank", str(bank_path), "--model", "2pl"]
    written = []
    for threads in ("1", "2"):
        out = tmp_path / f"t{threads}.json"
        assert main([*argv, "--out", str(out), "--quiet", "--threads", threads]) == 0
        written.append((tmp_path / f"t{threads}.params.csv").read_text())
    assert written[0] == written[1]
    capsys.readouterr()
    assert main([*argv, "--out", str(tmp_path / "bad.json"), "--threads", "0"]) == 1
    assert "--threads must be 1 or more" in capsys.readouterr().err


def test_a_small_data_set_is_calibrated_as_a_whole() -> None:
    """Fewer than three items reach the minimum: every item is estimated, none held."""
    rng = np.random.default_rng(2)
    theta = rng.standard_normal(80)
    b = np.linspace(-1, 1, 6)
    responses = (rng.random((80, 6)) < 1 / (1 + np.exp(-(theta[:, None] - b)))).astype(np.int8)
    data = from_array(responses)
    start = {item: TwoPL(a=1.0, b=0.0) for item in data.item_ids}
    fit = calibrate(data, "2pl", start=start)
    assert all(fit.estimated)
    assert not fit.held
    assert not any(w.kind == "few_answers" for w in fit.warnings)


@settings(max_examples=40, deadline=None)
@given(
    persons=st.integers(0, 300),
    items=st.integers(1, 12),
    categories=st.integers(2, 4),
    missing=st.floats(0.0, 1.0),
    block=st.integers(1, 40),
    threads=st.integers(2, 5),
    seed=st.integers(0, 2**31 - 1),
)
def test_threaded_sparse_e_step_is_the_serial_one_to_the_bit(
    persons: int,
    items: int,
    categories: int,
    missing: float,
    block: int,
    threads: int,
    seed: int,
) -> None:
    """Blocks on several threads, summed in block order: the same bits as one thread."""
    rng = np.random.default_rng(seed)
    q = 11
    responses = rng.integers(0, categories, size=(persons, items)).astype(np.int8)
    responses[rng.random(responses.shape) < missing] = -1
    cats = np.full(items, categories)
    weights = rng.uniform(0.5, 2.0, persons)
    log_p = _log_p(rng, items, categories, q)
    log_prior = np.log(rng.dirichlet(np.ones(q)))
    serial = SparseDesign(responses, weights, cats, block_rows=block, threads=1)
    threaded = SparseDesign(responses, weights, cats, block_rows=block, threads=threads)
    one = serial.e_step(log_p, log_prior)
    many = threaded.e_step(log_p, log_prior)
    np.testing.assert_array_equal(many.counts, one.counts)
    np.testing.assert_array_equal(many.node_counts, one.node_counts)
    assert many.loglik == one.loglik
    rows = np.arange(0, persons, 2)
    cut = threaded.subset(rows, with_patterns=False)
    assert cut.threads == threaded.threads
    np.testing.assert_array_equal(
        cut.e_step(log_p, log_prior).counts,
        serial.subset(rows, with_patterns=False).e_step(log_p, log_prior).counts,
    )


def test_sparse_design_rejects_zero_threads() -> None:
    responses = np.zeros((3, 2), dtype=np.int8)
    with pytest.raises(ValueError, match="threads must be at least 1, got 0"):
        SparseDesign(responses, np.ones(3), np.full(2, 2), threads=0)


@settings(max_examples=40, deadline=None)
@given(
    persons=st.integers(1, 300),
    items=st.integers(2, 12),
    categories=st.integers(2, 4),
    missing=st.floats(0.0, 0.9),
    block=st.integers(1, 40),
    seed=st.integers(0, 2**31 - 1),
)
def test_held_e_step_equals_the_plain_one_on_the_moving_items(
    persons: int, items: int, categories: int, missing: float, block: int, seed: int
) -> None:
    """The frozen items' log-likelihood held fixed: the moving items' counts, the node
    counts and the log-likelihood are the plain E-step's (up to single-precision
    rounding: the frozen and moving sums are added in another order); after a frozen
    item's parameters change, the held part is rebuilt."""
    rng = np.random.default_rng(seed)
    q = 11
    responses = rng.integers(0, categories, size=(persons, items)).astype(np.int8)
    responses[rng.random(responses.shape) < missing] = -1
    cats = np.full(items, categories)
    weights = rng.uniform(0.5, 2.0, persons)
    log_prior = np.log(rng.dirichlet(np.ones(q)))
    moving = np.zeros(items, dtype=bool)
    moving[rng.choice(items, size=max(1, items // 4), replace=False)] = True
    serial = SparseDesign(responses, weights, cats, block_rows=block, threads=1)
    threaded = SparseDesign(responses, weights, cats, block_rows=block, threads=3)
    if not serial.hold(moving):  # the moving items hold most answers: nothing to hold
        assert not threaded.hold(moving)
        return
    assert threaded.hold(moving)
    scale = max(1.0, float(weights.sum()))
    log_p = _log_p(rng, items, categories, q)
    for change_frozen in (False, True, False):
        log_p[moving] = _log_p(rng, items, categories, q)[moving]  # EM moves these
        if change_frozen:
            log_p[~moving] = _log_p(rng, items, categories, q)[~moving]
        plain = serial.e_step(log_p, log_prior)
        held = serial.e_step(log_p, log_prior, held=True)
        np.testing.assert_allclose(
            held.counts[moving], plain.counts[moving], atol=2e-6 * scale, rtol=1e-5
        )
        assert not held.counts[~moving].any()
        np.testing.assert_allclose(held.node_counts, plain.node_counts, atol=2e-6 * scale)
        assert held.loglik == pytest.approx(plain.loglik, rel=1e-6, abs=1e-4)
        many = threaded.e_step(log_p, log_prior, held=True)
        np.testing.assert_array_equal(many.counts, held.counts)
        assert many.loglik == held.loglik
    serial.hold(None)
    with pytest.raises(RuntimeError, match="without a successful hold"):
        serial.e_step(log_p, log_prior, held=True)
