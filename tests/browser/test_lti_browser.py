"""The LTI deep-linking pages in chromium (an instructor picking an assessment from the LMS):
axe-core WCAG 2.2 AA at phone and desktop widths, and the choice made with the keyboard."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page

from tests.browser.conftest import check_accessibility
from tests.browser.test_author_browser import sign_in
from tests.browser.test_learner_browser import tab_to
from tests.browser.test_phone_browser import FITS, OVERFLOWING
from tests.lti.simulator import Platform, running_platform
from tests.server import ServerProcess, start_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def lti_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server that may reach the simulator on loopback (as the webhook tests allow)."""
    running = start_server(
        tmp_path_factory.mktemp("lti-server"),
        extra_env={"SKILLGAUGE_WEBHOOK_ALLOW_PRIVATE": "1", "SKILLGAUGE_WEBHOOK_WORKER": "off"},
    )
    yield running
    running.stop()


@pytest.fixture(scope="module")
def platform(lti_server: ServerProcess) -> Iterator[Platform]:
    with running_platform() as running:
        with httpx.Client(base_url=lti_server.base_url, timeout=30) as api:
            reply = api.post(
                "/api/v1/author/lti/platforms",
                json=running.registration(),
                headers={"Authorization": f"Bearer {lti_server.author_token}"},
            )
            assert reply.status_code == 201, reply.text
            running.tool_jwks = api.get("/lti/jwks").json()
        yield running


def deep_link_launch(page: Page, server: ServerProcess, platform: Platform) -> tuple[str, str]:
    """Log in like the LMS does, in the browser (which keeps the state cookie); the signed
    deep-linking id_token and its state."""
    target = server.base_url + "/lti/launch"
    login = httpx.URL(server.base_url + "/lti/login", params=platform.login_params(target, "t-1"))
    page.goto(str(login))  # the tool redirects to the platform's auth URL
    assert page.url.startswith(platform.issuer + "/auth?"), page.url
    return platform.id_token(page.url, platform.deep_linking())


def lms_page(server: ServerProcess, token: str, state: str) -> str:
    """The LMS's auto-post page, played by a local file."""
    return (
        "<!doctype html><html lang='en'><title>LMS</title><form method='post' "
        f"action='{server.base_url}/lti/launch'>"
        f"<input type='hidden' name='id_token' value={json.dumps(token)}>"
        f"<input type='hidden' name='state' value={json.dumps(state)}>"
        "<button>Launch</button></form></html>"
    )


@pytest.mark.parametrize("width", [390, 1280])
def test_deep_linking_pages_pass_axe_and_work_by_keyboard(
    browser: Browser, lti_server: ServerProcess, platform: Platform, width: int, tmp_path: Path
) -> None:
    # The LMS posts the id_token from its own page: a form on a local file plays that page.
    launcher = tmp_path / "lms.html"
    context = browser.new_context(viewport={"width": width, "height": 900})
    try:
        page = context.new_page()
        token, state = deep_link_launch(page, lti_server, platform)
        launcher.write_text(lms_page(lti_server, token, state))
        page.goto(launcher.as_uri())
        with page.expect_navigation():
            page.get_by_role("button", name="Launch").click()
        assert page.locator("h1").inner_text() == "Choose an assessment for your course"
        assert page.evaluate(FITS), page.evaluate(OVERFLOWING)
        check_accessibility(page, f"{width}px-lti-deep-link")
        tab_to(page, "el.tagName === 'BUTTON' && el.textContent.includes('Add this assessment')")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.locator("h1").inner_text() == "Return to your course"
        assert page.evaluate(FITS), page.evaluate(OVERFLOWING)
        check_accessibility(page, f"{width}px-lti-deep-link-return")
        jwt_value = page.locator("input[name=JWT]").get_attribute("value")
        assert jwt_value is not None
        claims = platform.check_tool_jwt(jwt_value)
        assert claims["https://purl.imsglobal.org/spec/lti/claim/message_type"] == (
            "LtiDeepLinkingResponse"
        )
    finally:
        context.close()


def register_by_keyboard(page: Page, values: dict[str, str]) -> None:
    """Fill the registration form and submit it with Enter on its button."""
    for label, key in [
        ("Name", "name"),
        ("Issuer (platform id)", "issuer"),
        ("Client id", "client_id"),
        ("Deployment ids, one a line", "deployment_ids"),
        ("Authentication request URL", "auth_url"),
        ("Access token URL", "token_url"),
        ("Public keyset URL", "jwks_url"),
    ]:
        page.get_by_label(label, exact=True).fill(values[key])
    tab_to(page, "el.tagName === 'BUTTON' && el.textContent.includes('Register the platform')")
    with page.expect_navigation():
        page.keyboard.press("Enter")


@pytest.mark.parametrize("width", [390, 1280])
def test_author_lti_pages_pass_axe_and_register_by_keyboard(
    browser: Browser, lti_server: ServerProcess, platform: Platform, width: int
) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900})
    try:
        page = context.new_page()
        sign_in(page, lti_server)
        page.get_by_role("link", name="LTI", exact=True).click()
        assert page.locator("h1").inner_text() == "LTI platforms"
        assert platform.issuer in page.locator("table").inner_text()
        assert page.evaluate(FITS), page.evaluate(OVERFLOWING)
        check_accessibility(page, f"{width}px-author-lti")
        other = {
            **platform.registration(),
            "client_id": f"client-{width}",
            "deployment_ids": "d-1\nd-2",
        }
        register_by_keyboard(page, {**other, "name": " ", "jwks_url": "ftp://example.org/k"})
        problems = page.get_by_role("alert").inner_text()
        assert "Name: required" in problems and "Public keyset URL:" in problems
        assert page.get_by_label("Client id", exact=True).input_value() == f"client-{width}"
        assert page.evaluate(FITS), page.evaluate(OVERFLOWING)
        check_accessibility(page, f"{width}px-author-lti-problems")
        register_by_keyboard(page, other)
        assert page.locator("h1").inner_text() == "Simulated Moodle"
        assert "No launches yet." in page.locator("main").inner_text()
        assert page.evaluate(FITS), page.evaluate(OVERFLOWING)
        check_accessibility(page, f"{width}px-author-lti-platform")
    finally:
        context.close()


def test_author_lti_registration_works_without_javascript(
    browser: Browser, lti_server: ServerProcess, platform: Platform
) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, lti_server)
        page.goto(lti_server.base_url + "/author/lti")
        register_by_keyboard(
            page, {**platform.registration(), "client_id": "client-nojs", "deployment_ids": "d-1"}
        )
        assert page.locator("h1").inner_text() == "Simulated Moodle"
        assert "client-nojs" in page.locator("main").inner_text()
    finally:
        context.close()
