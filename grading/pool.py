"""A bounded pool of sandboxed runs: a fixed number at once, a short queue, then "busy"."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor

from grading.errors import SandboxBusyError
from grading.limits import Limits
from grading.result import RunResult
from grading.sandbox import Sandbox


class RunPool:
    """Runs programs on ``sandbox`` with back-pressure.

    At most ``sandbox.slots`` runs execute at once and at most ``queue`` more wait; a run
    asked for beyond that raises :class:`SandboxBusyError` at once (the caller asks the learner
    to retry in a few seconds, keeping what was typed) instead of queueing without end.

    Parameters
    ----------
    sandbox
        The sandbox; its slot count is the pool's concurrency.
    queue
        Runs that may wait for a slot.
    """

    def __init__(self, sandbox: Sandbox, queue: int = 8) -> None:
        self.sandbox = sandbox
        self.capacity = sandbox.slots + queue
        self._admitted = threading.BoundedSemaphore(self.capacity)
        self._executor = ThreadPoolExecutor(sandbox.slots, thread_name_prefix="sandbox")

    def submit(
        self,
        program: str,
        stdin: bytes = b"",
        files: Mapping[str, bytes] | None = None,
        limits: Limits | None = None,
    ) -> Future[RunResult]:
        """Queue a run; its future gives the :class:`RunResult` (or the run's error).

        Raises
        ------
        SandboxBusyError
            The pool holds ``capacity`` runs already.
        SandboxUnavailable
            No working sandbox on this machine (checked before queueing).
        """
        self.sandbox.check()
        if not self._admitted.acquire(blocking=False):
            raise SandboxBusyError(
                "the code runner is busy: please retry in a few seconds (your code is kept)"
            )
        try:
            future = self._executor.submit(self.sandbox.run, program, stdin, files, limits)
        except BaseException:
            self._admitted.release()
            raise
        future.add_done_callback(lambda _: self._admitted.release())
        return future

    def run(
        self,
        program: str,
        stdin: bytes = b"",
        files: Mapping[str, bytes] | None = None,
        limits: Limits | None = None,
    ) -> RunResult:
        """Submit a run and wait for its result (same errors as :meth:`submit`)."""
        return self.submit(program, stdin, files, limits).result()

    def close(self) -> None:
        """Wait for the runs in flight and stop the workers."""
        self._executor.shutdown(wait=True)
