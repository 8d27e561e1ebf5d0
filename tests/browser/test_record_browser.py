"""The learner's record page in chromium at phone and desktop widths: axe-core WCAG 2.2 AA,
no sideways scrolling, and the downloads reached with the keyboard."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Browser

from tests.browser.conftest import check_accessibility
from tests.browser.test_credential_browser import earn
from tests.browser.test_learner_browser import tab_to
from tests.browser.test_phone_browser import FITS, OVERFLOWING
from tests.browser.test_verify_browser import newest_link
from tests.server import ServerProcess

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def record_url(server: ServerProcess) -> str:
    """The record page of a learner with one credential, opened through a results link."""
    earn(server)
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        csrf = client.get("/me").cookies["skillgauge_csrf"]
        sent = client.post("/me", data={"email": "grace@example.org", "_csrf_token": csrf})
        assert sent.status_code == 200
        page = client.post(newest_link(server, "me"), data={"_csrf_token": csrf})
        assert page.status_code == 200, page.text
    grant = re.search(r'href="(/me/record/[A-Za-z0-9_-]+)"', page.text)
    assert grant is not None
    return server.base_url + grant.group(1)


@pytest.mark.parametrize("width", [390, 1280])
def test_record_page_fits_and_passes_axe(browser: Browser, record_url: str, width: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900})
    try:
        page = context.new_page()
        response = page.goto(record_url)
        assert response is not None and response.status == 200
        assert page.locator("h1").inner_text() == "Your record"
        assert page.get_by_role("link", name=re.compile("Add to LinkedIn")).count() == 1
        assert page.evaluate(FITS), page.evaluate(OVERFLOWING)
        check_accessibility(page, f"{width}px-learner-record")
        tab_to(page, "el.tagName === 'A' && el.href.endsWith('/clr.json')")
        with page.expect_download() as download:
            page.keyboard.press("Enter")
        assert download.value.suggested_filename == "learner-record-clr.json"
    finally:
        context.close()
