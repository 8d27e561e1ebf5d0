"""A learner takes the demo assessment in chromium using the keyboard only."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Browser, Page

from item_banks.native import encode_bank
from tests.browser.conftest import check_accessibility
from tests.server import ServerProcess
from tests.web.mixed_bank import mixed_bank

pytestmark = pytest.mark.browser


def tab_to(page: Page, predicate: str, limit: int = 60) -> None:
    """Press Tab until ``predicate`` (JS, on document.activeElement ``el``) holds."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(
            f"(() => {{ const el = document.activeElement; return !!({predicate}); }})()"
        ):
            return
    raise AssertionError(f"keyboard focus never reached: {predicate}")


def answer_field(page: Page, option: int = 1) -> None:
    """Answer the focused control of a composite question by keyboard (a select: ``option``)."""
    tag = page.evaluate("document.activeElement.tagName + ':' + document.activeElement.type")
    if tag.startswith("SELECT"):
        for _ in range(option):
            page.keyboard.press("ArrowDown")
    elif tag in ("INPUT:radio", "INPUT:checkbox"):
        page.keyboard.press("Space")
    else:
        page.keyboard.type("1")


def fill_first_field(page: Page) -> None:
    """Answer the first field of a composite question (both ends of a pair), by mouse."""
    first = page.locator("form.answer [name^='f:']").first
    tag = first.evaluate("e => e.tagName + ':' + e.type")
    name = str(first.get_attribute("name"))
    if tag.startswith("SELECT"):
        first.select_option(index=1)
        if name.endswith(":a") and ":pair:" in name:
            page.locator(f"select[name='{name[:-1]}b']").select_option(index=2)
    elif tag in ("INPUT:radio", "INPUT:checkbox"):
        first.check()
    else:
        first.fill("1")


def test_keyboard_only_learner_reaches_the_result(page: Page, server: ServerProcess) -> None:
    page.goto(server.assessment_url)
    check_accessibility(page, "learner-landing")
    tab_to(page, "el.tagName === 'BUTTON' && el.textContent.includes('Start the assessment')")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_selector("h1:has-text('Question 1')")
    checked_kinds: set[str] = set()
    for step in range(1, 41):
        if page.url.endswith("/result"):
            break
        kind = page.locator("input[name=kind]").input_value()
        if kind not in checked_kinds:
            check_accessibility(page, f"learner-question-{kind}")
            checked_kinds.add(kind)
        if kind in ("single_choice", "multiple_response"):
            tab_to(page, "el.name === 'answer'")
            page.keyboard.press("Space")
            assert page.evaluate("document.activeElement.checked")
        elif kind == "composite":  # fill the first field: a blank, a select or a phrase
            tab_to(page, "el.name && el.name.startsWith('f:')")
            answer_field(page)
            if page.evaluate("/:pair:\\d+:a$/.test(document.activeElement.name)"):
                page.keyboard.press("Tab")  # an associate pair needs two different ends
                answer_field(page, option=2)
        else:
            tab_to(page, "el.id === 'answer'")
            page.keyboard.type("1")
        tab_to(page, "el.tagName === 'BUTTON' && el.type === 'submit'")
        page.keyboard.press("Enter")  # the script posts the form: no page load
        page.wait_for_selector("#feedback-live #feedback")
        live = page.locator("#feedback-live")
        assert live.get_attribute("role") == "status"
        assert live.get_attribute("aria-live") == "polite"
        verdict = page.locator("#feedback-live #verdict").inner_text()
        assert verdict.startswith(("Right", "Not right", "Partly right"))
        if step == 1 or ("feedback-wrong" not in checked_kinds and verdict == "Not right"):
            check_accessibility(page, f"learner-feedback-{step}")
            if verdict == "Not right":
                checked_kinds.add("feedback-wrong")
        # focus moved to the way on: one key press continues
        assert page.evaluate("document.activeElement.matches('#feedback-live a.primary')"), (
            "focus should be on the next-question link"
        )
        with page.expect_navigation():
            page.keyboard.press("Enter")
    else:
        pytest.fail("the assessment did not end within 40 questions")
    assert page.url.endswith("/result")
    page.wait_for_selector("h1:has-text('Your report')")
    rows = page.locator("table.results tbody tr")
    assert rows.count() == 4
    check_accessibility(page, "learner-result")


def test_without_javascript_every_answer_gets_a_feedback_page(
    browser: Browser, page: Page, server: ServerProcess
) -> None:
    """The site works with scripts off: the form posts, the feedback page follows.

    (axe-core needs script, so the feedback page is checked in a scripted tab afterwards.)
    """
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1000, "height": 900}
    )
    context.set_default_timeout(15_000)
    plain = context.new_page()
    feedback_url = ""
    try:
        plain.goto(server.assessment_url)
        with plain.expect_navigation():
            plain.get_by_role("button", name="Start the assessment").click()
        for step in range(1, 4):
            plain.wait_for_selector("form.answer")
            kind = plain.locator("input[name=kind]").input_value()
            if kind in ("single_choice", "multiple_response"):
                plain.locator("input[name=answer]").first.check()
            elif kind == "composite":
                fill_first_field(plain)
            else:
                plain.fill("#answer", "1")
            with plain.expect_navigation():
                plain.get_by_role("button", name="Submit answer").click()
            assert f"/feedback/{step}" in plain.url
            feedback_url = feedback_url or plain.url
            feedback = plain.locator("#feedback")
            assert feedback.get_attribute("role") == "status"
            assert feedback.get_attribute("aria-live") == "polite"
            verdict = plain.locator("#verdict").inner_text()
            assert verdict.startswith(("Right", "Not right", "Partly right"))
            with plain.expect_navigation():
                plain.locator("a.primary").click()
    finally:
        context.close()
    page.goto(feedback_url)
    page.wait_for_selector("#feedback")
    check_accessibility(page, "learner-feedback-page")


def test_reload_keeps_the_question_and_errors_are_announced(
    page: Page, server: ServerProcess
) -> None:
    page.goto(server.assessment_url)
    page.get_by_role("button", name="Start the assessment").click()
    page.wait_for_selector("h1:has-text('Question 1')")
    first_url = page.url
    stem = page.locator("#stem").inner_text()
    page.reload()
    assert page.locator("#stem").inner_text() == stem
    page.goto("about:blank")
    page.goto(first_url)  # closing and reopening the session URL
    assert page.locator("#stem").inner_text() == stem
    kind = page.locator("input[name=kind]").input_value()
    if kind == "numeric":
        page.fill("#answer", "not a number")
        page.get_by_role("button", name="Submit answer").click()
        alert = page.locator("#answer-error")
        assert alert.get_attribute("role") == "alert"
        assert page.locator("#answer").get_attribute("aria-invalid") == "true"
        check_accessibility(page, "learner-question-error")


def test_missing_pages_are_accessible_too(page: Page, server: ServerProcess) -> None:
    response = page.goto(server.base_url + "/s/no-such-session")
    assert response is not None and response.status == 404
    check_accessibility(page, "error-404")
    page.goto(server.base_url + "/")
    check_accessibility(page, "home")


def test_every_interaction_is_accessible(page: Page, server: ServerProcess) -> None:
    """Order and match questions (select lists) and the others, checked by axe-core."""
    auth = {"Authorization": f"Bearer {server.author_token}"}
    with httpx.Client(base_url=server.base_url, headers=auth) as api:
        bank = api.post(
            "/api/v1/author/banks?filename=mixed.json", content=encode_bank(mixed_bank(), "json")
        ).json()
        created = api.post(
            "/api/v1/author/assessments",
            json={
                "title": "Mixed",
                "bank_hash": bank["hash"],
                "policy": {"stopping": {"rule": "fixed_length", "n": 6}},
            },
        ).json()
    page.goto(created["url"])
    page.get_by_role("button", name="Start the assessment").click()
    kinds = set()
    while "/result" not in page.url:
        page.wait_for_selector("form.answer")
        kind = page.locator("input[name=kind]").input_value()
        kinds.add(kind)
        if kind in ("order", "match"):
            check_accessibility(page, f"learner-question-{kind}")
        if kind == "order":
            for n, select in enumerate(page.locator("select").all(), start=1):
                select.select_option(str(n))
        elif kind == "match":
            page.locator("select").first.select_option(index=1)
        elif kind in ("single_choice", "multiple_response"):
            page.locator("input[name=answer]").first.check()
        else:
            page.fill("#answer", "3")
        page.get_by_role("button", name="Submit answer").click()
        page.wait_for_selector("#feedback-live #feedback")
        if kind in ("order", "match"):
            check_accessibility(page, f"learner-feedback-{kind}")
        with page.expect_navigation():
            page.locator("#feedback-live a.primary").click()
    assert {"order", "match"} <= kinds
