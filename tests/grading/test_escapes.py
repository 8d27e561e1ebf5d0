"""The escape suite: each attempt is contained and the host is healthy after it.

Limits are tight (few processes, little memory, short clocks): the machine is shared.
"""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from grading import Limits, RunPool, Sandbox, run_sql
from grading.sql import SqlFixture
from tests.grading.helpers import assert_nothing_left

SECRET = "decoy-secret-key-5d1c0a"
TIGHT = Limits(cpu_seconds=1, wall_seconds=4, memory_mb=128, processes=8)


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    box = Sandbox(slots=2, uid_base=62000)
    box.check()  # no sandbox is a failure here, never a skip
    return box


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A decoy of the service's data directory: secret key and database."""
    (tmp_path / "secret_key").write_text(SECRET)
    (tmp_path / "skillgauge.db").write_bytes(b"SQLite format 3\x00" + SECRET.encode())
    tmp_path.chmod(0o755)
    return tmp_path


@pytest.fixture(autouse=True)
def host_healthy(sandbox: Sandbox) -> Iterator[None]:
    """After each attempt: nothing of the run is left and a fresh run works."""
    yield
    assert_nothing_left(sandbox)
    after = sandbox.run("print(6 * 7)")
    assert (after.outcome, after.stdout) == ("ok", "42\n")


def test_fork_bomb_is_contained(sandbox: Sandbox) -> None:
    bomb = (
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    )
    result = sandbox.run(bomb, limits=TIGHT)
    assert result.outcome == "limit"
    assert result.limit in {"wall", "cpu"}


def test_process_limit_holds(sandbox: Sandbox) -> None:
    program = (
        "import os, time\n"
        "n = 0\n"
        "for _ in range(40):\n"
        "    try:\n"
        "        pid = os.fork()\n"
        "    except OSError:\n"
        "        break\n"
        "    if pid == 0:\n"
        "        time.sleep(1)\n"
        "        os._exit(0)\n"
        "    n += 1\n"
        "print(n)\n"
    )
    result = sandbox.run(program, limits=TIGHT)
    assert result.outcome == "ok", result
    # The supervisor and the program are two of the 8; the rest are the forks that worked.
    assert int(result.stdout) <= TIGHT.processes - 2


def test_thread_bomb_reports_the_process_limit(sandbox: Sandbox) -> None:
    program = (
        "import threading, time\n"
        "while True:\n"
        "    threading.Thread(target=time.sleep, args=(5,), daemon=True).start()\n"
    )
    result = sandbox.run(program, limits=TIGHT)
    assert (result.outcome, result.limit) == ("limit", "processes")
    assert result.message == "your code started more than 8 processes or threads"


def test_memory_bomb_is_stopped(sandbox: Sandbox) -> None:
    program = "chunks = []\nwhile True:\n    chunks.append(bytearray(10**7))\n"
    result = sandbox.run(program, limits=TIGHT)
    assert (result.outcome, result.limit) == ("limit", "memory")
    assert result.message == "your code used more than 128 MB"


def test_numpy_memory_bomb_is_stopped(sandbox: Sandbox) -> None:
    result = sandbox.run("import numpy\nnumpy.ones(10**9)\n", limits=TIGHT)
    assert (result.outcome, result.limit) == ("limit", "memory")


def test_infinite_loop_is_stopped(sandbox: Sandbox) -> None:
    result = sandbox.run("while True:\n    pass\n", limits=TIGHT)
    assert result.outcome == "limit"
    # CPU limit (SIGXCPU) unless the shared machine is so busy the wall clock comes first.
    assert result.limit in {"cpu", "wall"}
    assert result.message in {
        "your code ran longer than 1 s",
        "your code took longer than 4 s (wall clock) and was stopped",
    }


def test_sleeping_forever_hits_the_wall_clock(sandbox: Sandbox) -> None:
    result = sandbox.run("import time\ntime.sleep(3600)\n", limits=TIGHT)
    assert (result.outcome, result.limit, result.timed_out) == ("limit", "wall", True)


def test_a_gigabyte_of_output_is_cut(sandbox: Sandbox) -> None:
    program = (
        "import sys\nchunk = 'x' * 2**20\nfor _ in range(1024):\n    sys.stdout.write(chunk)\n"
    )
    limits = Limits(cpu_seconds=2, wall_seconds=10, output_bytes=256 * 1024)
    result = sandbox.run(program, limits=limits)
    assert (result.outcome, result.limit, result.truncated) == ("limit", "output", True)
    assert result.stdout.endswith("[output truncated: more than 262144 bytes]\n")
    assert len(result.stdout) < 256 * 1024 + 100


def test_host_files_are_out_of_sight(sandbox: Sandbox, data_dir: Path) -> None:
    paths = [
        "/etc/shadow",
        "/etc/passwd",
        str(data_dir / "secret_key"),
        str(data_dir / "skillgauge.db"),
        str(Path(__file__).resolve()),
        "/proc/1/environ",
        "/proc/1/root/etc/shadow",
        "/root/.bash_history",
    ]
    program = (
        "import sys\n"
        "for path in sys.stdin.read().split():\n"
        "    try:\n"
        "        print(path, 'READ', open(path, 'rb').read()[:100])\n"
        "    except OSError as exc:\n"
        "        print(path, type(exc).__name__)\n"
    )
    result = sandbox.run(program, stdin="\n".join(paths).encode(), limits=TIGHT)
    assert result.outcome == "ok", result
    assert SECRET not in result.stdout
    lines = result.stdout.splitlines()
    assert len(lines) == len(paths)
    for line in lines:
        assert line.split()[1] in {"FileNotFoundError", "PermissionError"}, line


def test_sql_cannot_attach_the_host_database(sandbox: Sandbox, data_dir: Path) -> None:
    fixture = SqlFixture(schema="CREATE TABLE t (x INTEGER);")
    query = f"ATTACH DATABASE '{data_dir / 'skillgauge.db'}' AS host"
    result = run_sql(sandbox, fixture, query, limits=TIGHT)
    assert result.rows == []
    assert result.error.startswith("SQL error: unable to open database")
    assert SECRET not in result.run.stdout + result.run.stderr


def test_other_runs_are_out_of_sight(sandbox: Sandbox) -> None:
    pool = RunPool(sandbox, queue=0)
    writer = (
        "import time\n"
        "open('/work/answer.txt', 'w').write('other-run-secret')\n"
        "print('written', flush=True)\n"
        "time.sleep(2)\n"
    )
    other = pool.submit(writer, limits=TIGHT)
    snoop = (
        "import glob\n"
        "print(len(glob.glob('/proc/[0-9]*')))\n"
        "for path in glob.glob('/proc/*/root/work/*') + glob.glob('/proc/*/cwd/*'):\n"
        "    try:\n"
        "        print(path, open(path).read())\n"
        "    except OSError as exc:\n"
        "        print(path, type(exc).__name__)\n"
        "print(glob.glob('/work/*'))\n"
    )
    result = pool.run(snoop, limits=TIGHT)
    assert other.result().stdout == "written\n"
    pool.close()
    assert result.outcome == "ok", result
    assert "other-run-secret" not in result.stdout
    assert result.stdout.splitlines()[-1] == "['/work/main.py']"
    # Its own PID namespace: bwrap's init, the supervisor and the program, nothing else.
    assert int(result.stdout.splitlines()[0]) <= 3


def test_no_network(sandbox: Sandbox) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        program = (
            "import socket, sys\n"
            "for host, port in [('127.0.0.1', int(sys.argv[0] and sys.stdin.read())),"
            " ('1.1.1.1', 53), ('pypi.org', 443)]:\n"
            "    try:\n"
            "        socket.create_connection((host, port), timeout=2)\n"
            "        print(host, 'CONNECTED')\n"
            "    except OSError as exc:\n"
            "        print(host, type(exc).__name__)\n"
        )
        result = sandbox.run(program, stdin=str(port).encode(), limits=TIGHT)
        server.setblocking(False)
        with pytest.raises(BlockingIOError):
            server.accept()  # nobody reached the host's loopback
    assert result.outcome == "ok", result
    assert "CONNECTED" not in result.stdout
    assert len(result.stdout.splitlines()) == 3


def test_writes_stay_in_the_working_directory(sandbox: Sandbox, data_dir: Path) -> None:
    before = sorted(p.name for p in data_dir.iterdir())
    targets = [
        str(data_dir / "planted"),
        str(data_dir / "secret_key"),
        "/tmp/planted",
        "/usr/lib/planted",
        "/opt/python/lib/planted",
        "/opt/site/numpy/__init__.py",
        "/work/main.py",
        "/planted",
    ]
    program = (
        "import sys\n"
        "for path in sys.stdin.read().split():\n"
        "    try:\n"
        "        open(path, 'w').write('x')\n"
        "        print(path, 'WROTE')\n"
        "    except OSError as exc:\n"
        "        print(path, type(exc).__name__)\n"
        "open('/work/own.txt', 'w').write('mine')\n"
        "print(open('own.txt').read())\n"
    )
    result = sandbox.run(program, stdin="\n".join(targets).encode(), limits=TIGHT)
    assert result.outcome == "ok", result
    assert "WROTE" not in result.stdout
    assert result.stdout.splitlines()[-1] == "mine"
    assert sorted(p.name for p in data_dir.iterdir()) == before
    assert (data_dir / "secret_key").read_text() == SECRET


def test_filling_the_disk_is_stopped(sandbox: Sandbox) -> None:
    program = (
        "with open('big', 'wb') as f:\n    for _ in range(64):\n        f.write(bytes(2**20))\n"
    )
    result = sandbox.run(program, limits=Limits(cpu_seconds=2, disk_mb=8, file_size_mb=16))
    assert (result.outcome, result.limit) == ("limit", "disk")
    result = sandbox.run(program, limits=Limits(cpu_seconds=2, disk_mb=64, file_size_mb=4))
    assert (result.outcome, result.limit) == ("limit", "file_size")


def test_signalling_the_parent_fails(sandbox: Sandbox) -> None:
    program = (
        "import os, signal, sys\n"
        "for pid in [int(sys.stdin.read()), 1]:\n"
        "    try:\n"
        "        os.kill(pid, signal.SIGKILL)\n"
        "        print(pid, 'KILLED')\n"
        "    except OSError as exc:\n"
        "        print(pid, type(exc).__name__)\n"
        "sys.stdout.flush()\n"
        "os.kill(-1, signal.SIGKILL)\n"  # everything it may signal: only its own run
    )
    result = sandbox.run(program, stdin=str(os.getpid()).encode(), limits=TIGHT)
    assert "KILLED" not in result.stdout
    assert [line.split()[1] for line in result.stdout.splitlines()] == [
        "ProcessLookupError",
        "PermissionError",
    ]
    assert result.outcome == "crashed"  # it killed itself
    assert result.signal == signal.SIGKILL


def test_ctypes_crash_is_reported_as_a_crash(sandbox: Sandbox) -> None:
    result = sandbox.run("import ctypes\nctypes.string_at(0)\n", limits=TIGHT)
    assert (result.outcome, result.signal, result.timed_out) == (
        "crashed",
        signal.SIGSEGV,
        False,
    )
    assert result.message == "your program crashed (signal SIGSEGV)"


def test_no_privileges_inside(sandbox: Sandbox) -> None:
    program = (
        "import os\n"
        "print(os.getuid(), os.geteuid(), os.getgroups())\n"
        "print(open('/proc/self/status').read())\n"
    )
    result = sandbox.run(program, limits=TIGHT)
    assert result.outcome == "ok", result
    uid = int(result.stdout.split()[0])
    assert uid in range(sandbox.uid_base, sandbox.uid_base + sandbox.slots)
    status = dict(line.split(":", 1) for line in result.stdout.splitlines()[1:] if ":" in line)
    for caps in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert int(status[caps], 16) == 0, caps
    assert status["NoNewPrivs"].strip() == "1"
