"""Integrity evidence for one session: person fit, response times, and what the policy does.

An :class:`IntegrityChecker` is made once per assessment (its :class:`~engine.session.Session`
and the bank's :class:`~engine.response_times.ItemTiming`); :meth:`IntegrityChecker.evaluate`
turns one learner's state and response times into an :class:`IntegrityEvidence` Struct:

* person fit: Snijders' :math:`l_z^*` of the operational answers at the learner's estimates
  (:mod:`engine.person_fit`);
* response times: speed, the :math:`l_t` person fit, rapid guesses (NT10) and answers faster
  than reading the item (:mod:`engine.response_times`);
* one :class:`Flag` per check of the policy's ``integrity`` section
  (:mod:`engine.integrity_policy`), and the session's ``decision``: the most severe action of
  the raised flags (``refuse`` > ``hold`` > ``none``).

A check without enough evidence (too few answers, no recorded times, a bank without
response-time parameters) is reported with ``computed = False`` and never acts: the evidence
says what could not be checked rather than passing or failing it silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import msgspec
import numpy as np

from engine.errors import PoolError, SessionError
from engine.integrity_policy import SEVERITY, Action, IntegrityConfig
from engine.person_fit import PersonFit, learner_fit
from engine.response_times import ItemTiming, speed_fit
from engine.session import Session, SessionState

Check = Literal["person_fit", "response_time_fit", "rapid_guessing", "too_fast_to_read"]


class _Evidence(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Common configuration of the evidence Structs."""


class TimeEvidence(_Evidence, frozen=True):
    r"""What a session's response times say.

    Attributes
    ----------
    answers_timed
        Answers with a recorded time.
    items_modelled
        Of those, answers to items with response-time parameters.
    speed, speed_se
        The learner's estimated speed :math:`\hat\tau` and its SE (log-seconds; higher is
        faster).
    lt, df, p_value
        The response-time person fit :math:`l_t` and :math:`P(\chi^2_{df} \ge l_t)`.
    fastest_residual
        The most negative standardised log-time residual (an item answered far faster than
        the learner's own pace).
    rapid_guesses, too_fast_to_read
        Answers below the item's NT threshold, and below its reading time.
    """

    answers_timed: int
    items_modelled: int
    speed: float | None = None
    speed_se: float | None = None
    lt: float | None = None
    df: int | None = None
    p_value: float | None = None
    fastest_residual: float | None = None
    rapid_guesses: int = 0
    too_fast_to_read: int = 0


class Flag(_Evidence, frozen=True):
    """One integrity check: whether it could be computed, whether it is raised, what it does.

    ``value`` is the statistic compared with ``threshold``: :math:`l_z^*` (raised below),
    the :math:`l_t` p-value (raised below), or the share of rapid / too-fast answers
    (raised above).
    """

    check: Check
    computed: bool
    raised: bool
    action: Action
    value: float | None
    threshold: float
    reason: str


class IntegrityEvidence(_Evidence, frozen=True):
    """Everything the integrity checks found for one session, and the policy's decision."""

    items: int
    person_fit: PersonFit
    response_times: TimeEvidence
    flags: tuple[Flag, ...]
    decision: Action

    @property
    def raised(self) -> tuple[Flag, ...]:
        """The flags that are raised."""
        return tuple(flag for flag in self.flags if flag.raised)


def _optional(x: float) -> float | None:
    return None if not np.isfinite(x) else float(x)


class IntegrityChecker:
    """An assessment's integrity checks: its session, the bank's timing and the policy.

    Parameters
    ----------
    session
        The assessment's engine session (pool and policy).
    timing
        Response-time parameters and reading load of the pool's items
        (:func:`engine.response_times.compile_timing`).
    config
        The checks; the session policy's ``integrity`` section when omitted.
    """

    def __init__(
        self, session: Session, timing: ItemTiming, config: IntegrityConfig | None = None
    ) -> None:
        if timing.alpha.shape != (session.pool.n_items,):
            raise PoolError("the timing table does not belong to this pool")
        self.session = session
        self.timing = timing
        self.config = config or session.policy.integrity
        rapid = self.config.rapid_guessing
        self.rapid_threshold = timing.rapid_threshold(rapid.fraction, rapid.max_seconds)
        self.reading_seconds = timing.reading_seconds(self.config.too_fast_to_read.words_per_minute)

    def notes(self) -> list[str]:
        """Checks the policy acts on that this bank can never compute, in plain words.

        For an author's policy page or a CLI lint: a check set to ``hold`` or ``refuse``
        that needs response-time parameters the bank does not have would silently never act.
        """
        out = []
        timed = int(self.timing.timed[self.session.pool.operational].sum())
        config = self.config
        for name, action in (
            ("response_time_fit", config.response_time_fit.action),
            ("rapid_guessing", config.rapid_guessing.action),
        ):
            if action != "none" and timed == 0:
                out.append(
                    f"integrity.{name}: set to {action}, but no operational item of the bank "
                    "has response-time parameters (skillgauge calibrate-times): the check "
                    "is never computed"
                )
        words = int((self.timing.words[self.session.pool.operational] > 0).sum())
        if config.too_fast_to_read.action != "none" and words == 0:
            out.append(
                f"integrity.too_fast_to_read: set to {config.too_fast_to_read.action}, but the "
                "items have no words to read: the check never raises"
            )
        return out

    def evaluate(
        self, state: SessionState, seconds: Sequence[float | None] | None = None
    ) -> IntegrityEvidence:
        """The evidence for one learner.

        Parameters
        ----------
        state
            The learner's session state (answers and estimates).
        seconds
            Response time of each answer in ``state.items`` order (``None`` where unknown);
            omitted when no times were recorded.

        Raises
        ------
        SessionError
            When ``seconds`` does not have one entry per answer.
        """
        pool = self.session.pool
        items = np.fromiter(state.items, dtype=np.intp, count=len(state.items))
        cats = np.fromiter(state.categories, dtype=np.intp, count=len(state.categories))
        if seconds is None:
            times = np.full(items.size, np.nan)
        else:
            if len(seconds) != items.size:
                raise SessionError(f"need {items.size} response times, got {len(seconds)}")
            times = np.array([np.nan if s is None else float(s) for s in seconds])
        operational = pool.operational[items]
        est = self.session.policy.estimator
        fit = learner_fit(
            pool,
            items[operational],
            cats[operational],
            np.asarray(state.theta, dtype=np.float64),
            estimator=est.method,
            prior_mean=est.prior.mean,
            prior_sd=est.prior.sd,
        )
        time_evidence, rapid_base, reading_base = self._times(items, times)
        flags = (
            self._person_fit_flag(fit),
            self._time_fit_flag(time_evidence),
            self._share_flag(
                "rapid_guessing",
                time_evidence.rapid_guesses,
                base=rapid_base,
                max_share=self.config.rapid_guessing.max_share,
                min_items=self.config.rapid_guessing.min_items,
                action=self.config.rapid_guessing.action,
                what="faster than the item's rapid-guess threshold",
            ),
            self._share_flag(
                "too_fast_to_read",
                time_evidence.too_fast_to_read,
                base=reading_base,
                max_share=self.config.too_fast_to_read.max_share,
                min_items=self.config.too_fast_to_read.min_items,
                action=self.config.too_fast_to_read.action,
                what="faster than reading the item allows",
            ),
        )
        decision: Action = "none"
        for flag in flags:
            if flag.raised and SEVERITY[flag.action] > SEVERITY[decision]:
                decision = flag.action
        return IntegrityEvidence(
            items=int(items.size),
            person_fit=fit,
            response_times=time_evidence,
            flags=flags,
            decision=decision,
        )

    def _times(self, items: np.ndarray, times: np.ndarray) -> tuple[TimeEvidence, int, int]:
        timed = np.isfinite(times) & (times > 0)
        alpha = self.timing.alpha[items]
        beta = self.timing.beta[items]
        fit = speed_fit(alpha, beta, times, np.zeros(items.size, dtype=np.intp), 1)
        threshold = self.rapid_threshold[items]
        has_threshold = timed & np.isfinite(threshold)
        rapid = int((has_threshold & (times < np.where(has_threshold, threshold, 0.0))).sum())
        reading = self.reading_seconds[items]
        too_fast = int((timed & (times < reading)).sum())
        residuals = fit.residuals[np.isfinite(fit.residuals)]
        evidence = TimeEvidence(
            answers_timed=int(timed.sum()),
            items_modelled=int(fit.n_items[0]),
            speed=_optional(float(fit.tau[0])),
            speed_se=_optional(float(fit.tau_se[0])),
            lt=_optional(float(fit.lt[0])),
            df=int(fit.df[0]) if fit.n_items[0] >= 2 else None,
            p_value=_optional(float(fit.p_value[0])),
            fastest_residual=float(residuals.min()) if residuals.size else None,
            rapid_guesses=rapid,
            too_fast_to_read=too_fast,
        )
        return evidence, int(has_threshold.sum()), int(timed.sum())

    def _person_fit_flag(self, fit: PersonFit) -> Flag:
        check = self.config.person_fit
        computed = fit.lz_star is not None and fit.items >= check.min_items
        raised = computed and fit.lz_star is not None and fit.lz_star < check.threshold
        if not computed:
            reason = (
                f"not computed: {fit.items} operational answers (needs {check.min_items})"
                if fit.items < check.min_items
                else "not computed: the answers leave no variance to judge the pattern by"
            )
        elif raised:
            reason = "the answers are unlikely given the learner's own estimate"
        else:
            reason = "the answers fit the learner's estimate"
        return Flag(
            check="person_fit",
            computed=computed,
            raised=raised,
            action=check.action,
            value=fit.lz_star,
            threshold=check.threshold,
            reason=reason,
        )

    def _time_fit_flag(self, evidence: TimeEvidence) -> Flag:
        check = self.config.response_time_fit
        p = evidence.p_value
        computed = p is not None and evidence.items_modelled >= check.min_items
        raised = computed and p is not None and p < check.alpha
        if not computed:
            reason = (
                f"not computed: {evidence.items_modelled} timed answers to items with "
                f"response-time parameters (needs {check.min_items})"
            )
        elif raised:
            reason = "the response times do not follow the items' time intensities"
        else:
            reason = "the response times follow the items' time intensities"
        return Flag(
            check="response_time_fit",
            computed=computed,
            raised=raised,
            action=check.action,
            value=p,
            threshold=check.alpha,
            reason=reason,
        )

    @staticmethod
    def _share_flag(
        check: Check,
        count: int,
        *,
        base: int,
        max_share: float,
        min_items: int,
        action: Action,
        what: str,
    ) -> Flag:
        computed = base >= min_items
        share = count / base if base else None
        raised = computed and share is not None and share > max_share
        if not computed:
            reason = f"not computed: {base} answers with a time to compare (needs {min_items})"
        else:
            reason = f"{count} of {base} answers {what}"
        return Flag(
            check=check,
            computed=computed,
            raised=raised,
            action=action,
            value=share,
            threshold=max_share,
            reason=reason,
        )
