"""How numbers and the engine's reasons read to learners, employers and authors.

One reported scale: people see the scaled score ``500 + 100 theta`` and standard errors in
its points (:mod:`engine.standing`); theta appears only in the psychometric details and in
machine-readable documents. Probabilities never print as 100 % or 0 %
(:func:`engine.standing.probability_text`). The engine's stop reasons are terse notes for
logs and simulations (``reached the maximum of 24 items``); :func:`stop_clause` turns them
into the end of the sentence "The test stopped because ...".
"""

from __future__ import annotations

import re

from engine.standing import probability_text, score_se_text, score_text

__all__ = ["probability_text", "score_se_text", "score_text", "stop_clause", "stop_sentence"]

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"reached the maximum of (\d+) items?"), "it reached its maximum of {0} questions"),
    (re.compile(r"fixed length of (\d+) items?"), "it reached its fixed length of {0} questions"),
    (re.compile(r"reached (\d+) items?"), "it reached {0} questions"),
    (
        re.compile(r"every competency measured with SE <= ([0-9.eE+-]+)(?: \(largest [^)]*\))?"),
        "every skill was measured to ± {se} points or better",
    ),
    (
        re.compile(r"every competency with a cut score classified(?: \([^)]*\))?"),
        "every skill with a pass mark was clearly above or below it",
    ),
    (
        re.compile(r"no eligible items left in the bank"),
        "no more suitable questions were left",
    ),
    (re.compile(r"the time limit was reached"), "the time limit was reached"),
)


def _clause(part: str) -> str:
    part = part.strip()
    for pattern, template in _PATTERNS:
        match = pattern.fullmatch(part)
        if match is None:
            continue
        if "{se}" in template:
            return template.format(se=score_se_text(float(match.group(1))))
        return template.format(*match.groups())
    return f"of this rule: {part}" if part else "it ended"


def stop_clause(reason: str) -> str:
    """The end of "The test stopped because ..." for an engine stop reason.

    >>> stop_clause("reached the maximum of 24 items")
    'it reached its maximum of 24 questions'
    >>> stop_clause("every competency measured with SE <= 0.65 (largest 0.641)")
    'every skill was measured to ± 65 points or better'

    A reason made of several (``"a; b"``, when all of a policy's rules had to hold) reads
    as "a and b"; a reason the wording does not know is quoted after "of this rule:".
    """
    parts = [_clause(p) for p in reason.split(";") if p.strip()] or [_clause("")]
    return " and ".join(parts)


def stop_sentence(reason: str) -> str:
    """The whole sentence, e.g. "The test stopped because it reached its maximum of 24 ..."."""
    return f"The test stopped because {stop_clause(reason)}."
