"""Item drift, compromise and exposure of one assessment, from its live responses.

The assessment's stored answers (score category, server-measured time, moment) become a
:class:`calibration.timed_data.TimedResponses` in memory, and
:func:`calibration.drift.item_drift` judges every item against the bank version the
assessment uses: CUSUM charts of leave-one-out residuals (easier, harder, faster) with
Monte Carlo p-values, and the binomial test of exposure against the policy's ``r_max``.
Learners are named by their ``person_id`` pseudonym, never by their session key.

This is the one place where ``web`` imports ``calibration`` (pure numerics, no I/O here).
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import select

from calibration.drift import DriftReport, item_drift
from calibration.errors import CalibrationError
from calibration.timed_data import timed_from_arrays
from web.authoring import owned_assessment
from web.db.connection import as_utc
from web.db.schema import learner_sessions, responses
from web.pseudonyms import pseudonymizer
from web.runtime import Runtime
from web.store.authors import Member

#: Monte Carlo runs per page view (the CLI's default is 500; 200 keeps a page quick and
#: resolves p-values near 0.01 to about +-0.007).
REPLICATES = 200
ALPHA = 0.01


class ItemSecurity:
    """What the author page shows: the report, or why there is none."""

    def __init__(self, report: DriftReport | None, problem: str | None, r_max: float) -> None:
        self.report = report
        self.problem = problem
        self.r_max = r_max


def item_security(rt: Runtime, author: Member, assessment_id: str) -> ItemSecurity:
    """Drift and exposure evidence of every item of one of the author's assessments."""
    assessment = owned_assessment(rt, author, assessment_id)
    r_max = assessment.policy.exposure.r_max
    pseudonym = pseudonymizer(rt.settings.secret_key)
    with rt.db.read() as conn:
        compiled = rt.compiled(conn, assessment.bank_hash)
        rows = conn.execute(
            select(
                responses.c.session_id,
                responses.c.item_id,
                responses.c.category,
                responses.c.elapsed_ms,
                responses.c.answered_at,
            )
            .join(learner_sessions, learner_sessions.c.id == responses.c.session_id)
            .where(learner_sessions.c.assessment_id == assessment_id)
            .order_by(responses.c.answered_at, responses.c.id)
        ).all()
    if not rows:
        return ItemSecurity(None, "No answers yet.", r_max)
    people: dict[str, int] = {}
    items: dict[str, int] = {}
    n = len(rows)
    person = np.empty(n, dtype=np.intp)
    item = np.empty(n, dtype=np.intp)
    response = np.empty(n, dtype=np.int64)
    seconds = np.full(n, np.nan)
    moment = np.full(n, np.nan)
    for k, row in enumerate(rows):
        person[k] = people.setdefault(row.session_id, len(people))
        item[k] = items.setdefault(row.item_id, len(items))
        response[k] = row.category
        if row.elapsed_ms is not None and row.elapsed_ms > 0:
            seconds[k] = row.elapsed_ms / 1000.0
        answered = as_utc(row.answered_at)
        if answered is not None:
            moment[k] = answered.timestamp()
    data = timed_from_arrays(
        person,
        item,
        seconds,
        response=response,
        answered_at=moment,
        person_ids=tuple(pseudonym(s) for s in people),
        item_ids=tuple(items),
        source=f"assessment {assessment_id}",
    )
    try:
        report = item_drift(
            data, compiled.bank, r_max=r_max, alpha=ALPHA, replicates=REPLICATES, seed=1
        )
    except CalibrationError as exc:
        return ItemSecurity(None, str(exc), r_max)
    return ItemSecurity(report, None, r_max)
