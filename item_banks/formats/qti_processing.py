"""Evaluate QTI response processing for one response, as a QTI delivery engine would.

The tree comes from :mod:`item_banks.formats.qti_expressions`. Values follow the QTI
information model: ``None`` is NULL; a single value is a ``str`` (identifier, string), a
``float``, an ``int``, a ``bool`` or a tuple (``directedPair`` ``("A", "B")``, ``pair`` sorted,
``point`` ``(x, y)``); a container is a :class:`Container` (``multiple`` compares as a
multiset, ``ordered`` as a sequence). An empty container and an empty string are NULL for
``is-null``. Logic is three-valued: ``and`` is false when any operand is false, NULL when
any is NULL, else true (``or`` likewise), and a condition that is NULL is not taken.

``equal`` follows the QTI definition (IMS QTI 2.1 Information Model, *equal*; unchanged in
QTI 3.0): with first operand ``x`` and second ``y`` and tolerance ``t0 t1``, absolute mode is
true when ``x - t0 <= y <= x + t1`` and relative mode when
``x (1 - t0/100) <= y <= x (1 + t1/100)``; ``include-lower-bound`` / ``include-upper-bound``
``="false"`` make that end strict. So the range is built around the *first* operand.

``map-response`` sums the mapped values of the distinct values of a container (each key
counts once; unmapped values earn ``default-value``) and clips the total to
``lower-bound``/``upper-bound``; a single value maps to its entry or the default.
"""

from __future__ import annotations

import contextlib
import math
from collections import Counter
from dataclasses import dataclass, field

from lxml import etree

from item_banks.formats.qti_expressions import Expr, Rule
from item_banks.formats.safe_xml import local, where


class InvalidProcessingError(Exception):
    """The item's data contradicts itself (a number that is not one...); ``field`` locates."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Container:
    """A QTI container value: ``multiple`` (a multiset) or ``ordered`` (a sequence)."""

    values: tuple[Single, ...]
    ordered: bool = False

    def key(self) -> object:
        """What two equal containers share."""
        if self.ordered:
            return self.values
        return frozenset(Counter(self.values).items())


Single = str | float | int | bool | tuple[str, ...] | tuple[int, ...]
Value = Single | Container | None


# --------------------------------------------------------------------------- declarations


@dataclass
class Mapping:
    """A ``qti-mapping``: entries ``(key, mapped value, case sensitive)``, default, bounds."""

    entries: list[tuple[str, float, bool]]
    default: float = 0.0
    lower: float | None = None
    upper: float | None = None


@dataclass
class Area:
    """A ``qti-area-map-entry``: a shape, its coordinates, the value it maps to."""

    shape: str
    coords: tuple[float, ...]
    value: float


@dataclass
class AreaMapping:
    """A ``qti-area-mapping``."""

    areas: list[Area]
    default: float = 0.0
    lower: float | None = None
    upper: float | None = None


@dataclass
class Declaration:
    """A ``qti-response-declaration``."""

    identifier: str
    cardinality: str
    base_type: str
    correct: list[str] = field(default_factory=list)
    mapping: Mapping | None = None
    area_mapping: AreaMapping | None = None


@dataclass
class Outcome:
    """A ``qti-outcome-declaration``: its default and any lookup table."""

    identifier: str
    cardinality: str
    base_type: str
    default: list[str] = field(default_factory=list)
    match_table: dict[int, str] | None = None
    interpolation: list[tuple[float, bool, str]] | None = None
    table_default: str | None = None


def _kids(element: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in element if isinstance(c.tag, str) and local(c) == name]


def number(text: str | None, element: etree._Element, what: str) -> float:
    """A finite number read from ``text``; else :class:`InvalidProcessingError`, located."""
    try:
        value = float((text or "").strip())
    except ValueError:
        raise InvalidProcessingError(
            where(element), f"{what} must be a number, got {text!r}"
        ) from None
    if not math.isfinite(value):
        raise InvalidProcessingError(where(element), f"{what} must be finite, got {text!r}")
    return value


def _optional(element: etree._Element, attr: str) -> float | None:
    text = element.get(attr)
    return None if text is None else number(text, element, attr)


def _values(element: etree._Element, base_type: str) -> list[str]:
    """The ``qti-value`` texts: strings exactly, other types with whitespace collapsed."""
    values = [v.text or "" for v in _kids(element, "qti-value")]
    return values if base_type == "string" else [" ".join(v.split()) for v in values]


def read_declarations(item: etree._Element) -> dict[str, Declaration]:
    """Every response declaration of the item, by identifier."""
    out: dict[str, Declaration] = {}
    for decl in _kids(item, "qti-response-declaration"):
        result = Declaration(
            identifier=decl.get("identifier", ""),
            cardinality=decl.get("cardinality", "single"),
            base_type=decl.get("base-type", ""),
        )
        correct = _kids(decl, "qti-correct-response")
        if correct:
            result.correct = _values(correct[0], result.base_type)
        mapping = _kids(decl, "qti-mapping")
        if mapping:
            m = mapping[0]
            result.mapping = Mapping(
                entries=[
                    (
                        e.get("map-key", "")
                        if result.base_type == "string"
                        else " ".join(e.get("map-key", "").split()),
                        number(e.get("mapped-value"), e, "mapped-value"),
                        e.get("case-sensitive", "true").lower() == "true",
                    )
                    for e in _kids(m, "qti-map-entry")
                ],
                default=number(m.get("default-value", "0"), m, "default-value"),
                lower=_optional(m, "lower-bound"),
                upper=_optional(m, "upper-bound"),
            )
        areas = _kids(decl, "qti-area-mapping")
        if areas:
            a = areas[0]
            entries = []
            for e in _kids(a, "qti-area-map-entry"):
                coords = tuple(
                    number(c, e, "coords") for c in (e.get("coords") or "").split(",") if c.strip()
                )
                entries.append(
                    Area(
                        shape=e.get("shape", "default").lower(),
                        coords=coords,
                        value=number(e.get("mapped-value"), e, "mapped-value"),
                    )
                )
            result.area_mapping = AreaMapping(
                areas=entries,
                default=number(a.get("default-value", "0"), a, "default-value"),
                lower=_optional(a, "lower-bound"),
                upper=_optional(a, "upper-bound"),
            )
        out[result.identifier] = result
    return out


def read_outcomes(item: etree._Element) -> dict[str, Outcome]:
    """Every outcome declaration of the item, by identifier, with lookup tables."""
    out: dict[str, Outcome] = {}
    for decl in _kids(item, "qti-outcome-declaration"):
        base = decl.get("base-type", "")
        outcome = Outcome(
            identifier=decl.get("identifier", ""),
            cardinality=decl.get("cardinality", "single"),
            base_type=base,
        )
        default = _kids(decl, "qti-default-value")
        if default:
            outcome.default = _values(default[0], base)
        for table in _kids(decl, "qti-match-table"):
            outcome.table_default = table.get("default-value")
            outcome.match_table = {}
            for entry in _kids(table, "qti-match-table-entry"):
                source = number(entry.get("source-value"), entry, "source-value")
                outcome.match_table[int(source)] = entry.get("target-value", "")
        for table in _kids(decl, "qti-interpolation-table"):
            outcome.table_default = table.get("default-value")
            outcome.interpolation = [
                (
                    number(e.get("source-value"), e, "source-value"),
                    e.get("include-boundary", "true").lower() != "false",
                    e.get("target-value", ""),
                )
                for e in _kids(table, "qti-interpolation-table-entry")
            ]
        out[outcome.identifier] = outcome
    return out


# --------------------------------------------------------------------------- values


def typed(text: str, base_type: str, at: str) -> Single:
    """A value written as text, read as ``base_type``."""
    try:
        if base_type == "float":
            value = float(text.strip())
            if not math.isfinite(value):
                raise ValueError(text)
            return value
        if base_type == "integer":
            return int(text.strip())
        if base_type == "boolean":
            return text.strip().lower() == "true"
        if base_type == "directedPair":
            return tuple(text.split())
        if base_type == "pair":
            return tuple(sorted(text.split()))
        if base_type == "point":
            return tuple(int(p) for p in text.split())
    except ValueError:
        raise InvalidProcessingError(at, f"{text!r} is not a {base_type}") from None
    if base_type == "string":
        return text
    return " ".join(text.split())


def from_texts(texts: list[str], cardinality: str, base_type: str, at: str) -> Value:
    """A declared value (correct response, default) as a QTI value."""
    values = tuple(typed(t, base_type, at) for t in texts)
    if cardinality in ("multiple", "ordered"):
        return Container(values, ordered=cardinality == "ordered") if values else None
    return values[0] if values else None


def is_null(value: Value) -> bool:
    """QTI's NULL: no value, an empty container or an empty string."""
    if value is None:
        return True
    if isinstance(value, Container):
        return not value.values
    return isinstance(value, str) and value == ""


def _key(value: Value) -> object:
    return value.key() if isinstance(value, Container) else value


def _numeric(value: Value, at: str) -> float | None:
    if is_null(value):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidProcessingError(at, f"a number was expected, got {value!r}")
    return float(value)


def _singles(value: Value) -> tuple[Single, ...]:
    if value is None:
        return ()
    if isinstance(value, Container):
        return value.values
    return (value,)


# --------------------------------------------------------------------------- evaluation


@dataclass
class State:
    """What an evaluation reads and writes: responses, outcomes and their declarations."""

    declarations: dict[str, Declaration]
    outcomes: dict[str, Outcome]
    values: dict[str, Value]


class _ExitResponseError(Exception):
    """``qti-exit-response``."""


def initial_values(
    declarations: dict[str, Declaration], outcomes: dict[str, Outcome], response: dict[str, Value]
) -> dict[str, Value]:
    """Outcomes at their defaults (numeric outcomes without one start at 0), plus responses."""
    values: dict[str, Value] = {}
    for ident, outcome in outcomes.items():
        if outcome.default:
            values[ident] = from_texts(
                outcome.default, outcome.cardinality, outcome.base_type, ident
            )
        elif outcome.base_type in ("float", "integer") and outcome.cardinality == "single":
            values[ident] = 0.0 if outcome.base_type == "float" else 0
        else:
            values[ident] = None
    values.setdefault("SCORE", 0.0)
    values.update(response)
    return values


def run(
    rules: tuple[Rule, ...],
    declarations: dict[str, Declaration],
    outcomes: dict[str, Outcome],
    response: dict[str, Value],
) -> dict[str, Value]:
    """Run the response processing for ``response`` and return every variable's value."""
    state = State(declarations, outcomes, initial_values(declarations, outcomes, response))
    with contextlib.suppress(_ExitResponseError):
        _rules(rules, state)
    return state.values


def score(
    rules: tuple[Rule, ...],
    declarations: dict[str, Declaration],
    outcomes: dict[str, Outcome],
    response: dict[str, Value],
) -> float:
    """The ``SCORE`` outcome after processing ``response`` (NULL counts as 0)."""
    value = run(rules, declarations, outcomes, response).get("SCORE")
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise InvalidProcessingError(None, f"SCORE must be a number, got {value!r}")
    number_ = _numeric(value, "SCORE")
    return 0.0 if number_ is None else number_


def _rules(rules: tuple[Rule, ...], state: State) -> None:
    for rule in rules:
        if rule.kind == "exit":
            raise _ExitResponseError
        if rule.kind == "condition":
            for branch in rule.branches:
                if branch.test is None or evaluate(branch.test, state) is True:
                    _rules(branch.rules, state)
                    break
            continue
        assert rule.value is not None
        value = evaluate(rule.value, state)
        if rule.kind == "lookup":
            value = _lookup(rule, value, state)
        outcome = state.outcomes.get(rule.identifier)
        if outcome is None and rule.identifier not in state.values:
            raise InvalidProcessingError(
                rule.at, f'the outcome "{rule.identifier}" is not declared'
            )
        if outcome is not None and outcome.base_type == "integer" and isinstance(value, float):
            value = int(value)
        state.values[rule.identifier] = value


def _lookup(rule: Rule, value: Value, state: State) -> Value:
    outcome = state.outcomes.get(rule.identifier)
    if outcome is None:
        raise InvalidProcessingError(rule.at, f'the outcome "{rule.identifier}" is not declared')
    source = _numeric(value, rule.at)
    target: str | None = outcome.table_default
    if source is not None and outcome.match_table is not None:
        target = outcome.match_table.get(int(source), outcome.table_default)
    elif source is not None and outcome.interpolation is not None:
        for bound, inclusive, result in outcome.interpolation:
            if source > bound or (inclusive and source == bound):
                target = result
                break
    elif outcome.match_table is None and outcome.interpolation is None:
        raise InvalidProcessingError(
            rule.at, f'the outcome "{rule.identifier}" has no lookup table'
        )
    if target is None:
        return None
    return typed(target, outcome.base_type or "float", rule.at)


def evaluate(expr: Expr, state: State) -> Value:
    """The value of one expression."""
    op = expr.op
    if op == "base-value":
        return typed(expr.text, expr.attrs.get("base-type", "string"), expr.at)
    if op in ("variable", "correct", "default", "map-response", "map-response-point"):
        return _variable(expr, state)
    if op == "null":
        return None
    values = [evaluate(a, state) for a in expr.args]
    if op in ("and", "or"):
        decisive = op == "or"  # `or` stops at true, `and` at false
        if any(v is decisive for v in values):
            return decisive
        if any(not isinstance(v, bool) for v in values):
            return None
        return not decisive
    if op == "not":
        return None if not isinstance(values[0], bool) else not values[0]
    if op == "is-null":
        return is_null(values[0])
    if op in ("multiple", "ordered"):
        singles = tuple(s for v in values for s in _singles(v))
        return Container(singles, ordered=op == "ordered") if singles else None
    if op == "container-size":
        return len(_singles(values[0]))
    if any(is_null(v) for v in values):
        return None
    if op == "match":
        return _key(values[0]) == _key(values[1])
    if op == "string-match":
        a, b = (str(v) for v in values)
        if expr.attrs.get("case-sensitive", "true").lower() != "true":
            a, b = a.casefold(), b.casefold()
        if expr.attrs.get("substring", "false").lower() == "true":
            return a in b
        return a == b
    if op == "member":
        return values[0] in _singles(values[1])
    if op == "contains":
        return _contains(values[0], values[1])
    numbers = [_numeric(v, expr.at) for v in values]
    x = [n for n in numbers if n is not None]
    if op == "equal":
        return _equal(expr, x[0], x[1])
    if op == "gt":
        return x[0] > x[1]
    if op == "gte":
        return x[0] >= x[1]
    if op == "lt":
        return x[0] < x[1]
    if op == "lte":
        return x[0] <= x[1]
    if op == "integer-to-float":
        return x[0]
    if op == "sum":
        try:
            result = math.fsum(x)
        except OverflowError:
            result = math.inf
    elif op == "product":
        result = math.prod(x)
    elif op == "subtract":
        result = x[0] - x[1]
    elif op == "divide":
        result = x[0] / x[1] if x[1] else math.nan
    else:
        raise InvalidProcessingError(expr.at, f"<qti-{op}> cannot be evaluated here")
    # Overflow and division by zero give NULL, as QTI's numeric operators do.
    return result if math.isfinite(result) else None


def tolerances(expr: Expr) -> tuple[str, float, float, bool, bool]:
    """``(mode, t0, t1, include lower, include upper)`` of an ``equal``."""
    mode = expr.attrs.get("tolerance-mode", "exact")
    widths = (expr.attrs.get("tolerance") or "0").split() or ["0"]
    parsed = []
    for width in widths[:2]:
        try:
            value = float(width)
        except ValueError:
            raise InvalidProcessingError(
                expr.at, f"tolerance must be a number, got {width!r}"
            ) from None
        if not math.isfinite(value) or value < 0:
            raise InvalidProcessingError(
                expr.at, f"a tolerance must be a finite number >= 0, got {width}"
            )
        parsed.append(value)
    t0 = parsed[0]
    t1 = parsed[1] if len(parsed) > 1 else t0
    include = tuple(
        expr.attrs.get(f"include-{end}-bound", "true").strip().lower() != "false"
        for end in ("lower", "upper")
    )
    return mode, t0, t1, include[0], include[1]


def equal_range(expr: Expr, x: float) -> tuple[float, float, bool, bool]:
    """The range of second operands ``equal`` accepts around its first operand ``x``."""
    mode, t0, t1, include_low, include_high = tolerances(expr)
    if mode == "absolute":
        return x - t0, x + t1, include_low, include_high
    if mode == "relative":
        a, b = x * (1 - t0 / 100), x * (1 + t1 / 100)
        return min(a, b), max(a, b), include_low, include_high
    return x, x, True, True


def _equal(expr: Expr, x: float, y: float) -> bool:
    low, high, include_low, include_high = equal_range(expr, x)
    above = y >= low if include_low else y > low
    below = y <= high if include_high else y < high
    return above and below


def _contains(whole: Value, part: Value) -> bool:
    if isinstance(whole, Container) and whole.ordered:
        sub = _singles(part)
        n = len(sub)
        return any(whole.values[i : i + n] == sub for i in range(len(whole.values) - n + 1))
    have = Counter(_singles(whole))
    need = Counter(_singles(part))
    return all(have[k] >= n for k, n in need.items())


def _variable(expr: Expr, state: State) -> Value:
    ident = expr.attrs.get("identifier", "")
    decl = state.declarations.get(ident)
    if expr.op == "variable":
        if ident not in state.values and decl is None:
            raise InvalidProcessingError(expr.at, f'the variable "{ident}" is not declared')
        return state.values.get(ident)
    if expr.op == "default":
        outcome = state.outcomes.get(ident)
        if outcome is None:
            return None
        return from_texts(outcome.default, outcome.cardinality, outcome.base_type, expr.at)
    if decl is None:
        raise InvalidProcessingError(expr.at, f'no response declaration "{ident}"')
    if expr.op == "correct":
        return from_texts(decl.correct, decl.cardinality, decl.base_type, expr.at)
    if expr.op == "map-response":
        if decl.mapping is None:
            raise InvalidProcessingError(expr.at, f'map-response needs a qti-mapping in "{ident}"')
        return map_response(decl, state.values.get(ident), expr.at)
    if decl.area_mapping is None:
        raise InvalidProcessingError(
            expr.at, f'map-response-point needs a qti-area-mapping in "{ident}"'
        )
    return map_response_point(decl.area_mapping, state.values.get(ident), expr.at)


def _bounded(total: float, lower: float | None, upper: float | None) -> float:
    if lower is not None:
        total = max(lower, total)
    if upper is not None:
        total = min(upper, total)
    return total


def map_response(decl: Declaration, value: Value, at: str) -> float:
    """QTI ``map-response``: the mapped value(s) of the response, within the bounds."""
    assert decl.mapping is not None
    mapping = decl.mapping
    entries = [(typed(k, decl.base_type, at), v, cs) for k, v, cs in mapping.entries]

    def mapped(single: Single) -> float:
        for key, worth, sensitive in entries:
            if key == single or (
                not sensitive
                and isinstance(key, str)
                and isinstance(single, str)
                and key.casefold() == single.casefold()
            ):
                return worth
        return mapping.default

    if isinstance(value, Container):
        total = math.fsum(mapped(s) for s in dict.fromkeys(value.values))
    elif value is None:
        total = 0.0 if decl.cardinality in ("multiple", "ordered") else mapping.default
    else:
        total = mapped(value)
    return _bounded(total, mapping.lower, mapping.upper)


def _inside(area: Area, x: float, y: float) -> bool:
    c = area.coords
    if area.shape == "default":
        return True
    if area.shape == "rect" and len(c) >= 4:
        return min(c[0], c[2]) <= x <= max(c[0], c[2]) and min(c[1], c[3]) <= y <= max(c[1], c[3])
    if area.shape == "circle" and len(c) >= 3:
        return (x - c[0]) ** 2 + (y - c[1]) ** 2 <= c[2] ** 2
    if area.shape == "ellipse" and len(c) >= 4 and c[2] > 0 and c[3] > 0:
        return ((x - c[0]) / c[2]) ** 2 + ((y - c[1]) / c[3]) ** 2 <= 1
    if area.shape == "poly" and len(c) >= 6:
        points = list(zip(c[0::2], c[1::2], strict=False))
        inside = False
        for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1], strict=True):
            if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1:
                inside = not inside
        return inside
    return False


def map_response_point(mapping: AreaMapping, value: Value, at: str) -> float:
    """QTI ``map-response-point``: each area holding a point counts once, within the bounds."""
    hit: set[int] = set()
    total = 0.0
    for point in _singles(value):
        if not (isinstance(point, tuple) and len(point) == 2):
            raise InvalidProcessingError(at, f"map-response-point needs points, got {point!r}")
        x, y = float(point[0]), float(point[1])
        for index, area in enumerate(mapping.areas):
            if _inside(area, x, y):
                if index not in hit:
                    hit.add(index)
                    total += area.value
                break
        else:
            total += mapping.default
    return _bounded(total, mapping.lower, mapping.upper)
