"""Integrity evidence per session: flags, what the policy makes of them, edge cases."""

from __future__ import annotations

import math
import tomllib

import msgspec
import numpy as np
import pytest

from engine.errors import PolicyError, PoolError, SessionError
from engine.integrity import IntegrityChecker, IntegrityEvidence
from engine.integrity_policy import (
    IntegrityConfig,
    PersonFitCheck,
    RapidGuessCheck,
    ReadingCheck,
    TimeFitCheck,
)
from engine.policy import Policy, decode_policy
from engine.pool import compile_pool
from engine.response_times import compile_timing
from engine.session import Session, SessionState
from engine.stopping import FixedLength
from tests.conftest import REPO
from tests.engine.test_response_times import timed_bank

BANK = timed_bank(60, seed=2)
POOL = compile_pool(BANK)
TIMING = compile_timing(BANK, POOL)


def policy(**actions: str) -> Policy:
    config = IntegrityConfig(
        person_fit=PersonFitCheck(action=actions.get("person_fit", "none")),  # type: ignore[arg-type]
        response_time_fit=TimeFitCheck(action=actions.get("response_time_fit", "none")),  # type: ignore[arg-type]
        rapid_guessing=RapidGuessCheck(action=actions.get("rapid_guessing", "none")),  # type: ignore[arg-type]
        too_fast_to_read=ReadingCheck(action=actions.get("too_fast_to_read", "none")),  # type: ignore[arg-type]
    )
    return Policy(stopping=FixedLength(n=25), integrity=config)


def take(
    session: Session, theta: float, seed: int, aberrant: str = ""
) -> tuple[SessionState, list[float]]:
    """One simulated learner: answers from the model, times from the lognormal model."""
    rng = np.random.default_rng(seed)
    tau = rng.normal(0.0, 0.3)
    state = session.start(seed=seed)
    times: list[float] = []
    while not state.finished:
        state = session.next_item(state)
        if state.pending is None:
            break
        item = state.pending
        p = session.pool.response_probabilities(item, theta)
        seconds = math.exp(TIMING.beta[item] - tau + rng.standard_normal() / TIMING.alpha[item])
        category = int(rng.random() < p[1])
        if aberrant == "rapid":
            category = int(rng.random() < 0.25)
            seconds = float(rng.uniform(0.8, 2.0))
        state = session.record(state, item, category)
        times.append(seconds)
    return state, times


def test_an_ordinary_learner_raises_nothing() -> None:
    session = Session(
        POOL,
        policy(
            person_fit="hold",
            response_time_fit="hold",
            rapid_guessing="hold",
            too_fast_to_read="hold",
        ),
    )
    checker = IntegrityChecker(session, TIMING)
    state, times = take(session, 0.4, seed=3)
    evidence = checker.evaluate(state, times)
    assert evidence.items == 25
    assert all(flag.computed for flag in evidence.flags)
    assert evidence.raised == ()
    assert evidence.decision == "none"
    assert evidence.person_fit.lz_star is not None
    assert evidence.response_times.items_modelled == 25
    assert evidence.response_times.rapid_guesses <= 2  # a fast learner has a few, not a share
    # the evidence is a msgspec Struct that round-trips through JSON
    again = msgspec.json.decode(msgspec.json.encode(evidence), type=IntegrityEvidence)
    assert again == evidence


def test_rapid_guessing_is_flagged_and_the_policy_decides() -> None:
    session = Session(POOL, policy(rapid_guessing="hold", too_fast_to_read="refuse"))
    checker = IntegrityChecker(session, TIMING)
    state, times = take(session, 0.4, seed=4, aberrant="rapid")
    evidence = checker.evaluate(state, times)
    names = {flag.check for flag in evidence.raised}
    assert {"rapid_guessing", "too_fast_to_read"} <= names
    assert evidence.response_times.rapid_guesses == 25
    assert evidence.decision == "refuse"  # refuse outranks hold
    lenient = IntegrityChecker(session, TIMING, IntegrityConfig())
    assert lenient.evaluate(state, times).decision == "none"  # raised, but the action is none
    assert lenient.evaluate(state, times).raised


def test_without_times_the_time_checks_are_not_computed() -> None:
    session = Session(POOL, policy(rapid_guessing="refuse", response_time_fit="refuse"))
    checker = IntegrityChecker(session, TIMING)
    state, _ = take(session, 0.0, seed=5)
    evidence = checker.evaluate(state)
    by_name = {flag.check: flag for flag in evidence.flags}
    for name in ("response_time_fit", "rapid_guessing", "too_fast_to_read"):
        assert not by_name[name].computed and not by_name[name].raised
        assert by_name[name].reason.startswith("not computed")
    assert evidence.response_times.answers_timed == 0
    assert evidence.decision == "none"


def test_a_bank_without_time_parameters_still_checks_reading_time() -> None:
    bank = msgspec.structs.replace(
        BANK, items=tuple(msgspec.structs.replace(i, time=None) for i in BANK.items)
    )
    pool = compile_pool(bank)
    session = Session(pool, policy(too_fast_to_read="hold", rapid_guessing="hold"))
    checker = IntegrityChecker(session, compile_timing(bank, pool))
    state, times = take(session, 0.0, seed=6)
    evidence = checker.evaluate(state, [0.5] * len(times))
    by_name = {flag.check: flag for flag in evidence.flags}
    assert not by_name["rapid_guessing"].computed
    assert not by_name["response_time_fit"].computed
    assert by_name["too_fast_to_read"].raised
    assert evidence.decision == "hold"


def test_notes_name_checks_that_can_never_be_computed() -> None:
    untimed = msgspec.structs.replace(
        BANK, items=tuple(msgspec.structs.replace(i, time=None) for i in BANK.items)
    )
    pool = compile_pool(untimed)
    session = Session(pool, policy(rapid_guessing="hold", response_time_fit="refuse"))
    notes = IntegrityChecker(session, compile_timing(untimed, pool)).notes()
    assert len(notes) == 2
    assert notes[0].startswith("integrity.response_time_fit: set to refuse")
    assert "calibrate-times" in notes[1]
    assert IntegrityChecker(Session(POOL, policy(rapid_guessing="hold")), TIMING).notes() == []


def test_empty_and_short_sessions() -> None:
    session = Session(POOL, policy(person_fit="refuse"))
    checker = IntegrityChecker(session, TIMING)
    state = session.start(seed=1)
    evidence = checker.evaluate(state, [])
    assert evidence.items == 0 and evidence.decision == "none"
    assert not any(flag.computed for flag in evidence.flags)
    state = session.next_item(state)
    assert state.pending is not None
    state = session.record(state, state.pending, 0)
    evidence = checker.evaluate(state, [None])
    assert evidence.person_fit.items == 1 and evidence.person_fit.lz_star is None
    assert evidence.flags[0].reason.startswith("not computed: 1 operational answers")


@pytest.mark.parametrize("value", [0, 1])
def test_all_correct_or_all_wrong_is_not_misfit(value: int) -> None:
    session = Session(POOL, policy(person_fit="refuse"))
    checker = IntegrityChecker(session, TIMING)
    state = session.start(seed=2)
    while not state.finished:
        state = session.next_item(state)
        assert state.pending is not None
        state = session.record(state, state.pending, value)
    assert checker.evaluate(state).decision == "none"


def test_misuse_is_refused() -> None:
    session = Session(POOL, policy())
    checker = IntegrityChecker(session, TIMING)
    state, times = take(session, 0.0, seed=7)
    with pytest.raises(SessionError, match="response times"):
        checker.evaluate(state, times[:-1])
    other = timed_bank(10)
    with pytest.raises(PoolError):
        IntegrityChecker(session, compile_timing(other, compile_pool(other)))


def test_the_policy_section_is_optional_and_located() -> None:
    assert decode_policy({}).integrity == IntegrityConfig()
    parsed = decode_policy({"integrity": {"person_fit": {"action": "hold", "threshold": -1.645}}})
    assert parsed.integrity.person_fit.action == "hold"
    assert parsed.integrity.person_fit.threshold == -1.645
    with pytest.raises(PolicyError, match=r"integrity.rapid_guessing.action"):
        decode_policy({"integrity": {"rapid_guessing": {"action": "ban"}}})
    with pytest.raises(PolicyError, match=r"integrity.person_fit.threshold"):
        decode_policy({"integrity": {"person_fit": {"threshold": 1.0}}})


def test_the_readme_integrity_policy_decodes() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Evidence for every session") :]
    block = section.split("```toml\n", 1)[1].split("```", 1)[0]
    parsed = decode_policy(tomllib.loads(block), "README.md")
    assert parsed.integrity.too_fast_to_read.action == "refuse"
    assert parsed.integrity.person_fit == PersonFitCheck()  # the defaults, written out
    defaults = IntegrityConfig()
    assert parsed.integrity.rapid_guessing.max_share == defaults.rapid_guessing.max_share
    assert parsed.integrity.response_time_fit.alpha == defaults.response_time_fit.alpha
