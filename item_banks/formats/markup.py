"""XHTML (QTI item bodies, Moodle HTML) to the bank's Markdown, and a Markdown subset back.

Stems, options and feedback are Markdown in a bank and XHTML in QTI. The conversion covers
what item text uses, and for this subset ``html_to_markdown(markdown_to_html(text)) == text``
holds exactly:

* blocks separated by one blank line; a paragraph's line breaks are ``<br/>``;
* ``**strong**``, ``*emphasis*`` and ```code``` spans inside a line;
* fenced code blocks (```` ```python ````), written as CommonMark writes them,
  ``<pre><code class="language-python">`` with every line ended by a newline;
* bulleted (``- ``) and numbered (``1. ``, any start) lists whose continuation lines are
  indented by the marker's width (``-`` 2 spaces, ``1.`` 3, ``10.`` 4);
* ``#`` headings of one line;
* newlines at the very end of the text (YAML ``|`` blocks end with one), which XHTML cannot
  show: they are kept in a ``<?skillgauge-markdown newlines="N"?>`` processing instruction
  after the text, which renderers and schemas ignore.

Anything else (links, tables, ``$math$``) is carried as text. What XHTML cannot hold is
whitespace a renderer collapses: spaces at the start or end of a line, runs of spaces or
tabs, several blank lines in a row, whitespace-only lines, and markup this subset does not
write (nested emphasis, a code fence with trailing spaces). :func:`survives` tells whether a
text comes back unchanged; the QTI exporter lists every text that does not.
"""

from __future__ import annotations

import re

from lxml import etree

from item_banks.formats.safe_xml import hardened_parser, local

#: Target of the processing instruction that keeps a text's trailing newlines.
PI_TARGET = "skillgauge-markdown"

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
    if name in _CODE:
        # Code keeps its spaces (NumPy prints `[-2  0  3]`); only line breaks in the source
        # (not <br/>) become one space.
        code = _code_text(element.text) + "".join(
            _inline(child, skip) + _code_text(child.tail) for child in element
        )
        return f"`{code}`" if code.strip() else code
    inner = _squash(element.text or "") + "".join(
        _inline(child, skip) + _squash(child.tail or "") for child in element
    )
    if name in _STRONG and inner.strip():
        return f"**{inner.strip()}**"
    if name in _EM and inner.strip():
        return f"*{inner.strip()}*"
    if name == "a" and element.get("href"):
        return f"[{inner.strip()}]({element.get('href')})"
    return inner


def _code_text(text: str | None) -> str:
    return re.sub(r"[ \t]*[\r\n\f\v][ \t\r\n\f\v]*", " ", text or "")


_SPAN = re.compile(r"(`[^`\n]*`)")


def _clean(paragraph: str) -> str:
    """Collapse whitespace runs in each line, except inside code spans; trim the lines."""
    lines = [
        "".join(
            part if _SPAN.fullmatch(part) else re.sub(r"\s+", " ", part)
            for part in _SPAN.split(line)
        ).strip()
        for line in paragraph.split("\n")
    ]
    return "\n".join(lines).strip("\n").strip()


def _code_block(pre: etree._Element) -> str:
    """A ``<pre>`` (with or without an inner ``<code>``) as a fenced code block.

    As in HTML, one newline right after ``<pre>`` is not content; the newline that ends the
    last line is the line's end, not an empty line.
    """
    children = [c for c in pre if isinstance(c.tag, str)]
    holder = pre
    if (
        len(children) == 1
        and local(children[0]) == "code"
        and not (pre.text or "").strip()
        and not (children[0].tail or "").strip()
    ):
        holder = children[0]  # <pre><code>: whitespace around <code> is indentation
    classes = f"{holder.get('class') or ''} {pre.get('class') or ''}".split()
    language = next((c.removeprefix("language-") for c in classes if c.startswith("language-")), "")
    code = "".join(holder.itertext()).replace("\r\n", "\n")
    code = code.removeprefix("\n")
    lines = code.removesuffix("\n").split("\n") if code else []
    return "\n".join([f"```{language}", *lines, "```"])


def _list(element: etree._Element, skip: frozenset[str]) -> list[str]:
    ordered = local(element) == "ol"
    start = element.get("start", "1").strip() if ordered else "1"
    number = int(start) if start.isdigit() else 1
    lines: list[str] = []
    for child in element:
        if local(child) != "li":
            continue
        marker = f"{number}. " if ordered else "- "
        number += 1
        text = "\n".join(to_blocks(child, skip)).split("\n")
        lines.append(f"{marker}{text[0]}".rstrip())
        lines += [f"{' ' * len(marker)}{line}" if line else "" for line in text[1:]]
    return ["\n".join(lines)] if lines else []


def _block(element: etree._Element, skip: frozenset[str]) -> list[str]:
    name = local(element)
    if name == "pre":
        return [_code_block(element)]
    if name in ("ul", "ol"):
        return _list(element, skip)
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


def trailing_newlines(container: etree._Element) -> int:
    """The newlines a ``<?skillgauge-markdown newlines="N"?>`` says the text ended with.

    The instruction is a child of ``container`` or of its ``qti-content-body``.
    """
    holders = [container] + [c for c in container if local(c) == "qti-content-body"]
    for holder in holders:
        for child in holder:
            if isinstance(child, etree._ProcessingInstruction) and child.target == PI_TARGET:
                count = child.get("newlines") or ""
                return int(count) if count.isdigit() and int(count) <= 100 else 0
    return 0


def html_to_markdown(container: etree._Element, skip: frozenset[str] = frozenset()) -> str:
    """Markdown for the content of ``container``, leaving out elements named in ``skip``."""
    text = "\n\n".join(to_blocks(container, skip))
    return text + "\n" * trailing_newlines(container)


# --------------------------------------------------------------------------- Markdown -> XHTML

_INLINE = re.compile(r"`([^`]+)`|\*\*([^*]+)\*\*|\*([^*\s](?:[^*]*[^*\s])?)\*")
_BULLET = re.compile(r"- (?=\S)")
_NUMBER = re.compile(r"(0|[1-9]\d{0,8})\. (?=\S)")


#: Characters XML 1.0 cannot hold (C0 controls but tab, newline and return; U+FFFE, U+FFFF).
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def xml_safe(text: str) -> str:
    """``text`` without the characters XML cannot hold (see :data:`NOT_XML`)."""
    return NOT_XML.sub("", text)


def _append_text(parent: etree._Element, text: str) -> None:
    text = xml_safe(text)
    if len(parent):
        last = parent[-1]
        last.tail = (last.tail or "") + text
    else:
        parent.text = (parent.text or "") + text


def _append_lines(parent: etree._Element, text: str, ns: str) -> None:
    for index, line in enumerate(text.split("\n")):
        if index:
            etree.SubElement(parent, f"{{{ns}}}br")
        _append_text(parent, line)


def _append_inline(parent: etree._Element, text: str, ns: str) -> None:
    """Inline Markdown as XHTML; spans may cross lines, every newline becomes ``<br/>``."""
    position = 0
    for match in _INLINE.finditer(text):
        _append_lines(parent, text[position : match.start()], ns)
        code, strong, em = match.groups()
        tag = "code" if code is not None else "strong" if strong is not None else "em"
        child = etree.SubElement(parent, f"{{{ns}}}{tag}")
        _append_lines(child, code if code is not None else strong if strong is not None else em, ns)
        position = match.end()
    _append_lines(parent, text[position:], ns)


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


def list_items(block: str) -> tuple[str, int, list[str]] | None:
    """Parse a list block: ``("ul" | "ol", start, item texts)``, or None if it is not one.

    Every line starts an item (``- `` or ``N. `` with consecutive numbers) or continues the
    previous one, indented by exactly the width of that item's marker; an item's lines are
    joined by newlines.
    """
    kind = ""
    start = 0
    items: list[list[str]] = []
    width = 0
    for line in block.split("\n"):
        bullet = _BULLET.match(line)
        number = _NUMBER.match(line)
        if bullet or number:
            marker = bullet or number
            assert marker is not None
            this = "ul" if bullet else "ol"
            if kind and this != kind:
                return None
            if number is not None:
                value = int(number.group(1))
                if not items:
                    start = value
                elif value != start + len(items):
                    return None
            kind = this
            width = marker.end()
            items.append([line[width:]])
        elif items and line.startswith(" " * width) and line[width : width + 1].strip():
            items[-1].append(line[width:])
        else:
            return None
    return (kind, start, ["\n".join(lines) for lines in items]) if items else None


def _append_block(parent: etree._Element, block: str, ns: str) -> None:
    lines = block.split("\n")
    parsed = list_items(block)
    if block.startswith("```"):
        pre = etree.SubElement(parent, f"{{{ns}}}pre")
        code = etree.SubElement(pre, f"{{{ns}}}code")
        language = lines[0][3:].strip()
        if language:
            code.set("class", xml_safe(f"language-{language}"))
        body = lines[1:-1] if lines[-1].startswith("```") and len(lines) > 1 else lines[1:]
        text = "".join(f"{line}\n" for line in body)
        # As HTML does, a newline right after <pre> is dropped when read: write one more.
        code.text = xml_safe(f"\n{text}" if text.startswith("\n") else text)
    elif parsed is not None:
        kind, start, items = parsed
        holder = etree.SubElement(parent, f"{{{ns}}}{kind}")
        if kind == "ol" and start != 1:
            holder.set("start", str(start))
        for item in items:
            _append_inline(etree.SubElement(holder, f"{{{ns}}}li"), item, ns)
    elif re.match(r"#{1,6} ", block) and len(lines) == 1:
        level = len(block) - len(block.lstrip("#"))
        _append_inline(etree.SubElement(parent, f"{{{ns}}}h{level}"), block[level + 1 :], ns)
    else:
        _append_inline(etree.SubElement(parent, f"{{{ns}}}p"), block, ns)


def append_markdown(parent: etree._Element, text: str, ns: str, *, inline: bool = False) -> None:
    """Append ``text`` (Markdown) to ``parent`` as XHTML in namespace ``ns``.

    With ``inline``, a single paragraph is written as inline content (for choices and inline
    feedback); more than one block is always written as blocks (see :func:`is_inline`).
    Newlines ending the text are kept in a processing instruction (see the module docstring).
    """
    body = text.rstrip("\n")
    blocks = markdown_blocks(body)
    if inline and is_inline(body):
        _append_inline(parent, blocks[0] if blocks else "", ns)
    else:
        for block in blocks:
            _append_block(parent, block, ns)
    if len(text) > len(body):
        parent.append(etree.ProcessingInstruction(PI_TARGET, f'newlines="{len(text) - len(body)}"'))


def is_inline(text: str) -> bool:
    """Whether ``text`` is at most one plain paragraph, which XHTML can hold inline."""
    blocks = markdown_blocks(text.rstrip("\n"))
    return len(blocks) <= 1 and not (
        blocks
        and (
            blocks[0].startswith("```")
            or list_items(blocks[0]) is not None
            or re.match(r"#{1,6} ", blocks[0]) is not None
        )
    )


def round_trip(text: str, *, inline: bool = False) -> str:
    """``text`` written as XHTML (indented, as the QTI exporter writes) and read back."""
    holder = etree.Element("{http://www.w3.org/1999/xhtml}div")
    append_markdown(holder, text, "http://www.w3.org/1999/xhtml", inline=inline)
    written = etree.tostring(etree.ElementTree(holder), encoding="UTF-8", pretty_print=True)
    return html_to_markdown(etree.fromstring(written, parser=hardened_parser()))


def survives(text: str, *, inline: bool = False) -> bool:
    """Whether ``text`` comes back unchanged from XHTML (see the module docstring)."""
    return round_trip(text, inline=inline) == text


def markdown_loss(text: str, *, inline: bool = False) -> str:
    """Say where ``text`` changes through XHTML: the first difference, with context."""
    back = round_trip(text, inline=inline)
    at = next(
        (i for i, (a, b) in enumerate(zip(text, back, strict=False)) if a != b),
        min(len(text), len(back)),
    )
    start = max(0, at - 15)
    line = text.count("\n", 0, at) + 1
    return (
        f"line {line}: {text[start : at + 15]!r} reads back as {back[start : at + 15]!r} "
        "(whitespace XHTML collapses, or Markdown outside the subset QTI text keeps)"
    )
