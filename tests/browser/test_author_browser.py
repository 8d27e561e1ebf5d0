"""An author signs in, uploads a broken bank, sees each located error, then builds an assessment."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Page

from tests.browser.conftest import check_accessibility
from tests.item_banks.helpers import raw_bank
from tests.server import ServerProcess

pytestmark = pytest.mark.browser


def sign_in(page: Page, server: ServerProcess) -> None:
    page.goto(server.base_url + "/author/login")
    page.get_by_label("Author token").fill(server.author_token)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/author")


def test_author_pages(page: Page, server: ServerProcess, tmp_path: Path) -> None:
    page.goto(server.base_url + "/author/login")
    check_accessibility(page, "author-login")
    page.get_by_label("Author token").fill("sgt_wrong")
    page.get_by_role("button", name="Sign in").click()
    assert page.locator("#token-error").inner_text().startswith("This token is not valid")
    check_accessibility(page, "author-login-error")

    sign_in(page, server)
    check_accessibility(page, "author-dashboard")

    page.get_by_role("link", name="Upload a bank").first.click()
    check_accessibility(page, "author-upload")
    broken = raw_bank(3)
    broken["items"][1]["id"] = "py-023"
    broken["items"][1]["irt"]["a"] = -0.4
    broken["items"][2]["interaction"]["key"] = "z"
    path = tmp_path / "broken-bank.yaml"
    path.write_text(yaml.safe_dump(broken))
    page.get_by_label("Bank file").set_input_files(str(path))
    page.get_by_role("button", name="Upload and validate").click()
    box = page.locator(".problems-box")
    assert box.get_attribute("role") == "alert"
    problems = box.locator("li").all_inner_texts()
    assert problems == [
        'broken-bank.yaml: item "py-023": irt.a: must be > 0, got -0.4',
        'broken-bank.yaml: item "q3": interaction.key: "z" is not one of the options (a, b)',
    ]
    check_accessibility(page, "author-upload-errors")

    # A GIFT quiz carries no IRT parameters: it is stored, and the page lists that warning.
    gift = Path(__file__).resolve().parents[1] / "item_banks" / "formats" / "data" / "gift"
    page.get_by_label("Bank file").set_input_files(str(gift / "quiz.gift"))
    page.get_by_role("button", name="Upload and validate").click()
    assert page.locator("h1").inner_text().endswith(": stored")
    assert "quiz.gift: 9 of 9 items carry no IRT parameters" in page.locator("main").inner_text()
    check_accessibility(page, "author-uploaded-with-warnings")

    page.goto(server.base_url + "/author")
    page.get_by_role("link", name="version 1.0").first.click()
    check_accessibility(page, "author-bank")
    page.get_by_label("Stopping rule").select_option("fixed")
    page.get_by_label("Fixed length (for a fixed-length test)").fill("400")
    page.get_by_role("button", name="Create the assessment").click()
    assert "asks for up to 400 items" in page.locator(".problems-box").inner_text()
    check_accessibility(page, "author-bank-policy-errors")

    page.get_by_label("Fixed length (for a fixed-length test)").fill("10")
    page.get_by_label("Title").fill("Ten-question check")
    page.get_by_role("button", name="Create the assessment").click()
    page.wait_for_selector("h1:has-text('Ten-question check')")
    check_accessibility(page, "author-assessment")
