"""Response data: reading long and wide CSV with located errors, and pattern collapsing.

A data set is a person x item matrix of score categories as ``int8`` with ``-1`` for "not
administered": 100,000 persons x 200 items take 20 MB. Missing responses are not wrong
answers; calibration and scoring use only what each person was given (full information), so
sparse and adaptively collected data calibrate correctly.

Formats
-------
Long (the web service's export)::

    person_id,item_id,response[,more columns...]
    p0001,py-023,1

Extra columns are kept as person covariates (the first value seen for a person). An empty
response, ``NA``, ``NaN`` or ``.`` means not administered.

Wide::

    person_id,item-1,item-2,...
    p0001,1,0,...

Every column other than ``person_id`` is an item, unless the caller names the items (e.g. the
bank's item ids), in which case the other columns are covariates.

Large long files (:data:`COLUMNAR_BYTES` and more) are parsed by pyarrow's multithreaded
columnar CSV reader: every column is parsed straight into dictionary codes and the few
distinct response texts are decoded once, so 30 million rows read in seconds rather than
minutes. Whenever that path
meets anything it does not accept as is (a malformed row, a blank line, a quoted field, an
invalid code, a repeated answer), the file is read again by the standard-library reader,
which locates every problem by line and column; both readers return the same data.
"""

from __future__ import annotations

import csv
import hashlib
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from numpy.typing import NDArray

from calibration.errors import CalibrationWarning, DataProblem, ResponseDataError

MISSING = -1
MAX_CODE = 100
_MISSING_TEXT = frozenset({"", "na", "nan", ".", "null"})
_CODES = {str(k): k for k in range(MAX_CODE + 1)}
_MAX_PROBLEMS = 50
Format = Literal["long", "wide", "auto"]
#: Long files at least this large are read by pyarrow (see the module documentation).
COLUMNAR_BYTES = 4 * 2**20


@dataclass(frozen=True, eq=False)
class ResponseData:
    """A person x item response matrix.

    Attributes
    ----------
    source
        Where the data came from (file name), for messages.
    person_ids, item_ids
        Row and column labels.
    responses
        ``int8`` array ``(n_persons, n_items)``; score categories ``0..K``, ``-1`` where the
        item was not administered.
    covariates
        Extra columns, one value per person.
    locations
        ``(item index, code) -> line`` of the first occurrence, so that a later model check
        can point at the line of an offending code.
    digest
        SHA-256 of the file's bytes (empty for in-memory data).
    """

    source: str
    person_ids: tuple[str, ...]
    item_ids: tuple[str, ...]
    responses: NDArray[np.int8]
    covariates: dict[str, tuple[str, ...]] = field(default_factory=dict)
    locations: dict[tuple[int, int], int] = field(default_factory=dict)
    digest: str = ""
    warnings: tuple[CalibrationWarning, ...] = ()

    @property
    def n_persons(self) -> int:
        """Number of persons (rows)."""
        return int(self.responses.shape[0])

    @property
    def n_items(self) -> int:
        """Number of items (columns)."""
        return int(self.responses.shape[1])

    def where(self, item: int, code: int) -> str:
        """Human location of the first ``code`` of column ``item`` (``file: line N``)."""
        line = self.locations.get((item, code))
        return f"{self.source}: line {line}" if line is not None else self.source

    def take_items(
        self, columns: Sequence[int], *, responses: NDArray[np.int8] | None = None
    ) -> ResponseData:
        """The data restricted to the given item columns (in that order).

        ``responses``: that restriction of :attr:`responses` when the caller already made
        it (a million persons' table is not copied twice).
        """
        index = list(columns)
        if index == list(range(self.n_items)):
            return self  # immutable: nothing to copy
        remap = {old: new for new, old in enumerate(index)}
        locations = {
            (remap[i], code): line for (i, code), line in self.locations.items() if i in remap
        }
        return ResponseData(
            source=self.source,
            person_ids=self.person_ids,
            item_ids=tuple(self.item_ids[i] for i in index),
            responses=np.ascontiguousarray(self.responses[:, index])
            if responses is None
            else responses,
            covariates=self.covariates,
            locations=locations,
            digest=self.digest,
            warnings=self.warnings,
        )


def from_array(
    responses: NDArray[np.generic],
    *,
    item_ids: Sequence[str] | None = None,
    person_ids: Sequence[str] | None = None,
    source: str = "<array>",
) -> ResponseData:
    """Wrap a numeric matrix; NaN or negative values mean not administered.

    Raises
    ------
    ResponseDataError
        When a value is not a whole number in ``0..100`` (or missing).
    """
    values = np.asarray(responses)
    if values.ndim != 2:
        raise ResponseDataError(
            [DataProblem(source=source, message=f"need a 2-D matrix, got shape {values.shape}")]
        )
    n, j = values.shape
    if np.issubdtype(values.dtype, np.floating):
        missing = np.isnan(values) | (values < 0)
        filled = np.where(missing, 0.0, values)
        bad = ~missing & ((filled != np.round(filled)) | (filled > MAX_CODE))
        if bad.any():
            row, col = (int(x) for x in np.argwhere(bad)[0])
            raise ResponseDataError(
                [
                    DataProblem(
                        source=source,
                        message=f"row {row + 1}, item column {col + 1}: "
                        f"{values[row, col].item()!r} is not a score category "
                        f"(a whole number 0..{MAX_CODE})",
                    )
                ]
            )
        matrix = np.where(missing, MISSING, filled).astype(np.int8)
    else:
        as_int = values.astype(np.int64)
        if (as_int > MAX_CODE).any():
            row, col = (int(x) for x in np.argwhere(as_int > MAX_CODE)[0])
            raise ResponseDataError(
                [
                    DataProblem(
                        source=source,
                        message=f"row {row + 1}, item column {col + 1}: {as_int[row, col]} "
                        f"is larger than the largest score category {MAX_CODE}",
                    )
                ]
            )
        matrix = np.where(as_int < 0, MISSING, as_int).astype(np.int8)
    items = tuple(item_ids) if item_ids is not None else tuple(f"item{k + 1}" for k in range(j))
    persons = tuple(person_ids) if person_ids is not None else tuple(f"p{k + 1}" for k in range(n))
    if len(items) != j or len(persons) != n:
        raise ResponseDataError(
            [DataProblem(source=source, message="labels do not match the matrix shape")]
        )
    return ResponseData(source=source, person_ids=persons, item_ids=items, responses=matrix)


# --------------------------------------------------------------------------- CSV reading


class _Problems:
    """Collects located problems, keeping the first ``_MAX_PROBLEMS``."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.items: list[DataProblem] = []
        self.dropped = 0

    def add(self, message: str, line: int | None = None, column: str | None = None) -> None:
        if len(self.items) < _MAX_PROBLEMS:
            self.items.append(
                DataProblem(source=self.source, message=message, line=line, column=column)
            )
        else:
            self.dropped += 1

    def raise_if_any(self) -> None:
        if not self.items:
            return
        if self.dropped:
            self.items.append(
                DataProblem(source=self.source, message=f"... and {self.dropped} more problems")
            )
        raise ResponseDataError(self.items)


def _code(text: str) -> int | None:
    """Parse a response cell: an int code, ``None`` for missing, ``-2`` when invalid."""
    code = _CODES.get(text)
    if code is not None:
        return code
    stripped = text.strip()
    if stripped.lower() in _MISSING_TEXT:
        return None
    code = _CODES.get(stripped)
    if code is not None:
        return code
    try:
        value = float(stripped)
    except ValueError:
        return -2
    if value.is_integer() and 0 <= value <= MAX_CODE:
        return int(value)
    return -2


def _read_text(path: Path) -> tuple[list[str], str]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ResponseDataError(
            [DataProblem(source=str(path), message=f"cannot read the file: {exc.strerror}")]
        ) from None
    digest = hashlib.sha256(data).hexdigest()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ResponseDataError(
            [DataProblem(source=str(path), line=line, message="not valid UTF-8 text")]
        ) from None
    return text.splitlines(), digest


def _header(rows: Iterable[list[str]], source: str) -> list[str]:
    for row in rows:
        return [cell.strip() for cell in row]
    raise ResponseDataError([DataProblem(source=source, message="the file is empty")])


def detect_format(path: str | Path) -> Literal["long", "wide"]:
    """``long`` when the header has ``item_id`` and ``response`` columns, else ``wide``."""
    try:
        with Path(path).open("rb") as handle:
            first = handle.readline(1 << 20)
    except OSError as exc:
        raise ResponseDataError(
            [DataProblem(source=str(path), message=f"cannot read the file: {exc.strerror}")]
        ) from None
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ResponseDataError(
            [DataProblem(source=str(path), line=1, message="not valid UTF-8 text")]
        ) from None
    header = _header(csv.reader(text.splitlines()[:1]), str(path))
    return "long" if {"item_id", "response"} <= set(header) else "wide"


def read_long(path: str | Path) -> ResponseData:
    """Read a long CSV: one row per response, ``person_id,item_id,response`` + covariates.

    Raises
    ------
    ResponseDataError
        With every problem located by line and column: missing header columns, rows with the
        wrong number of fields, empty ids, responses that are not score categories, the same
        person and item twice.
    """
    path = Path(path)
    try:
        large = path.stat().st_size >= COLUMNAR_BYTES
    except OSError:
        large = False
    if large:
        fast = _read_long_columnar(path)
        if fast is not None:
            return fast
    return _read_long_rows(path)


#: Every column is parsed straight into dictionary codes (each distinct text once): half
#: the time of parsing 30 million strings and encoding them afterwards.
_CODED = pa.dictionary(pa.int32(), pa.string())
#: Bytes per block of the columnar reader (pyarrow's default); each block is parsed on its
#: own thread with its own dictionaries, unified when the chunks are combined.
COLUMNAR_BLOCK = 1 << 20


def _read_long_columnar(path: Path) -> ResponseData | None:
    """The pyarrow path of :func:`read_long`; ``None`` when the file needs the row reader.

    Returns ``None`` for anything but a clean file (see the module documentation); line
    numbers are then the row reader's job.
    """
    source = str(path)
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    body = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw
    if b"\n\n" in body or b"\n\r\n" in body or body.startswith(b"\n"):
        return None
    digest = hashlib.sha256(raw).hexdigest()
    first = body.split(b"\n", 1)[0]
    try:
        header = [c.strip() for c in next(csv.reader([first.decode("utf-8")]), [])]
    except UnicodeDecodeError:
        return None
    required = ("person_id", "item_id", "response")
    if not set(required) <= set(header) or len(set(header)) != len(header):
        return None
    try:
        table = pacsv.read_csv(
            pa.py_buffer(body),
            read_options=pacsv.ReadOptions(
                skip_rows=1, column_names=header, block_size=COLUMNAR_BLOCK
            ),
            parse_options=pacsv.ParseOptions(newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(
                column_types={name: _CODED for name in header},
                strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError):
        return None
    if table.num_rows == 0:
        return None
    del raw, body  # the table holds its own copy
    # combining the chunks unifies their dictionaries, each appending the values not seen
    # in the chunks before: values stay numbered in order of first appearance
    persons = table.column("person_id").combine_chunks()
    items = table.column("item_id").combine_chunks()
    answers = table.column("response").combine_chunks()
    extra_columns = {
        name: table.column(name).combine_chunks()
        for name in header
        if name not in ("person_id", "item_id", "response")
    }
    del table
    person_names, person_map = _stripped_ids(persons.dictionary.to_pylist())
    item_names, item_map = _stripped_ids(items.dictionary.to_pylist())
    if "" in person_names or "" in item_names:
        return None
    texts = answers.dictionary.to_pylist()
    decoded = [_code(t) for t in texts]
    if -2 in decoded:
        return None
    code_of = np.array([MISSING if c is None else c for c in decoded], dtype=np.int8)
    pi = persons.indices.to_numpy()
    ii_all = items.indices.to_numpy()
    if person_map is not None:
        pi = person_map[pi]
    if item_map is not None:
        ii_all = item_map[ii_all]
    values_all = code_of[answers.indices.to_numpy()]
    del persons, items, answers
    n = len(person_names)
    extra = [name for name in header if name not in required]
    covariates: dict[str, tuple[str, ...]] = {}
    warnings: list[CalibrationWarning] = []
    # ids are numbered in order of appearance: a person's first row raises the running maximum
    running = np.maximum.accumulate(pi)
    first_row = np.flatnonzero(np.concatenate(([True], running[1:] > running[:-1])))
    for name in extra:
        column = extra_columns.pop(name)
        codes = column.indices.to_numpy()
        labels = np.array(column.dictionary.to_pylist(), dtype=object)
        mine = codes[first_row]
        covariates[name] = tuple(labels[mine].tolist())
        differs = np.flatnonzero(codes != mine[pi])
        if differs.size:
            warnings.append(
                CalibrationWarning(
                    kind="varying_covariate",
                    subject=f"column {name}",
                    message=f"varies within a person (first on line {int(differs[0]) + 2}); "
                    "the first value is kept",
                )
            )
    pa.default_memory_pool().release_unused()
    given = values_all >= 0
    if given.all():  # no "not administered" rows: no copies
        rows = None
        ii, values = ii_all, values_all
    else:
        rows = np.flatnonzero(given)
        pi, ii, values = pi[rows], ii_all[rows], values_all[rows]
    del given, ii_all, values_all
    # items are numbered in order of their first administered answer, as the row reader does
    first_seen = _first_index(ii, len(item_names))
    present = np.flatnonzero(first_seen >= 0)
    order = present[np.argsort(first_seen[present], kind="stable")]
    renumber = np.full(len(item_names), -1, dtype=np.int32)
    renumber[order] = np.arange(order.size, dtype=np.int32)
    ii = renumber[ii]
    j = int(order.size)
    if j == 0:
        return None
    flat = pi.astype(np.int64)
    flat *= j
    flat += ii
    del pi
    matrix = np.full((n, j), MISSING, dtype=np.int8)
    matrix.reshape(-1)[flat] = values
    del flat
    if int(np.count_nonzero(matrix >= 0)) != values.size:
        return None  # an answer repeated: the row reader says where
    locations: dict[tuple[int, int], int] = {}
    key = ii.astype(np.int64) * (MAX_CODE + 1) + values
    first_key = _first_index(key, j * (MAX_CODE + 1))
    for k in first_key[first_key >= 0].tolist():
        line = (k if rows is None else int(rows[k])) + 2
        locations[(int(ii[k]), int(values[k]))] = line
    return ResponseData(
        source=source,
        person_ids=tuple(person_names),
        item_ids=tuple(item_names[k] for k in order.tolist()),
        responses=matrix,
        covariates=covariates,
        locations=locations,
        digest=digest,
        warnings=tuple(warnings),
    )


def _stripped_ids(raw: list[str]) -> tuple[list[str], NDArray[np.int32] | None]:
    """Ids without surrounding spaces (as the row reader keeps them), first seen first.

    Also returns the map from ``raw``'s positions to them (None when nothing merged).
    """
    names = [s.strip() for s in raw]
    index: dict[str, int] = {}
    mapping = [index.setdefault(name, len(index)) for name in names]
    if len(index) == len(names):
        return names, None
    return list(index), np.array(mapping, dtype=np.int32)


def _first_index(keys: NDArray[np.integer], size: int) -> NDArray[np.int64]:
    """Index of the first occurrence of every key ``0..size-1`` in ``keys`` (-1: absent).

    Assigning in reverse order lets the first occurrence be the last write (numpy applies
    repeated indices of one assignment in order), one pass instead of a sort.
    """
    out = np.full(size, -1, dtype=np.int64)
    out[keys[::-1]] = np.arange(keys.size - 1, -1, -1, dtype=np.int64)
    return out


def _read_long_rows(path: Path) -> ResponseData:
    """The standard-library path of :func:`read_long` (locates every problem)."""
    source = str(path)
    lines, digest = _read_text(path)
    reader = csv.reader(lines)
    header = _header(reader, source)
    problems = _Problems(source)
    required = ("person_id", "item_id", "response")
    absent = [name for name in required if name not in header]
    if absent:
        problems.add(
            f"the header needs the columns {', '.join(required)}; missing {', '.join(absent)}",
            line=1,
        )
        problems.raise_if_any()
    duplicates = {name for name in header if header.count(name) > 1}
    if duplicates:
        problems.add(f"duplicate column names: {', '.join(sorted(duplicates))}", line=1)
        problems.raise_if_any()
    pc, ic, rc = (header.index(name) for name in required)
    extra = [(k, name) for k, name in enumerate(header) if name not in required]
    width = len(header)
    persons: dict[str, int] = {}
    items: dict[str, int] = {}
    rows_p = array("i")
    rows_i = array("i")
    rows_v = array("b")
    rows_line = array("i")
    locations: dict[tuple[int, int], int] = {}
    covariates: dict[str, list[str]] = {name: [] for _, name in extra}
    varying: dict[str, int] = {}
    for line_no, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(row) != width:
            problems.add(f"expected {width} fields, found {len(row)}", line=line_no)
            continue
        person = row[pc].strip()
        item = row[ic].strip()
        if not person:
            problems.add("empty person id", line=line_no, column="person_id")
            continue
        if not item:
            problems.add("empty item id", line=line_no, column="item_id")
            continue
        code = _code(row[rc])
        if code == -2:
            problems.add(
                f"{row[rc]!r} is not a score category (a whole number 0..{MAX_CODE}, "
                "or empty / NA for not administered)",
                line=line_no,
                column="response",
            )
            continue
        p = persons.get(person)
        if p is None:
            p = persons[person] = len(persons)
            for k, name in extra:
                covariates[name].append(row[k])
        elif extra:
            for k, name in extra:
                if name not in varying and covariates[name][p] != row[k]:
                    varying[name] = line_no
        if code is None:
            continue
        i = items.get(item)
        if i is None:
            i = items[item] = len(items)
        rows_p.append(p)
        rows_i.append(i)
        rows_v.append(code)
        rows_line.append(line_no)
        if (i, code) not in locations:
            locations[(i, code)] = line_no
    problems.raise_if_any()
    if not rows_p:
        problems.add("no responses in the file")
        problems.raise_if_any()
    n, j = len(persons), len(items)
    pi = np.frombuffer(rows_p, dtype=np.int32).astype(np.int64)
    ii = np.frombuffer(rows_i, dtype=np.int32).astype(np.int64)
    flat = pi * j + ii
    order = np.argsort(flat, kind="stable")
    same = np.flatnonzero(flat[order][1:] == flat[order][:-1])
    if same.size:
        line_arr = np.frombuffer(rows_line, dtype=np.int32)
        item_names = list(items)
        person_names = list(persons)
        for k in same[:_MAX_PROBLEMS]:
            first, second = int(order[k]), int(order[k + 1])
            problems.add(
                f'person "{person_names[pi[first]]}" answered item "{item_names[ii[first]]}" '
                f"twice (first on line {line_arr[first]})",
                line=int(line_arr[second]),
            )
        problems.raise_if_any()
    matrix = np.full((n, j), MISSING, dtype=np.int8)
    matrix.reshape(-1)[flat] = np.frombuffer(rows_v, dtype=np.int8)
    warnings = tuple(
        CalibrationWarning(
            kind="varying_covariate",
            subject=f"column {name}",
            message=f"varies within a person (first on line {line}); the first value is kept",
        )
        for name, line in varying.items()
    )
    return ResponseData(
        source=source,
        person_ids=tuple(persons),
        item_ids=tuple(items),
        responses=matrix,
        covariates={name: tuple(values) for name, values in covariates.items()},
        locations=locations,
        digest=digest,
        warnings=warnings,
    )


def read_wide(path: str | Path, *, item_ids: Iterable[str] | None = None) -> ResponseData:
    """Read a wide CSV: one row per person, ``person_id`` and one column per item.

    Parameters
    ----------
    item_ids
        When given, only these columns are items; the others are covariates.
    """
    path = Path(path)
    source = str(path)
    lines, digest = _read_text(path)
    reader = csv.reader(lines)
    header = _header(reader, source)
    problems = _Problems(source)
    if "person_id" not in header:
        problems.add("the header needs a person_id column", line=1)
        problems.raise_if_any()
    duplicates = {name for name in header if header.count(name) > 1}
    if duplicates:
        problems.add(f"duplicate column names: {', '.join(sorted(duplicates))}", line=1)
        problems.raise_if_any()
    pc = header.index("person_id")
    wanted = set(item_ids) if item_ids is not None else None
    item_cols = [
        k for k, name in enumerate(header) if k != pc and (wanted is None or name in wanted)
    ]
    extra = [(k, name) for k, name in enumerate(header) if k != pc and k not in item_cols]
    if not item_cols:
        problems.add("no item columns", line=1)
        problems.raise_if_any()
    width = len(header)
    persons: dict[str, int] = {}
    rows: list[list[int]] = []
    covariates: dict[str, list[str]] = {name: [] for _, name in extra}
    locations: dict[tuple[int, int], int] = {}
    for line_no, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(row) != width:
            problems.add(f"expected {width} fields, found {len(row)}", line=line_no)
            continue
        person = row[pc].strip()
        if not person:
            problems.add("empty person id", line=line_no, column="person_id")
            continue
        if person in persons:
            problems.add(
                f'person "{person}" appears twice (first on line {persons[person]})',
                line=line_no,
                column="person_id",
            )
            continue
        persons[person] = line_no
        values = []
        for j, k in enumerate(item_cols):
            code = _code(row[k])
            if code == -2:
                problems.add(
                    f"{row[k]!r} is not a score category (a whole number 0..{MAX_CODE}, "
                    "or empty / NA for not administered)",
                    line=line_no,
                    column=header[k],
                )
                code = None
            if code is None:
                values.append(MISSING)
            else:
                values.append(code)
                if (j, code) not in locations:
                    locations[(j, code)] = line_no
        rows.append(values)
        for k, name in extra:
            covariates[name].append(row[k])
    problems.raise_if_any()
    if not rows:
        problems.add("no persons in the file")
        problems.raise_if_any()
    matrix = np.asarray(rows, dtype=np.int8).reshape(len(rows), len(item_cols))
    return ResponseData(
        source=source,
        person_ids=tuple(persons),
        item_ids=tuple(header[k] for k in item_cols),
        responses=matrix,
        covariates={name: tuple(values) for name, values in covariates.items()},
        locations=locations,
        digest=digest,
    )


def read_responses(
    path: str | Path, *, fmt: Format = "auto", item_ids: Iterable[str] | None = None
) -> ResponseData:
    """Read a long or wide response CSV (``auto``: long when it has item_id and response)."""
    chosen = detect_format(path) if fmt == "auto" else fmt
    if chosen == "long":
        return read_long(path)
    return read_wide(path, item_ids=item_ids)


def write_long(data: ResponseData, path: str | Path) -> None:
    """Write the administered responses as a long CSV (``person_id,item_id,response``)."""
    rows, cols = np.nonzero(data.responses >= 0)
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(("person_id", "item_id", "response"))
        values = data.responses[rows, cols]
        writer.writerows(
            (data.person_ids[r], data.item_ids[c], int(v))
            for r, c, v in zip(rows.tolist(), cols.tolist(), values.tolist(), strict=True)
        )


# --------------------------------------------------------------------------- patterns


@dataclass(frozen=True, eq=False)
class Patterns:
    """Distinct response patterns with their counts.

    ``patterns[inverse]`` reproduces the original rows; EM works on ``patterns`` weighted by
    ``counts``, which for short tests (LSAT7: 1000 persons, 32 patterns) is a large saving.
    """

    patterns: NDArray[np.int8]
    counts: NDArray[np.float64]
    inverse: NDArray[np.intp]

    @property
    def n_patterns(self) -> int:
        """Number of distinct patterns."""
        return int(self.patterns.shape[0])


def collapse(responses: NDArray[np.int8], weights: NDArray[np.float64] | None = None) -> Patterns:
    """Collapse identical rows into patterns with counts (or summed ``weights``)."""
    matrix = np.ascontiguousarray(responses, dtype=np.int8)
    n, j = matrix.shape
    if n == 0:
        return Patterns(np.zeros((0, j), dtype=np.int8), np.zeros(0), np.zeros(0, dtype=np.intp))
    rows = matrix.view(np.dtype((np.void, j))).reshape(n)
    _, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1).astype(np.intp)
    counts = np.bincount(inverse, weights=weights, minlength=first.size).astype(np.float64)
    return Patterns(matrix[first], counts, inverse)
