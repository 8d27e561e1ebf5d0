"""QTI 2.1 and 2.2 items: renamed to their QTI 3.0 forms, then read by the QTI 3.0 reader.

QTI 3.0 renamed the 2.x vocabulary mechanically: ``choiceInteraction`` became
``qti-choice-interaction`` and ``responseIdentifier`` became ``response-identifier``; the
structure of items, declarations, response processing and feedback did not change for the
interactions Skillgauge reads. :func:`to_qti3` applies that renaming to a parsed 2.x tree
(XHTML elements keep their names), so one reader serves both versions.
"""

from __future__ import annotations

import re

from lxml import etree

from item_banks.errors import BankValidationError, Problem
from item_banks.formats import qti3_import
from item_banks.formats.common import Collected, ImportResult, assemble
from item_banks.formats.safe_xml import local, namespace, parse_xml, where
from item_banks.native import DEFAULT_LIMITS, Limits

NAMESPACES = (
    "http://www.imsglobal.org/xsd/imsqti_v2p1",
    "http://www.imsglobal.org/xsd/imsqti_v2p2",
    "http://www.imsglobal.org/xsd/imsqti_v2p0",
)
#: QTI 2.x element names that are one lowercase word (the others contain a capital).
_QTI_WORDS = {
    "value", "mapping", "prompt", "match", "equal", "and", "or", "not", "gte", "lte", "gt",
    "lt", "variable", "correct", "sum", "product", "member", "contains", "delete", "multiple",
    "ordered", "index", "random", "subtract", "divide", "power", "round", "truncate",
    "inside", "substring", "repeat", "stylesheet", "interpolationTable", "default", "null",
    "gap", "hottext",
}  # fmt: skip
_USAGE_WORDS = {"usageData", "ordinaryStatistic", "targetObject", "categorizedStatistic"}


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", lambda m: "-" + m.group(1).lower(), name).lower()


def is_qti2(root: etree._Element) -> bool:
    """Return whether ``root`` is in a QTI 2.x namespace."""
    return namespace(root) in NAMESPACES


def to_qti3(root: etree._Element) -> etree._Element:
    """Rename a QTI 2.x tree's QTI elements and attributes to QTI 3.0 (in place)."""
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        name = local(element)
        qti = any(c.isupper() for c in name) or name in _QTI_WORDS
        if qti:
            element.tag = f"{{{qti3_import.NS}}}qti-{_kebab(name)}"
            for attr in list(element.attrib):
                attr_name = str(attr)
                if attr_name.startswith("{"):
                    continue
                renamed = _kebab(attr_name)
                if renamed != attr_name:
                    element.set(renamed, element.attrib.pop(attr_name))
        else:
            element.tag = f"{{{qti3_import.NS}}}{name}"
    return root


def read_item_file(data: bytes, source: str, *, limits: Limits = DEFAULT_LIMITS) -> ImportResult:
    """Read one QTI 2.1/2.2 item file into a one-item bank (id from the file name)."""
    root = parse_xml(data, source, limits=limits)
    if not is_qti2(root):
        raise BankValidationError(
            [
                Problem(
                    source=source,
                    field=where(root),
                    message=f"not a QTI 2.x document (namespace {namespace(root) or 'none'!r})",
                )
            ]
        )
    collected = Collected()
    qti3_import.read_item(to_qti3(root), source, collected)
    return assemble(collected, source=source, limits=limits)
