"""The engine's stop reasons as sentences: grammatical, on the reported scale."""

from __future__ import annotations

import pytest

from engine.policy import Policy
from engine.pool import compile_pool
from engine.session import Session
from engine.stopping import (
    AllOf,
    AnyOf,
    Classification,
    FixedLength,
    MaxItems,
    MinItems,
    StandardErrorRule,
)
from engine.synthetic import synthetic_bank
from web.wording import stop_clause, stop_sentence


@pytest.mark.parametrize(
    ("reason", "clause"),
    [
        ("reached the maximum of 24 items", "it reached its maximum of 24 questions"),
        ("fixed length of 10 items", "it reached its fixed length of 10 questions"),
        ("reached 8 items", "it reached 8 questions"),
        (
            "every competency measured with SE <= 0.65 (largest 0.641)",
            "every skill was measured to ± 65 points or better",
        ),
        (
            "every competency with a cut score classified (SPRT)",
            "every skill with a pass mark was clearly above or below it",
        ),
        ("no eligible items left in the bank", "no more suitable questions were left"),
        ("the time limit was reached", "the time limit was reached"),
        (
            "every competency measured with SE <= 0.3 (largest 0.300); "
            "every competency with a cut score classified (confidence interval)",
            "every skill was measured to ± 30 points or better and every skill with a pass "
            "mark was clearly above or below it",
        ),
        ("a reason from a newer engine", "of this rule: a reason from a newer engine"),
    ],
)
def test_every_engine_reason_reads_as_a_clause(reason: str, clause: str) -> None:
    assert stop_clause(reason) == clause
    sentence = stop_sentence(reason)
    assert sentence == f"The test stopped because {clause}."
    assert "because reached" not in sentence


@pytest.mark.parametrize(
    "rule",
    [
        MaxItems(n=3),
        FixedLength(n=4),
        MinItems(n=2),
        AnyOf(rules=(StandardErrorRule(max_se=2.0), MaxItems(n=9))),
        AllOf(rules=(MinItems(n=2), AnyOf(rules=(Classification(), MaxItems(n=6))))),
    ],
)
def test_the_reasons_the_engine_gives_are_all_known(rule: object) -> None:
    """Run real sessions to their end: every reason they give has plain wording."""
    pool = compile_pool(synthetic_bank(40, "2pl", 1, seed=2))
    engine = Session(pool, Policy(stopping=rule))  # type: ignore[arg-type]
    state = engine.next_item(engine.start(1))
    while not state.finished:
        assert state.pending is not None
        state = engine.next_item(engine.record(state, state.pending, 1))
    assert state.stop_reason
    assert "of this rule:" not in stop_clause(state.stop_reason), state.stop_reason
