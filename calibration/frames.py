"""Response data from what a notebook holds: numpy arrays and pandas DataFrames, wide or long.

* a 2-D numpy array, persons x items (``NaN`` or a negative code: not administered);
* a wide DataFrame: one row per person, one column per item; persons are named by a
  ``person_id`` column when there is one, else by the index;
* a long DataFrame with ``person_id``, ``item_id`` and ``response`` columns (names can be
  changed), one row per response, like the service's export;
* a CSV path (long or wide, :func:`calibration.data.read_responses`), or a
  :class:`~calibration.data.ResponseData`.

pandas is optional: it is only touched when a DataFrame is passed (the ``notebook`` extra
installs it). Problems are located by row (0-based position, as ``DataFrame.iloc``) and
column.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from calibration.data import MAX_CODE, MISSING, ResponseData, from_array, read_responses
from calibration.errors import DataProblem, ResponseDataError


def is_data_frame(value: object) -> bool:
    """True for a pandas DataFrame (checked without importing pandas)."""
    return type(value).__name__ == "DataFrame" and hasattr(value, "columns")


def _codes(values: NDArray[Any], source: str, where: Any) -> NDArray[np.int8]:
    """Score codes (``int8``, -1 missing) from a numeric array, or a located error."""
    try:
        numbers = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        numbers = None
    if numbers is None:
        flat = np.asarray(values, dtype=object).reshape(-1)
        for k, cell in enumerate(flat):
            try:
                float(cell)
            except (TypeError, ValueError):
                raise ResponseDataError(
                    [DataProblem(source=source, message=f"{where(k)}: {cell!r} is not a number")]
                ) from None
        numbers = np.asarray(values, dtype=np.float64)
    missing = np.isnan(numbers) | (numbers < 0)
    filled = np.where(missing, 0.0, numbers)
    bad = np.flatnonzero(
        ~missing.reshape(-1) & ((filled != np.round(filled)) | (filled > MAX_CODE)).reshape(-1)
    )
    if bad.size:
        k = int(bad[0])
        raise ResponseDataError(
            [
                DataProblem(
                    source=source,
                    message=f"{where(k)}: {float(numbers.reshape(-1)[k])!r} is not a score "
                    "category "
                    f"(a whole number 0..{MAX_CODE}, NaN for not administered)",
                )
            ]
        )
    return np.where(missing, MISSING, filled).astype(np.int8)


def from_long_frame(
    frame: Any,
    *,
    source: str = "<DataFrame>",
    person: str = "person_id",
    item: str = "item_id",
    response: str = "response",
) -> ResponseData:
    """Response data from a long DataFrame (one row per response)."""
    import pandas as pd  # noqa: PLC0415 - optional dependency, only with a DataFrame

    absent = [c for c in (person, item, response) if c not in frame.columns]
    if absent:
        raise ResponseDataError(
            [
                DataProblem(
                    source=source, message=f"the DataFrame needs the columns {', '.join(absent)}"
                )
            ]
        )
    persons_codes, persons = pd.factorize(frame[person].astype(str), sort=False)
    items_codes, items = pd.factorize(frame[item].astype(str), sort=False)
    codes = _codes(frame[response].to_numpy(), source, lambda k: f"row {k}, column {response}")
    keep = codes >= 0
    n, j = len(persons), len(items)
    flat = persons_codes.astype(np.int64) * j + items_codes
    order = np.argsort(flat[keep], kind="stable")
    rows = np.flatnonzero(keep)[order]
    same = np.flatnonzero(flat[rows][1:] == flat[rows][:-1])
    if same.size:
        first, second = int(rows[same[0]]), int(rows[same[0] + 1])
        raise ResponseDataError(
            [
                DataProblem(
                    source=source,
                    message=f'row {second}: person "{persons[persons_codes[second]]}" answered '
                    f'item "{items[items_codes[second]]}" twice (first in row {first})',
                )
            ]
        )
    matrix = np.full((n, j), MISSING, dtype=np.int8)
    matrix.reshape(-1)[flat[keep]] = codes[keep]
    return ResponseData(
        source=source,
        person_ids=tuple(str(p) for p in persons),
        item_ids=tuple(str(i) for i in items),
        responses=matrix,
    )


def from_wide_frame(
    frame: Any, *, source: str = "<DataFrame>", person: str = "person_id"
) -> ResponseData:
    """Response data from a wide DataFrame (one row per person, one column per item)."""
    if person in frame.columns:
        persons = [str(p) for p in frame[person]]
        frame = frame.drop(columns=[person])
    else:
        persons = [str(p) for p in frame.index]
    items = [str(c) for c in frame.columns]
    if len(set(persons)) != len(persons):
        seen: dict[str, int] = {}
        for k, p in enumerate(persons):
            if p in seen:
                raise ResponseDataError(
                    [
                        DataProblem(
                            source=source,
                            message=f'row {k}: person "{p}" appears twice (first in row {seen[p]})',
                        )
                    ]
                )
            seen[p] = k
    width = max(len(items), 1)
    codes = _codes(
        frame.to_numpy(),
        source,
        lambda k: f"row {k // width}, column {items[k % width]}",
    )
    return ResponseData(
        source=source, person_ids=tuple(persons), item_ids=tuple(items), responses=codes
    )


def response_data(
    data: object,
    *,
    source: str | None = None,
    item_ids: Sequence[str] | None = None,
    person: str = "person_id",
    item: str = "item_id",
    response: str = "response",
) -> ResponseData:
    """Response data from an array, a DataFrame (wide or long), a CSV path or itself.

    Raises
    ------
    ResponseDataError
        With the row and column of the first value that is not a score category, or when
        the data are empty.
    """
    if isinstance(data, ResponseData):
        out = data
    elif isinstance(data, str | Path):
        out = read_responses(data)
    elif is_data_frame(data):
        name = source or "<DataFrame>"
        columns = set(data.columns)  # type: ignore[attr-defined]
        if {item, response} <= columns:
            out = from_long_frame(data, source=name, person=person, item=item, response=response)
        else:
            out = from_wide_frame(data, source=name, person=person)
    else:
        array = np.asarray(data)
        if array.ndim != 2:
            raise ResponseDataError(
                [
                    DataProblem(
                        source=source or "<array>",
                        message=f"expected a 2-D persons x items array, got {array.ndim}-D",
                    )
                ]
            )
        out = from_array(array, item_ids=item_ids, source=source or "<array>")
    if out.n_persons == 0 or out.n_items == 0 or not (out.responses >= 0).any():
        raise ResponseDataError(
            [DataProblem(source=out.source, message="no responses: the data are empty")]
        )
    return out
