"""The adaptive IRT engine: pure numerics on numpy arrays, no I/O and no web.

Compile a bank once (:func:`compile_pool`), build a :class:`Session` from the pool and a
:class:`Policy`, then drive per-learner :class:`SessionState` values through it.
"""

from engine.errors import EngineError, PolicyError, PoolError, SessionError
from engine.policy import Policy, check_policy, decode_policy, load_policy
from engine.pool import ItemPool, compile_pool
from engine.session import CompetencyResult, Session, SessionResult, SessionState

__all__ = [
    "CompetencyResult",
    "EngineError",
    "ItemPool",
    "Policy",
    "PolicyError",
    "PoolError",
    "Session",
    "SessionError",
    "SessionResult",
    "SessionState",
    "check_policy",
    "compile_pool",
    "decode_policy",
    "load_policy",
]
