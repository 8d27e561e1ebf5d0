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
from item_banks.formats.media import IMAGE
from item_banks.formats.qti3_import import NS
from item_banks.formats.safe_xml import local
from item_banks.model import (
    Bank,
    ExtendedText,
    Graded,
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
) -> None:
    decl = _sub(
        item, "qti-response-declaration", identifier="RESPONSE", cardinality=cardinality,
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


def _interval(alt: NumericRange) -> etree._Element:
    low = "qti-gte" if alt.include_low else "qti-gt"
    high = "qti-lte" if alt.include_high else "qti-lt"
    return _condition(
        "qti-and",
        _condition(low, _var(), _base(_num(alt.low))),
        _condition(high, _var(), _base(_num(alt.high))),
    )


def _interaction(item: Item, root: etree._Element, body: etree._Element) -> _Scoring:
    interaction = item.interaction
    scoring = _Scoring()
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
            upper=upper, default=default,
        )  # fmt: skip
        element = _sub(
            body, "qti-choice-interaction", response_identifier="RESPONSE",
            shuffle="true" if interaction.shuffle else "false",
            max_choices="0" if multiple else "1",
        )  # fmt: skip
        scoring.feedback_blocks = _choices(
            element, "qti-simple-choice", interaction.options, rationales=True
        )
        scoring.template = "map_response" if mapping is not None else "match_correct"
        return scoring
    if isinstance(interaction, Order):
        _declare(root, "ordered", "identifier", list(interaction.key))
        element = _sub(
            body, "qti-order-interaction", response_identifier="RESPONSE",
            shuffle="true" if interaction.shuffle else "false",
        )  # fmt: skip
        _choices(element, "qti-simple-choice", interaction.options, rationales=False)
        scoring.template = "match_correct"
        return scoring
    if isinstance(interaction, Match):
        pairs = [f"{p.source} {p.target}" for p in interaction.key]
        weighted = interaction.scoring == "weighted"
        mapping = (
            [(f"{c.source} {c.target}", c.credit, None) for c in interaction.credits]
            if weighted
            else None
        )
        _declare(root, "multiple", "directedPair", pairs, mapping)
        element = _sub(
            body, "qti-match-interaction", response_identifier="RESPONSE",
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
        _declare(root, "single", "float", [_num(interaction.key)])
        holder = _sub(body, "div")
        _sub(holder, "qti-text-entry-interaction", response_identifier="RESPONSE")
        mode = interaction.tolerance_mode
        if interaction.tolerance == 0 and mode == "absolute" and not interaction.alternatives:
            scoring.template = "match_correct"
            return scoring
        equal = _condition(
            "qti-equal", _condition("qti-correct", identifier="RESPONSE"), _var(),
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
            scoring.rules.append((_interval(alt), alt.credit))
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
        _declare(root, "single", "string", [interaction.key[0]], mapping)
        holder = _sub(body, "div")
        _sub(holder, "qti-text-entry-interaction", response_identifier="RESPONSE")
        scoring.template = "match_correct" if simple else "map_response"
        return scoring
    assert isinstance(interaction, ExtendedText)
    _declare(root, "single", "string", [])
    attrs = {}
    if interaction.expected_lines is not None:
        attrs["expected_lines"] = str(interaction.expected_lines)
    if interaction.expected_length is not None:
        attrs["expected_length"] = str(interaction.expected_length)
    _sub(body, "qti-extended-text-interaction", response_identifier="RESPONSE", **attrs)
    return scoring


def _outcome(root: etree._Element, identifier: str, cardinality: str, base_type: str) -> None:
    outcome = _sub(
        root, "qti-outcome-declaration", identifier=identifier, cardinality=cardinality,
        base_type=base_type,
    )  # fmt: skip
    if identifier == "SCORE":
        default = _sub(outcome, "qti-default-value")
        _value(default, "0")


def _embed_images(root: etree._Element, images: Mapping[str, str]) -> None:
    """Turn Markdown images of the bank's media (``![alt](media/...)``) into ``<img>``.

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
            made.append(
                etree.Element(
                    _q("img"), {"src": images[match.group(2)], "alt": xml_safe(match.group(1))}
                )
            )
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
    root.append(body)
    if scoring.template is None and not scoring.rules:
        pass  # extended text: a person scores it
    elif scoring.template is not None and not (rationales or item.solution or item.hints):
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
