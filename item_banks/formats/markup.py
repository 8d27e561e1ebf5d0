"""XHTML (QTI item bodies, Moodle HTML) to the bank's Markdown, and a Markdown subset back.

Stems, options and feedback are Markdown in a bank and XHTML in QTI. The conversion covers
what item text uses: paragraphs, line breaks, **strong**, *emphasis*, `code`, fenced code
blocks, bulleted and numbered lists, headings, links and images. Whitespace inside a
paragraph is collapsed, as an HTML renderer would. Markdown written in this subset survives
``html_to_markdown(markdown_to_html(text))`` unchanged; anything else is carried as text.
"""

from __future__ import annotations

import re

from lxml import etree

from item_banks.formats.safe_xml import local

_BLOCK = {
    "p", "div", "pre", "ul", "ol", "li", "blockquote", "table", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "figure", "qti-content-body", "section", "article",
}  # fmt: skip
_STRONG = {"strong", "b"}
_EM = {"em", "i"}
_CODE = {"code", "kbd", "samp", "tt"}


def _squash(text: str) -> str:
    return re.sub(r"[ \t\r\n\f\v]+", " ", text)


def _inline(element: etree._Element, skip: frozenset[str]) -> str:
    name = local(element)
    if name in skip or not isinstance(element.tag, str):
        return ""
    if name == "br":
        return "\n"
    if name == "img":
        return f"![{element.get('alt', '')}]({element.get('src', '')})"
    if name == "math":
        return "".join(element.itertext()).strip()
    inner = _squash(element.text or "") + "".join(
        _inline(child, skip) + _squash(child.tail or "") for child in element
    )
    if name in _STRONG and inner.strip():
        return f"**{inner.strip()}**"
    if name in _EM and inner.strip():
        return f"*{inner.strip()}*"
    if name in _CODE and inner.strip():
        return f"`{inner.strip()}`"
    if name == "a" and element.get("href"):
        return f"[{inner.strip()}]({element.get('href')})"
    return inner


def _clean(paragraph: str) -> str:
    lines = [" ".join(line.split()) for line in paragraph.split("\n")]
    return "\n".join(lines).strip("\n").strip()


def _block(element: etree._Element, skip: frozenset[str]) -> list[str]:
    name = local(element)
    if name == "pre":
        code = "".join(element.itertext()).strip("\n")
        language = (element.get("class") or "").removeprefix("language-")
        return [f"```{language}\n{code}\n```"]
    if name in ("ul", "ol"):
        lines = []
        number = 0
        for child in element:
            if local(child) != "li":
                continue
            number += 1
            text = _clean(" ".join(to_blocks(child, skip)).replace("\n", " "))
            lines.append(f"{number}. {text}" if name == "ol" else f"- {text}")
        return ["\n".join(lines)] if lines else []
    if re.fullmatch(r"h[1-6]", name):
        return [f"{'#' * int(name[1])} {_clean(_inline(element, skip))}"]
    if name == "hr":
        return ["---"]
    return to_blocks(element, skip)


def to_blocks(container: etree._Element, skip: frozenset[str] = frozenset()) -> list[str]:
    """Convert the mixed content of ``container`` into Markdown blocks (paragraphs...)."""
    blocks: list[str] = []
    buffer = _squash(container.text or "")

    def flush() -> None:
        nonlocal buffer
        text = _clean(buffer)
        if text:
            blocks.append(text)
        buffer = ""

    for child in container:
        name = local(child)
        if name in skip or not isinstance(child.tag, str):
            buffer += _squash(child.tail or "")
            continue
        if name in _BLOCK:
            flush()
            blocks.extend(_block(child, skip))
        else:
            buffer += _inline(child, skip)
        buffer += _squash(child.tail or "")
    flush()
    return blocks


def html_to_markdown(container: etree._Element, skip: frozenset[str] = frozenset()) -> str:
    """Markdown for the content of ``container``, leaving out elements named in ``skip``."""
    return "\n\n".join(to_blocks(container, skip))


# --------------------------------------------------------------------------- Markdown -> XHTML

_INLINE = re.compile(r"`([^`]+)`|\*\*([^*]+)\*\*|\*([^*\s](?:[^*]*[^*\s])?)\*")


def _append_text(parent: etree._Element, text: str) -> None:
    if len(parent):
        last = parent[-1]
        last.tail = (last.tail or "") + text
    else:
        parent.text = (parent.text or "") + text


def _append_inline(parent: etree._Element, text: str, ns: str) -> None:
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if index:
            etree.SubElement(parent, f"{{{ns}}}br")
        position = 0
        for match in _INLINE.finditer(line):
            _append_text(parent, line[position : match.start()])
            code, strong, em = match.groups()
            tag = "code" if code is not None else "strong" if strong is not None else "em"
            child = etree.SubElement(parent, f"{{{ns}}}{tag}")
            child.text = code if code is not None else strong if strong is not None else em
            position = match.end()
        _append_text(parent, line[position:])


def markdown_blocks(text: str) -> list[str]:
    """Split Markdown into blocks on blank lines, keeping fenced code blocks whole."""
    blocks: list[str] = []
    current: list[str] = []
    fenced = False
    for line in text.split("\n"):
        if line.startswith("```"):
            fenced = not fenced
            current.append(line)
            continue
        if not fenced and not line.strip():
            if current:
                blocks.append("\n".join(current))
                current = []
            continue
        current.append(line)
    if current:
        blocks.append("\n".join(current))
    return blocks


def append_markdown(parent: etree._Element, text: str, ns: str, *, inline: bool = False) -> None:
    """Append ``text`` (Markdown) to ``parent`` as XHTML in namespace ``ns``.

    With ``inline``, a single paragraph is written as inline content (for choices); more
    than one block is always written as blocks.
    """
    blocks = markdown_blocks(text)
    if inline and len(blocks) <= 1 and not (blocks and _is_special(blocks[0])):
        _append_inline(parent, blocks[0] if blocks else "", ns)
        return
    for block in blocks:
        lines = block.split("\n")
        if block.startswith("```"):
            pre = etree.SubElement(parent, f"{{{ns}}}pre")
            language = lines[0][3:].strip()
            if language:
                pre.set("class", f"language-{language}")
            body = lines[1:-1] if lines[-1].startswith("```") and len(lines) > 1 else lines[1:]
            pre.text = "\n".join(body)
        elif all(re.match(r"- ", line) for line in lines):
            ul = etree.SubElement(parent, f"{{{ns}}}ul")
            for line in lines:
                _append_inline(etree.SubElement(ul, f"{{{ns}}}li"), line[2:], ns)
        elif all(re.match(r"\d+\. ", line) for line in lines):
            ol = etree.SubElement(parent, f"{{{ns}}}ol")
            for line in lines:
                _append_inline(etree.SubElement(ol, f"{{{ns}}}li"), line.split(". ", 1)[1], ns)
        elif re.match(r"#{1,6} ", block) and len(lines) == 1:
            level = len(block) - len(block.lstrip("#"))
            _append_inline(etree.SubElement(parent, f"{{{ns}}}h{level}"), block[level + 1 :], ns)
        else:
            _append_inline(etree.SubElement(parent, f"{{{ns}}}p"), block, ns)


def _is_special(block: str) -> bool:
    return bool(re.match(r"```|- |\d+\. |#{1,6} ", block))
