"""Reading response CSVs: long and wide formats, covariates, located errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calibration.data import (
    collapse,
    detect_format,
    from_array,
    read_long,
    read_responses,
    read_wide,
    write_long,
)
from calibration.errors import ResponseDataError


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_long_format_keeps_covariates_and_treats_blanks_as_not_administered(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        "r.csv",
        "\ufeffperson_id,item_id,response,group,session\n"
        "p1,q1,1,A,s1\np1,q2,0,A,s1\np2,q1,,B,s2\np2,q2,NA,B,s2\np2,q3,2,B,s2\np3,q3,0,A,s3\n",
    )
    data = read_long(path)
    assert data.person_ids == ("p1", "p2", "p3")
    assert data.item_ids == ("q1", "q2", "q3")
    np.testing.assert_array_equal(data.responses, [[1, 0, -1], [-1, -1, 2], [-1, -1, 0]])
    assert data.covariates == {"group": ("A", "B", "A"), "session": ("s1", "s2", "s3")}
    assert data.where(2, 2) == f"{path}: line 6"
    assert len(data.digest) == 64
    assert detect_format(path) == "long"


def test_a_covariate_that_varies_within_a_person_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", "person_id,item_id,response,when\np1,q1,1,mon\np1,q2,0,tue\n")
    data = read_long(path)
    assert data.covariates["when"] == ("mon",)
    assert [w.kind for w in data.warnings] == ["varying_covariate"]
    assert "line 3" in str(data.warnings[0])


def test_wide_format_with_bank_item_ids_separates_covariates(tmp_path: Path) -> None:
    path = write(tmp_path, "w.csv", "person_id,age,q1,q2\np1,31,1,\np2,45,0,1\n")
    data = read_wide(path, item_ids=["q1", "q2"])
    assert data.item_ids == ("q1", "q2")
    np.testing.assert_array_equal(data.responses, [[1, -1], [0, 1]])
    assert data.covariates == {"age": ("31", "45")}
    assert read_responses(path).item_ids == ("age", "q1", "q2")  # without a bank: all items
    assert detect_format(path) == "wide"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("person_id,item\np1,q1\n", "line 1: the header needs the columns person_id, item_id"),
        (
            "person_id,item_id,response\np1,q1,yes\n",
            "line 2: column response: 'yes' is not a score category",
        ),
        ("person_id,item_id,response\np1,q1,1.5\n", "line 2: column response: '1.5'"),
        ("person_id,item_id,response\np1,q1,-1\n", "line 2: column response: '-1'"),
        ("person_id,item_id,response\np1,q1\n", "line 2: expected 3 fields, found 2"),
        ("person_id,item_id,response\n,q1,1\n", "line 2: column person_id: empty person id"),
        (
            "person_id,item_id,response\np1,q1,1\np2,q1,0\np1,q1,0\n",
            'line 4: person "p1" answered item "q1" twice (first on line 2)',
        ),
        ("person_id,item_id,response\n", "no responses in the file"),
        ("", "the file is empty"),
    ],
)
def test_long_format_errors_are_located(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, "bad.csv", text)
    with pytest.raises(ResponseDataError) as info:
        read_long(path)
    assert any(expected in str(p) for p in info.value.problems), info.value.problems
    assert all(p.source == str(path) for p in info.value.problems)


def test_every_problem_is_reported_not_only_the_first(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.csv", "person_id,item_id,response\np1,q1,x\np1,q2,y\np2,q1,1\n")
    with pytest.raises(ResponseDataError) as info:
        read_long(path)
    assert [p.line for p in info.value.problems] == [2, 3]


def test_wide_format_errors_are_located(tmp_path: Path) -> None:
    path = write(tmp_path, "w.csv", "person_id,q1,q2\np1,1,7.5\np1,0,1\n")
    with pytest.raises(ResponseDataError) as info:
        read_wide(path)
    text = "\n".join(str(p) for p in info.value.problems)
    assert "line 2: column q2: '7.5'" in text
    assert 'line 3: column person_id: person "p1" appears twice (first on line 2)' in text


def test_unreadable_and_non_utf8_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ResponseDataError, match="cannot read the file"):
        read_long(tmp_path / "missing.csv")
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"person_id,item_id,response\np\xe9,q1,1\n")
    with pytest.raises(ResponseDataError, match="line 2: not valid UTF-8"):
        read_long(path)


def test_from_array_rejects_non_categories() -> None:
    with pytest.raises(ResponseDataError, match=r"row 2, item column 1: 0\.5"):
        from_array(np.array([[1.0, 0.0], [0.5, 1.0]]))
    data = from_array(np.array([[1.0, np.nan], [0.0, 1.0]]))
    np.testing.assert_array_equal(data.responses, [[1, -1], [0, 1]])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.lists(st.integers(min_value=-1, max_value=3), min_size=4, max_size=4),
        min_size=1,
        max_size=40,
    )
)
def test_collapsing_is_lossless(rows: list[list[int]]) -> None:
    matrix = np.array(rows, dtype=np.int8)
    patterns = collapse(matrix)
    np.testing.assert_array_equal(patterns.patterns[patterns.inverse], matrix)
    assert patterns.counts.sum() == len(rows)
    assert len({tuple(r) for r in rows}) == patterns.n_patterns


def test_long_csv_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    matrix = rng.integers(-1, 3, size=(50, 7)).astype(np.int8)
    matrix[:, 0] = 1  # every person answers something
    data = from_array(matrix, item_ids=[f"i{k}" for k in range(7)])
    path = tmp_path / "out.csv"
    write_long(data, path)
    back = read_long(path)
    order = [back.item_ids.index(i) for i in data.item_ids]
    np.testing.assert_array_equal(back.responses[:, order], matrix)
