"""Functional runs: a correct program's output, numpy, files, SQL result sets, the pool."""

from __future__ import annotations

import threading
from typing import Any

import msgspec
import pytest

from grading import (
    Limits,
    RunPool,
    Sandbox,
    SandboxBusyError,
    SandboxUnavailable,
    SqlFixture,
    run_sql,
)
from grading.errors import RunInputError
from grading.result import RunResult
from tests.grading.helpers import assert_nothing_left

FIXTURE = SqlFixture(
    schema="CREATE TABLE sales (region TEXT, amount REAL);",
    data="INSERT INTO sales VALUES ('north', 10), ('south', 4.5), ('north', 2.5);",
)


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    box = Sandbox(slots=2, uid_base=62100)
    box.check()
    return box


def test_a_correct_program_prints_its_answer(sandbox: Sandbox) -> None:
    program = (
        "import sys\nnumbers = [int(x) for x in sys.stdin.read().split()]\nprint(sum(numbers))\n"
    )
    result = sandbox.run(program, stdin=b"3 4 5")
    assert (result.outcome, result.exit_code, result.stdout, result.stderr) == (
        "ok",
        0,
        "12\n",
        "",
    )
    assert result.message == "your program ran to the end"
    assert not result.timed_out and result.limit is None


def test_numpy_and_the_files_given_are_there(sandbox: Sandbox) -> None:
    program = (
        "import csv, numpy\n"
        "rows = list(csv.reader(open('data.csv')))\n"
        "print(numpy.mean([float(r[1]) for r in rows]))\n"
    )
    result = sandbox.run(program, files={"data.csv": b"a,1\nb,2\nc,6\n"})
    assert (result.outcome, result.stdout) == ("ok", "3.0\n")


def test_an_error_gives_the_learners_traceback_only(sandbox: Sandbox) -> None:
    result = sandbox.run("def f():\n    return 1 / 0\n\nf()\n")
    assert (result.outcome, result.exit_code) == ("error", 1)
    assert result.stderr.startswith('Traceback (most recent call last):\n  File "/work/main.py"')
    assert "runpy" not in result.stderr and "boot" not in result.stderr
    assert result.stderr.rstrip().endswith("ZeroDivisionError: division by zero")


def test_exit_status_is_kept(sandbox: Sandbox) -> None:
    result = sandbox.run("import sys\nprint('partial')\nsys.exit(3)\n")
    assert (result.outcome, result.exit_code, result.stdout) == ("error", 3, "partial\n")


def test_file_names_must_be_plain(sandbox: Sandbox) -> None:
    for name in ("../x", "/etc/x", "main.py", "a/b"):
        with pytest.raises(RunInputError, match="plain file name"):
            sandbox.run("pass", files={name: b""})


def test_sql_query_gives_its_result_set(sandbox: Sandbox) -> None:
    query = "SELECT region, SUM(amount) AS total FROM sales GROUP BY region ORDER BY region"
    result = run_sql(sandbox, FIXTURE, query)
    assert result.error == ""
    assert result.columns == ["region", "total"]
    assert result.rows == [["north", 12.5], ["south", 4.5]]


def test_sql_error_is_reported(sandbox: Sandbox) -> None:
    result = run_sql(sandbox, FIXTURE, "SELECT nope FROM sales")
    assert (result.columns, result.rows) == ([], [])
    assert result.error == "SQL error: no such column: nope"


def test_limits_from_outside_are_checked() -> None:
    with pytest.raises(msgspec.ValidationError, match="cpu_seconds"):
        msgspec.convert({"cpu_seconds": -1}, Limits)
    with pytest.raises(msgspec.ValidationError, match="unknown field"):
        msgspec.convert({"network": True}, Limits)
    assert msgspec.convert({"cpu_seconds": 3}, Limits).wall == 6


def test_no_sandbox_means_no_run() -> None:
    box = Sandbox(bwrap="/nonexistent/bwrap")
    assert not box.available
    with pytest.raises(SandboxUnavailable, match="bubblewrap \\(bwrap\\) is not installed"):
        box.run("print('ran')")
    pool = RunPool(box)
    with pytest.raises(SandboxUnavailable):
        pool.submit("print('ran')")
    pool.close()


def test_a_failing_self_test_means_no_run() -> None:
    # /bin/false "is" bwrap: it starts, but the self-test sees no 42.
    box = Sandbox(bwrap="/bin/false")
    with pytest.raises(SandboxUnavailable, match="self-test failed"):
        box.run("print('ran')")


class GatedSandbox(Sandbox):
    """A sandbox whose runs wait for a gate, so the pool's fullness is deterministic."""

    def __init__(self, inner: Sandbox, gate: threading.Event) -> None:
        super().__init__(slots=1, uid_base=inner.uid_base)
        self.inner, self.gate = inner, gate

    def run(self, program: str, *args: Any, **kwargs: Any) -> RunResult:
        self.gate.wait(30)
        return self.inner.run(program, *args, **kwargs)


def test_full_pool_says_busy_and_recovers(sandbox: Sandbox) -> None:
    gate = threading.Event()
    pool = RunPool(GatedSandbox(sandbox, gate), queue=1)
    # One run holds the slot, one waits in the queue; the third is refused at once.
    first = pool.submit("print(1)")
    second = pool.submit("print(2)")
    with pytest.raises(SandboxBusyError, match="retry in a few seconds") as busy:
        pool.submit("print(3)")
    assert busy.value.retry_after > 0
    gate.set()
    assert (first.result().stdout, second.result().stdout) == ("1\n", "2\n")
    assert pool.run("print(4)").stdout == "4\n"
    pool.close()
    assert_nothing_left(sandbox)
