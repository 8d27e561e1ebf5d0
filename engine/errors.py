"""The exception tree of :mod:`engine`; ``web/`` maps it to HTTP responses in one place."""

from __future__ import annotations


class EngineError(Exception):
    """Base class of every error raised by :mod:`engine`."""


class PoolError(EngineError):
    """A bank cannot be compiled into an item pool (for example, it has no usable items)."""


class PolicyError(EngineError):
    """A policy is invalid, or does not fit the pool it is used with.

    ``problems`` lists every problem, each naming the policy field it is about.
    """

    def __init__(self, problems: list[str], source: str = "policy") -> None:
        if not problems:
            raise ValueError("PolicyError needs at least one problem")
        self.problems = list(problems)
        self.source = source
        super().__init__("\n".join(f"{source}: {p}" for p in self.problems))


class SessionError(EngineError):
    """A session operation does not fit the session's state.

    Examples: answering an item that was not presented, a score category out of range,
    asking for the next item of a finished session, or a state from another bank version.
    """
