"""Issue 14's pages in a real browser: integrity evidence, held awards, the learner's notice.

Every new page at 320, 390 and 1280 px: no sideways scrolling, axe-core WCAG 2.2 AA clean.
A held award is released by keyboard alone with script off (the forms are plain HTML).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from playwright.sync_api import Browser, Page

from tests.browser.conftest import check_accessibility
from tests.browser.test_learner_browser import tab_to
from tests.browser.test_phone_browser import FITS, OVERFLOWING, WIDTHS, signed_in
from tests.credentials.helpers import take
from tests.server import ServerProcess
from web.demo import DEMO_ACHIEVEMENT, DEMO_POLICY
from web.pseudonyms import person_id

pytestmark = pytest.mark.browser


def held_assessment(server: ServerProcess, action: str) -> str:
    """An assessment like the demo whose "too fast to read" check has ``action``."""
    auth = {"Authorization": f"Bearer {server.author_token}"}
    policy = msgspec.to_builtins(DEMO_POLICY)
    policy["integrity"] = {"too_fast_to_read": {"action": action}}
    with httpx.Client(base_url=server.base_url, headers=auth, timeout=30) as api:
        bank = api.get("/api/v1/author/banks").json()[0]["hash"]
        created = api.post(
            "/api/v1/author/assessments",
            json={"title": f"Held ({action})", "bank_hash": bank, "policy": policy},
        )
        assert created.status_code == 201, created.text
        assessment = str(created.json()["id"])
        saved = api.put(
            f"/api/v1/author/assessments/{assessment}/achievement",
            json=msgspec.to_builtins(DEMO_ACHIEVEMENT),
        )
        assert saved.status_code == 200, saved.text
    return assessment


def secret_of(server: ServerProcess) -> str:
    """The server's secret key (the person id is derived from it)."""
    given = server.env.get("SKILLGAUGE_SECRET_KEY")
    if given:
        return given
    return (Path(server.env["SKILLGAUGE_DATA_DIR"]) / "secret_key").read_text().strip()


@pytest.fixture(scope="module")
def held(server: ServerProcess) -> dict[str, Any]:
    """Two held sessions (one to release, one to refuse) and one withheld."""
    out: dict[str, Any] = {}
    with httpx.Client(base_url=server.base_url, timeout=30) as api:
        out["assessment"] = held_assessment(server, "hold")
        out["sessions"] = [take(api, out["assessment"], seed=s)["id"] for s in (1, 2)]
        withheld = held_assessment(server, "refuse")
        out["withheld"] = take(api, withheld)["id"]
    secret = secret_of(server)
    out["people"] = [person_id(secret, s) for s in out["sessions"]]
    return out


@pytest.mark.parametrize("width", WIDTHS)
def test_integrity_pages_fit_and_pass_axe(
    browser: Browser, server: ServerProcess, held: dict[str, Any], width: int
) -> None:
    assessment = held["assessment"]
    pages = {
        "author-integrity": f"/author/assessments/{assessment}/integrity",
        "author-session-integrity": f"/author/assessments/{assessment}/integrity/"
        f"{held['people'][0]}",
        "report-held": f"/s/{held['sessions'][0]}/result",
        "report-withheld": f"/s/{held['withheld']}/result",
    }
    context = signed_in(browser, server, viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        for name, path in pages.items():
            response = page.goto(server.base_url + path)
            assert response is not None and response.status == 200, (name, path)
            assert page.evaluate(FITS), (name, width, page.evaluate(OVERFLOWING))
            check_accessibility(page, f"{width}px-{name}")
    finally:
        context.close()


def test_release_and_refuse_by_keyboard_without_script(
    browser: Browser, server: ServerProcess, held: dict[str, Any]
) -> None:
    context = signed_in(browser, server, java_script_enabled=False)
    page: Page = context.new_page()
    assessment = held["assessment"]
    try:
        release, refuse = held["people"]
        page.goto(f"{server.base_url}/author/assessments/{assessment}/integrity/{release}")
        tab_to(page, "el.tagName === 'BUTTON' && el.textContent.includes('Release')")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "Released" in page.content() and "the credential" in page.content()
        learner = context.new_page()
        learner.goto(f"{server.base_url}/s/{held['sessions'][0]}/result")
        assert learner.get_by_text("You earned a credential").count() == 1
        page.goto(f"{server.base_url}/author/assessments/{assessment}/integrity/{refuse}")
        tab_to(page, "el.id === 'note'")
        page.keyboard.type("Answers far faster than reading.")
        tab_to(page, "el.tagName === 'BUTTON' && el.textContent.includes('Refuse')")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "Refused" in page.content()
        learner.goto(f"{server.base_url}/s/{held['sessions'][1]}/result")
        assert learner.get_by_text("No credential for this result").count() == 1
    finally:
        context.close()
