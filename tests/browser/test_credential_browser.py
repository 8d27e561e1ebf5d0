"""The credential page, the verification page and the author's credential and webhook pages
in chromium: axe-core WCAG 2.2 AA, and the main tasks done with the keyboard only."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page

from tests.browser.conftest import check_accessibility
from tests.browser.test_author_browser import sign_in
from tests.browser.test_learner_browser import tab_to
from tests.browser.test_verify_browser import newest_link
from tests.credentials.helpers import answer_all
from tests.server import ServerProcess

pytestmark = pytest.mark.browser


def earn(server: ServerProcess) -> str:
    """Pass the demo through the API, confirming the email first; return the credential's URL.

    The credential names only learners who confirmed their email: the link is read from the
    server's file outbox and used like a learner would (its page's button, a POST).
    """
    assessment = server.assessment_url.rsplit("/", 1)[1]
    with httpx.Client(base_url=server.base_url, timeout=15) as client:
        started = client.post(
            f"/api/v1/assessments/{assessment}/sessions",
            json={"name": "Grace Hopper", "email": "grace@example.org"},
        ).json()
        link = newest_link(server, "email")
        csrf = client.get(link).cookies["skillgauge_csrf"]
        used = client.post(link, data={"_csrf_token": csrf})
        assert used.status_code in (200, 303), used.text
        view = answer_all(client, started)
    assert view["credential_url"], view
    return str(view["credential_url"])


def test_credential_page_and_verification_by_keyboard(
    page: Page, server: ServerProcess, tmp_path: Path
) -> None:
    url = earn(server)
    page.goto(url)
    page.wait_for_selector("h1")
    assert "Grace Hopper" in page.locator("main").inner_text()
    assert page.locator("#verification-heading").inner_text() == "Verified"
    check_accessibility(page, "credential-page")
    page.get_by_role("link", name="See the assessment summary (evidence)").click()
    assert page.locator("h1").inner_text() == "Assessment summary"
    assert "Grace Hopper" in page.locator("main").inner_text()
    check_accessibility(page, "credential-evidence")
    page.go_back()
    page.wait_for_selector("#verification-heading")
    tab_to(page, "el.tagName === 'BUTTON' && el.dataset.copy === 'share-link'")
    tab_to(page, "el.tagName === 'A' && el.href.includes('linkedin.com/profile/add')")
    linkedin = page.evaluate("document.activeElement.href")
    assert "certUrl=" in linkedin and "CERTIFICATION_NAME" in linkedin
    tab_to(page, "el.tagName === 'A' && el.href.endsWith('/credential.json')")
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    saved = tmp_path / "credential.json"
    download.value.save_as(saved)
    document = json.loads(saved.read_text())
    assert document["id"] == url

    # An employer pastes the URL on the verification page, using the keyboard only.
    page.goto(server.base_url + "/verify")
    check_accessibility(page, "verify-form")
    tab_to(page, "el.id === 'url'")
    page.keyboard.type(url)
    tab_to(page, "el.tagName === 'BUTTON' && el.type === 'submit'")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("#verification-heading").inner_text() == "Verified"
    assert "Grace Hopper" in page.locator(".facts").inner_text()
    check_accessibility(page, "verify-verified")

    # Or uploads the file; a tampered one is refused with the reason.
    document["credentialSubject"]["result"][0]["value"] = "9.99"
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(document))
    page.goto(server.base_url + "/verify")
    page.set_input_files("#file", str(tampered))
    with page.expect_navigation():
        page.get_by_role("button", name="Verify").click()
    assert page.locator("#verification-heading").inner_text() == "Not verified"
    assert "changed after signing" in page.locator(".verification").inner_text()
    check_accessibility(page, "verify-tampered")

    # A URL of another site is refused in plain words, nothing fetched.
    page.goto(server.base_url + "/verify")
    page.get_by_label("Credential address").fill("https://elsewhere.example/credentials/x")
    with page.expect_navigation():
        page.get_by_role("button", name="Verify").click()
    assert "checks only credentials it issued" in page.locator("[role=alert]").inner_text()
    check_accessibility(page, "verify-error")


def test_author_credential_and_webhook_pages(page: Page, server: ServerProcess) -> None:
    url = earn(server)
    sign_in(page, server)
    page.goto(server.base_url + "/author")
    page.get_by_role("link", name="Python for data analysis").first.click()
    page.get_by_role("link", name="Credential: achievement, issued credentials, revocation").click()
    page.wait_for_selector("h1")
    check_accessibility(page, "author-credential")
    page.get_by_label("Reason for revoking").first.fill("issued in error")
    with page.expect_navigation():
        page.get_by_role("button", name="Revoke").first.click()
    assert "revoked" in page.locator("table").inner_text()
    page.goto(url)
    assert page.locator("#verification-heading").inner_text() == "Revoked"

    page.goto(server.base_url + "/author/webhooks")
    check_accessibility(page, "author-webhooks")
    page.get_by_label("URL").fill("https://hooks.example.org/skillgauge")
    with page.expect_navigation():
        page.get_by_role("button", name="Add the endpoint").click()
    secret = page.locator("#secret").input_value()
    assert secret.startswith("whsec_")
    check_accessibility(page, "author-webhook-created")
    page.get_by_role("link", name="https://hooks.example.org/skillgauge").click()
    page.wait_for_selector("h1")
    check_accessibility(page, "author-webhook")
    page.goto(server.base_url + "/author/webhooks")
    assert secret not in page.content()  # shown once only
