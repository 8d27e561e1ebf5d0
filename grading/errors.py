"""The exception tree of :mod:`grading`."""

from __future__ import annotations


class GradingError(Exception):
    """Base of every error raised by :mod:`grading`."""


class SandboxUnavailable(GradingError):  # noqa: N818 (the name issue 19 uses)
    """No working sandbox on this machine: code is refused, never run unsandboxed."""


class SandboxBusyError(GradingError):
    """The run pool is full; the caller should retry in a few seconds."""

    def __init__(self, message: str, retry_after: int = 3) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RunInputError(GradingError):
    """A run was asked for with bad input (a file name outside the working directory...)."""
