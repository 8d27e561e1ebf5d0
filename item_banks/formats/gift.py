"""GIFT (Moodle's plain-text quiz format) into a bank.

Read: multiple choice (``=`` right, ``~`` wrong, ``~%50%`` partial credit, ``#`` feedback
per answer: the option's rationale), multiple answers with weights (``~%50%a ~%50%b
~%-100%c``), true/false (``{T}``, ``{FALSE#feedback}``), short answer (``{=a =b =%50%c}``:
full-credit answers and partially credited ones), numeric (``{#3.14:0.01}``, ranges
``{#1..5}``, several answers with weights), matching (``{=a -> 1 =b -> 2}``), essays (``{}``:
stored, never auto-scored), missing-word questions (text after the braces), embedded
answers (several answer blocks in one question: a composite item, each block a field, a
choice block an inline choice) and ``####`` general feedback (the worked solution).
``$CATEGORY:`` lines tag the questions that follow: the category becomes their competency.
Titles (``::title::``) become item ids.

Feedback on typed answers (short answer, numeric) has no place in a bank (a wrong typed answer
is not an option with a rationale); it is reported as a warning. GIFT carries no IRT
parameters: items get the provisional 2PL (a warning says so).
"""

from __future__ import annotations

import re
from typing import Any

from item_banks.errors import BankValidationError, Problem
from item_banks.formats.cloze import composite_irt
from item_banks.formats.common import (
    Collected,
    Draft,
    ImportResult,
    assemble,
    decode_text,
    skill,
    slug,
)
from item_banks.native import DEFAULT_LIMITS, Limits

_SPECIAL = "~=#{}:"
_MARKUP = re.compile(r"^\[(markdown|html|moodle|plain)\]", re.I)


def _unescape(text: str) -> str:
    return re.sub(r"\\([~=#{}:\\n])", lambda m: "\n" if m.group(1) == "n" else m.group(1), text)


def _clean(text: str) -> str:
    text = _MARKUP.sub("", text.strip()).strip()
    return _unescape(text).strip()


def _split_unescaped(text: str, markers: str) -> list[tuple[str, str]]:
    """Split at unescaped marker characters: ``[(marker, segment), ...]``."""
    parts: list[tuple[str, str]] = []
    marker, current, i = "", [], 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            current.append(text[i : i + 2])
            i += 2
            continue
        if char in markers:
            parts.append((marker, "".join(current)))
            marker, current = char, []
        else:
            current.append(char)
        i += 1
    parts.append((marker, "".join(current)))
    return parts


def _find_unescaped(text: str, char: str, start: int = 0) -> int:
    i = start
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == char:
            return i
        i += 1
    return -1


def _answers(body: str) -> list[tuple[str, float | None, str, str]]:
    """``(marker, weight %, text, feedback)`` for every ``=``/``~`` answer."""
    out = []
    for marker, part in _split_unescaped(body, "=~"):
        if not marker:
            if part.strip():
                raise ValueError(f"text before the first answer: {part.strip()!r}")
            continue
        weight = None
        segment = part
        match = re.match(r"\s*%(-?\d+(?:\.\d+)?)%", segment)
        if match:
            weight = float(match.group(1))
            segment = segment[match.end() :]
        pieces = _split_unescaped(segment, "#")
        text = pieces[0][1]
        feedback = "".join(p[1] for p in pieces[1:])
        out.append((marker, weight, _clean(text), _clean(feedback)))
    return out


def _number(text: str) -> float:
    return float(text.strip())


def _numeric(body: str, warn: Any) -> dict[str, Any]:
    body = body.strip()
    answers: list[tuple[float, str]] = []
    if body.startswith("="):
        for _, weight, text, feedback in _answers(body):
            if feedback:
                warn("feedback on a typed number has no place in a bank; not kept")
            answers.append((100.0 if weight is None else weight, text))
    else:
        text = _split_unescaped(body, "#")[0][1]
        if _split_unescaped(body, "#")[1:]:
            warn("feedback on a typed number has no place in a bank; not kept")
        answers.append((100.0, text))
    result: dict[str, Any] = {"type": "numeric"}
    alternatives: list[dict[str, Any]] = []
    for weight, text in answers:
        if weight <= 0:
            continue
        if ".." in text:
            low_text, high_text = text.split("..", 1)
            low, high = _number(low_text), _number(high_text)
            centre, tolerance = (low + high) / 2, (high - low) / 2
        elif ":" in text:
            value_text, tol_text = text.split(":", 1)
            centre, tolerance = _number(value_text), abs(_number(tol_text))
        else:
            centre, tolerance = _number(text), 0.0
        if "key" not in result and weight >= 100:
            result["key"] = centre
            if tolerance:
                result["tolerance"] = tolerance
        else:
            alt: dict[str, Any] = {"low": centre - tolerance, "high": centre + tolerance}
            if weight < 100:
                alt["credit"] = weight / 100
            alternatives.append(alt)
    if "key" not in result:
        raise ValueError("no numeric answer earns full credit")
    if alternatives:
        result["alternatives"] = alternatives
    return result


def _choice(answers: list[tuple[str, float | None, str, str]], warn: Any) -> dict[str, Any]:
    options: list[dict[str, Any]] = []
    credits: list[float] = []
    for index, (marker, weight, text, feedback) in enumerate(answers):
        credit = (100.0 if marker == "=" else 0.0) if weight is None else weight
        option: dict[str, Any] = {"id": chr(ord("a") + index), "text": text or "(blank)"}
        if feedback:
            option["rationale"] = feedback
        options.append(option)
        credits.append(credit / 100)
    if len(options) > 26:
        raise ValueError("more than 26 answers")
    right = [o["id"] for o, c in zip(options, credits, strict=True) if c >= 1.0]
    positive = [o["id"] for o, c in zip(options, credits, strict=True) if c > 0]
    if len(right) == 1:
        partial = any(0 < c < 1 or c < 0 for c in credits)
        if partial:
            for option, credit in zip(options, credits, strict=True):
                if credit:
                    option["credit"] = max(-1.0, credit)
            return {
                "type": "single_choice",
                "options": options,
                "key": right[0],
                "scoring": "weighted",
            }
        return {"type": "single_choice", "options": options, "key": right[0]}
    if not positive:
        raise ValueError("no answer earns credit")
    if len(right) > 1:
        return {"type": "multiple_response", "options": options, "key": right}
    for option, credit in zip(options, credits, strict=True):
        if credit:
            option["credit"] = max(-1.0, min(1.0, credit))
    return {
        "type": "multiple_response",
        "options": options,
        "key": positive,
        "scoring": "weighted",
    }


def _question(text: str, warn: Any) -> dict[str, Any]:
    title = None
    match = re.match(r"\s*::(.*?)::", text, re.S)
    if match:
        title = _clean(match.group(1))
        text = text[match.end() :]
    opening = _find_unescaped(text, "{")
    if opening < 0:
        raise ValueError("no answer block {...} (descriptions are not items)")
    closing = _find_unescaped(text, "}", opening)
    if closing >= 0 and _find_unescaped(text, "{", closing) >= 0:
        return _embedded(text, title, warn)
    closing = _find_unescaped(text, "}", opening)
    if closing < 0:
        raise ValueError("the answer block is not closed with }")
    before, body, after = text[:opening], text[opening + 1 : closing], text[closing + 1 :]
    general = ""
    pieces = body.split("####", 1)
    if len(pieces) == 2:
        body, general = pieces[0], _clean(pieces[1])
    stem = _clean(before)
    if after.strip():
        stem = f"{stem} _____ {_clean(after)}".strip()
    raw: dict[str, Any] = {"stem": stem or "(no text)"}
    if title:
        raw["title"] = title
    if general:
        raw["solution"] = general
    stripped = body.strip()
    if not stripped:
        raw["interaction"] = {"type": "extended_text"}
        return raw
    if re.fullmatch(r"(T|TRUE|F|FALSE)(#.*)?", stripped, re.S):
        pieces2 = _split_unescaped(stripped, "#")
        truth = pieces2[0][1].strip().upper().startswith("T")
        feedback = [_clean(p[1]) for p in pieces2[1:]]
        wrong_fb = feedback[0] if feedback else ""
        right_fb = feedback[1] if len(feedback) > 1 else ""
        options = [{"id": "true", "text": "True"}, {"id": "false", "text": "False"}]
        right, wrong = (options[0], options[1]) if truth else (options[1], options[0])
        if wrong_fb:
            wrong["rationale"] = wrong_fb
        if right_fb:
            right["rationale"] = right_fb
        raw["interaction"] = {
            "type": "single_choice",
            "options": options,
            "key": right["id"],
            "shuffle": False,
        }
        return raw
    if stripped.startswith("#"):
        raw["interaction"] = _numeric(stripped[1:], warn)
        return raw
    answers = _answers(stripped)
    if not answers:
        raise ValueError("no answers")
    if all(m == "=" for m, *_ in answers) and all("->" in a[2] for a in answers):
        sources, targets, key = [], [], []
        target_ids: dict[str, str] = {}
        for index, (_, _, text, _) in enumerate(answers):
            left, right_text = (s.strip() for s in text.split("->", 1))
            source_id = f"s{index + 1}"
            if left:
                sources.append({"id": source_id, "text": left})
            if right_text not in target_ids:
                target_ids[right_text] = f"t{len(target_ids) + 1}"
                targets.append({"id": target_ids[right_text], "text": right_text})
            if left:
                key.append({"source": source_id, "target": target_ids[right_text]})
        raw["interaction"] = {"type": "match", "sources": sources, "targets": targets, "key": key}
        return raw
    if all(m == "=" for m, *_ in answers):
        full = [t for _, w, t, _ in answers if w is None or w >= 100]
        partial = [
            {"text": t, "credit": w / 100}
            for _, w, t, _ in answers
            if w is not None and 0 < w < 100
        ]
        if any(fb for *_, fb in answers):
            warn("feedback on a typed answer has no place in a bank; not kept")
        if not full:
            raise ValueError("no short answer earns full credit")
        raw["interaction"] = {"type": "short_text", "key": full, "alternatives": partial}
        return raw
    raw["interaction"] = _choice(answers, warn)
    return raw


def _embedded(text: str, title: str | None, warn: Any) -> dict[str, Any]:
    """A question of several answer blocks (embedded answers): a composite item.

    Each block becomes a field written ``{{bN}}`` where it stood; a choice block inside the
    text becomes an inline choice; ``####`` in the last block is the worked solution.
    """
    pieces: list[str] = []
    fields: list[dict[str, Any]] = []
    general = ""
    at = 0
    while True:
        opening = _find_unescaped(text, "{", at)
        if opening < 0:
            break
        closing = _find_unescaped(text, "}", opening)
        if closing < 0:
            raise ValueError("an answer block is not closed with }")
        body = text[opening + 1 : closing]
        parts = body.split("####", 1)
        if len(parts) == 2:
            body, general = parts[0], _clean(parts[1])
        inner = _question("{" + body + "}", warn)["interaction"]
        if inner["type"] == "extended_text":
            raise ValueError("an empty answer block {} (an essay) cannot be a blank")
        if inner["type"] == "single_choice":
            inner = {**inner, "type": "inline_choice"}
        field_id = f"b{len(fields) + 1}"
        fields.append({"id": field_id, "interaction": inner})
        pieces.append(text[at:opening])
        pieces.append("{{" + field_id + "}}")
        at = closing + 1
    pieces.append(text[at:])
    raw: dict[str, Any] = {
        "stem": _clean("".join(pieces)),
        "interaction": {"type": "composite", "fields": fields},
    }
    if title:
        raw["title"] = title
    if general:
        raw["solution"] = general
    return raw


def _blocks(text: str) -> list[tuple[int, str, str | None]]:
    """Questions as ``(first line, text, category)``; comments and categories removed."""
    out: list[tuple[int, str, str | None]] = []
    category: str | None = None
    current: list[str] = []
    start = 0
    depth = 0
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if depth == 0 and stripped.startswith("//"):
            continue
        if depth == 0 and stripped.startswith("$CATEGORY:"):
            category = stripped[len("$CATEGORY:") :].strip()
            continue
        if not stripped and depth == 0:
            if current:
                out.append((start, "\n".join(current), category))
                current = []
            continue
        if not current:
            start = number
        current.append(line)
        closes = line.count("}") - line.count("\\}")
        depth += line.count("{") - line.count("\\{") - closes
        depth = max(depth, 0)
        if depth == 0 and closes:  # a question ends with its answer block's line
            out.append((start, "\n".join(current), category))
            current = []
    if current:
        out.append((start, "\n".join(current), category))
    return out


def read_gift(data: bytes, source: str, *, limits: Limits = DEFAULT_LIMITS) -> ImportResult:
    """Read a GIFT file into a bank.

    Raises
    ------
    BankValidationError
        When the file is too large or not UTF-8, a question is malformed (located by line),
        or nothing could be imported.
    """
    if len(data) > limits.max_bytes:
        raise BankValidationError(
            [
                Problem(
                    source=source,
                    message=f"file is {len(data):,} bytes; the limit is {limits.max_bytes:,}",
                )
            ]
        )
    text, read_notes = decode_text(data, source)
    collected = Collected()
    collected.warnings.extend(read_notes)
    used: set[str] = set()
    for number, (line, block, category) in enumerate(_blocks(text), start=1):
        where = f"line {line}"
        notes: list[str] = []
        try:
            raw = _question(block, notes.append)
        except ValueError as exc:
            collected.errors.append(
                Problem(source=source, item=f"#{number}", field=where, message=str(exc))
            )
            continue
        title = raw.pop("title", None)
        item_id = slug(title, "q") if title else f"q{number}"
        base, k = item_id, 2
        while item_id in used:
            item_id, k = f"{base[:60]}-{k}", k + 1
        used.add(item_id)
        raw["id"] = item_id
        for note in notes:
            collected.warnings.append(
                Problem(source=source, item=item_id, field=where, message=note)
            )
        skills = (skill(category.split("/")[-1] or category),) if category else ()
        provisional = raw["interaction"]["type"] == "composite" and composite_irt(raw)
        collected.drafts.append(
            Draft(raw=raw, source=source, skills=skills, provisional=provisional)
        )
    return assemble(collected, source=source, limits=limits)
