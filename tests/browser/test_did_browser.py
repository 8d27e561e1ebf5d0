"""DID control in a real browser: the page at 320, 390 and 1280 px, axe-clean, and the proof
pasted by keyboard alone with script off."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page

from tests.browser.conftest import check_accessibility
from tests.browser.test_learner_browser import tab_to
from tests.browser.test_phone_browser import FITS, OVERFLOWING, WIDTHS
from tests.browser.test_verify_browser import held_assessment
from tests.credentials.helpers import take
from tests.server import ServerProcess
from tests.verify.did_helpers import PrivateKey, did_for, new_key, sign

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def learners(server: ServerProcess) -> dict[str, Any]:
    """Finished sessions with a did:key (one on a verified-only assessment) and a did:web."""
    demo = server.assessment_url.rstrip("/").rsplit("/", 1)[-1]
    keys: dict[str, PrivateKey] = {
        "demo": new_key("Ed25519"),
        "waiting": new_key("P-256"),
        "proven": new_key("Ed25519"),
    }
    out: dict[str, Any] = {"keys": keys}
    with httpx.Client(base_url=server.base_url, timeout=30) as api:
        out["demo"] = take(api, demo, email=None, did=did_for(keys["demo"]))["id"]
        out["proven"] = take(api, demo, email=None, did=did_for(keys["proven"]))["id"]
        asked = api.post(f"/api/v1/sessions/{out['proven']}/did/challenge").json()
        proof = {"jws": sign(asked, keys["proven"])}
        proved = api.post(f"/api/v1/sessions/{out['proven']}/did/proof", json=proof)
        assert proved.status_code == 200, proved.text
        waiting = held_assessment(server, "none", require_verified_email=True)
        out["waiting"] = take(api, waiting, email=None, did=did_for(keys["waiting"]))["id"]
        out["web"] = take(api, demo, email=None, did="did:web:example.org")["id"]
    return out


def read_challenge(page: Page, did: str) -> dict[str, str]:
    payload = page.locator("pre.signable").nth(1).inner_text()
    found = {k: re.search(rf'"{k}": "([^"]+)"', payload) for k in ("nonce", "aud", "sub")}
    values = {k: m.group(1) for k, m in found.items() if m is not None}
    assert len(values) == 3, payload
    return {**values, "kid": f"{did}#{did.removeprefix('did:key:')}"}


@pytest.mark.parametrize("width", WIDTHS)
def test_did_pages_fit_and_pass_axe(
    browser: Browser, server: ServerProcess, learners: dict[str, Any], width: int
) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()

    def check(name: str) -> None:
        assert page.evaluate(FITS), (name, width, page.evaluate(OVERFLOWING))
        check_accessibility(page, f"{width}px-{name}")

    try:
        pages = (("did-unsupported", "web"), ("did-proven", "proven"), ("did-start", "demo"))
        for name, session in pages:
            response = page.goto(f"{server.base_url}/s/{learners[session]}/did")
            assert response is not None and response.status == 200
            check(name)
        page.goto(f"{server.base_url}/s/{learners['waiting']}/result")
        assert page.get_by_role("link", name="prove you control your DID").count() == 1
        check("report-awaiting-did")
        page.goto(f"{server.base_url}/s/{learners['demo']}/did")
        with page.expect_navigation():
            page.get_by_role("button", name="Show me a challenge to sign").click()
        check("did-challenge")
        page.get_by_label("The signed challenge").fill("not a jws")
        with page.expect_navigation():
            page.get_by_role("button", name="Check my signature").click()
        assert page.get_by_text("jws: not a compact JWS").count() == 1
        check("did-refused")
    finally:
        context.close()


def test_prove_by_keyboard_without_script(
    browser: Browser, server: ServerProcess, learners: dict[str, Any]
) -> None:
    """Show a challenge, paste the signed JWS, and the waiting credential is issued."""
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    context.set_default_timeout(15_000)
    page = context.new_page()
    key = learners["keys"]["waiting"]
    did = did_for(key)
    try:
        page.goto(f"{server.base_url}/s/{learners['waiting']}/did")
        tab_to(page, "el.tagName === 'BUTTON' && el.textContent.includes('Show me a challenge')")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        token = sign(read_challenge(page, did), key)
        tab_to(page, "el.id === 'jws'")
        page.keyboard.insert_text(token)
        tab_to(page, "el.tagName === 'BUTTON' && el.textContent.includes('Check my signature')")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.get_by_text("You proved control of").count() == 1
        page.goto(f"{server.base_url}/s/{learners['waiting']}/result")
        assert page.get_by_text("You earned a credential").count() == 1
    finally:
        context.close()
