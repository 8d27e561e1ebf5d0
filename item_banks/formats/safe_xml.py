"""Hardened XML parsing: no entity expansion, no DTD loading, no network, no huge trees.

Uploaded files come from the network. An XML file can declare entities that expand
exponentially ("billion laughs") or that read local files and URLs (XXE). Every XML file is
therefore parsed with lxml configured not to resolve entities, load DTDs or touch the network,
and any document type declaration is refused with a located message: QTI and Moodle XML never
need one.
"""

from __future__ import annotations

import re

from lxml import etree

from item_banks.errors import BankValidationError, Problem
from item_banks.native import DEFAULT_LIMITS, Limits

_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_ENTITY = re.compile(rb"<!ENTITY\s+(%\s*)?([^\s>]+)(?:\s+(SYSTEM|PUBLIC)\s+[\"']([^\"']*))?")


def hardened_parser() -> etree.XMLParser:
    """Return an lxml parser that never expands entities, loads DTDs or uses the network."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=False,  # kept: <?skillgauge-markdown?> carries trailing newlines
        collect_ids=False,
    )


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _refuse_doctype(data: bytes, source: str) -> None:
    """Refuse a DOCTYPE before parsing, naming its line and any entities it declares."""
    doctype = _DOCTYPE.search(data)
    if doctype is None:
        return
    entities = list(_ENTITY.finditer(data))
    line = _line_of(data, doctype.start())
    if entities:
        external = [m for m in entities if m.group(3)]
        if external:
            first = external[0]
            name = first.group(2).decode(errors="replace")
            target = first.group(4).decode(errors="replace")
            message = (
                f'the DOCTYPE declares the external entity "{name}" ({target}); '
                "external entities are refused"
            )
            line = _line_of(data, first.start())
        else:
            names = ", ".join(m.group(2).decode(errors="replace") for m in entities[:5])
            more = f" and {len(entities) - 5} more" if len(entities) > 5 else ""
            message = (
                f"the DOCTYPE declares {len(entities)} entities ({names}{more}); "
                "entity declarations are refused (they can expand without bound)"
            )
    else:
        message = "a DOCTYPE declaration is refused (DTDs are never loaded)"
    raise BankValidationError([Problem(source=source, field=f"line {line}", message=message)])


def parse_xml(data: bytes, source: str, *, limits: Limits = DEFAULT_LIMITS) -> etree._Element:
    """Parse ``data`` safely and return the root element.

    Raises
    ------
    BankValidationError
        When the file is too large, declares a DOCTYPE (entities, external DTDs), or is not
        well-formed XML; each problem names the file and line.
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
    _refuse_doctype(data, source)
    try:
        root = etree.fromstring(data, parser=hardened_parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else 1
        message = str(exc.msg).split(", line ")[0]
        raise BankValidationError(
            [
                Problem(
                    source=source, field=f"line {line}", message=f"not well-formed XML: {message}"
                )
            ]
        ) from None
    # A DOCTYPE in an encoding the byte scan cannot see (UTF-16...) is caught here.
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        dtd = docinfo.internalDTD
        names = [e.name for e in dtd.iterentities()] if dtd is not None else []
        what = f"declares entities ({', '.join(str(n) for n in names)})" if names else "is present"
        raise BankValidationError(
            [
                Problem(
                    source=source,
                    field="line 1",
                    message=f"a DOCTYPE {what}; DOCTYPE declarations are refused",
                )
            ]
        )
    return root


def local(element: etree._Element) -> str:
    """The element's name without its namespace (``qti-choice-interaction``)."""
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return etree.QName(tag).localname


def namespace(element: etree._Element) -> str:
    """The element's namespace URI, or ``""``."""
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return etree.QName(tag).namespace or ""


def where(element: etree._Element) -> str:
    """Locate an element for a message: ``line 12 <qti-choice-interaction>``."""
    return f"line {element.sourceline} <{local(element)}>"
