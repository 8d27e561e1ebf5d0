"""QTI response processing as a typed tree: rules and expressions, parsed and checked.

:func:`parse_processing` turns a ``qti-response-processing`` element (QTI 3.0 kebab-case
names; QTI 2.x camelCase items are renamed first by :mod:`item_banks.formats.qti2_import`)
into :class:`Rule` and :class:`Expr` nodes. Every operator is checked against
:data:`OPERATORS` (its name and how many operands it takes) while parsing, so an operator
Skillgauge does not evaluate refuses the item with its line and element
(:class:`UnsupportedProcessingError`) before anything is guessed. The standard templates
``match_correct``, ``map_response`` and ``map_response_point`` are expanded into the same tree
(:func:`template_rules`), recognised by the template file's base name whatever URL names it.

The evaluator is :mod:`item_banks.formats.qti_processing`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from item_banks.formats.safe_xml import local, where

TEMPLATES = ("match_correct", "map_response", "map_response_point")

#: Operator name (without ``qti-``) -> (fewest operands, most operands or None for any).
OPERATORS: dict[str, tuple[int, int | None]] = {
    "base-value": (0, 0),
    "variable": (0, 0),
    "correct": (0, 0),
    "default": (0, 0),
    "null": (0, 0),
    "map-response": (0, 0),
    "map-response-point": (0, 0),
    "match": (2, 2),
    "equal": (2, 2),
    "string-match": (2, 2),
    "member": (2, 2),
    "contains": (2, 2),
    "and": (1, None),
    "or": (1, None),
    "not": (1, 1),
    "is-null": (1, 1),
    "gt": (2, 2),
    "gte": (2, 2),
    "lt": (2, 2),
    "lte": (2, 2),
    "sum": (1, None),
    "product": (1, None),
    "subtract": (2, 2),
    "divide": (2, 2),
    "multiple": (0, None),
    "ordered": (0, None),
    "container-size": (1, 1),
    "integer-to-float": (1, 1),
}
#: Response rules Skillgauge evaluates.
RULES = (
    "set-outcome-value",
    "lookup-outcome-value",
    "response-condition",
    "exit-response",
    "response-processing-fragment",
)


class UnsupportedProcessingError(Exception):
    """The processing uses something Skillgauge does not evaluate; ``field`` locates it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Expr:
    """One expression: an operator, its attributes, operands and (for values) text.

    ``op`` is the QTI name without the ``qti-`` prefix (``"equal"``, ``"map-response"``);
    ``at`` locates the element for messages (``line 12 <qti-equal>``).
    """

    op: str
    attrs: dict[str, str]
    args: tuple[Expr, ...]
    text: str
    at: str


@dataclass(frozen=True)
class Branch:
    """One branch of a condition: ``test`` (None for ``else``) and the rules it runs."""

    test: Expr | None
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class Rule:
    """A response rule: ``set``/``lookup`` an outcome, a ``condition``, or ``exit``."""

    kind: str
    at: str
    identifier: str = ""
    value: Expr | None = None
    branches: tuple[Branch, ...] = field(default_factory=tuple)


def template_name(url: str) -> str | None:
    """Return ``match_correct``... for any URL or path naming a standard template file."""
    base = url.strip().rstrip("/").replace("\\", "/").rsplit("/", 1)[-1]
    base = re.sub(r"\.xml$", "", base, flags=re.I).lower()
    return base if base in TEMPLATES else None


def _name(element: etree._Element) -> str:
    name = local(element)
    return name[4:] if name.startswith("qti-") else name


def _children(element: etree._Element) -> list[etree._Element]:
    return [c for c in element if isinstance(c.tag, str)]


def parse_expression(element: etree._Element) -> Expr:
    """Parse one expression element, refusing operators Skillgauge does not evaluate."""
    op = _name(element)
    arity = OPERATORS.get(op)
    if arity is None:
        raise UnsupportedProcessingError(
            where(element),
            f"custom response processing: the operator <{local(element)}> is not one "
            "Skillgauge evaluates",
        )
    args = tuple(parse_expression(c) for c in _children(element))
    low, high = arity
    if len(args) < low or (high is not None and len(args) > high):
        wanted = f"{low}" if low == high else f"at least {low}"
        raise UnsupportedProcessingError(
            where(element), f"<{local(element)}> takes {wanted} operands, got {len(args)}"
        )
    attrs = {str(k): str(v) for k, v in element.attrib.items() if not str(k).startswith("{")}
    return Expr(op=op, attrs=attrs, args=args, text=element.text or "", at=where(element))


def parse_rules(elements: list[etree._Element]) -> tuple[Rule, ...]:
    """Parse a sequence of response-rule elements."""
    rules: list[Rule] = []
    for element in elements:
        name = _name(element)
        at = where(element)
        kids = _children(element)
        if name in ("set-outcome-value", "lookup-outcome-value"):
            if len(kids) != 1:
                raise UnsupportedProcessingError(at, f"<{local(element)}> needs one expression")
            rules.append(
                Rule(
                    kind="set" if name == "set-outcome-value" else "lookup",
                    at=at,
                    identifier=element.get("identifier", ""),
                    value=parse_expression(kids[0]),
                )
            )
        elif name == "response-condition":
            rules.append(Rule(kind="condition", at=at, branches=_branches(element, kids)))
        elif name == "exit-response":
            rules.append(Rule(kind="exit", at=at))
        elif name == "response-processing-fragment":
            rules.extend(parse_rules(kids))
        else:
            raise UnsupportedProcessingError(
                at, f"custom response processing: the rule <{local(element)}> is not supported"
            )
    return tuple(rules)


def _branches(condition: etree._Element, parts: list[etree._Element]) -> tuple[Branch, ...]:
    branches: list[Branch] = []
    for position, part in enumerate(parts):
        name = _name(part)
        kids = _children(part)
        if name in ("response-if", "response-else-if"):
            if (name == "response-if") != (position == 0):
                raise UnsupportedProcessingError(where(part), f"<{local(part)}> is out of place")
            if not kids:
                raise UnsupportedProcessingError(where(part), "a condition is missing")
            branches.append(Branch(test=parse_expression(kids[0]), rules=parse_rules(kids[1:])))
        elif name == "response-else" and position == len(parts) - 1 and position > 0:
            branches.append(Branch(test=None, rules=parse_rules(kids)))
        else:
            raise UnsupportedProcessingError(where(part), f"<{local(part)}> is out of place")
    if not branches:
        raise UnsupportedProcessingError(where(condition), "a response condition needs a branch")
    return tuple(branches)


def _var(name: str, at: str, identifier: str) -> Expr:
    return Expr(op=name, attrs={"identifier": identifier}, args=(), text="", at=at)


def _value(text: str, at: str) -> Expr:
    return Expr(op="base-value", attrs={"base-type": "float"}, args=(), text=text, at=at)


def template_rules(name: str, at: str, response: str = "RESPONSE") -> tuple[Rule, ...]:
    """The rules of a standard template, as QTI publishes them, as a tree."""
    variable = _var("variable", at, response)
    if name == "match_correct":
        test = Expr(
            op="match", attrs={}, args=(variable, _var("correct", at, response)), text="", at=at
        )
        return (
            Rule(
                kind="condition",
                at=at,
                branches=(
                    Branch(test=test, rules=(Rule("set", at, "SCORE", _value("1", at)),)),
                    Branch(test=None, rules=(Rule("set", at, "SCORE", _value("0", at)),)),
                ),
            ),
        )
    mapper = "map-response" if name == "map_response" else "map-response-point"
    null = Expr(op="is-null", attrs={}, args=(variable,), text="", at=at)
    return (
        Rule(
            kind="condition",
            at=at,
            branches=(
                Branch(test=null, rules=(Rule("set", at, "SCORE", _value("0", at)),)),
                Branch(
                    test=None,
                    rules=(Rule("set", at, "SCORE", _var(mapper, at, response)),),
                ),
            ),
        ),
    )


def parse_processing(processing: etree._Element, response: str) -> tuple[Rule, ...]:
    """The rules of a ``qti-response-processing`` element (template or written out)."""
    url = processing.get("template")
    if url and not _children(processing):
        name = template_name(url)
        if name is None:
            raise UnsupportedProcessingError(
                where(processing), f"custom response processing template {url!r}"
            )
        return template_rules(name, where(processing), response)
    return parse_rules(_children(processing))


def operators_used(rules: tuple[Rule, ...]) -> set[str]:
    """Every operator name the rules use (for coverage notes)."""
    found: set[str] = set()

    def expr(e: Expr) -> None:
        found.add(e.op)
        for a in e.args:
            expr(a)

    def walk(rs: tuple[Rule, ...]) -> None:
        for r in rs:
            if r.value is not None:
                expr(r.value)
            for b in r.branches:
                if b.test is not None:
                    expr(b.test)
                walk(b.rules)

    walk(rules)
    return found
