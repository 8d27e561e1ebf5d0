"""An owner reads the audit log; an invited person accepts the link and gets a token."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page

from tests.browser.conftest import check_accessibility
from tests.browser.test_author_browser import sign_in
from tests.server import ServerProcess

pytestmark = pytest.mark.browser


def test_audit_log_and_invitation_pages(page: Page, server: ServerProcess) -> None:
    auth = {"Authorization": f"Bearer {server.author_token}"}
    sent = httpx.post(
        server.base_url + "/api/v1/author/org/invitations",
        json={"email": "ivy@example.org", "role": "author"},
        headers=auth,
    )
    assert sent.status_code == 201, sent.text

    sign_in(page, server)
    page.get_by_role("link", name="Organisation").click()
    assert "did:web:" in page.locator("main").inner_text()
    check_accessibility(page, "author-org")
    page.get_by_label("Description").fill("Trains data analysts.")
    page.get_by_role("button", name="Save the profile").click()
    assert page.get_by_label("Description").input_value() == "Trains data analysts."
    page.get_by_role("link", name="Audit log").click()
    assert page.locator("h1").inner_text().startswith("Audit log of")
    logged = page.locator("table").inner_text()
    assert "invitation.send" in logged and "org.profile" in logged
    check_accessibility(page, "author-audit")

    outbox = Path(server.env["SKILLGAUGE_DATA_DIR"]) / "outbox"
    mail_dir = server.env.get("SKILLGAUGE_MAIL_DIR")
    folder = Path(mail_dir) if mail_dir else outbox
    texts = [p.read_text() for p in sorted(folder.glob("*.eml"))]
    link = next(m.group(0) for t in texts if (m := re.search(r"http\S+/invitations/\S+", t)))
    page.goto(link)
    check_accessibility(page, "invitation")
    page.get_by_role("button", name="Accept and get a token").click()
    token = page.get_by_label("Author token").input_value()
    assert token.startswith("sgt_")
    check_accessibility(page, "invitation-accepted")
    page.goto(link)
    assert "used already" in page.locator("main").inner_text()
    check_accessibility(page, "invitation-used")
