"""Markdown to HTML for item texts: CommonMark, fenced code, and math as MathML.

Raw HTML in bank texts is escaped, never passed through (banks are uploaded). ``$...$`` and
``$$...$$`` become MathML on the server (latex2mathml), which browsers render natively and
screen readers read, with no script or font fetched.

Code blocks keep their lines (they scroll sideways on a narrow screen rather than wrap) and
take keyboard focus, with a name, so a keyboard user can scroll them too (WCAG 2.1.1; axe's
``scrollable-region-focusable``). Tables sit in a focusable region that scrolls the same
way, so a wide table never widens the page.

An image of a bank audio or video file (``![alt](/media/<sha256> "audio/mpeg")``, as
:func:`web.runtime.with_media_urls` writes it) is drawn as a native ``<audio>`` or
``<video>`` with controls, loading nothing until played and never playing by itself.
"""

from __future__ import annotations

from functools import lru_cache
from html import escape
from typing import Any

import latex2mathml.converter
from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin


def _math(content: str, options: dict[str, Any]) -> str:
    display = "block" if options.get("display_mode") else "inline"
    try:
        mathml = latex2mathml.converter.convert(content, display=display)
    except Exception:
        return f"<code>{escape(content)}</code>"
    return mathml


def _build() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable("table")
    md.use(
        dollarmath_plugin,
        allow_labels=False,
        allow_space=True,
        allow_digits=False,
        double_inline=True,
        renderer=_math,
    )

    def render_link_open(self: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        tokens[idx].attrSet("rel", "noopener noreferrer")
        return str(self.renderToken(tokens, idx, options, env))

    md.add_render_rule("link_open", render_link_open)

    def render_image(self: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        token = tokens[idx]
        src = str(token.attrGet("src") or "")
        kind = str(token.attrGet("title") or "")
        player = kind.split("/", 1)[0]
        if not (src.startswith("/media/") and player in ("audio", "video")):
            return str(self.image(tokens, idx, options, env))
        alt = self.renderInlineAsText(token.children or [], options, env)
        return player_html(player, src, kind, alt)

    md.add_render_rule("image", render_image)
    return md


def player_html(player: str, src: str, kind: str, alt: str) -> str:
    """A native ``<audio>`` or ``<video>`` player: controls, nothing loaded or played first.

    Named by its alt text; the fallback is a link to the file (browsers without the format).
    """
    name, src = escape(alt or player), escape(src)
    return (
        f'<{player} controls preload="none" aria-label="{name}" title="{name}">'
        f'<source src="{src}" type="{escape(kind)}">'
        f'<a href="{src}">{name} ({player})</a></{player}>'
    )


_MD = _build()
#: How a code block opens: focusable (to scroll it by keyboard) and named for screen readers.
CODE_BLOCK = '<pre tabindex="0" role="group" aria-label="Code">'
#: The region a table scrolls in.
TABLE_REGION = '<div class="table-scroll" role="region" aria-label="Table" tabindex="0"><table>'


def _focusable_code(html: str) -> str:
    """Make every ``<pre>`` and ``<table>`` of rendered Markdown scroll in a focusable box.

    Raw HTML is escaped, so a literal ``<pre>`` or ``<table>`` in the output can only be a
    code block's or a Markdown table's.
    """
    html = html.replace("<pre>", CODE_BLOCK)
    return html.replace("<table>", TABLE_REGION).replace("</table>", "</table></div>")


@lru_cache(maxsize=8192)
def render(text: str) -> str:
    """Render block Markdown to HTML (cached: bank texts repeat across learners)."""
    return _focusable_code(str(_MD.render(text)))


@lru_cache(maxsize=8192)
def render_inline(text: str) -> str:
    """Render Markdown without the wrapping paragraph (for option labels)."""
    html = _focusable_code(str(_MD.render(text))).strip()
    if html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1:
        return html[3:-4]
    return html
