"""The detection study, scaled down: false alarms and detection at the default thresholds.

The full study (2,000 simulees per behaviour, README table) is ``python -m bench integrity``;
here 150 per behaviour on a 200-item bank, with margins for the smaller sample.
"""

from __future__ import annotations

import pytest

from engine.aberrance import Aberrance, StudyRow, detection_study, most_exposed, study_bank
from engine.integrity import IntegrityChecker
from engine.policy import ContentConfig, ExposureConfig, Policy
from engine.pool import compile_pool
from engine.response_times import compile_timing
from engine.session import Session
from engine.stopping import FixedLength


@pytest.fixture(scope="module")
def study() -> dict[str, StudyRow]:
    bank = study_bank(200, seed=7)
    pool = compile_pool(bank)
    timing = compile_timing(bank, pool)
    policy = Policy(
        exposure=ExposureConfig(method="randomesque", randomesque_size=5),
        content=ContentConfig(balance="none"),
        stopping=FixedLength(n=30),
    )
    session = Session(pool, policy)
    compromised = most_exposed(session, timing, 0.2, 150, seed=3)
    assert len(compromised) == 40
    rows = detection_study(
        IntegrityChecker(session, timing),
        150,
        11,
        Aberrance(compromised=compromised),
        extra_lz_thresholds=(-1.645,),
    )
    return {row.behaviour: row for row in rows}


@pytest.mark.slow
def test_normal_learners_are_rarely_flagged(study: dict[str, StudyRow]) -> None:
    normal = study["normal"]
    assert normal.mean_items == 30
    assert normal.rates["person_fit"] <= 0.02
    assert normal.rates["response_time_fit"] <= 0.05  # nominal 0.01
    assert normal.rates["rapid_guessing"] <= 0.02
    assert normal.rates["too_fast_to_read"] <= 0.04
    assert normal.any_check <= 0.08


@pytest.mark.slow
def test_rapid_guessing_is_caught_by_the_time_checks(study: dict[str, StudyRow]) -> None:
    rapid = study["rapid_guessing"]
    assert rapid.rates["rapid_guessing"] >= 0.9
    assert rapid.rates["too_fast_to_read"] >= 0.9
    assert rapid.rates["response_time_fit"] >= 0.9


@pytest.mark.slow
def test_preknowledge_shows_in_the_times_not_in_lz_star(study: dict[str, StudyRow]) -> None:
    pre = study["preknowledge"]
    assert pre.rates["response_time_fit"] >= 0.6
    assert pre.any_check >= 0.7
    # lz* cannot see it: correct answers to items the CAT chose near the learner's estimate
    # raise the estimate rather than the misfit (README, "what lz* cannot see")
    assert pre.rates["person_fit"] <= 0.05


@pytest.mark.slow
def test_random_responding_lowers_lz_star_but_a_cat_gives_it_little_power(
    study: dict[str, StudyRow],
) -> None:
    normal, random = study["normal"], study["random"]
    assert random.lz_star_mean < normal.lz_star_mean - 0.6
    assert random.rates["person_fit@-1.645"] > normal.rates["person_fit@-1.645"] + 0.05
    assert random.rates["person_fit"] < 0.5  # low power: reported, not hidden
