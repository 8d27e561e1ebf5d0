"""An item's scoring derived from its QTI response processing, checked answer by answer.

The importer never trusts the shape of the rules. For each auto-scored interaction it lists
the answers the interaction allows (:func:`probes`): every option of a single choice; every
subset of a multiple choice within ``min-choices``/``max-choices``, every permutation of an
order and every set of pairs of a match (enumerated up to :data:`ENUMERATION_LIMIT`
answers, else a fixed-seed sample of that many plus the correct and best-mapped answers);
for text entry the mapped keys, the correct response and every string the rules compare
with, each also in other cases; for numbers every breakpoint the rules can have (constants,
their tolerance ends, mapped keys) and the midpoints between them, so each interval where
the score is constant is visited. It runs the QTI rules on each
(:mod:`item_banks.formats.qti_processing`), giving each answer's share of the best score:
the **credit table** (:func:`credit_table`).

A bank interaction is then accepted only if Skillgauge's scoring
(:func:`item_banks.scoring.answer_credit`) gives every answer of the table the same credit,
after both are clipped to [0, 1] (:func:`disagreement`). Candidates come from the rules'
shape (exact keys and tolerances, as the exporter writes them) and from the table itself
(:func:`table_candidates`). At a numeric breakpoint, credits within ``2e-9`` (relative) of it
count as agreeing: Skillgauge absorbs binary rounding at interval ends and QTI engines differ
there too.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgspec
from lxml import etree

from item_banks.errors import AnswerError
from item_banks.formats.qti_expressions import Expr, Rule
from item_banks.formats.qti_processing import (
    Container,
    Declaration,
    Outcome,
    Value,
    equal_range,
    score,
    tolerances,
    typed,
)
from item_banks.formats.safe_xml import local
from item_banks.model import FieldInteraction, Interaction
from item_banks.scoring import RawAnswer, answer_credit

#: Most answers enumerated per item; larger spaces are sampled (fixed seed) to this size.
ENUMERATION_LIMIT = 4096
#: Most score categories a derived model gets (the bank model's limit).
MAX_LEVELS = 20
#: Most operators and rules one item's response processing may hold.
MAX_OPERATORS = 5000
#: Most operator evaluations spent on one item (operators x answers tried); past it the
#: answers are thinned to fit, so a large tree cannot make an import slow.
EVALUATION_BUDGET = 2_000_000


@dataclass
class Probe:
    """One answer: its QTI value, the same answer as Skillgauge takes it, nearby values."""

    value: Value
    answer: RawAnswer
    near: tuple[Value, ...] = ()
    edge: bool = False


@dataclass
class Table:
    """Each probe's credit: its QTI score over the best score, and what counts as agreeing."""

    probes: list[Probe]
    credits: list[float]
    accepted: list[set[float]]
    top: float
    exhaustive: bool
    #: every answer tried earns the same score
    constant: bool = False

    def levels(self) -> tuple[float, ...]:
        """The distinct credits above 0 (clipped to [0, 1]), increasing."""
        return tuple(sorted({round(clip(c), 9) for c in self.credits if clip(c) > 1e-9}))


class NoCreditError(Exception):
    """No answer earns a positive score."""


def reachable_levels(candidate: dict[str, Any], most: int = 10_000) -> set[float] | None:
    """Every credit above 0 a weighted multiple response or match can earn, or None.

    Additive credits (``scoring: weighted``) reach every subset sum of the option or pair
    credits, clipped to [0, 1]; the sums are collected by dynamic programming (rounded to
    1e-9), so a sampled credit table cannot miss a level. None when the form is not additive
    or the sums outgrow ``most``.
    """
    if candidate.get("scoring") != "weighted" or candidate.get("type") == "single_choice":
        return None
    if candidate.get("type") == "match":
        weights = [c["credit"] for c in candidate.get("credits", [])]
    else:
        weights = [o.get("credit", 0.0) for o in candidate.get("options", [])]
    sums = {0.0}
    for weight in weights:
        if weight:
            sums |= {round(total + weight, 9) for total in sums}
        if len(sums) > most:
            return None
    return {round(clip(total), 9) for total in sums if clip(total) > 1e-9}


def clip(credit: float) -> float:
    """``min(1, max(0, credit))``."""
    return min(1.0, max(0.0, credit))


def _ids(interaction: etree._Element, name: str) -> list[str]:
    return [
        c.get("identifier", "")
        for c in interaction.iter()
        if isinstance(c.tag, str) and local(c) == name
    ]


def _int(text: str | None, default: int) -> int:
    try:
        return int((text or "").strip())
    except ValueError:
        return default


def _subsets(
    ids: list[str], low: int, high: int, extra: list[tuple[str, ...]]
) -> tuple[list[tuple[str, ...]], bool]:
    count = sum(math.comb(len(ids), k) for k in range(low, high + 1))
    if count <= ENUMERATION_LIMIT:
        chosen = [combo for k in range(low, high + 1) for combo in itertools.combinations(ids, k)]
        return chosen, True
    rng = random.Random(0)
    seen: dict[tuple[str, ...], None] = {(i,): None for i in ids if low <= 1 <= high}
    for combo in extra:
        if combo:
            seen[tuple(sorted(combo))] = None
    while len(seen) < ENUMERATION_LIMIT:
        k = rng.randint(low, high)
        seen[tuple(sorted(rng.sample(ids, k)))] = None
    return list(seen), False


def _choice_probes(interaction: etree._Element, decl: Declaration) -> tuple[list[Probe], bool]:
    ids = (
        _ids(interaction, "qti-simple-choice")
        or _ids(interaction, "qti-inline-choice")
        or _ids(interaction, "qti-hottext")
        or _ids(interaction, "qti-hotspot-choice")
    )
    multiple = decl.cardinality in ("multiple", "ordered") or interaction.get(
        "max-choices", "1"
    ) not in ("1", "")
    if not multiple:
        return [Probe(i, i) for i in ids], True
    high = _int(interaction.get("max-choices"), 0) or len(ids)
    low = max(1, _int(interaction.get("min-choices"), 0))
    high = max(low, min(high, len(ids)))
    extra = [tuple(decl.correct)]
    if decl.mapping is not None:
        extra.append(tuple(k for k, v, _ in decl.mapping.entries if v > 0 and k in ids))
    combos, exhaustive = _subsets(ids, low, high, extra)
    return [Probe(Container(c), list(c)) for c in combos], exhaustive


def _order_probes(interaction: etree._Element, decl: Declaration) -> tuple[list[Probe], bool]:
    ids = _ids(interaction, "qti-simple-choice")
    if math.factorial(len(ids)) <= ENUMERATION_LIMIT:
        orders = list(itertools.permutations(ids))
        exhaustive = True
    else:
        rng = random.Random(0)
        seen: dict[tuple[str, ...], None] = {}
        if sorted(decl.correct) == sorted(ids):
            key = tuple(decl.correct)
            seen[key] = None
            for i in range(len(key) - 1):  # the key with two neighbours swapped
                swapped = list(key)
                swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
                seen[tuple(swapped)] = None
        while len(seen) < ENUMERATION_LIMIT:
            seen[tuple(rng.sample(ids, len(ids)))] = None
        orders, exhaustive = list(seen), False
    return [Probe(Container(o, ordered=True), list(o)) for o in orders], exhaustive


def _match_probes(interaction: etree._Element, decl: Declaration) -> tuple[list[Probe], bool]:
    sets = [c for c in interaction if isinstance(c.tag, str) and local(c) == "qti-simple-match-set"]
    if len(sets) != 2:
        return [], True
    sources, targets = (
        [
            (c.get("identifier", ""), _int(c.get("match-max"), 0))
            for c in s
            if isinstance(c.tag, str) and local(c) == "qti-simple-associable-choice"
        ]
        for s in sets[:2]
    )
    most = _int(interaction.get("max-associations"), 1)
    return _pair_probes(decl, sources, targets, most)


def _gap_probes(interaction: etree._Element, decl: Declaration) -> tuple[list[Probe], bool]:
    """Gap match: every set of (gap text, gap) pairs, each gap (or hotspot) filled at most once."""
    texts = [
        (c.get("identifier", ""), _int(c.get("match-max"), 1))
        for c in interaction
        if isinstance(c.tag, str) and local(c) in ("qti-gap-text", "qti-gap-img")
    ]
    # a graphic gap match's hotspots take one label each, as the learner page offers
    gaps = [
        (g, 1) for g in _ids(interaction, "qti-gap") or _ids(interaction, "qti-associable-hotspot")
    ]
    return _pair_probes(decl, texts, gaps, 0)


def _associate_probes(interaction: etree._Element, decl: Declaration) -> tuple[list[Probe], bool]:
    """Associate: every set of unordered pairs of two different choices."""
    choices = [
        (c.get("identifier", ""), _int(c.get("match-max"), 0))
        for c in interaction.iter()
        if isinstance(c.tag, str) and local(c) == "qti-simple-associable-choice"
    ]
    most = _int(interaction.get("max-associations"), 1)
    return _pair_probes(decl, choices, choices, most, unordered=True)


def _pair_probes(
    decl: Declaration,
    sources: list[tuple[str, int]],
    targets: list[tuple[str, int]],
    most: int,
    *,
    unordered: bool = False,
) -> tuple[list[Probe], bool]:
    limit = {i: m for i, m in (*sources, *targets)}
    if unordered:
        ids = [i for i, _ in sources]
        pairs = [" ".join(sorted((a, b))) for k, a in enumerate(ids) for b in ids[k + 1 :]]
    else:
        pairs = [f"{s} {t}" for s, _ in sources for t, _ in targets]

    def allowed(combo: tuple[str, ...]) -> bool:
        if most and len(combo) > most:
            return False
        used: dict[str, int] = {}
        for text in combo:
            for part in text.split():
                used[part] = used.get(part, 0) + 1
        return all(not limit[i] or n <= limit[i] for i, n in used.items())

    def canonical(text: str) -> str:
        parts = text.split()
        return " ".join(sorted(parts) if unordered else parts)

    correct = tuple(canonical(v) for v in decl.correct)
    mapped = (
        tuple(canonical(k) for k, v, _ in decl.mapping.entries if v > 0)
        if decl.mapping is not None
        else ()
    )
    high = min(len(pairs), most or len(pairs), len(sources) * len(targets))
    if 2 ** len(pairs) <= ENUMERATION_LIMIT:
        combos = [
            c for k in range(1, high + 1) for c in itertools.combinations(pairs, k) if allowed(c)
        ]
        exhaustive = True
    else:
        rng = random.Random(0)
        seen: dict[tuple[str, ...], None] = {(p,): None for p in pairs}
        for combo in (
            correct,
            mapped,
            *(correct[:i] + correct[i + 1 :] for i in range(len(correct))),
        ):
            if combo:
                seen[tuple(sorted(combo))] = None
        for _ in range(ENUMERATION_LIMIT * 4):
            if len(seen) >= ENUMERATION_LIMIT:
                break
            combo = tuple(
                sorted(rng.sample(pairs, rng.randint(1, max(1, min(high, len(sources))))))
            )
            if allowed(combo):
                seen[combo] = None
        combos, exhaustive = list(seen), False
    for combo in (correct, mapped):
        if combo and tuple(sorted(combo)) not in set(map(tuple, map(sorted, combos))):
            combos.append(tuple(sorted(combo)))
    probes = [
        Probe(Container(tuple(tuple(p.split()) for p in combo)), list(combo)) for combo in combos
    ]
    return probes, exhaustive


def associate_candidates(table: Table, base: dict[str, Any]) -> list[dict[str, Any]]:
    """Associate forms read off the table: all or nothing, or weighted by single pairs."""
    return [{**candidate, "type": "associate"} for candidate in match_candidates(table, base)]


def size_of(rules: tuple[Rule, ...]) -> int:
    """How many rules and operators ``rules`` hold (nested ones included)."""

    def rule_count(rs: tuple[Rule, ...]) -> int:
        return sum(1 + sum(rule_count(b.rules) for b in r.branches) for r in rs)

    return rule_count(rules) + sum(1 for _ in _constants(rules))


def equal_candidates(
    rules: tuple[Rule, ...], response: str, correct: float | None
) -> list[dict[str, Any]]:
    """Numeric forms from each symmetric, closed ``qti-equal`` on ``response``'s correct value.

    The composite exporter writes a field's tolerance so; the credit table alone would turn
    it into an interval.
    """
    if correct is None:
        return []
    out: list[dict[str, Any]] = []
    for expr in _constants(rules):
        if expr.op != "equal":
            continue
        named = {a.attrs.get("identifier") for a in expr.args if a.op in ("variable", "correct")}
        if named != {response}:
            continue
        mode, t0, t1, low, high = tolerances(expr)
        if t0 != t1 or not (low and high) or mode not in ("absolute", "relative"):
            continue
        width = t0 / 100 if mode == "relative" else t0
        form: dict[str, Any] = {"type": "numeric", "key": correct, "tolerance": width}
        if mode == "relative":
            form["tolerance_mode"] = "relative"
        out.append(form)
    return out


def _constants(rules: tuple[Rule, ...]) -> Iterator[Expr]:
    def walk(expr: Expr) -> Iterator[Expr]:
        yield expr
        for arg in expr.args:
            yield from walk(arg)

    for rule in rules:
        if rule.value is not None:
            yield from walk(rule.value)
        for branch in rule.branches:
            if branch.test is not None:
                yield from walk(branch.test)
            yield from _constants(branch.rules)


#: The typed answer tried that no rule names (it stands for "any other answer").
OTHER_TEXT = "zz no such answer"


def _text_probes(decl: Declaration, rules: tuple[Rule, ...]) -> tuple[list[Probe], bool]:
    texts: list[str] = list(decl.correct)
    if decl.mapping is not None:
        texts += [k for k, _, _ in decl.mapping.entries]
    texts += [
        e.text
        for e in _constants(rules)
        if e.op == "base-value" and e.attrs.get("base-type") == "string"
    ]
    seen: dict[str, None] = {}
    rng = random.Random(0)
    for text in texts:
        mixed = "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in text)
        for variant in (text, text.lower(), text.upper(), text.swapcase(), text.title(), mixed):
            if variant.strip():
                seen[variant] = None
    seen[OTHER_TEXT] = None
    return [Probe(t, t) for t in seen], False


def _number_probes(decl: Declaration, rules: tuple[Rule, ...]) -> tuple[list[Probe], bool]:
    constants: list[float] = []
    for text in decl.correct:
        with contextlib.suppress(ValueError):
            constants.append(float(text))
    if decl.mapping is not None:
        for key, _, _ in decl.mapping.entries:
            with contextlib.suppress(ValueError):
                constants.append(float(key))
    equals: list[Expr] = []
    for expr in _constants(rules):
        if expr.op == "base-value" and expr.attrs.get("base-type") in ("float", "integer"):
            with contextlib.suppress(ValueError):
                constants.append(float(expr.text))
        if expr.op == "equal":
            equals.append(expr)
    points = set(constants)
    for expr in equals:
        mode, t0, t1, _, _ = tolerances(expr)
        for c in constants:
            low, high, _, _ = equal_range(expr, c)
            points |= {low, high}
            for t in (t0, t1):
                if mode == "absolute":
                    points |= {c - t, c + t}
                elif mode == "relative":
                    points |= {c * (1 - t / 100), c * (1 + t / 100)}
                    for factor in (1 - t / 100, 1 + t / 100):
                        if factor:
                            points.add(c / factor)
    ordered = sorted(p for p in points if math.isfinite(p))
    probes: list[Probe] = []

    def probe(x: float, edge: bool) -> None:
        if not math.isfinite(x):
            return
        delta = 2e-9 * max(1.0, abs(x))
        close = tuple(q for q in ordered if q != x and abs(q - x) <= delta)
        near: tuple[Value, ...] = (x - delta, x + delta, *close)
        probes.append(Probe(x, repr(x), near, edge))

    if ordered:
        probe(ordered[0] - 1 - abs(ordered[0]), False)
        probe(ordered[-1] + 1 + abs(ordered[-1]), False)
    else:
        probe(0.0, False)
    for i, x in enumerate(ordered):
        probe(x, True)
        if i + 1 < len(ordered):
            probe((x + ordered[i + 1]) / 2, False)
    return probes, True


def probes(
    kind: str, interaction: etree._Element, decl: Declaration, rules: tuple[Rule, ...]
) -> tuple[list[Probe], bool]:
    """The answers to try and whether they are all the interaction allows.

    ``kind`` is ``choice``, ``order``, ``match``, ``gap``, ``associate``, ``text`` or
    ``number``.
    """
    if kind == "choice":
        return _choice_probes(interaction, decl)
    if kind == "gap":
        return _gap_probes(interaction, decl)
    if kind == "associate":
        return _associate_probes(interaction, decl)
    if kind == "order":
        return _order_probes(interaction, decl)
    if kind == "match":
        return _match_probes(interaction, decl)
    if kind == "number":
        return _number_probes(decl, rules)
    return _text_probes(decl, rules)


def credit_table(
    rules: tuple[Rule, ...],
    declarations: dict[str, Declaration],
    outcomes: dict[str, Outcome],
    response: str,
    found: tuple[list[Probe], bool],
    *,
    context: dict[str, Value] | None = None,
) -> Table:
    """Run the rules on every probe; credits are scores over the best score.

    ``context`` holds the other responses of a composite item while this one varies
    (absent: they are NULL).

    Raises
    ------
    NoCreditError
        When no answer earns more than 0.
    """
    listed, exhaustive = found
    size = max(1, size_of(rules))
    most = max(64, EVALUATION_BUDGET // (size * 3))
    if len(listed) > most:
        keep = sorted(random.Random(0).sample(range(len(listed)), most))
        listed, exhaustive = [listed[i] for i in keep], False

    def run(value: Value) -> float:
        return score(rules, declarations, outcomes, {**(context or {}), response: value})

    scores = [run(p.value) for p in listed]
    nearby = [[run(v) for v in p.near] for p in listed]
    top = max(scores, default=0.0)
    if top <= 0:
        raise NoCreditError

    def ratio(value: float) -> float:
        return value if top == 1.0 else round(value / top, 9)

    credits = [ratio(s) for s in scores]
    accepted = [
        {round(clip(c), 9), *(round(clip(ratio(n)), 9) for n in near)}
        for c, near in zip(credits, nearby, strict=True)
    ]
    return Table(listed, credits, accepted, top, exhaustive, min(scores) == top)


def disagreement(candidate: dict[str, Any], table: Table) -> str | None:
    """None when ``candidate`` scores every probe as QTI does, else the first difference."""
    try:
        interaction: Interaction | FieldInteraction = msgspec.convert(
            candidate, Interaction | FieldInteraction
        )
    except msgspec.ValidationError as exc:
        return f"the closest bank form is invalid ({exc})"
    for probe, qti, accepted in zip(table.probes, table.credits, table.accepted, strict=True):
        try:
            ours = round(clip(answer_credit("item", interaction, probe.answer)), 9)
            # near an interval's end either reading may round the other way
            around = {
                round(clip(answer_credit("item", interaction, repr(v))), 9)
                for v in probe.near
                if isinstance(v, float)
            }
        except AnswerError as exc:
            return f"the answer {probe.answer!r} is refused by Skillgauge ({exc})"
        if not any(abs(ours - a) <= 1e-6 for a in accepted) and not any(
            abs(round(clip(qti), 9) - o) <= 1e-6 for o in around
        ):
            return (
                f"the answer {probe.answer!r} earns {clip(qti):g} of full credit by the QTI "
                f"rules but {ours:g} in the closest form Skillgauge has"
            )
    return None


# --------------------------------------------------------------------------- candidates


def _credit_of(table: Table) -> dict[Any, float]:
    out: dict[Any, float] = {}
    for probe, credit in zip(table.probes, table.credits, strict=True):
        key = probe.answer if isinstance(probe.answer, str) else tuple(probe.answer)
        out[key] = credit
    return out


def _bounded(credit: float) -> float:
    return max(-1.0, min(1.0, credit))


def choice_candidates(table: Table, base: dict[str, Any], multiple: bool) -> list[dict[str, Any]]:
    """Single/multiple choice forms read off the table: all or nothing, partial, weighted."""
    credit = _credit_of(table)
    options = base["options"]
    ids = [o["id"] for o in options]
    out: list[dict[str, Any]] = []
    full = [k for k, c in credit.items() if c >= 1 - 1e-9]
    if not multiple:
        if len(full) >= 1:
            out.append({**base, "type": "single_choice", "key": full[0]})
            weighted = [
                {**o, "credit": _bounded(credit.get(o["id"], 0.0))}
                if credit.get(o["id"], 0.0) != 0
                else o
                for o in options
            ]
            out.append(
                {
                    **base,
                    "type": "single_choice",
                    "options": weighted,
                    "key": full[0],
                    "scoring": "weighted",
                }
            )
        return out
    if len(full) == 1:
        out.append({**base, "type": "multiple_response", "key": list(full[0])})
        keys = list(full[0])
        if len(keys) > 1:
            out.append({**base, "type": "multiple_response", "key": keys, "scoring": "partial"})
    single = {i: credit.get((i,), 0.0) for i in ids}
    keys = [i for i in ids if single[i] > 0]
    if keys:
        weighted = [
            {**o, "credit": _bounded(single[o["id"]])} if single[o["id"]] != 0 else o
            for o in options
        ]
        out.append(
            {
                **base,
                "type": "multiple_response",
                "options": weighted,
                "key": keys,
                "scoring": "weighted",
            }
        )
    return out


def order_candidates(table: Table, base: dict[str, Any]) -> list[dict[str, Any]]:
    """The one order that earns full credit, if there is one."""
    full = [k for k, c in _credit_of(table).items() if c >= 1 - 1e-9]
    return [{**base, "type": "order", "key": list(full[0])}] if len(full) == 1 else []


def match_candidates(table: Table, base: dict[str, Any]) -> list[dict[str, Any]]:
    """Match forms read off the table: all or nothing, or weighted by single pairs."""
    credit = _credit_of(table)

    def pair(text: str) -> dict[str, str]:
        source, target = text.split()
        return {"source": source, "target": target}

    out: list[dict[str, Any]] = []
    full = [k for k, c in credit.items() if c >= 1 - 1e-9]
    if len(full) == 1:
        out.append({**base, "type": "match", "key": [pair(p) for p in full[0]]})
    singles = {k[0]: c for k, c in credit.items() if len(k) == 1}
    positive = [p for p, c in singles.items() if c > 0]
    if positive:
        out.append(
            {
                **base,
                "type": "match",
                "key": [pair(p) for p in positive],
                "scoring": "weighted",
                "credits": [
                    {**pair(p), "credit": _bounded(c)} for p, c in singles.items() if c != 0
                ],
            }
        )
    return out


def text_candidates(table: Table) -> list[dict[str, Any]]:
    """A short-text form: full-credit texts as the key, partial ones as alternatives.

    Answers are grouped by their case-folded text. A group whose variants all earn the same
    credit is case-insensitive; in a group whose variants differ (``Paris`` 1, any other
    case 0.5) the best variants are kept exactly and the others, when they agree, become
    one case-insensitive alternative. The item is case-sensitive when any group differs.
    """
    groups: dict[str, dict[str, float]] = {}
    for text, c in _credit_of(table).items():
        assert isinstance(text, str)
        groups.setdefault(text.casefold(), {})[text] = clip(c)
    sensitive = any(max(g.values()) - min(g.values()) > 1e-9 for g in groups.values())
    key: list[str] = []
    alternatives: list[dict[str, Any]] = []

    def add(text: str, credit: float, exact: bool) -> None:
        if credit >= 1 - 1e-9:
            key.append(text)
        elif credit > 1e-9:
            alt: dict[str, Any] = {"text": text, "credit": credit}
            if sensitive and not exact:
                alt["case_sensitive"] = False
            alternatives.append(alt)

    for variants in groups.values():
        best = max(variants.values())
        if best - min(variants.values()) <= 1e-9:
            first = next(iter(variants))
            if best >= 1 - 1e-9 and sensitive:
                key.extend(variants)  # a full-credit answer in any case: every case tried
            else:
                add(first, best, exact=False)
            continue
        rest = {t: c for t, c in variants.items() if c < best - 1e-9}
        for text, c in variants.items():
            if c >= best - 1e-9:
                add(text, c, exact=True)
        if max(rest.values()) - min(rest.values()) <= 1e-9:
            add(next(iter(rest)), next(iter(rest.values())), exact=False)
        else:
            for text, c in rest.items():
                add(text, c, exact=True)
    if not key:
        return []
    return [
        {
            "type": "short_text",
            "key": key,
            "alternatives": alternatives,
            "case_sensitive": sensitive,
        }
    ]


def number_candidates(table: Table, correct: float | None) -> list[dict[str, Any]]:
    """A numeric form read off the piecewise-constant table: intervals of equal credit."""
    items = sorted(
        (float(p.value), p.edge, clip(c))
        for p, c in zip(table.probes, table.credits, strict=True)
        if isinstance(p.value, float)
    )
    edges = [x for x, edge, _ in items if edge]
    sequence: list[tuple[str, float, float, float]] = []  # (kind, low, high, credit)
    for x, edge, c in items:
        if edge:
            sequence.append(("edge", x, x, c))
        elif x not in edges:
            low = max((e for e in edges if e < x), default=-math.inf)
            high = min((e for e in edges if e > x), default=math.inf)
            sequence.append(("gap", low, high, c))
    runs: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for kind, low, high, c in sequence:
        if current is not None and abs(current["credit"] - c) < 1e-9:
            current["high"], current["include_high"] = (
                (high, True) if kind == "edge" else (high, False)
            )
            continue
        if current is not None and current["credit"] > 1e-9:
            runs.append(current)
        current = {
            "low": low,
            "high": high,
            "credit": c,
            "include_low": kind == "edge",
            "include_high": kind == "edge",
        }
    if current is not None and current["credit"] > 1e-9:
        runs.append(current)
    if not runs or any(not math.isfinite(r["low"]) or not math.isfinite(r["high"]) for r in runs):
        return []
    full = [r for r in runs if r["credit"] >= 1 - 1e-9]
    if not full:
        return []
    key = correct
    if key is None or not any(r["low"] <= key <= r["high"] for r in full):
        key = (full[0]["low"] + full[0]["high"]) / 2
    alternatives = []
    for run in runs:
        alt: dict[str, Any] = {"low": run["low"], "high": run["high"]}
        if run["credit"] < 1 - 1e-9:
            alt["credit"] = run["credit"]
        if not run["include_low"]:
            alt["include_low"] = False
        if not run["include_high"]:
            alt["include_high"] = False
        alternatives.append(alt)
    exact_key = any(r["low"] == r["high"] == key and r["credit"] >= 1 - 1e-9 for r in runs)
    if exact_key:
        alternatives = [a for a in alternatives if not (a["low"] == a["high"] == key)]
    return [{"type": "numeric", "key": key, "alternatives": alternatives}]


def typed_correct(decl: Declaration) -> float | None:
    """The first correct value of a numeric declaration, or None."""
    if not decl.correct:
        return None
    value = typed(decl.correct[0], decl.base_type or "float", "correct")
    return float(value) if isinstance(value, int | float) else None
