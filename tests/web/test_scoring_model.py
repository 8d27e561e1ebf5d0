"""Reports and credential evidence say which model scored the session."""

from __future__ import annotations

import msgspec
import numpy as np

from engine.policy import decode_policy
from engine.pool import compile_pool
from engine.session import SCORING_MODELS, Session, SessionResult
from engine.synthetic import synthetic_bank
from web.credentials.ob3 import evidence_narrative
from web.runtime import CompiledBank
from web.views import result_view


def finished(model: str) -> tuple[CompiledBank, SessionResult]:
    bank = synthetic_bank(40, "2pl", 2, seed=3, correlation=0.6)
    pool = compile_pool(bank)
    session = Session(
        pool, decode_policy({"model": model, "stopping": {"rule": "fixed_length", "n": 6}})
    )
    state = session.start(1)
    while not state.finished:
        state = session.next_item(state)
        assert state.pending is not None
        state = session.record(state, state.pending, 1)
    compiled = CompiledBank(
        hash=pool.bank_hash,
        bank=bank,
        pool=pool,
        items={i.id: i for i in bank.items},
        competency_names={c.id: c.name for c in bank.competencies},
    )
    return compiled, session.result(state)


def test_the_evidence_and_the_result_name_the_correlated_model() -> None:
    compiled, result = finished("correlated")
    assert result.model == "correlated"
    narrative = evidence_narrative(result, compiled.competency_names)
    assert "Scoring model: correlated (all skills were estimated together" in narrative
    view = result_view(compiled, result)
    assert view.scoring_model == "correlated"
    assert view.scoring_model_text == SCORING_MODELS["correlated"]
    # Every competency still reports its own estimate and SE, on the same scale as before.
    assert [c.id for c in view.competencies] == ["c1", "c2"]
    assert all(0 < c.se < 1 for c in view.competencies)


def test_independent_sessions_say_so_and_old_results_decode() -> None:
    compiled, result = finished("independent")
    assert "Scoring model: independent (each skill was estimated" in evidence_narrative(
        result, compiled.competency_names
    )
    # A result stored before the field existed decodes as independent.
    stored = msgspec.json.encode(result)
    old = msgspec.json.decode(stored.replace(b',"model":"independent"', b""), type=SessionResult)
    assert old.model == "independent" and old == result
    assert np.isfinite([c.theta for c in result.competencies]).all()
