"""Embedded answers: Moodle's cloze (multianswer) subquestions and GIFT's answer blocks.

Moodle writes each blank into the question text as ``{WEIGHT:TYPE:ANSWERS}``: ``SA``/``MW``
(short answer, any case), ``SAC``/``MWC`` (case-sensitive), ``NM`` (numerical, ``3.14:0.01``
for a tolerance), ``MC`` (a drop-down: an inline choice), ``MCV``/``MCH`` (radio buttons: a
choice of its own), ``MR``/``MRH`` (check boxes: multiple response), each long form too
(``SHORTANSWER``, ``NUMERICAL``, ``MULTICHOICE_V``...) and the ``_S`` variants that shuffle.
Answers are separated by ``~``; ``=`` or ``%100%`` marks full credit, ``%50%`` part of it;
``#text`` after an answer is its feedback (an option's rationale, or a typed wrong answer's
explanation). The weight becomes the field's points.

Each blank becomes a field of a composite item, written ``{{b1}}``, ``{{b2}}``... where it
stood. The item gets a provisional GPCM with one category per credit level its fields can
reach (right/wrong when there is only one), as QTI imports do.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from item_banks.credits import reachable_credits
from item_banks.model import Composite

#: The Moodle subquestion types and what they become.
_TYPES = {
    "SHORTANSWER": "sa",
    "SA": "sa",
    "MW": "sa",
    "SHORTANSWER_C": "sac",
    "SAC": "sac",
    "MWC": "sac",
    "NUMERICAL": "nm",
    "NM": "nm",
    "MULTICHOICE": "mc",
    "MC": "mc",
    "MULTICHOICE_V": "mcv",
    "MCV": "mcv",
    "MULTICHOICE_H": "mcv",
    "MCH": "mcv",
    "MULTIRESPONSE": "mr",
    "MR": "mr",
    "MULTIRESPONSE_H": "mr",
    "MRH": "mr",
}
_SUBQUESTION = re.compile(
    r"\{(\d*):([A-Z_]+):((?:\\.|[^\\}])*)\}",
)
#: The most categories a provisional model gets (the bank model's limit).
MAX_LEVELS = 20


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text).strip()


def _split(text: str, marker: str) -> list[str]:
    """Split ``text`` at unescaped ``marker`` characters."""
    parts, current, i = [], "", 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            current += text[i : i + 2]
            i += 2
            continue
        if text[i] == marker:
            parts.append(current)
            current = ""
        else:
            current += text[i]
        i += 1
    parts.append(current)
    return parts


def _answers(body: str) -> list[tuple[float, str, str]]:
    """``(credit, text, feedback)`` of each answer of a subquestion."""
    out = []
    for part in _split(body, "~"):
        if not part.strip():
            continue
        answer, *feedback = _split(part, "#")
        answer = answer.strip()
        credit = 0.0
        if answer.startswith("="):
            credit, answer = 1.0, answer[1:]
        else:
            match = re.match(r"%(-?\d+(?:\.\d+)?)%", answer)
            if match:
                credit, answer = float(match.group(1)) / 100, answer[match.end() :]
        out.append((credit, _unescape(answer), _unescape(feedback[0]) if feedback else ""))
    return out


def _number(text: str) -> tuple[float, float]:
    value, _, tolerance = text.partition(":")
    return float(value), abs(float(tolerance)) if tolerance.strip() else 0.0


def subquestion(kind: str, body: str, shuffle: bool) -> dict[str, Any]:
    """One Moodle subquestion as a field interaction (a plain dict).

    Raises
    ------
    ValueError
        No answer earns full credit, or a numerical answer is not a number.
    """
    answers = _answers(body)
    full = [a for a in answers if a[0] >= 1.0]
    if kind == "mr" and sum(c for c, _, _ in answers if c > 0) < 1 - 1e-6:
        raise ValueError("the right answers of {MULTIRESPONSE:...} do not add up to 100%")
    if not full and kind != "mr":
        raise ValueError(f"no answer of {{{kind}:...}} earns full credit")
    if kind in ("sa", "sac"):
        out: dict[str, Any] = {
            "type": "short_text",
            "key": [t for c, t, _ in full],
            "case_sensitive": kind == "sac",
        }
        partial = [{"text": t, "credit": c} for c, t, _ in answers if 0 < c < 1]
        wrong = [{"text": t, "explanation": f} for c, t, f in answers if c <= 0 and f and t != "*"]
        if partial:
            out["alternatives"] = partial
        if wrong:
            out["wrong_answers"] = wrong
        return out
    if kind == "nm":
        key, tolerance = _number(full[0][1])
        out = {"type": "numeric", "key": key}
        if tolerance:
            out["tolerance"] = tolerance
        ranges: list[dict[str, Any]] = []
        typical: list[dict[str, Any]] = []
        for credit, text, feedback in answers:
            if text == "*" or (credit, text, feedback) == full[0]:
                continue
            value, width = _number(text)
            if credit > 0:
                ranges.append({"low": value - width, "high": value + width, "credit": credit})
            elif feedback:
                typical.append({"value": value, "explanation": feedback})
        if ranges:
            out["alternatives"] = ranges
        if typical:
            out["common_wrong_answers"] = typical
        return out
    options: list[dict[str, Any]] = [
        {"id": f"a{n}", "text": text, **({"rationale": feedback} if feedback else {})}
        for n, (_, text, feedback) in enumerate(answers, start=1)
    ]
    if kind == "mr":
        return {
            "type": "multiple_response",
            "options": [
                {**o, "credit": max(-1.0, min(1.0, c))} if c else o
                for o, (c, _, _) in zip(options, answers, strict=True)
            ],
            "key": [o["id"] for o, (c, _, _) in zip(options, answers, strict=True) if c > 0],
            "scoring": "weighted",
            "shuffle": shuffle,
        }
    key = next(o["id"] for o, (c, _, _) in zip(options, answers, strict=True) if c >= 1.0)
    out = {
        "type": "inline_choice" if kind == "mc" else "single_choice",
        "options": options,
        "key": key,
        "shuffle": shuffle,
    }
    if any(0 < c < 1 for c, _, _ in answers):
        out["scoring"] = "weighted"
        out["options"] = [
            {**o, "credit": c} if c > 0 else o
            for o, (c, _, _) in zip(options, answers, strict=True)
        ]
    return out


def moodle_cloze(text: str) -> tuple[str, list[dict[str, Any]]]:
    """The stem with each ``{N:TYPE:...}`` written ``{{bK}}``, and the fields.

    Raises
    ------
    ValueError
        A subquestion of an unknown type or without a fully credited answer, or no
        subquestion at all.
    """
    fields: list[dict[str, Any]] = []

    def replace(match: re.Match[str]) -> str:
        weight, name, body = match.group(1), match.group(2), match.group(3)
        base, shuffle = name, False
        if base not in _TYPES:  # the shuffling variants: MULTICHOICE_S, MCS, MCVS...
            base, shuffle = base.removesuffix("_S").removesuffix("S"), True
        kind = _TYPES.get(base)
        if kind is None:
            raise ValueError(f"embedded answer type {name!r} is not supported")
        field_id = f"b{len(fields) + 1}"
        field: dict[str, Any] = {"id": field_id, "interaction": subquestion(kind, body, shuffle)}
        if weight and int(weight) > 1:
            field["weight"] = float(min(100, int(weight)))
        fields.append(field)
        return "{{" + field_id + "}}"

    stem = _SUBQUESTION.sub(replace, text)
    if not fields:
        raise ValueError("the cloze question holds no embedded answer {N:TYPE:...}")
    return stem, fields


def composite_irt(raw: dict[str, Any]) -> bool:
    """Give a composite draft a provisional model fitting its credit levels; True if set.

    One GPCM category per distinct credit level its fields can reach (steps spread over
    [-1, 1]; ``credit_levels`` when the levels are unequal); a single level leaves the
    provisional 2PL to the importer.
    """
    try:
        composite = msgspec.convert(raw["interaction"], Composite)
    except msgspec.ValidationError:
        return False  # the importer reports the located problem
    levels = sorted(c for c in reachable_credits(composite) if c > 0)
    if len(levels) < 2:
        return False
    if len(levels) > MAX_LEVELS:
        k, kept = MAX_LEVELS, []
    else:
        k = len(levels)
        equal = all(abs(level - (i + 1) / k) < 1e-9 for i, level in enumerate(levels))
        kept = [] if equal else levels
    raw["irt"] = {
        "model": "gpcm",
        "a": 1.0,
        "thresholds": [round(-1 + 2 * i / (k - 1), 6) for i in range(k)],
    }
    if kept:
        raw["credit_levels"] = kept
    return True
