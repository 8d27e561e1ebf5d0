"""Moodle XML (``<quiz>``) into a bank.

Read: ``multichoice`` (single or multiple, answer ``fraction`` as credit, per-answer feedback
as the option's rationale), ``truefalse``, ``numerical`` (answers with ``tolerance``; the
first unit becomes the item's unit; partially credited answers become intervals),
``shortanswer`` (``usecase``; partially credited answers become alternatives), ``essay``
(stored, never auto-scored) and ``cloze``/``multianswer`` (embedded answers: each blank a
field of a composite item, see :mod:`item_banks.formats.cloze`). ``generalfeedback`` is the
worked solution; a ``category`` question tags the questions that follow (its last path part
becomes their competency). Other question types are skipped and reported. Feedback on typed
answers has no place in a bank and is reported as a warning. Moodle carries no IRT
parameters: items get the provisional 2PL (a GPCM by credit level for cloze questions).

HTML text is parsed with lxml's HTML parser (no network, no external entities) and converted
to Markdown.
"""

from __future__ import annotations

from typing import Any

import lxml.html
from lxml import etree

from item_banks.errors import BankValidationError, Problem
from item_banks.formats.cloze import composite_irt, moodle_cloze
from item_banks.formats.common import Collected, Draft, ImportResult, assemble, skill, slug
from item_banks.formats.markup import html_to_markdown
from item_banks.formats.qti3_import import kid, kids
from item_banks.formats.safe_xml import local, parse_xml, where
from item_banks.native import DEFAULT_LIMITS, Limits

SUPPORTED = (
    "multichoice",
    "truefalse",
    "numerical",
    "shortanswer",
    "essay",
    "cloze",
    "multianswer",
)


def _text(element: etree._Element | None) -> str:
    """The Markdown of a Moodle ``<text>`` holder (``format`` html, plain or markdown)."""
    if element is None:
        return ""
    holder = kid(element, "text") if local(element) != "text" else element
    raw = (holder.text or "") if holder is not None else ""
    if element.get("format", "html") != "html" or "<" not in raw:
        return raw.strip()
    fragment = lxml.html.fragment_fromstring(raw, create_parent="div")
    return html_to_markdown(fragment)


def _fraction(answer: etree._Element) -> float:
    return float(answer.get("fraction", "0")) / 100.0


def _multichoice(question: etree._Element, warn: Any) -> dict[str, Any]:
    answers = kids(question, "answer")
    options: list[dict[str, Any]] = []
    credits: list[float] = []
    for index, answer in enumerate(answers):
        option: dict[str, Any] = {"id": chr(ord("a") + index), "text": _text(answer) or "(blank)"}
        feedback = _text(kid(answer, "feedback"))
        if feedback:
            option["rationale"] = feedback
        options.append(option)
        credits.append(_fraction(answer))
    if not 2 <= len(options) <= 26:
        raise ValueError(f"{len(options)} answers; a choice needs 2 to 26")
    single = (kid(question, "single") is None) or (
        (kid(question, "single").text or "true").strip().lower() in ("true", "1")  # type: ignore[union-attr]
    )
    shuffle_el = kid(question, "shuffleanswers")
    shuffle = shuffle_el is None or (shuffle_el.text or "1").strip().lower() in ("1", "true")
    full = [o["id"] for o, c in zip(options, credits, strict=True) if c >= 1.0]
    positive = [o["id"] for o, c in zip(options, credits, strict=True) if c > 0]
    if single:
        if len(full) != 1:
            raise ValueError("a single-answer question needs exactly one answer at 100%")
        result: dict[str, Any] = {"type": "single_choice", "options": options, "key": full[0]}
        if any(c != 0 and c < 1 for c in credits):
            result["scoring"] = "weighted"
            for option, credit in zip(options, credits, strict=True):
                if credit:
                    option["credit"] = max(-1.0, credit)
    else:
        if not positive:
            raise ValueError("no answer earns credit")
        result = {"type": "multiple_response", "options": options, "key": positive}
        result["scoring"] = "weighted"
        for option, credit in zip(options, credits, strict=True):
            if credit:
                option["credit"] = max(-1.0, min(1.0, credit))
    result["shuffle"] = shuffle
    return result


def _truefalse(question: etree._Element) -> dict[str, Any]:
    options: list[dict[str, Any]] = [
        {"id": "true", "text": "True"},
        {"id": "false", "text": "False"},
    ]
    key = None
    for answer in kids(question, "answer"):
        value = _text(answer).strip().lower()
        option = options[0] if value == "true" else options[1] if value == "false" else None
        if option is None:
            raise ValueError(f"a true/false answer must be true or false, got {value!r}")
        feedback = _text(kid(answer, "feedback"))
        if feedback:
            option["rationale"] = feedback
        if _fraction(answer) >= 1.0:
            key = option["id"]
    if key is None:
        raise ValueError("neither true nor false is marked 100%")
    return {"type": "single_choice", "options": options, "key": key, "shuffle": False}


def _numerical(question: etree._Element, warn: Any) -> dict[str, Any]:
    result: dict[str, Any] = {"type": "numeric"}
    alternatives: list[dict[str, Any]] = []
    for answer in kids(question, "answer"):
        credit = _fraction(answer)
        text = _text(answer).strip()
        if _text(kid(answer, "feedback")):
            warn("feedback on a typed number has no place in a bank; not kept")
        if credit <= 0:
            continue
        if text == "*":
            raise ValueError("a wildcard answer '*' earning credit is not supported")
        value = float(text)
        tolerance_el = kid(answer, "tolerance")
        tolerance = abs(float(tolerance_el.text or 0)) if tolerance_el is not None else 0.0
        if "key" not in result and credit >= 1.0:
            result["key"] = value
            if tolerance:
                result["tolerance"] = tolerance
        else:
            alt: dict[str, Any] = {"low": value - tolerance, "high": value + tolerance}
            if credit < 1.0:
                alt["credit"] = credit
            alternatives.append(alt)
    if "key" not in result:
        raise ValueError("no answer earns full credit")
    if alternatives:
        result["alternatives"] = alternatives
    units = kid(question, "units")
    if units is not None:
        names = [(u.findtext("unit_name") or "").strip() for u in kids(units, "unit")]
        names = [n for n in names if n]
        if names:
            result["unit"] = names[0]
        if len(names) > 1:
            warn(f"only the first unit ({names[0]}) is kept; others: {', '.join(names[1:])}")
    return result


def _shortanswer(question: etree._Element, warn: Any) -> dict[str, Any]:
    key: list[str] = []
    alternatives: list[dict[str, Any]] = []
    for answer in kids(question, "answer"):
        credit = _fraction(answer)
        text = _text(answer).strip()
        if _text(kid(answer, "feedback")):
            warn("feedback on a typed answer has no place in a bank; not kept")
        if credit <= 0:
            continue
        if "*" in text:
            raise ValueError(f"wildcard answers ({text!r}) are not supported")
        if credit >= 1.0:
            key.append(text)
        else:
            alternatives.append({"text": text, "credit": credit})
    if not key:
        raise ValueError("no answer earns full credit")
    usecase = (question.findtext("usecase") or "0").strip() == "1"
    return {
        "type": "short_text",
        "key": key,
        "alternatives": alternatives,
        "case_sensitive": usecase,
    }


def read_moodle(data: bytes, source: str, *, limits: Limits = DEFAULT_LIMITS) -> ImportResult:
    """Read a Moodle XML quiz export into a bank.

    Raises
    ------
    BankValidationError
        For unsafe or malformed XML, a malformed question (located by line), or nothing
        importable.
    """
    root = parse_xml(data, source, limits=limits)
    if local(root) != "quiz":
        raise BankValidationError(
            [Problem(source=source, field=where(root), message="not a Moodle XML quiz (<quiz>)")]
        )
    collected = Collected()
    category: str | None = None
    used: set[str] = set()
    for number, question in enumerate(kids(root, "question"), start=1):
        kind = question.get("type", "")
        if kind == "category":
            path = _text(kid(question, "category")).replace("$course$/", "").strip("/")
            category = path.split("/")[-1] if path else None
            continue
        name = _text(kid(question, "name"))
        id_holder = kid(question, "idnumber")
        idnumber = (id_holder.text or "").strip() if id_holder is not None else ""
        # Moodle's idnumber is the author's stable id; the name is a title.
        item_id = slug(idnumber or name, "q") if idnumber or name else f"q{number}"
        base, k = item_id, 2
        while item_id in used:
            item_id, k = f"{base[:60]}-{k}", k + 1
        location = where(question)
        if kind not in SUPPORTED:
            collected.skipped.append(
                Problem(
                    source=source,
                    item=item_id,
                    field=location,
                    message=f"skipped: Moodle question type {kind!r} is not supported",
                )
            )
            continue
        used.add(item_id)
        notes: list[str] = []
        stem = _text(kid(question, "questiontext")) or item_id
        try:
            if kind in ("cloze", "multianswer"):
                stem, fields = moodle_cloze(stem)
                interaction: dict[str, Any] = {"type": "composite", "fields": fields}
            elif kind == "multichoice":
                interaction = _multichoice(question, notes.append)
            elif kind == "truefalse":
                interaction = _truefalse(question)
            elif kind == "numerical":
                interaction = _numerical(question, notes.append)
            elif kind == "shortanswer":
                interaction = _shortanswer(question, notes.append)
            else:
                interaction = {"type": "extended_text"}
        except (ValueError, etree.ParserError) as exc:
            collected.errors.append(
                Problem(source=source, item=item_id, field=location, message=str(exc))
            )
            continue
        for note in notes:
            collected.warnings.append(
                Problem(source=source, item=item_id, field=location, message=note)
            )
        raw: dict[str, Any] = {
            "id": item_id,
            "stem": stem,
            "interaction": interaction,
        }
        if name and name != item_id:
            raw["title"] = name[:200]
        grader = kid(question, "graderinfo")
        if grader is not None and _text(grader):
            raw["notes"] = _text(grader)  # notes for the person who scores: authors only
        solution = _text(kid(question, "generalfeedback"))
        if solution:
            raw["solution"] = solution
        hints = [_text(h) for h in kids(question, "hint")]
        if any(hints):
            raw["hints"] = [h for h in hints if h][:10]
        skills = (skill(category),) if category else ()
        provisional = interaction["type"] == "composite" and composite_irt(raw)
        collected.drafts.append(
            Draft(raw=raw, source=source, skills=skills, provisional=provisional)
        )
    return assemble(collected, source=source, limits=limits)
