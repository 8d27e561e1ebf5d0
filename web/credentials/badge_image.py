"""The badge image drawn for an achievement that has no image of its own (SVG, no I/O)."""

from __future__ import annotations

import hashlib
from xml.sax.saxutils import escape


def badge_svg(name: str) -> str:
    """A round badge with the achievement's initials; its colour comes from the name."""
    words = [w for w in name.split() if w[:1].isalnum()]
    initials = "".join(w[0] for w in words[:3]).upper() or "SG"
    hue = int(hashlib.sha256(name.encode("utf-8")).hexdigest()[:4], 16) % 360
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 200" width="200" '
        f'height="200" role="img" aria-label="{escape(name, {chr(34): "&quot;"})}">'
        f'<circle cx="100" cy="100" r="96" fill="hsl({hue},55%,28%)"/>'
        '<circle cx="100" cy="100" r="80" fill="none" stroke="#fff" stroke-width="4"/>'
        '<text x="100" y="116" font-family="system-ui,sans-serif" font-size="52" '
        f'font-weight="700" fill="#fff" text-anchor="middle">{escape(initials)}</text></svg>'
    )
