r"""The ``integrity`` section of a policy: what each integrity flag does, and its threshold.

Each check has an ``action``: ``"none"`` (reported in the evidence only), ``"hold"`` (the
award waits for the author's review) or ``"refuse"`` (no award). Every action defaults to
``"none"``, so a policy without the section behaves as before. Example::

    [integrity.person_fit]
    action = "hold"
    threshold = -2.326

    [integrity.rapid_guessing]
    action = "hold"
    max_share = 0.10

Defaults and why (the detection study in README.md reports what they catch):

=====================  ==================================================================
``person_fit``         flag when Snijders' :math:`l_z^* <` ``threshold`` = -2.326 (one-sided
                       1 % under the model), with at least ``min_items`` = 10 answers
``response_time_fit``  flag when :math:`P(\chi^2_{n-1} \ge l_t) <` ``alpha`` = 0.01, with at
                       least ``min_items`` = 5 timed answers
``rapid_guessing``     a rapid guess is faster than ``fraction`` = 10 % of the item's mean
                       time, at most ``max_seconds`` = 10 (Wise & Ma's NT10); flag when more
                       than ``max_share`` = 10 % of the answers are rapid guesses (response
                       time effort below 0.90, Wise & Kong, 2005), with at least
                       ``min_items`` = 5 answers that have a time and a threshold
``too_fast_to_read``   an answer faster than reading the stem and options at
                       ``words_per_minute`` = 500 (twice the average adult's silent reading
                       of 238, Brysbaert, 2019: skimming); flag when more than
                       ``max_share`` = 10 % of at least ``min_items`` = 5 timed answers are
=====================  ==================================================================

References
----------
Wise, S. L., & Kong, X. (2005). Response time effort: A new measure of examinee motivation
in computer-based tests. *Applied Measurement in Education*, 18(2), 163-183.
Brysbaert, M. (2019). How many words do we read per minute? A review and meta-analysis of
reading rate. *Journal of Memory and Language*, 109, 104047.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

Action = Literal["none", "hold", "refuse"]
#: Severity order of the actions: the session's decision is the most severe raised.
SEVERITY: dict[Action, int] = {"none": 0, "hold": 1, "refuse": 2}
Share = Annotated[float, Meta(ge=0.0, lt=1.0)]


class _Check(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Common configuration of an integrity check."""

    action: Action = "none"


class PersonFitCheck(_Check, frozen=True):
    """Snijders' :math:`l_z^*` below ``threshold`` raises the flag."""

    threshold: Annotated[float, Meta(ge=-6.0, le=0.0)] = -2.326
    min_items: Annotated[int, Meta(ge=2, le=1000)] = 10


class TimeFitCheck(_Check, frozen=True):
    """The response-time person fit :math:`l_t` with a p-value below ``alpha`` raises it."""

    alpha: Annotated[float, Meta(gt=0.0, lt=0.5)] = 0.01
    min_items: Annotated[int, Meta(ge=2, le=1000)] = 5


class RapidGuessCheck(_Check, frozen=True):
    """More than ``max_share`` of the answers faster than the NT threshold raises it."""

    fraction: Annotated[float, Meta(gt=0.0, le=0.5)] = 0.10
    max_seconds: Annotated[float, Meta(gt=0.0, le=120.0)] = 10.0
    max_share: Share = 0.10
    min_items: Annotated[int, Meta(ge=1, le=1000)] = 5


class ReadingCheck(_Check, frozen=True):
    """More than ``max_share`` of the answers faster than reading the item raises it."""

    words_per_minute: Annotated[float, Meta(ge=50.0, le=3000.0)] = 500.0
    max_share: Share = 0.10
    min_items: Annotated[int, Meta(ge=1, le=1000)] = 5


class IntegrityConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Per check: what a raised flag does, and the thresholds (see the module notes)."""

    person_fit: PersonFitCheck = PersonFitCheck()
    response_time_fit: TimeFitCheck = TimeFitCheck()
    rapid_guessing: RapidGuessCheck = RapidGuessCheck()
    too_fast_to_read: ReadingCheck = ReadingCheck()
