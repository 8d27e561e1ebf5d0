"""Issue 14's pages in a real browser: integrity evidence, held awards, the learner's notice.

Every new page at 320, 390 and 1280 px: no sideways scrolling, axe-core WCAG 2.2 AA clean.
A held award is released by keyboard alone with script off (the forms are plain HTML).
"""

from __future__ import annotations

import re
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


def held_assessment(server: ServerProcess, action: str, **achievement: Any) -> str:
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
            json={**msgspec.to_builtins(DEMO_ACHIEVEMENT), **achievement},
        )
        assert saved.status_code == 200, saved.text
    return assessment


def secret_of(server: ServerProcess) -> str:
    """The server's secret key (the person id is derived from it)."""
    given = server.env.get("SKILLGAUGE_SECRET_KEY")
    if given:
        return given
    return (Path(server.env["SKILLGAUGE_DATA_DIR"]) / "secret_key").read_text().strip()


def newest_link(server: ServerProcess, kind: str) -> str:
    """The path of the newest ``/email/`` or ``/me/`` link in the server's file outbox."""
    outbox = Path(server.env["SKILLGAUGE_DATA_DIR"]) / "outbox"
    for mail in sorted(outbox.glob("*.eml"), reverse=True):
        found = re.search(rf"/{kind}/[A-Za-z0-9_-]+", mail.read_text())
        if found:
            return found.group(0)
    raise AssertionError(f"no /{kind}/ link in {outbox}")


@pytest.fixture(scope="module")
def held(server: ServerProcess) -> dict[str, Any]:
    """Two held sessions (one to release, one to refuse) and one withheld."""
    out: dict[str, Any] = {}
    with httpx.Client(base_url=server.base_url, timeout=30) as api:
        out["assessment"] = held_assessment(server, "hold")
        out["sessions"] = [take(api, out["assessment"], seed=s)["id"] for s in (1, 2)]
        withheld = held_assessment(server, "refuse")
        out["withheld"] = take(api, withheld)["id"]
        out["verify_link"] = newest_link(server, "email")
        waiting = held_assessment(server, "none", require_verified_email=True)
        out["awaiting"] = take(api, waiting, email="grace@example.org")["id"]
        csrf = api.get("/me").cookies["skillgauge_csrf"]
        sent = api.post("/me", data={"email": "ada@example.org", "_csrf_token": csrf})
        assert sent.status_code == 200
    out["results_link"] = newest_link(server, "me")
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
        "author-items": f"/author/assessments/{assessment}/items",
        "report-held": f"/s/{held['sessions'][0]}/result",
        "report-withheld": f"/s/{held['withheld']}/result",
        "report-awaiting-email": f"/s/{held['awaiting']}/result",
        "email-confirm": held["verify_link"],
        "results-confirm": held["results_link"],
        "results-request": "/me",
        "link-unknown": "/email/no-such-link",
    }
    context = signed_in(browser, server, viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        for name, path in pages.items():
            response = page.goto(server.base_url + path)
            expected = 404 if name == "link-unknown" else 200
            assert response is not None and response.status == expected, (name, path)
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


def test_results_link_by_keyboard_without_script(
    browser: Browser, server: ServerProcess, held: dict[str, Any]
) -> None:
    """Ask for a link, open it, list the sessions; the used link then says so."""
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto(server.base_url + "/me")
        tab_to(page, "el.id === 'email'")
        page.keyboard.type("ada@example.org")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.get_by_text("a link to them is on its way").count() == 1
        link = newest_link(server, "me")
        page.goto(server.base_url + link)
        tab_to(page, "el.tagName === 'BUTTON' && el.textContent.includes('Show my results')")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.get_by_role("link", name="your report").count() >= 1
        response = page.goto(server.base_url + link)
        assert response is not None and response.status == 410
        assert page.get_by_text("This link was already used").count() == 1
    finally:
        context.close()


def test_results_pages_after_a_post_fit_and_pass_axe(
    browser: Browser, server: ServerProcess
) -> None:
    """The pages only a POST shows: the link sent, the list of results, a used link."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()

    def every_width(name: str) -> None:
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            assert page.evaluate(FITS), (name, width, page.evaluate(OVERFLOWING))
            check_accessibility(page, f"{width}px-{name}")

    try:
        page.goto(server.base_url + "/me")
        page.get_by_label("Your email").fill("ada@example.org")
        with page.expect_navigation():
            page.get_by_role("button", name="Send me a link").click()
        every_width("results-sent")
        link = newest_link(server, "me")
        page.goto(server.base_url + link)
        with page.expect_navigation():
            page.get_by_role("button", name="Show my results").click()
        assert page.get_by_role("link", name="your report").count() >= 1
        every_width("my-results")
        page.goto(server.base_url + link)
        every_width("link-used")
    finally:
        context.close()
