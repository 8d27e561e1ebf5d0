"""Responses with their times, in long form: for response-time calibration and item drift.

One row per answer::

    person_id,item_id,response,elapsed_ms,answered_at
    s-0001,py-023,1,8250,2026-03-01T10:15:02+00:00

``person_id`` and ``item_id`` are required, and a time column: ``seconds`` or
``elapsed_ms`` (the web service's export; ``seconds`` wins when both are present).
``response`` (a score category) and ``answered_at`` (ISO 8601, with or without a time zone;
without one it is read as UTC) are optional; other columns are ignored. An empty time,
``NA`` or ``.`` means the time was not recorded: the answer is kept, without a time.

Answers stay in long form (parallel arrays, one entry per answer): a CAT leaves most of the
person x item table empty, and both uses here work per answer.
Every problem is located by file, line and column; the first 50 are reported together.
"""

from __future__ import annotations

import csv
import math
from array import array
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from calibration.errors import CalibrationWarning, DataProblem, ResponseDataError

_MISSING = frozenset({"", "na", "nan", ".", "null"})
_MAX_PROBLEMS = 50
_MAX_CODE = 100
#: Times above this (one day) are refused as implausible for one answer.
MAX_SECONDS = 86_400.0


@dataclass(frozen=True, eq=False)
class TimedResponses:
    """Answers in long form with their response times.

    Attributes
    ----------
    source
        The file the answers came from.
    person_ids, item_ids
        Labels; ``person`` and ``item`` index into them.
    person, item
        ``(E,)`` per answer.
    response
        ``(E,)`` score category, ``-1`` where the file has none.
    seconds
        ``(E,)`` response time in seconds, NaN where not recorded.
    answered_at
        ``(E,)`` POSIX time of the answer, NaN where not recorded.
    line
        ``(E,)`` the answer's line in the file (for located messages).
    warnings
        What the reader noticed but did not refuse.
    """

    source: str
    person_ids: tuple[str, ...]
    item_ids: tuple[str, ...]
    person: NDArray[np.intp]
    item: NDArray[np.intp]
    response: NDArray[np.int16]
    seconds: NDArray[np.float64]
    answered_at: NDArray[np.float64]
    line: NDArray[np.intp]
    warnings: tuple[CalibrationWarning, ...] = ()

    @property
    def n_answers(self) -> int:
        """Number of answers (rows)."""
        return int(self.person.size)

    def chronological(self) -> NDArray[np.intp]:
        """Answer indices in time order (``answered_at``; file order breaks ties and gaps)."""
        stamp = np.where(np.isfinite(self.answered_at), self.answered_at, np.inf)
        return np.lexsort((self.line, stamp)).astype(np.intp)


class _Problems:
    def __init__(self, source: str) -> None:
        self.source = source
        self.items: list[DataProblem] = []
        self.more = 0

    def add(self, message: str, line: int | None = None, column: str | None = None) -> None:
        if len(self.items) < _MAX_PROBLEMS:
            self.items.append(
                DataProblem(source=self.source, message=message, line=line, column=column)
            )
        else:
            self.more += 1

    def check(self) -> None:
        if self.items:
            if self.more:
                self.items.append(
                    DataProblem(source=self.source, message=f"... and {self.more} more problems")
                )
            raise ResponseDataError(self.items)


def _seconds(text: str, per_second: float) -> float | None:
    """Seconds from a cell; None when missing; raises ValueError with the reason."""
    cell = text.strip()
    if cell.lower() in _MISSING:
        return None
    try:
        value = float(cell) / per_second
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite time")
    if value <= 0:
        raise ValueError(f"{text!r}: a response time must be above 0")
    if value > MAX_SECONDS:
        raise ValueError(f"{text!r}: more than a day for one answer")
    return value


def _response(text: str) -> int | None:
    cell = text.strip()
    if cell.lower() in _MISSING:
        return None
    try:
        value = float(cell)
    except ValueError:
        raise ValueError(f"{text!r} is not a score category") from None
    if not value.is_integer() or not 0 <= value <= _MAX_CODE:
        raise ValueError(f"{text!r} is not a score category (a whole number 0..{_MAX_CODE})")
    return int(value)


def _timestamp(text: str) -> float | None:
    cell = text.strip()
    if cell.lower() in _MISSING:
        return None
    try:
        moment = datetime.fromisoformat(cell.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 date and time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def read_timed_long(path: str | Path) -> TimedResponses:
    """Read a long CSV of answers with response times.

    Raises
    ------
    ResponseDataError
        Every problem located by line and column: missing columns, rows with the wrong number
        of fields, empty ids, times that are not positive numbers (or above a day), responses
        that are not score categories, unreadable dates, the same person and item twice.
    """
    path = Path(path)
    source = str(path)
    problems = _Problems(source)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise ResponseDataError(
            [DataProblem(source=source, message=f"cannot read the file: {exc.strerror}")]
        ) from None
    except UnicodeDecodeError:
        raise ResponseDataError([DataProblem(source=source, message="not UTF-8 text")]) from None
    reader = csv.reader(text.splitlines())
    header = [cell.strip() for cell in next(reader, [])]
    if not header:
        raise ResponseDataError([DataProblem(source=source, message="the file is empty")])
    time_column = "seconds" if "seconds" in header else "elapsed_ms"
    needed = ["person_id", "item_id"]
    absent = [name for name in needed if name not in header]
    if time_column not in header:
        absent.append("seconds (or elapsed_ms)")
    if absent:
        problems.add(f"the header needs the columns {', '.join(absent)}", line=1)
        problems.check()
    pc, ic, tc = header.index("person_id"), header.index("item_id"), header.index(time_column)
    rc = header.index("response") if "response" in header else None
    ac = header.index("answered_at") if "answered_at" in header else None
    per_second = 1.0 if time_column == "seconds" else 1000.0
    width = len(header)
    persons: dict[str, int] = {}
    items: dict[str, int] = {}
    first_line: dict[tuple[int, int], int] = {}
    p_col, i_col, r_col, line_col = array("q"), array("q"), array("h"), array("q")
    t_col, a_col = array("d"), array("d")
    for line_no, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(row) != width:
            problems.add(f"expected {width} fields, found {len(row)}", line=line_no)
            continue
        person, item = row[pc].strip(), row[ic].strip()
        if not person or not item:
            problems.add(
                "empty person id" if not person else "empty item id",
                line=line_no,
                column="person_id" if not person else "item_id",
            )
            continue
        try:
            seconds = _seconds(row[tc], per_second)
        except ValueError as exc:
            problems.add(str(exc), line=line_no, column=time_column)
            continue
        response: int | None = None
        if rc is not None:
            try:
                response = _response(row[rc])
            except ValueError as exc:
                problems.add(str(exc), line=line_no, column="response")
                continue
        stamp: float | None = None
        if ac is not None:
            try:
                stamp = _timestamp(row[ac])
            except ValueError as exc:
                problems.add(str(exc), line=line_no, column="answered_at")
                continue
        p = persons.setdefault(person, len(persons))
        i = items.setdefault(item, len(items))
        earlier = first_line.setdefault((p, i), line_no)
        if earlier != line_no:
            problems.add(
                f'person "{person}" answered item "{item}" twice (first on line {earlier})',
                line=line_no,
            )
            continue
        p_col.append(p)
        i_col.append(i)
        r_col.append(-1 if response is None else response)
        t_col.append(math.nan if seconds is None else seconds)
        a_col.append(math.nan if stamp is None else stamp)
        line_col.append(line_no)
    problems.check()
    if not p_col:
        raise ResponseDataError([DataProblem(source=source, message="no answers in the file")])
    answered_at = np.frombuffer(a_col, dtype=np.float64).copy()
    warnings: tuple[CalibrationWarning, ...] = ()
    if ac is None or np.isnan(answered_at).any():
        warnings = (
            CalibrationWarning(
                kind="no_answer_times",
                subject=source,
                message="some answers have no answered_at: their order is the file's order",
            ),
        )
    return TimedResponses(
        source=source,
        person_ids=tuple(persons),
        item_ids=tuple(items),
        person=np.frombuffer(p_col, dtype=np.int64).astype(np.intp),
        item=np.frombuffer(i_col, dtype=np.int64).astype(np.intp),
        response=np.frombuffer(r_col, dtype=np.int16).copy(),
        seconds=np.frombuffer(t_col, dtype=np.float64).copy(),
        answered_at=answered_at,
        line=np.frombuffer(line_col, dtype=np.int64).astype(np.intp),
        warnings=warnings,
    )


def timed_from_arrays(
    person: NDArray[np.integer],
    item: NDArray[np.integer],
    seconds: NDArray[np.floating],
    *,
    response: NDArray[np.integer] | None = None,
    answered_at: NDArray[np.floating] | None = None,
    person_ids: tuple[str, ...] | None = None,
    item_ids: tuple[str, ...] | None = None,
    source: str = "<arrays>",
) -> TimedResponses:
    """Wrap in-memory answers (simulations, tests); indices must be ``0..n-1``."""
    persons: NDArray[np.intp] = np.asarray(person, dtype=np.intp)
    items: NDArray[np.intp] = np.asarray(item, dtype=np.intp)
    n = persons.size
    n_persons = int(persons.max()) + 1 if n else 0
    n_items = int(items.max()) + 1 if n else 0
    return TimedResponses(
        source=source,
        person_ids=person_ids or tuple(f"p{k + 1}" for k in range(n_persons)),
        item_ids=item_ids or tuple(f"item{k + 1}" for k in range(n_items)),
        person=persons,
        item=items,
        response=np.full(n, -1, dtype=np.int16)
        if response is None
        else np.asarray(response, dtype=np.int16),
        seconds=np.asarray(seconds, dtype=np.float64),
        answered_at=np.full(n, np.nan)
        if answered_at is None
        else np.asarray(answered_at, dtype=np.float64),
        line=np.arange(2, n + 2, dtype=np.intp),
    )
