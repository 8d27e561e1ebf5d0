"""Integrity evidence of a finishing session, computed by the engine's checker.

The engine's :class:`~engine.integrity.IntegrityChecker` needs the assessment's session
(pool and policy), the bank's response-time table and one response time per answer. The
times are measured on the server: each response row's ``elapsed_ms`` runs from the moment
the session stored the previous step (when its question was chosen and sent) to the moment
the answer arrived, so a learner cannot report a time of their choosing.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from engine.integrity import IntegrityChecker, IntegrityEvidence
from engine.response_times import ItemTiming, compile_timing
from engine.session import Session, SessionState
from web.runtime import CompiledBank, Runtime
from web.store import sessions as session_store


def timing_of(rt: Runtime, compiled: CompiledBank) -> ItemTiming:
    """The bank version's response-time table (compiled once per process)."""
    key = "timing:" + compiled.hash
    timing = rt.services.get(key)
    if timing is None:
        timing = rt.services.setdefault(key, compile_timing(compiled.bank, compiled.pool))
    assert isinstance(timing, ItemTiming)
    return timing


def evidence_for(
    rt: Runtime,
    conn: Connection,
    *,
    compiled: CompiledBank,
    engine: Session,
    session_id: str,
    state: SessionState,
    pending_ms: Sequence[int | None] = (),
) -> IntegrityEvidence:
    """The evidence for a finished ``state``.

    ``pending_ms`` are the times of answers in ``state`` not stored yet (the final answer,
    written in the same transaction as the result). Reads only.
    """
    stored = [r.elapsed_ms for r in session_store.responses_of(conn, session_id)]
    millis = (stored + list(pending_ms))[: len(state.items)]
    if len(millis) < len(state.items):  # defensive: a state ahead of its rows has no times
        millis += [None] * (len(state.items) - len(millis))
    seconds = [None if ms is None else ms / 1000.0 for ms in millis]
    checker = IntegrityChecker(engine, timing_of(rt, compiled))
    return checker.evaluate(state, seconds)


#: What each check means, in neutral words a learner reads (no accusation, no statistics).
NEUTRAL_REASONS = {
    "person_fit": "the pattern of right and wrong answers is very unlikely for one consistent "
    "level of skill",
    "response_time_fit": "the time taken per question is very unlike the time these questions "
    "usually take",
    "rapid_guessing": "many answers came faster than a considered answer takes",
    "too_fast_to_read": "many answers came faster than reading the question allows",
}


def reasons(integrity: IntegrityEvidence | None) -> list[str]:
    """The neutral reasons of the raised checks the policy acts on."""
    if integrity is None:
        return []
    return [NEUTRAL_REASONS[f.check] for f in integrity.flags if f.raised and f.action != "none"]


def learner_note(status: str | None, integrity: IntegrityEvidence | None) -> str | None:
    """What the learner's result page says about an award that was not issued at once."""
    why = "; ".join(reasons(integrity))
    why = f" ({why})" if why else ""
    if status == "held":
        return (
            "Your result is being reviewed before a credential is issued: the assessment "
            f"checks how each session was answered, and yours needs a second look{why}. "
            "Come back to this page for the decision."
        )
    if status == "withheld":
        return (
            "This result cannot be certified: the assessment requires its integrity checks to "
            f"pass before it issues a credential, and one did not{why}. Your scores are shown "
            "for your own use."
        )
    if status == "refused":
        return (
            "After review, the assessment's author decided that this result cannot be "
            f"certified{why}. Your scores are shown for your own use."
        )
    if status == "awaiting_email":
        return (
            "You passed. This assessment issues credentials to confirmed email addresses "
            "only: open the link we mailed you, and your credential is issued then."
        )
    return None
