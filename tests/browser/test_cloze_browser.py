"""Composite questions in Chromium: every field answered by keyboard, axe at 320/390/1280 px.

One item is a code cloze (a blank and an inline choice inside a code block, a number in the
sentence after it); the other holds a gap match, an associate, a hot text, a hotspot (an
image with numbered areas over it, answered by radio buttons labelled by the areas) and a
graphic gap match (labels put on an image's numbered areas, one select per area). At each
width a learner tabs to every control, types or picks with the arrow keys and the space bar, and
submits with Enter; the question and the feedback page must fit the screen and pass
axe-core's WCAG 2.2 AA rules. A second run without JavaScript answers the same way.
"""

from __future__ import annotations

import base64
import json
import struct
import zlib

import httpx
import pytest
from playwright.sync_api import Browser, Page

from tests.browser.conftest import check_accessibility
from tests.browser.test_learner_browser import tab_to
from tests.browser.test_phone_browser import FITS, OVERFLOWING
from tests.item_banks.helpers import raw_bank
from tests.server import ServerProcess

pytestmark = pytest.mark.browser

WIDTHS = (320, 390, 1280)
#: The answer form's visible controls.
CONTROLS = "form.answer input:not([type=hidden]), form.answer select"


def png(width: int, height: int) -> str:
    """A plain light grey PNG of the hotspot's size as a data: address (the page's CSP allows
    data: images; a native bank cannot carry media files)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xdd" * width for _ in range(height))
    data = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
    return "data:image/png;base64," + base64.b64encode(data).decode()


PIXEL = png(300, 120)


def options(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"id": i, "text": t, "rationale": f"About {t}."} for i, t in pairs]


def cloze_bank() -> bytes:
    raw = raw_bank(0)
    raw["items"] = [
        {
            "id": "code-cloze",
            "competency": "c1",
            "stem": "Complete the loop that adds up 0, 1 and 2.\n\n```python\ntotal = 0\n"
            "for x in {{loop}}(3):\n    total {{op}} x\n```\n\nAfterwards `total` is {{total}}.",
            "interaction": {
                "type": "composite",
                "fields": [
                    {
                        "id": "loop",
                        "interaction": {"type": "short_text", "key": ["range"]},
                        "rationale": "`range(3)` yields 0, 1 and 2.",
                    },
                    {
                        "id": "op",
                        "interaction": {
                            "type": "inline_choice",
                            "options": options(("add", "+="), ("set", "=")),
                            "key": "add",
                        },
                    },
                    {"id": "total", "interaction": {"type": "numeric", "key": 3}},
                ],
            },
            "solution": "0 + 1 + 2 = 3.",
            "irt": {"model": "gpcm", "a": 1.0, "thresholds": [-1.0, 0.0, 1.0]},
        },
        {
            "id": "blocks",
            "competency": "c1",
            "stem": "Python's containers.\n\n{{gaps}}\n\n{{pairs}}\n\n{{hot}}\n\n"
            "{{spot}}\n\n{{tags}}",
            "interaction": {
                "type": "composite",
                "fields": [
                    {
                        "id": "gaps",
                        "label": "Fill the gaps",
                        "interaction": {
                            "type": "gap_match",
                            "text": "A {{G1}} maps keys to values; a {{G2}} keeps items in order.",
                            "sources": options(("dict", "dict"), ("list", "list"), ("set", "set")),
                            "targets": [
                                {"id": "G1", "text": "gap 1"},
                                {"id": "G2", "text": "gap 2"},
                            ],
                            "key": [
                                {"source": "dict", "target": "G1"},
                                {"source": "list", "target": "G2"},
                            ],
                        },
                    },
                    {
                        "id": "pairs",
                        "label": "Pair each type with its literal",
                        "interaction": {
                            "type": "associate",
                            "options": options(
                                ("t", "tuple"), ("p", "(1, 2)"), ("d", "dict"), ("b", "{1: 2}")
                            ),
                            "key": [
                                {"source": "t", "target": "p"},
                                {"source": "d", "target": "b"},
                            ],
                        },
                    },
                    {
                        "id": "hot",
                        "label": "Find the mistake",
                        "interaction": {
                            "type": "hot_text",
                            "text": "To copy a list write {{h1}} or {{h2}}.",
                            "options": options(("h1", "new = old"), ("h2", "new = old.copy()")),
                            "key": ["h1"],
                            "max_choices": 1,
                        },
                    },
                    {
                        "id": "spot",
                        "label": "Find the list on the diagram",
                        "interaction": {
                            "type": "hotspot",
                            "image": f"![A diagram of three boxes: a, b and c]({PIXEL})",
                            "width": 300,
                            "height": 120,
                            "options": options(
                                ("sa", "Left box"), ("sb", "Middle box"), ("sc", "Right box")
                            ),
                            "areas": [
                                {"id": "sa", "shape": "rect", "coords": [10, 20, 90, 100]},
                                {"id": "sb", "shape": "circle", "coords": [150, 60, 40]},
                                {
                                    "id": "sc",
                                    "shape": "poly",
                                    "coords": [210, 20, 290, 20, 250, 100],
                                },
                            ],
                            "key": ["sb"],
                            "max_choices": 1,
                        },
                    },
                    {
                        "id": "tags",
                        "label": "Label the diagram",
                        "interaction": {
                            "type": "graphic_gap_match",
                            "image": f"![Two boxes joined by an arrow]({PIXEL})",
                            "width": 300,
                            "height": 120,
                            "sources": options(
                                ("key", "key"), ("value", "value"), ("index", "index")
                            ),
                            "targets": [
                                {"id": "tl", "text": "Box the arrow leaves"},
                                {"id": "tr", "text": "Box the arrow reaches"},
                            ],
                            "areas": [
                                {"id": "tl", "shape": "rect", "coords": [10, 20, 110, 100]},
                                {"id": "tr", "shape": "ellipse", "coords": [230, 60, 60, 40]},
                            ],
                            "key": [
                                {"source": "key", "target": "tl"},
                                {"source": "value", "target": "tr"},
                            ],
                        },
                    },
                ],
            },
            "irt": {"model": "gpcm", "a": 1.0, "thresholds": [-1.0, 0.0, 1.0]},
        },
    ]
    return json.dumps(raw).encode()


@pytest.fixture(scope="module")
def assessment_url(server: ServerProcess) -> str:
    auth = {"Authorization": f"Bearer {server.author_token}"}
    with httpx.Client(base_url=server.base_url, timeout=30) as api:
        bank = api.post(
            "/api/v1/author/banks?filename=cloze.json", content=cloze_bank(), headers=auth
        )
        assert bank.status_code == 201, bank.text
        created = api.post(
            "/api/v1/author/assessments",
            json={
                "title": "Cloze",
                "bank_hash": bank.json()["hash"],
                "policy": {"stopping": {"rule": "fixed_length", "n": 2}},
            },
            headers=auth,
        )
        assert created.status_code == 201, created.text
    return f"{server.base_url}/a/{created.json()['id']}"


def focus(page: Page, name: str, attribute: str = "name") -> None:
    """Tab until the control whose ``attribute`` is ``name`` has the keyboard focus."""
    tab_to(page, f"el.getAttribute({json.dumps(attribute)}) === {json.dumps(name)}")


def pick(page: Page, name: str, text: str) -> None:
    """Tab to a select and press ArrowDown until it shows ``text`` (keyboard only)."""
    focus(page, name)
    for _ in range(12):
        shown = page.evaluate("document.activeElement.selectedOptions[0].text")
        if shown == text:
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"{name}: {text!r} never selected by keyboard")


def answer_by_keyboard(page: Page, item_id: str) -> None:
    if item_id == "code-cloze":
        focus(page, "f:loop")
        page.keyboard.type("range")
        pick(page, "f:op", "+=")
        focus(page, "f:total")
        page.keyboard.type("3")
        return
    gaps = page.locator("select[name^='f:gaps:gap:']").all()
    pick(page, str(gaps[0].get_attribute("name")), "dict")
    pick(page, str(gaps[1].get_attribute("name")), "list")
    pick(page, "f:pairs:pair:1:a", "tuple")
    pick(page, "f:pairs:pair:1:b", "(1, 2)")
    pick(page, "f:pairs:pair:2:a", "{1: 2}")
    pick(page, "f:pairs:pair:2:b", "dict")
    radio = page.get_by_label("new = old", exact=True)
    focus(page, str(radio.get_attribute("id")), "id")
    page.keyboard.press("Space")
    assert radio.is_checked()
    assert page.locator(".hotspot-marks text").all_text_contents() == ["1", "2", "3", "1", "2"]
    assert page.locator(".hotspot-figure img").first.get_attribute("alt") == (
        "A diagram of three boxes: a, b and c"
    )
    first = page.get_by_label("Area 1: Left box", exact=True)
    focus(page, str(first.get_attribute("id")), "id")  # Tab reaches the group, arrows move
    page.keyboard.press("ArrowDown")
    assert page.get_by_label("Area 2: Middle box", exact=True).is_checked()
    for label, text in (
        ("Area 1: Box the arrow leaves", "key"),
        ("Area 2: Box the arrow reaches", "value"),
    ):
        pick(page, str(page.get_by_label(label, exact=True).get_attribute("name")), text)


def run_through(page: Page, url: str, width: int, tag: str, *, script: bool = True) -> None:
    """Start, answer both questions by keyboard, check each page (axe needs script)."""
    page.goto(url)
    tab_to(page, "el.tagName === 'BUTTON' && el.textContent.includes('Start the assessment')")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    for number in (1, 2):
        page.wait_for_selector(f"h1:has-text('Question {number}')")
        item_id = page.locator("input[name=item_id]").input_value()
        assert page.evaluate(FITS), (width, page.evaluate(OVERFLOWING))
        # every control has an accessible name
        unnamed = page.evaluate(
            """() => [...document.querySelectorAll(CONTROLS)]
                 .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
                 .map(e => e.name)""".replace("CONTROLS", json.dumps(CONTROLS))
        )
        assert unnamed == [], unnamed
        if script:
            check_accessibility(page, f"{tag}-{width}px-{item_id}")
        answer_by_keyboard(page, item_id)
        tab_to(page, "el.tagName === 'BUTTON' && el.textContent.includes('Submit answer')")
        page.keyboard.press("Enter")
        page.wait_for_selector("#verdict")
        assert "Right" in page.locator("#verdict").inner_text(), item_id
        if script:
            check_accessibility(page, f"{tag}-{width}px-{item_id}-feedback")
        if number == 1:
            tab_to(page, "el.tagName === 'A' && el.textContent.includes('Next question')")
            with page.expect_navigation():
                page.keyboard.press("Enter")


@pytest.mark.parametrize("width", WIDTHS)
def test_composite_questions_by_keyboard_at_every_width(
    browser: Browser, assessment_url: str, width: int
) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900})
    context.set_default_timeout(15_000)
    try:
        run_through(context.new_page(), assessment_url, width, "cloze")
    finally:
        context.close()


def test_composite_questions_without_javascript(browser: Browser, assessment_url: str) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 900}, java_script_enabled=False)
    context.set_default_timeout(15_000)
    try:
        run_through(context.new_page(), assessment_url, 390, "cloze-nojs", script=False)
    finally:
        context.close()
