"""A bank as a QTI 3.0 content package: one item file per item, a manifest, usage data.

What QTI carries, and so survives ``import(export(bank))``: the bank id (manifest identifier),
title and version (LOM), every item's id, stem, interaction (choice, text entry for numbers
and text, order, match, extended text), key, partial credits, numeric tolerances and
intervals, case sensitivity, shuffling, option rationales (inline feedback), worked solution
and hints (modal feedback), competency and content areas (curriculum-standards tags, GUID =
id, label = name), pretest status (the manifest's ``skillgauge:pretest`` list of item ids) and
IRT parameters with standard errors (usage data, see :mod:`item_banks.formats.qti_package`).
Numeric intervals are written best credit first, since QTI takes the first condition that
holds; their order is noted when that changes it.

What it does not carry is listed by :func:`export_bank` as located notes: bank description
and notes, misconceptions, competency descriptions and cut scores, option misconception
references, rationales on order/match options, numeric units, numeric common wrong answers
and short-text wrong answers, competency levels and study resources, and Sympson-Hetter
exposure parameters.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import msgspec
from lxml import etree

from item_banks.errors import Problem
from item_banks.formats.markup import (
    NOT_XML,
    append_markdown,
    is_inline,
    markdown_loss,
    survives,
    xml_safe,
)
from item_banks.formats.media import IMAGE, TYPE_OF_EXTENSION, player
from item_banks.formats.qti3_import import ANSWER_FEEDBACK, NS
from item_banks.formats.safe_xml import local
from item_banks.model import (
    INLINE_FIELDS,
    Associate,
    Bank,
    Composite,
    ExtendedText,
    Field,
    FieldInteraction,
    GapMatch,
    Graded,
    GraphicGapMatch,
    Hotspot,
    HotText,
    InlineChoice,
    Interaction,
    Item,
    Match,
    MultipleResponse,
    Numeric,
    NumericRange,
    Option,
    Order,
    PartialCredit,
    ShortText,
    SingleChoice,
    model_name,
)

XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA = "https://purl.imsglobal.org/spec/qti/v3p0/schema/xsd/imsqti_asiv3p0_v1p0.xsd"
TEMPLATE = "https://purl.imsglobal.org/spec/qti/v3p0/rptemplates/{}.xml"
CP_NS = "http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1"
LOM_NS = "http://ltsc.ieee.org/xsd/LOM"
CSM_NS = "http://www.imsglobal.org/xsd/imscsmd_v1p0"
USAGE_NS = "http://www.imsglobal.org/xsd/imsqti_usagedata_v3p0"
#: ``providerId`` of the manifest's lists of the bank's competencies and content areas.
COMPETENCIES = "skillgauge:competencies"
CONTENT_AREAS = "skillgauge:content-areas"
#: The manifest's list of pretest items (seeded into sessions, never scored), by id.
PRETEST = "skillgauge:pretest"


def _q(name: str, ns: str = NS) -> str:
    return f"{{{ns}}}{name}"


def _sub(parent: etree._Element, name: str, text: str | None = None, **attrs: str) -> Any:
    element = etree.SubElement(
        parent, _q(name), {k.replace("_", "-"): xml_safe(v) for k, v in attrs.items()}
    )
    if text is not None:
        element.text = xml_safe(text)
    return element


def _num(value: float) -> str:
    return repr(float(value))


def _value(parent: etree._Element, text: str) -> None:
    _sub(parent, "qti-value", text)


def _declare(
    item: etree._Element,
    cardinality: str,
    base_type: str,
    correct: list[str],
    mapping: list[tuple[str, float, bool | None]] | None = None,
    *,
    upper: float = 1.0,
    default: float = 0.0,
    identifier: str = "RESPONSE",
) -> None:
    decl = _sub(
        item, "qti-response-declaration", identifier=identifier, cardinality=cardinality,
        base_type=base_type,
    )  # fmt: skip
    if correct:
        holder = _sub(decl, "qti-correct-response")
        for value in correct:
            _value(holder, value)
    if mapping is not None:
        mapped = _sub(
            decl, "qti-mapping", lower_bound="0", upper_bound=_num(upper),
            default_value=_num(default),
        )  # fmt: skip
        for key, score, sensitive in mapping:
            attrs = {"map_key": key, "mapped_value": _num(score)}
            if sensitive is not None:
                attrs["case_sensitive"] = "true" if sensitive else "false"
            _sub(mapped, "qti-map-entry", **attrs)


def _declare_pairs(
    root: etree._Element, interaction: Match | Associate, response: str, base_type: str
) -> bool:
    """Declare a pairing response (``directedPair`` or ``pair``); return whether weighted.

    The key's pairs are the correct response; a weighted interaction also gets its mapping.
    """
    pairs = [f"{p.source} {p.target}" for p in interaction.key]
    weighted = interaction.scoring == "weighted"
    mapping: list[tuple[str, float, bool | None]] | None = (
        [(f"{c.source} {c.target}", c.credit, None) for c in interaction.credits]
        if weighted
        else None
    )
    _declare(root, "multiple", base_type, pairs, mapping, identifier=response)
    return weighted


def _choices(
    parent: etree._Element, name: str, options: tuple[Option, ...], rationales: bool
) -> list[Option]:
    """Write the choices; a one-paragraph rationale goes inline into its choice.

    Returns the options whose rationale has several blocks: inline feedback holds only
    inline content, so those become feedback blocks after the interaction.
    """
    blocks: list[Option] = []
    for option in options:
        choice = _sub(parent, name, identifier=option.id)
        if name == "qti-simple-associable-choice":
            choice.set("match-max", "0")
        append_markdown(choice, option.text, NS, inline=True)
        if rationales and option.rationale and not is_inline(option.rationale):
            blocks.append(option)
        elif rationales and option.rationale:
            feedback = _sub(
                choice, "qti-feedback-inline", outcome_identifier="FEEDBACK",
                identifier=option.id, show_hide="show",
            )  # fmt: skip
            append_markdown(feedback, option.rationale, NS, inline=True)
    return blocks


class _Scoring:
    """How the exported item scores: a template, or rules (condition, score) pairs.

    ``feedback_blocks`` are the options whose rationale needs block feedback.
    """

    def __init__(self, template: str | None = None) -> None:
        self.template = template
        self.rules: list[tuple[etree._Element, float]] = []
        #: the mapped score that is full credit (partial multiple response maps 0..K)
        self.upper = 1.0
        self.feedback_blocks: list[Option] = []


def _condition(name: str, *children: etree._Element, **attrs: str) -> etree._Element:
    element = etree.Element(_q(name), {k.replace("_", "-"): v for k, v in attrs.items()})
    element.extend(children)
    return element


def _var(name: str = "RESPONSE") -> etree._Element:
    return _condition("qti-variable", identifier=name)


def _base(value: str, base_type: str = "float") -> etree._Element:
    element = _condition("qti-base-value", base_type=base_type)
    element.text = value
    return element


def percent(fraction: float) -> str:
    """A relative tolerance as QTI writes it, in percent, exactly (``0.025`` -> ``2.5``).

    Decimal arithmetic on the shortest repr keeps ``float(Decimal(percent) / 100)`` equal
    to ``fraction``, which binary ``fraction * 100`` would not.
    """
    return str(Decimal(repr(float(fraction))) * 100)


def best_first(alternatives: tuple[NumericRange, ...]) -> list[NumericRange]:
    """Intervals by decreasing credit (stable): QTI's first match is then the best match."""
    return sorted(alternatives, key=lambda alt: -alt.credit)


def _interval(alt: NumericRange, response: str = "RESPONSE") -> etree._Element:
    low = "qti-gte" if alt.include_low else "qti-gt"
    high = "qti-lte" if alt.include_high else "qti-lt"
    return _condition(
        "qti-and",
        _condition(low, _var(response), _base(_num(alt.low))),
        _condition(high, _var(response), _base(_num(alt.high))),
    )


def _interaction(item: Item, root: etree._Element, body: etree._Element) -> _Scoring:
    assert not isinstance(item.interaction, Composite)
    return _write_interaction(item.interaction, root, body, "RESPONSE")


def _write_interaction(
    interaction: Interaction | FieldInteraction,
    root: etree._Element,
    body: etree._Element,
    response: str,
) -> _Scoring:
    """Declare ``response`` in ``root`` and write its interaction into ``body``."""
    scoring = _Scoring()
    if isinstance(interaction, Hotspot | GraphicGapMatch):
        return _write_hotspot(interaction, root, body, response)
    if isinstance(interaction, Associate | GapMatch | HotText | InlineChoice):
        return _write_field_only(interaction, root, body, response)
    if isinstance(interaction, SingleChoice | MultipleResponse):
        multiple = isinstance(interaction, MultipleResponse)
        keys = (
            list(interaction.key)
            if isinstance(interaction, MultipleResponse)
            else [interaction.key]
        )
        mapping: list[tuple[str, float, bool | None]] | None = None
        upper, default = 1.0, 0.0
        if interaction.scoring == "weighted":
            mapping = [(o.id, o.credit, None) for o in interaction.options if o.credit is not None]
        elif interaction.scoring == "partial":
            # One point per key picked, minus one per other option, within [0, K].
            mapping = [(key, 1.0, None) for key in keys]
            upper, default = float(len(keys)), -1.0
        _declare(
            root, "multiple" if multiple else "single", "identifier", keys, mapping,
            upper=upper, default=default, identifier=response,
        )  # fmt: skip
        element = _sub(
            body, "qti-choice-interaction", response_identifier=response,
            shuffle="true" if interaction.shuffle else "false",
            max_choices="0" if multiple else "1",
        )  # fmt: skip
        scoring.feedback_blocks = _choices(
            element, "qti-simple-choice", interaction.options, rationales=True
        )
        scoring.template = "map_response" if mapping is not None else "match_correct"
        scoring.upper = upper
        return scoring
    if isinstance(interaction, Order):
        _declare(root, "ordered", "identifier", list(interaction.key), identifier=response)
        element = _sub(
            body, "qti-order-interaction", response_identifier=response,
            shuffle="true" if interaction.shuffle else "false",
        )  # fmt: skip
        _choices(element, "qti-simple-choice", interaction.options, rationales=False)
        scoring.template = "match_correct"
        return scoring
    if isinstance(interaction, Match):
        weighted = _declare_pairs(root, interaction, response, "directedPair")
        element = _sub(
            body, "qti-match-interaction", response_identifier=response,
            shuffle="true" if interaction.shuffle else "false", max_associations="0",
        )  # fmt: skip
        for options in (interaction.sources, interaction.targets):
            _choices(
                _sub(element, "qti-simple-match-set"),
                "qti-simple-associable-choice",
                options,
                rationales=False,
            )
        scoring.template = "map_response" if weighted else "match_correct"
        return scoring
    if isinstance(interaction, Numeric):
        _declare(root, "single", "float", [_num(interaction.key)], identifier=response)
        holder = _sub(body, "div")
        _sub(holder, "qti-text-entry-interaction", response_identifier=response)
        mode = interaction.tolerance_mode
        if interaction.tolerance == 0 and mode == "absolute" and not interaction.alternatives:
            scoring.template = "match_correct"
            return scoring
        equal = _condition(
            "qti-equal", _condition("qti-correct", identifier=response), _var(response),
            tolerance_mode=mode if interaction.tolerance or mode == "relative" else "exact",
        )  # fmt: skip
        if equal.get("tolerance-mode") != "exact":
            width = (
                percent(interaction.tolerance)
                if mode == "relative"
                else _num(interaction.tolerance)
            )
            equal.set("tolerance", f"{width} {width}")
        scoring.rules.append((equal, 1.0))
        # QTI takes the first condition that holds; best credit first makes that the best
        # interval holding the answer, as Skillgauge scores it.
        for alt in best_first(interaction.alternatives):
            scoring.rules.append((_interval(alt, response), alt.credit))
        return scoring
    if isinstance(interaction, ShortText):
        simple = (
            len(interaction.key) == 1
            and interaction.case_sensitive
            and not interaction.alternatives
        )
        mapping = None
        if not simple:
            sensitive = interaction.case_sensitive
            mapping = [(k, 1.0, sensitive) for k in interaction.key]
            mapping += [
                (a.text, a.credit, sensitive if a.case_sensitive is None else a.case_sensitive)
                for a in interaction.alternatives
            ]
        _declare(root, "single", "string", [interaction.key[0]], mapping, identifier=response)
        holder = _sub(body, "div")
        _sub(holder, "qti-text-entry-interaction", response_identifier=response)
        scoring.template = "match_correct" if simple else "map_response"
        return scoring
    assert isinstance(interaction, ExtendedText)
    _declare(root, "single", "string", [], identifier=response)
    attrs = {}
    if interaction.expected_lines is not None:
        attrs["expected_lines"] = str(interaction.expected_lines)
    if interaction.expected_length is not None:
        attrs["expected_length"] = str(interaction.expected_length)
    _sub(body, "qti-extended-text-interaction", response_identifier=response, **attrs)
    return scoring


def _choice_mapping(
    interaction: SingleChoice | MultipleResponse,
) -> tuple[list[str], list[tuple[str, float, bool | None]] | None, float, float]:
    """Key, mapping, upper bound and default of a choice-like interaction's declaration."""
    keys = list(interaction.key) if isinstance(interaction, MultipleResponse) else [interaction.key]
    if interaction.scoring == "weighted":
        mapped: list[tuple[str, float, bool | None]] = [
            (o.id, o.credit, None) for o in interaction.options if o.credit is not None
        ]
        return keys, mapped, 1.0, 0.0
    if interaction.scoring == "partial":
        return keys, [(key, 1.0, None) for key in keys], float(len(keys)), -1.0
    return keys, None, 1.0, 0.0


def _write_picture(element: etree._Element, interaction: Hotspot | GraphicGapMatch) -> None:
    """The interaction's ``img`` (its media path; a package's writer rewrites it)."""
    picture = IMAGE.fullmatch(interaction.image)
    assert picture is not None  # checked by validation
    _sub(
        element, "img", src=picture.group(2), alt=xml_safe(picture.group(1)),
        width=str(interaction.width), height=str(interaction.height),
    )  # fmt: skip


def _write_areas(
    element: etree._Element, interaction: Hotspot | GraphicGapMatch, name: str
) -> None:
    """One ``name`` element per area: shape, coords and the label as ``hotspot-label``."""
    spots = interaction.options if isinstance(interaction, Hotspot) else interaction.targets
    labels = {o.id: o.text for o in spots}
    extra = {} if isinstance(interaction, Hotspot) else {"match_max": "1"}
    for area in interaction.areas:
        _sub(
            element, name, identifier=area.id, shape=area.shape,
            coords=",".join(f"{c:g}" for c in area.coords),
            hotspot_label=xml_safe(labels[area.id]), **extra,
        )  # fmt: skip


def _write_hotspot(
    interaction: Hotspot | GraphicGapMatch,
    root: etree._Element,
    body: etree._Element,
    response: str,
) -> _Scoring:
    """A hotspot (keyed like a choice) or graphic gap match (keyed like a gap match).

    The image and its areas are written with each area's label as ``hotspot-label``.
    """
    scoring = _Scoring()
    mapping: list[tuple[str, float, bool | None]] | None
    if isinstance(interaction, GraphicGapMatch):
        weighted = _declare_pairs(root, interaction, response, "directedPair")
        scoring.template = "map_response" if weighted else "match_correct"
        element = _sub(body, "qti-graphic-gap-match-interaction", response_identifier=response)
        _write_picture(element, interaction)
        for option in interaction.sources:
            text = _sub(element, "qti-gap-text", identifier=option.id, match_max="0")
            append_markdown(text, option.text, NS, inline=True)
        _write_areas(element, interaction, "qti-associable-hotspot")
        return scoring
    keys, mapping, upper, default = _choice_mapping(interaction)
    single = interaction.max_choices == 1
    _declare(
        root, "single" if single else "multiple", "identifier", keys, mapping,
        upper=upper, default=default, identifier=response,
    )  # fmt: skip
    scoring.template = "map_response" if mapping is not None else "match_correct"
    scoring.upper = upper
    element = _sub(
        body, "qti-hotspot-interaction", response_identifier=response,
        max_choices=str(interaction.max_choices),
    )  # fmt: skip
    _write_picture(element, interaction)
    _write_areas(element, interaction, "qti-hotspot-choice")
    return scoring


def _write_field_only(
    interaction: Associate | GapMatch | HotText | InlineChoice,
    root: etree._Element,
    body: etree._Element,
    response: str,
) -> _Scoring:
    """The interactions only composite items hold: inline choice, gap match, hot text, associate."""
    scoring = _Scoring()
    shuffle = "true" if interaction.shuffle else "false"
    if isinstance(interaction, InlineChoice | HotText):
        keys, mapping, upper, default = _choice_mapping(interaction)
        single = isinstance(interaction, InlineChoice) or interaction.max_choices == 1
        _declare(
            root, "single" if single else "multiple", "identifier", keys, mapping,
            upper=upper, default=default, identifier=response,
        )  # fmt: skip
        scoring.template = "map_response" if mapping is not None else "match_correct"
        scoring.upper = upper
        if isinstance(interaction, InlineChoice):
            element = _sub(
                body, "qti-inline-choice-interaction", response_identifier=response,
                shuffle=shuffle,
            )  # fmt: skip
            for option in interaction.options:
                choice = _sub(element, "qti-inline-choice", identifier=option.id)
                append_markdown(choice, option.text, NS, inline=True)
            return scoring
        element = _sub(
            body, "qti-hottext-interaction", response_identifier=response,
            max_choices=str(interaction.max_choices),
        )  # fmt: skip
        append_markdown(element, interaction.text, NS)
        spots: dict[str, etree._Element] = {}
        for option in interaction.options:
            spot = etree.Element(_q("qti-hottext"), identifier=option.id)
            append_markdown(spot, option.text, NS, inline=True)
            spots[option.id] = spot
        place_markers(element, spots)
        return scoring
    if isinstance(interaction, GapMatch):
        weighted = _declare_pairs(root, interaction, response, "directedPair")
        element = _sub(
            body, "qti-gap-match-interaction", response_identifier=response, shuffle=shuffle
        )
        for option in interaction.sources:
            text = _sub(element, "qti-gap-text", identifier=option.id, match_max="0")
            append_markdown(text, option.text, NS, inline=True)
        content = _sub(element, "div")
        append_markdown(content, interaction.text, NS)
        place_markers(
            content,
            {g.id: etree.Element(_q("qti-gap"), identifier=g.id) for g in interaction.targets},
        )
        scoring.template = "map_response" if weighted else "match_correct"
        return scoring
    weighted = _declare_pairs(root, interaction, response, "pair")
    element = _sub(
        body, "qti-associate-interaction", response_identifier=response, shuffle=shuffle,
        max_associations=str(interaction.max_associations or len(interaction.key)),
    )  # fmt: skip
    _choices(element, "qti-simple-associable-choice", interaction.options, rationales=False)
    scoring.template = "map_response" if weighted else "match_correct"
    return scoring


_MARKER = re.compile(r"\{\{([A-Za-z0-9_][A-Za-z0-9_.:-]*)\}\}")


def place_markers(container: etree._Element, elements: Mapping[str, etree._Element]) -> set[str]:
    """Put ``elements[id]`` where ``{{id}}`` stands in ``container``'s text; return ids placed.

    A marker alone in a paragraph is replaced with the paragraph (a block interaction); any
    other marker becomes the element inside the text (an inline one). Markers of other ids
    stay text.
    """
    placed: set[str] = set()

    def pieces(text: str) -> tuple[str, list[etree._Element]]:
        head, made, last = None, [], 0
        for match in _MARKER.finditer(text):
            element = elements.get(match.group(1))
            if element is None or match.group(1) in placed:
                continue
            placed.add(match.group(1))
            before = text[last : match.start()]
            if head is None:
                head = before
            else:
                made[-1].tail = before
            element.tail = None
            made.append(element)
            last = match.end()
        if head is None:
            return text, []
        made[-1].tail = text[last:]
        return head, made

    for element in list(container.iter()):
        if not isinstance(element.tag, str) or element in elements.values():
            continue
        text = (element.text or "").strip()
        whole = _MARKER.fullmatch(text)
        if (
            local(element) == "p"
            and len(element) == 0
            and whole
            and whole.group(1) in elements
            and whole.group(1) not in placed
            and element.getparent() is not None
        ):
            new = elements[whole.group(1)]
            placed.add(whole.group(1))
            new.tail = element.tail
            parent = element.getparent()
            assert parent is not None
            parent.replace(element, new)
            continue
        if element.text and "{{" in element.text:
            element.text, made = pieces(element.text)
            for at, new in enumerate(made):
                element.insert(at, new)
        parent = element.getparent()
        if element.tail and "{{" in element.tail and parent is not None:
            element.tail, made = pieces(element.tail)
            start = parent.index(element) + 1
            for at, new in enumerate(made):
                parent.insert(start + at, new)
    return placed


def _write_composite(
    composite: Composite, root: etree._Element, body: etree._Element
) -> etree._Element:
    """Write every field where the stem marks it (else after the stem); return the processing.

    The processing adds each field's points to ``SCORE``: its weight times its credit (a
    condition chain, ``qti-correct`` or ``qti-map-response`` over its full mark), so the
    QTI score is ``sum(w_f s_f)`` and full marks are ``sum(w_f)``.
    """
    made: dict[str, etree._Element] = {}
    scorings: dict[str, _Scoring] = {}
    for field in composite.fields:
        scratch = etree.Element(_q("div"))
        scorings[field.id] = _write_interaction(field.interaction, root, scratch, field.id)
        element = next(e for e in scratch.iter() if e.get("response-identifier") == field.id)
        if field.prompt and not isinstance(field.interaction, INLINE_FIELDS):
            prompt = etree.Element(_q("qti-prompt"))
            append_markdown(prompt, field.prompt, NS)
            element.insert(0, prompt)
        if field.label:
            element.set("aria-label", xml_safe(field.label))
        made[field.id] = element
    placed = place_markers(body, made)
    for field in composite.fields:
        if field.id not in placed:
            holder = _sub(body, "div")
            holder.append(made[field.id])
    processing = etree.Element(_q("qti-response-processing"))
    for field in composite.fields:
        scoring = scorings[field.id]
        weight = field.weight

        def add(points: etree._Element, parent: etree._Element) -> None:
            setter = _sub(parent, "qti-set-outcome-value", identifier="SCORE")
            setter.append(_condition("qti-sum", _var("SCORE"), points))

        if scoring.template == "map_response":
            mapped = _condition("qti-map-response", identifier=field.id)
            factor = weight / scoring.upper
            add(
                mapped if factor == 1.0 else _condition("qti-product", _base(_num(factor)), mapped),
                processing,
            )
            continue
        rules = scoring.rules or [
            (
                _condition(
                    "qti-match", _var(field.id), _condition("qti-correct", identifier=field.id)
                ),
                1.0,
            )
        ]
        condition = _sub(processing, "qti-response-condition")
        for index, (test, credit) in enumerate(rules):
            branch = _sub(condition, "qti-response-if" if index == 0 else "qti-response-else-if")
            branch.append(test)
            add(_base(_num(weight * credit)), branch)
    return processing


def _outcome(root: etree._Element, identifier: str, cardinality: str, base_type: str) -> None:
    outcome = _sub(
        root, "qti-outcome-declaration", identifier=identifier, cardinality=cardinality,
        base_type=base_type,
    )  # fmt: skip
    if identifier == "SCORE":
        default = _sub(outcome, "qti-default-value")
        _value(default, "0")


def _media_element(path: str, src: str, alt: str) -> etree._Element:
    """The ``<img>``, or ``<audio>``/``<video>`` with its ``<source>``, of one media path."""
    kind = player(path)
    if kind is None:
        return etree.Element(_q("img"), {"src": src, "alt": xml_safe(alt)})
    element = etree.Element(_q(kind), {"controls": "controls", "title": xml_safe(alt)})
    _sub(element, "source", src=src, type=TYPE_OF_EXTENSION[path.rsplit(".", 1)[-1]])
    return element


def _embed_images(root: etree._Element, images: Mapping[str, str]) -> None:
    """Turn Markdown images of the bank's media (``![alt](media/...)``) into ``<img>``.

    Audio and video paths become ``<audio>`` or ``<video>`` with controls, the alt text as
    their title.

    ``images`` maps a media path to the ``src`` written (relative to the item file). Text
    inside code is left alone; other images stay text, as all Markdown links do.
    """
    if not images:
        return

    def split(text: str) -> tuple[str, list[Any]]:
        """The text before the first image, and each image with the text after it."""
        head, made, last = None, [], 0
        for match in IMAGE.finditer(text):
            if match.group(2) not in images:
                continue
            before = text[last : match.start()]
            if head is None:
                head = before
            else:
                made[-1].tail = before
            made.append(_media_element(match.group(2), images[match.group(2)], match.group(1)))
            last = match.end()
        if head is None:
            return text, []
        made[-1].tail = text[last:]
        return head, made

    for element in list(root.iter()):
        if not isinstance(element.tag, str) or local(element) in ("code", "pre"):
            continue
        if element.text and "![" in element.text:
            element.text, made = split(element.text)
            for at, new in enumerate(made):
                element.insert(at, new)
        parent = element.getparent()
        if element.tail and "![" in element.tail and parent is not None:
            element.tail, made = split(element.tail)
            start = parent.index(element) + 1
            for at, new in enumerate(made):
                parent.insert(start + at, new)


def item_xml(item: Item, images: Mapping[str, str] | None = None) -> bytes:
    """One item as a QTI 3.0 ``qti-assessment-item`` document.

    ``images`` maps the bank's media paths to the ``src`` to write (see
    :func:`_embed_images`); without it images stay Markdown text.
    """
    root = etree.Element(
        _q("qti-assessment-item"),
        {
            f"{{{XSI}}}schemaLocation": f"{NS} {SCHEMA}",
            "identifier": item.id,
            "title": item.title or item.id,
            "adaptive": "false",
            "time-dependent": "false",
        },
        nsmap={None: NS, "xsi": XSI},
    )
    body = etree.Element(_q("qti-item-body"))
    if item.notes:  # author-only: QTI shows an author-view rubric block to authors alone
        rubric = _sub(body, "qti-rubric-block", view="author", use="instructions")
        append_markdown(_sub(rubric, "qti-content-body"), item.notes, NS)
    append_markdown(body, item.stem, NS)
    if isinstance(item.interaction, Composite):
        return _composite_item_xml(item, item.interaction, root, body, images or {})
    scoring = _interaction(item, root, body)
    for option in scoring.feedback_blocks:
        block = _sub(
            body, "qti-feedback-block", outcome_identifier="FEEDBACK", identifier=option.id,
            show_hide="show",
        )  # fmt: skip
        append_markdown(_sub(block, "qti-content-body"), option.rationale, NS)
    interaction = item.interaction
    rationales = isinstance(interaction, SingleChoice | MultipleResponse) and any(
        o.rationale for o in interaction.options
    )
    if item.hints:
        _sub(root, "qti-response-declaration", identifier="HINTREQUEST", cardinality="single",
             base_type="boolean")  # fmt: skip
        _sub(body, "qti-end-attempt-interaction", response_identifier="HINTREQUEST", title="Hint")
    _outcome(root, "SCORE", "single", "float")
    multiple = isinstance(interaction, MultipleResponse)
    if rationales:
        _outcome(root, "FEEDBACK", "multiple" if multiple else "single", "identifier")
    if item.solution:
        _outcome(root, "SOLUTION", "single", "identifier")
    if item.hints:
        _outcome(root, "HINT", "multiple", "identifier")
    by_answer = bool(item.correct_feedback or item.incorrect_feedback) and bool(
        scoring.template is not None or scoring.rules
    )
    if by_answer:
        _outcome(root, ANSWER_FEEDBACK, "single", "identifier")
    root.append(body)
    if scoring.template is None and not scoring.rules:
        pass  # extended text: a person scores it
    elif scoring.template is not None and not (
        rationales or item.solution or item.hints or by_answer
    ):
        _sub(root, "qti-response-processing", template=TEMPLATE.format(scoring.template))
    else:
        processing = _sub(root, "qti-response-processing")
        _processing_rules(processing, scoring)
        if rationales:
            setter = _sub(processing, "qti-set-outcome-value", identifier="FEEDBACK")
            setter.append(_var())
        if item.solution:
            setter = _sub(processing, "qti-set-outcome-value", identifier="SOLUTION")
            setter.append(_base("SOLUTION", "identifier"))
        if item.hints:
            condition = _sub(processing, "qti-response-condition")
            branch = _sub(condition, "qti-response-if")
            branch.append(_var("HINTREQUEST"))
            setter = _sub(branch, "qti-set-outcome-value", identifier="HINT")
            values = _sub(setter, "qti-multiple")
            for k in range(len(item.hints)):
                values.append(_base(f"HINT-{k + 1}", "identifier"))
        if by_answer:
            _answer_feedback_rule(processing, scoring.upper)
    if by_answer:
        _answer_feedback(root, item)
    if item.solution:
        feedback = _sub(
            root, "qti-modal-feedback", outcome_identifier="SOLUTION", identifier="SOLUTION",
            show_hide="show", title="Worked solution",
        )  # fmt: skip
        append_markdown(_sub(feedback, "qti-content-body"), item.solution, NS)
    for k, hint in enumerate(item.hints):
        feedback = _sub(
            root, "qti-modal-feedback", outcome_identifier="HINT", identifier=f"HINT-{k + 1}",
            show_hide="show", title="Hint",
        )  # fmt: skip
        append_markdown(_sub(feedback, "qti-content-body"), hint, NS)
    _embed_images(root, images or {})
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _answer_feedback_rule(processing: etree._Element, upper: float) -> None:
    """``ANSWER_FEEDBACK`` is ``correct`` when SCORE reaches full credit, else ``incorrect``.

    Full credit is compared less 1e-9 of it (as the importer counts credit), so an engine
    that sums fractional weights in binary (0.7 + 0.2 + 0.1 < 1) still shows ``correct``.
    """
    condition = _sub(processing, "qti-response-condition")
    branch = _sub(condition, "qti-response-if")
    least = upper - 1e-9 * max(1.0, abs(upper))
    branch.append(_condition("qti-gte", _var("SCORE"), _base(_num(least))))
    setter = _sub(branch, "qti-set-outcome-value", identifier=ANSWER_FEEDBACK)
    setter.append(_base("correct", "identifier"))
    other = _sub(condition, "qti-response-else")
    setter = _sub(other, "qti-set-outcome-value", identifier=ANSWER_FEEDBACK)
    setter.append(_base("incorrect", "identifier"))


def _answer_feedback(root: etree._Element, item: Item) -> None:
    """The item's correct / incorrect feedback as modal feedback on ``ANSWER_FEEDBACK``."""
    for ident, text, title in (
        ("correct", item.correct_feedback, "Correct"),
        ("incorrect", item.incorrect_feedback, "Not quite"),
    ):
        if text:
            feedback = _sub(
                root, "qti-modal-feedback", outcome_identifier=ANSWER_FEEDBACK, identifier=ident,
                show_hide="show", title=title,
            )  # fmt: skip
            append_markdown(_sub(feedback, "qti-content-body"), text, NS)


def _composite_item_xml(
    item: Item,
    composite: Composite,
    root: etree._Element,
    body: etree._Element,
    images: Mapping[str, str],
) -> bytes:
    """A composite item: its fields' declarations and interactions, one summed SCORE.

    Each field's rationale is a modal feedback whose identifier is the field's response
    identifier, shown when the field's answer is not fully right.
    """
    processing = _write_composite(composite, root, body)
    _outcome(root, "SCORE", "single", "float")
    rationales = [f for f in composite.fields if f.rationale]
    if rationales:
        _outcome(root, "FEEDBACK", "multiple", "identifier")
    if item.solution:
        _outcome(root, "SOLUTION", "single", "identifier")
    root.append(body)
    root.append(processing)
    for field in rationales:
        condition = _sub(processing, "qti-response-condition")
        branch = _sub(condition, "qti-response-if")
        branch.append(
            _condition(
                "qti-not",
                _condition(
                    "qti-match", _var(field.id), _condition("qti-correct", identifier=field.id)
                ),
            )
        )
        setter = _sub(branch, "qti-set-outcome-value", identifier="FEEDBACK")
        setter.append(_condition("qti-multiple", _var("FEEDBACK"), _base(field.id, "identifier")))
    if item.solution:
        setter = _sub(processing, "qti-set-outcome-value", identifier="SOLUTION")
        setter.append(_base("SOLUTION", "identifier"))
    for field in rationales:
        feedback = _sub(
            root, "qti-modal-feedback", outcome_identifier="FEEDBACK", identifier=field.id,
            show_hide="show", title=field.label or field.id,
        )  # fmt: skip
        append_markdown(_sub(feedback, "qti-content-body"), field.rationale, NS)
    if item.solution:
        feedback = _sub(
            root, "qti-modal-feedback", outcome_identifier="SOLUTION", identifier="SOLUTION",
            show_hide="show", title="Worked solution",
        )  # fmt: skip
        append_markdown(_sub(feedback, "qti-content-body"), item.solution, NS)
    _embed_images(root, images)
    for picture in root.iter(_q("img")):  # a hotspot's image names its media path
        src = picture.get("src", "")
        if src in images:
            picture.set("src", images[src])
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _processing_rules(processing: etree._Element, scoring: _Scoring) -> None:
    if scoring.template == "map_response":
        setter = _sub(processing, "qti-set-outcome-value", identifier="SCORE")
        _sub(setter, "qti-map-response", identifier="RESPONSE")
        return
    rules = scoring.rules or [
        (_condition("qti-match", _var(), _condition("qti-correct", identifier="RESPONSE")), 1.0)
    ]
    condition = _sub(processing, "qti-response-condition")
    for index, (test, score) in enumerate(rules):
        branch = _sub(condition, "qti-response-if" if index == 0 else "qti-response-else-if")
        branch.append(test)
        _sub(branch, "qti-set-outcome-value", identifier="SCORE").append(_base(_num(score)))
    otherwise = _sub(condition, "qti-response-else")
    _sub(otherwise, "qti-set-outcome-value", identifier="SCORE").append(_base("0.0"))


# --------------------------------------------------------------------------- package


def _irt_statistics(item: Item) -> list[tuple[str, float, float | None]]:
    irt = item.irt
    model = model_name(irt)
    se = irt.se
    out: list[tuple[str, float, float | None]] = []
    for name in ("a", "b", "c", "d"):
        value = getattr(irt, name, None)
        if value is None:
            continue
        if name == "a" and model == "1pl" and value == 1.0 and (se is None or se.a is None):
            continue  # the Rasch model's fixed slope
        out.append((f"irt-{model}-{name}", value, getattr(se, name, None) if se else None))
    if isinstance(irt, Graded | PartialCredit):
        errors = se.thresholds if se is not None and se.thresholds is not None else None
        for k, value in enumerate(irt.thresholds):
            error = errors[k] if errors is not None else None
            out.append((f"irt-{model}-threshold-{k + 1}", value, error))
    return out


def usage_data_xml(bank: Bank) -> bytes:
    """IRT parameters of every item as QTI usage data (ordinary statistics)."""
    root = etree.Element(
        _q("qti-usage-data", USAGE_NS),
        {"glossary": f"urn:skillgauge:irt:{bank.id}"},
        nsmap={None: USAGE_NS},
    )
    for item in bank.items:
        for name, value, error in _irt_statistics(item):
            attrs = {"name": name, "context": f"urn:skillgauge:bank:{bank.id}"}
            if error is not None:
                attrs["std-error"] = _num(error)
            stat = etree.SubElement(root, _q("qti-ordinary-statistic", USAGE_NS), attrs)
            etree.SubElement(stat, _q("qti-target-object", USAGE_NS), identifier=item.id)
            etree.SubElement(stat, _q("qti-value", USAGE_NS)).text = _num(value)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _lom(parent: etree._Element, bank: Bank) -> None:
    lom = etree.SubElement(parent, _q("lom", LOM_NS))
    general = etree.SubElement(lom, _q("general", LOM_NS))
    title = etree.SubElement(general, _q("title", LOM_NS))
    etree.SubElement(title, _q("string", LOM_NS)).text = xml_safe(bank.title)
    cycle = etree.SubElement(lom, _q("lifeCycle", LOM_NS))
    version = etree.SubElement(cycle, _q("version", LOM_NS))
    etree.SubElement(version, _q("string", LOM_NS)).text = xml_safe(bank.version)


def _labelled(guids: etree._Element, guid: str, label: str) -> None:
    labelled = etree.SubElement(guids, _q("labelledGUID", CSM_NS))
    etree.SubElement(labelled, _q("label", CSM_NS)).text = xml_safe(label)
    etree.SubElement(labelled, _q("GUID", CSM_NS)).text = guid


def manifest_xml(bank: Bank, media: list[str] | None = None) -> bytes:
    """The package manifest: bank metadata, one resource per item, the usage data.

    ``media`` (the media files written) are listed in one web-content resource.
    """
    root = etree.Element(
        _q("manifest", CP_NS),
        {"identifier": bank.id},
        nsmap={None: CP_NS, "imsmd": LOM_NS, "imscsmd": CSM_NS},
    )
    metadata = etree.SubElement(root, _q("metadata", CP_NS))
    etree.SubElement(metadata, _q("schema", CP_NS)).text = "QTI Package"
    etree.SubElement(metadata, _q("schemaversion", CP_NS)).text = "3.0.0"
    _lom(metadata, bank)
    # The bank's competencies and content areas, in order, unused content areas included.
    listed = etree.SubElement(metadata, _q("curriculumStandardsMetadataSet", CSM_NS))
    pretest = [(i.id, i.id) for i in bank.items if i.status == "pretest"]
    for provider, tags in (
        (COMPETENCIES, [(c.id, c.name) for c in bank.competencies]),
        (CONTENT_AREAS, [(a.id, a.name) for a in bank.content_areas]),
        *([(PRETEST, pretest)] if pretest else []),
    ):
        entry = etree.SubElement(
            listed, _q("curriculumStandardsMetadata", CSM_NS), providerId=provider
        )
        guids = etree.SubElement(entry, _q("setOfGUIDs", CSM_NS))
        for guid, label in tags:
            _labelled(guids, guid, label)
    etree.SubElement(root, _q("organizations", CP_NS))
    resources = etree.SubElement(root, _q("resources", CP_NS))
    competencies = {c.id: c.name for c in bank.competencies}
    areas = {a.id: a.name for a in bank.content_areas}
    for item in bank.items:
        href = f"items/{item.id}.xml"
        resource = etree.SubElement(
            resources,
            _q("resource", CP_NS),
            identifier=f"RES-{item.id}",
            type="imsqti_item_xmlv3p0",
            href=href,
        )
        meta = etree.SubElement(resource, _q("metadata", CP_NS))
        standards = etree.SubElement(meta, _q("curriculumStandardsMetadataSet", CSM_NS))
        entry = etree.SubElement(
            standards, _q("curriculumStandardsMetadata", CSM_NS), providerId="skillgauge"
        )
        guids = etree.SubElement(entry, _q("setOfGUIDs", CSM_NS))
        tags = [(item.competency, competencies.get(item.competency, item.competency))]
        tags += [(a, areas.get(a, a)) for a in item.content_areas]
        for guid, label in tags:
            _labelled(guids, guid, label)
        etree.SubElement(resource, _q("file", CP_NS), href=href)
    usage = etree.SubElement(
        resources,
        _q("resource", CP_NS),
        identifier="RES-usage-data",
        type="imsqti_usagedata_xmlv3p0",
        href="usage-data.xml",
    )
    etree.SubElement(usage, _q("file", CP_NS), href="usage-data.xml")
    if media:
        files = etree.SubElement(
            resources,
            _q("resource", CP_NS),
            identifier="RES-media",
            type="webcontent",
            href=media[0],
        )
        for path in media:
            etree.SubElement(files, _q("file", CP_NS), href=path)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _markdown_fields(item: Item) -> list[tuple[str, str, bool]]:
    """Every Markdown text of ``item`` that QTI carries: (field, text, written inline)."""
    fields = [("stem", item.stem, False), ("solution", item.solution, False)]
    fields.append(("notes", item.notes, False))
    fields += [(f"hints[{k}]", hint, False) for k, hint in enumerate(item.hints)]
    interaction = item.interaction
    groups: list[tuple[str, tuple[Option, ...]]] = []
    if isinstance(interaction, SingleChoice | MultipleResponse | Order):
        groups.append(("options", interaction.options))
    if isinstance(interaction, Match):
        groups += [("sources", interaction.sources), ("targets", interaction.targets)]
    for group, options in groups:
        for i, option in enumerate(options):
            fields.append((f"interaction.{group}[{i}].text", option.text, True))
            if isinstance(interaction, SingleChoice | MultipleResponse):
                inline = is_inline(option.rationale)
                fields.append((f"interaction.{group}[{i}].rationale", option.rationale, inline))
    return [(f, text, inline) for f, text, inline in fields if text]


_NOT_XML_NOTE = "not carried by QTI: control characters XML cannot hold are left out"


def _field_not_carried(part: Field) -> list[tuple[str, str]]:
    """What QTI does not carry of one field of a composite item: (field, note)."""
    inner = part.interaction
    found: list[tuple[str, str]] = []
    if part.misconception:
        found.append(("misconception", "not carried by QTI: the misconception reference"))
    if part.prompt and isinstance(inner, INLINE_FIELDS):
        found.append(("prompt", "not carried by QTI: the prompt of an inline field"))
    if isinstance(inner, Numeric) and inner.unit:
        found.append(("interaction.unit", "not carried by QTI: the unit"))
    if isinstance(inner, Numeric) and inner.common_wrong_answers:
        found.append(
            ("interaction.common_wrong_answers", "not carried by QTI: the common wrong answers")
        )
    if isinstance(inner, ShortText) and inner.wrong_answers:
        found.append(("interaction.wrong_answers", "not carried by QTI: the wrong answers"))
    groups: list[tuple[str, tuple[Option, ...]]] = []
    if isinstance(inner, SingleChoice | MultipleResponse | Order | Associate):
        groups.append(("options", inner.options))
    if isinstance(inner, Match):
        groups += [("sources", inner.sources), ("targets", inner.targets)]
    for group, options in groups:
        for k, option in enumerate(options):
            where = f"interaction.{group}[{k}]"
            if option.misconception:
                found.append(
                    (f"{where}.misconception", "not carried by QTI: the misconception reference")
                )
            if option.rationale:
                found.append(
                    (f"{where}.rationale", "not carried by QTI: rationales of a field's options")
                )
    if isinstance(inner, GapMatch):
        for k, gap in enumerate(inner.targets):
            if gap.text != f"gap {k + 1}":
                found.append(
                    (
                        f"interaction.targets[{k}].text",
                        "not carried by QTI: the label of a gap (read back as gap 1, gap 2...)",
                    )
                )
    return found


def _header(bank: Bank) -> Bank:
    """The bank's own fields, items left out, competencies and areas keyed by id."""
    return msgspec.structs.replace(bank, items=())


def _strings(value: Any, path: str) -> list[tuple[str, str]]:
    """Every string in a builtins tree with its path (``competencies["c"].name``)."""
    if isinstance(value, str):
        return [(path, value)]
    found: list[tuple[str, str]] = []
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _strings(inner, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            keyed = isinstance(inner, dict) and "id" in inner and not path.startswith("interaction")
            found += _strings(inner, f'{path}["{inner["id"]}"]' if keyed else f"{path}[{index}]")
    return found


def not_carried(bank: Bank, source: str) -> list[Problem]:
    """Everything in ``bank`` that a QTI package cannot carry, each located.

    ``import(export(bank))`` differs from ``bank`` in exactly these fields.
    """
    notes: list[Problem] = []

    def note(message: str, item: str | None = None, field: str | None = None) -> None:
        notes.append(Problem(source=source, item=item, field=field, message=message))

    if bank.description:
        note("not carried by QTI: the bank description", field="description")
    if bank.notes:
        note("not carried by QTI: the bank notes", field="notes")
    if bank.misconceptions:
        note(
            f"not carried by QTI: {len(bank.misconceptions)} misconceptions", field="misconceptions"
        )
    if bank.correlations is not None:
        note("not carried by QTI: the competencies' correlation matrix", field="correlations")
    for field, text in _strings(msgspec.to_builtins(_header(bank)), ""):
        if NOT_XML.search(text):
            note(_NOT_XML_NOTE, field=field)
    for competency in bank.competencies:
        where = f'competencies["{competency.id}"]'
        if competency.description:
            note("not carried by QTI: the competency description", field=f"{where}.description")
        if competency.cut_score is not None:
            note("not carried by QTI: the cut score", field=f"{where}.cut_score")
        if competency.levels:
            note("not carried by QTI: the level descriptors", field=f"{where}.levels")
        if competency.resources:
            note("not carried by QTI: the study resources", field=f"{where}.resources")
    for item in bank.items:
        interaction = item.interaction
        if isinstance(interaction, Composite | ExtendedText):
            for name in ("correct_feedback", "incorrect_feedback"):
                if getattr(item, name):
                    note(f"not carried by QTI: the {name.replace('_', ' ')}", item.id, name)
        if item.exposure is not None:
            note("not carried by QTI: the Sympson-Hetter exposure parameter", item.id, "exposure")
        if item.time is not None:
            note("not carried by QTI: the response-time parameters", item.id, "time")
        if isinstance(interaction, Numeric) and interaction.unit:
            note("not carried by QTI: the unit", item.id, "interaction.unit")
        if isinstance(interaction, Numeric) and best_first(interaction.alternatives) != list(
            interaction.alternatives
        ):
            note(
                "not carried by QTI: the order of the intervals (written best credit first, "
                "as QTI takes the first condition that holds)",
                item.id,
                "interaction.alternatives",
            )
        for field, text in _strings(msgspec.to_builtins(item), ""):
            if NOT_XML.search(text):
                note(_NOT_XML_NOTE, item.id, field)
        se = item.irt.se
        if se is not None:
            carried = {name for name, _, error in _irt_statistics(item) if error is not None}
            given = {f: getattr(se, f) for f in ("a", "b", "c", "d", "thresholds")}
            if not any(v is not None for v in given.values()):
                note("not carried by QTI: an empty list of standard errors", item.id, "irt.se")
            for name, value in given.items():
                wanted = (
                    f"irt-{model_name(item.irt)}-{'threshold-1' if name == 'thresholds' else name}"
                )
                if value is not None and wanted not in carried:
                    note(
                        f"not carried by QTI: a standard error of {name}, which the "
                        f"{model_name(item.irt)} model does not have",
                        item.id,
                        f"irt.se.{name}",
                    )
        if isinstance(interaction, Numeric) and interaction.common_wrong_answers:
            note(
                "not carried by QTI: the common wrong answers",
                item.id,
                "interaction.common_wrong_answers",
            )
        if isinstance(interaction, ShortText) and interaction.wrong_answers:
            note("not carried by QTI: the wrong answers", item.id, "interaction.wrong_answers")
        groups: list[tuple[str, tuple[Option, ...]]] = []
        if isinstance(interaction, SingleChoice | MultipleResponse | Order):
            groups.append(("options", interaction.options))
        if isinstance(interaction, Match):
            groups += [("sources", interaction.sources), ("targets", interaction.targets)]
        for group, options in groups:
            for i, option in enumerate(options):
                where = f"interaction.{group}[{i}]"
                if option.misconception:
                    note(
                        "not carried by QTI: the misconception reference",
                        item.id,
                        f"{where}.misconception",
                    )
                if isinstance(interaction, Order | Match):
                    if option.rationale:
                        note(
                            "not carried by QTI: rationales of order and match options",
                            item.id,
                            f"{where}.rationale",
                        )
                    if option.credit is not None:
                        note(
                            "not carried by QTI: the credit of an order or match option "
                            "(scoring never uses it)",
                            item.id,
                            f"{where}.credit",
                        )
        if isinstance(interaction, Composite):
            for i, part in enumerate(interaction.fields):
                for field, message in _field_not_carried(part):
                    note(message, item.id, f"interaction.fields[{i}].{field}")
        for field, text, inline in _markdown_fields(item):
            if not survives(text, inline=inline):
                note(
                    f"not carried exactly by QTI's XHTML: {markdown_loss(text, inline=inline)}",
                    item.id,
                    field,
                )
    return notes


def export_bank(
    bank: Bank, source: str = "bank", media: Mapping[str, bytes] | None = None
) -> tuple[bytes, list[Problem]]:
    """Write ``bank`` as a QTI 3.0 content package.

    ``media`` holds the bytes of the bank's media files by SHA-256: each file given is
    written into the package at its path and its Markdown images become ``<img>`` with their
    alt text; a file not given is listed as not carried (its images stay text).

    Returns
    -------
    tuple
        The zip file's bytes and the list of what QTI could not carry (located notes).
    """
    media = media or {}
    present = [f for f in bank.media if f.sha256 in media]
    images = {f.path: f"../{f.path}" for f in present}
    notes = not_carried(bank, source)
    for i, file in enumerate(bank.media):
        if file.sha256 not in media:
            notes.append(
                Problem(
                    source=source,
                    field=f"media[{i}]",
                    message=f"not carried: the media file {file.path} (its bytes are not at hand)",
                )
            )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("imsmanifest.xml", manifest_xml(bank, [f.path for f in present]))
        for item in bank.items:
            archive.writestr(f"items/{item.id}.xml", item_xml(item, images))
        archive.writestr("usage-data.xml", usage_data_xml(bank))
        for file in present:
            archive.writestr(file.path, media[file.sha256])
    return buffer.getvalue(), notes
