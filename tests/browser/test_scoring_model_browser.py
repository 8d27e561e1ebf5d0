"""The author chooses the correlated scoring model in a browser, by keyboard and without script.

At 320, 390 and 1280 px wide the bank page's form (scoring model, multidimensional criteria,
competency weights) and the assessment page fit the screen and pass axe-core WCAG 2.2 AA,
with and without the located refusal of a correlated model under ML.
"""

from __future__ import annotations

import re

import httpx
import msgspec
import pytest
from playwright.sync_api import Browser, Page, expect

from engine.synthetic import synthetic_bank
from item_banks.native import encode_bank
from tests.browser.conftest import check_accessibility
from tests.browser.test_phone_browser import FITS, WIDTHS, signed_in
from tests.server import ServerProcess

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def correlated_bank(server: ServerProcess) -> str:
    """The path of the bank page of a 3-competency bank with a correlation matrix."""
    bank = msgspec.structs.replace(
        synthetic_bank(48, "2pl", 3, seed=4, correlation=0.6), title="Correlated skills"
    )
    with httpx.Client(base_url=server.base_url, timeout=30) as api:
        r = api.post(
            "/api/v1/author/banks?filename=correlated.json",
            content=encode_bank(bank, "json"),
            headers={"Authorization": f"Bearer {server.author_token}"},
        )
    assert r.status_code in (200, 201), r.text
    return f"/author/banks/{r.json()['hash']}"


def fits(page: Page, name: str) -> None:
    assert page.evaluate(FITS), name
    check_accessibility(page, name)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_correlated_model_is_chosen_refused_and_shown(
    browser: Browser, server: ServerProcess, correlated_bank: str, width: int
) -> None:
    context = signed_in(browser, server, viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        page.goto(server.base_url + correlated_bank)
        expect(page.locator("main")).to_contain_text("carries the matrix estimated by calibration")
        fits(page, f"{width}px-author-bank-correlated")

        # The model chosen by keyboard (arrow key on the focused list), the ML estimator
        # (refused), then the form sent with Enter.
        page.get_by_label("Title").fill(f"Joint check {width}")
        page.get_by_label("Scoring model").focus()
        page.keyboard.press("ArrowDown")
        expect(page.get_by_label("Scoring model")).to_have_value("correlated")
        page.get_by_label("Ability estimator").select_option("mle")
        page.get_by_label("Stopping rule").select_option("fixed")
        page.get_by_label("Fixed length (for a fixed-length test)").fill("9")
        page.get_by_label("Fixed length (for a fixed-length test)").press("Enter")
        box = page.locator(".problems-box")
        expect(box).to_contain_text(
            'model: a correlated session needs a Bayesian estimator (eap or map); "mle"'
        )
        assert box.get_attribute("role") == "alert"
        expect(page.get_by_label("Scoring model")).to_have_value("correlated")  # kept
        fits(page, f"{width}px-author-bank-correlated-refused")

        # Weights with a criterion that reads them: created, and the page names the model.
        page.get_by_label("Ability estimator").select_option("eap")
        page.get_by_label("Item selection").select_option("a_optimal")
        page.get_by_label("Weight of Competency 2").fill("2")
        page.get_by_role("button", name="Create the assessment").click()
        expect(page.locator("h1")).to_have_text(f"Joint check {width}")
        main = page.locator("main")
        expect(main).to_contain_text(re.compile(r"Scoring model: correlated \(all skills"))
        expect(main).to_contain_text("Item selection: a_optimal (weights c2 2; others 1)")
        fits(page, f"{width}px-author-assessment-correlated")
    finally:
        context.close()


def test_the_form_works_without_script(
    browser: Browser, server: ServerProcess, correlated_bank: str
) -> None:
    context = signed_in(browser, server, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(server.base_url + correlated_bank)
        page.get_by_label("Scoring model").select_option("correlated")
        page.get_by_label("Item selection").select_option("max_info")
        page.get_by_label("Weight of Competency 1").fill("3")  # weights do not apply to max_info
        page.get_by_label("Stopping rule").select_option("fixed")
        page.get_by_label("Fixed length (for a fixed-length test)").fill("6")
        page.get_by_role("button", name="Create the assessment").click()
        expect(page.locator(".problems-box")).to_contain_text(
            "weight_c1: competency weights apply only to the a_optimal, c_optimal, t_optimal"
        )
        page.get_by_label("Weight of Competency 1").fill("")
        page.get_by_role("button", name="Create the assessment").click()
        expect(page.locator("main")).to_contain_text("Scoring model: correlated")
    finally:
        context.close()
