"""SQLite queries run in the sandbox against a schema and data fixture.

The query runs inside the sandbox by the Python runtime's own ``sqlite3`` on an in-memory
database built from the fixture, so a query (or a ``load_extension``, an ``ATTACH`` of a host
path) sees nothing of the host. The result set comes back as JSON on stdout.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta

from grading.limits import Limits
from grading.result import RunResult
from grading.sandbox import Sandbox

#: Runs in the sandbox: builds the database, runs the one query, prints the result as JSON.
_RUNNER = """\
import json, sqlite3, sys
spec = json.load(open("fixture.json", encoding="utf-8"))
db = sqlite3.connect(":memory:")
db.executescript(spec["schema"])
db.executescript(spec["data"])
db.commit()
try:
    cursor = db.execute(spec["query"])
    rows = cursor.fetchall()
except sqlite3.Error as exc:
    print("SQL error: " + str(exc), file=sys.stderr)
    sys.exit(1)
columns = [d[0] for d in cursor.description or ()]
out = {"columns": columns, "rows": [list(r) for r in rows]}
sys.stdout.write(json.dumps(out, default=lambda v: v.hex() if isinstance(v, bytes) else str(v)))
"""


class SqlFixture(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A schema and its data, as SQL scripts (SQLite dialect)."""

    schema: Annotated[str, Meta(max_length=200_000)]
    data: Annotated[str, Meta(max_length=2_000_000)] = ""


class SqlResult(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A query's result set (``columns``/``rows`` empty when it failed) and its run."""

    columns: list[str]
    rows: list[list[Any]]
    run: RunResult
    error: str = ""


class _Decoded(msgspec.Struct):
    columns: list[str]
    rows: list[list[Any]]


def run_sql(
    sandbox: Sandbox, fixture: SqlFixture, query: str, limits: Limits | None = None
) -> SqlResult:
    """Run ``query`` on a fresh database built from ``fixture``, in the sandbox.

    Returns
    -------
    SqlResult
        The columns and rows, or ``error`` in plain words (the SQL error, or the limit).
    """
    spec = {"schema": fixture.schema, "data": fixture.data, "query": query}
    run = sandbox.run(_RUNNER, files={"fixture.json": msgspec.json.encode(spec)}, limits=limits)
    if run.outcome != "ok":
        last = run.stderr.strip().splitlines()[-1:] if run.outcome == "error" else []
        return SqlResult(columns=[], rows=[], run=run, error=last[0] if last else run.message)
    decoded = msgspec.json.decode(run.stdout, type=_Decoded)
    return SqlResult(columns=decoded.columns, rows=decoded.rows, run=run)
