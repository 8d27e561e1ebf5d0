"""Feedback and the report in chromium: the live region, the charts, print, practice mode."""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page

from engine.learner import raw_answer
from item_banks.model import Item, SingleChoice, category_count
from item_banks.native import read_bank
from item_banks.sample import sample_bank_path
from item_banks.scoring import RawAnswer
from tests.answers import shown_by_text
from tests.browser.conftest import check_accessibility
from tests.server import ServerProcess

pytestmark = pytest.mark.browser

BANK = read_bank(sample_bank_path())
ITEMS = {item.id: item for item in BANK.items}


def current_item(page: Page) -> Item:
    page.wait_for_selector("form.answer")
    return ITEMS[page.locator("form.answer input[name=item_id]").input_value()]


def session_item(page: Page) -> dict[str, Any]:
    """The current question as the API shows it (its options carry the session's ids)."""
    base, _, rest = page.url.partition("/s/")
    view = httpx.get(f"{base}/api/v1/sessions/{rest.split('/')[0]}", timeout=10).json()
    return view["item"]  # type: ignore[no-any-return]


def fill(page: Page, given: RawAnswer) -> None:
    """Answer with ``given`` (the bank's option ids), as a person reading the options would."""
    kind = page.locator("input[name=kind]").input_value()
    if kind in ("single_choice", "multiple_response"):
        shown = shown_by_text(current_item(page), session_item(page), given)
        for value in [shown] if isinstance(shown, str) else shown:
            page.locator(f"input[name=answer][value='{value}']").check()
    elif kind == "composite":
        shown = shown_by_text(current_item(page), session_item(page), given)
        for entry in [shown] if isinstance(shown, str) else shown:
            field, _, value = entry.partition("=")
            control = page.locator(f"[name='f:{field}']")
            if not control.count():  # gaps and pairs: the raw entry, as a client may post it
                page.evaluate(
                    """([entry]) => { const i = document.createElement('input');
                       i.type = 'hidden'; i.name = 'answer'; i.value = entry;
                       document.querySelector('form.answer').append(i); }""",
                    [entry],
                )
            elif control.first.evaluate("e => e.tagName") == "SELECT":
                control.select_option(value)
            elif control.first.get_attribute("type") in ("radio", "checkbox"):
                page.locator(f"[name='f:{field}'][value='{value}']").check()
            else:
                control.fill(value)
    else:
        assert isinstance(given, str)
        page.fill("#answer", given)


def wrong_answer(item: Item) -> RawAnswer:
    """A wrong answer that names a misconception when the item has one."""
    interaction = item.interaction
    if isinstance(interaction, SingleChoice):
        named = [o.id for o in interaction.options if o.misconception and o.id != interaction.key]
        if named:
            return named[0]
    return raw_answer(item, 0, random.Random(1))


WATCH_LIVE_REGION = """() => {
  window.__samePage = true;
  window.__announced = [];
  const live = document.getElementById('feedback-live');
  new MutationObserver(() => window.__announced.push(live.textContent))
    .observe(live, {childList: true, subtree: true, characterData: true});
}"""


def test_the_feedback_panel_appears_in_the_live_region(page: Page, server: ServerProcess) -> None:
    page.goto(server.assessment_url)
    page.get_by_role("button", name="Start the assessment").click()
    item = current_item(page)
    question_url = page.url
    live = page.locator("#feedback-live")
    assert live.get_attribute("role") == "status"
    assert live.get_attribute("aria-live") == "polite"
    assert live.inner_text() == ""  # present and empty before the answer
    page.evaluate(WATCH_LIVE_REGION)
    fill(page, wrong_answer(item))
    page.get_by_role("button", name="Submit answer").click()
    page.wait_for_selector("#feedback-live #feedback")
    assert page.evaluate("window.__samePage === true"), "the page must not reload"
    announced = page.evaluate("window.__announced")
    assert announced and "Not right" in announced[-1]  # the live region received it
    text = live.inner_text()
    assert "Worked solution" in text
    assert "The correct answer" in text
    assert any(
        label in text for label in ("Your choice:", "Wrong choice:", "Missed:", "Your answer")
    )
    if isinstance(item.interaction, SingleChoice):
        assert "A common misconception" in text or "Your choice:" in text
    assert page.evaluate("document.activeElement.matches('#feedback-live a.primary')")
    assert page.url.endswith("/feedback/1") and page.url.startswith(question_url)
    assert page.locator("form.answer input[name=item_id]").is_disabled()  # answer is stored
    assert not page.locator("form.answer button[type=submit]").is_visible()
    check_accessibility(page, "feedback-panel-in-place")
    page.reload()  # the URL now names the feedback page: a reload shows it
    assert page.locator("#feedback #verdict").inner_text().startswith("Not right")


def finished_session(server: ServerProcess, mode: str = "instant") -> str:
    """A session finished through the API, with some right and some wrong answers."""
    with httpx.Client(base_url=server.base_url) as api:
        assessment = server.assessment_url.rsplit("/", 1)[1]
        if mode != "instant":
            auth = {"Authorization": f"Bearer {server.author_token}"}
            detail = api.get(f"/api/v1/author/assessments/{assessment}", headers=auth).json()
            assessment = api.post(
                "/api/v1/author/assessments",
                headers=auth,
                json={
                    "title": f"Python ({mode})",
                    "bank_hash": detail["assessment"]["bank_hash"],
                    "feedback_mode": mode,
                },
            ).json()["id"]
        view: dict[str, Any] = api.post(
            f"/api/v1/assessments/{assessment}/sessions", json={}
        ).json()
        rng = random.Random(7)
        while view["status"] == "in_progress":
            item = ITEMS[view["item"]["id"]]
            category = category_count(item.irt) - 1 if rng.random() < 0.5 else 0
            reply = api.post(
                f"/api/v1/sessions/{view['id']}/responses",
                json={
                    "item_id": item.id,
                    "position": view["item"]["position"],
                    "answer": shown_by_text(item, view["item"], raw_answer(item, category, rng)),
                },
            ).json()
            if reply.get("practice"):
                reply = api.post(
                    f"/api/v1/sessions/{view['id']}/reveal",
                    json={"item_id": item.id, "position": view["item"]["position"]},
                ).json()
            view = reply["session"]
        return str(view["id"])


def test_the_report_charts_every_competency_and_passes_axe(
    page: Page, server: ServerProcess
) -> None:
    sid = finished_session(server)
    page.goto(f"{server.base_url}/s/{sid}/result")
    page.wait_for_selector("h1:has-text('Your report')")
    names = page.locator("table.results tbody th").all_inner_texts()
    assert len(names) == len(BANK.competencies) == 4
    ability = page.locator("svg#chart-ability")
    assert ability.get_attribute("role") == "img"
    assert ability.locator("g.interval").count() == 4
    assert ability.locator("g.interval text.label").all_text_contents() == names
    assert ability.locator("g.interval line.mark").count() == 4  # every skill has a pass mark
    charts = page.locator("figure.chart svg[role=img]")
    assert charts.count() == 5  # the ability chart and one path chart per competency
    described = page.evaluate(
        """() => [...document.querySelectorAll('figure.chart svg[role=img]')].map(svg => [
             document.getElementById(svg.getAttribute('aria-labelledby')).textContent,
             document.getElementById(svg.getAttribute('aria-describedby')).textContent])"""
    )
    assert [title for title, _ in described[1:]] == names  # a path chart per skill, in order
    assert all(desc.strip() for _, desc in described)  # every chart has a text alternative
    assert all(name in described[0][1] for name in names)
    rows = page.locator("table.path tbody tr").count()
    assert rows == page.locator("article.review").count() + 1  # start + every answer
    assert page.locator("button[data-print]").is_visible()
    check_accessibility(page, "report")
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    assert page.locator("details.technical").get_attribute("open") is not None
    page.emulate_media(media="print")
    assert not page.locator("header.site").is_visible()
    assert not page.locator("button[data-print]").is_visible()
    assert page.locator("svg#chart-ability").is_visible()
    page.screenshot(path="build/screenshots/report-print.png", full_page=True)
    page.emulate_media(media="screen")


def test_practice_mode_gives_hints_one_at_a_time(page: Page, server: ServerProcess) -> None:
    with httpx.Client(base_url=server.base_url) as api:
        auth = {"Authorization": f"Bearer {server.author_token}"}
        assessment = server.assessment_url.rsplit("/", 1)[1]
        detail = api.get(f"/api/v1/author/assessments/{assessment}", headers=auth).json()
        created = api.post(
            "/api/v1/author/assessments",
            headers=auth,
            json={
                "title": "Python practice",
                "bank_hash": detail["assessment"]["bank_hash"],
                "feedback_mode": "practice",
            },
        ).json()
    page.goto(created["url"])
    page.get_by_role("button", name="Start the assessment").click()
    for _ in range(40):  # find a question with two hints or more
        item = current_item(page)
        if len(item.hints) >= 2:
            break
        fill(page, raw_answer(item, category_count(item.irt) - 1, random.Random(0)))
        page.get_by_role("button", name="Submit answer").click()
        page.wait_for_selector("#feedback-live #feedback")
        with page.expect_navigation():
            page.locator("#feedback-live a.primary").click()
    else:
        pytest.fail("no question with two hints came up")
    assert page.locator("#retry").count() == 0  # no hint before the first try
    fill(page, wrong_answer(item))
    with page.expect_navigation():  # a second try comes: the page shows the hint
        page.get_by_role("button", name="Submit answer").click()
    page.wait_for_selector("#retry")
    assert page.locator("#retry ol.hints li").count() == 1
    assert page.evaluate("document.activeElement.id") == "retry"  # read first
    assert page.locator("#retry").inner_text().count("Worked solution") == 0
    check_accessibility(page, "practice-retry")
    with page.expect_navigation():
        page.get_by_role("button", name="Show another hint").click()
    assert page.locator("#retry ol.hints li").count() == 2
    right = raw_answer(item, category_count(item.irt) - 1, random.Random(0))
    assert current_item(page).id == item.id
    fill(page, right)
    page.get_by_role("button", name="Submit your second try").click()
    page.wait_for_selector("#feedback-live #feedback")
    text = page.locator("#feedback-live").inner_text()
    assert "Your second try: right" in text
    assert "Hints you used" in text
    check_accessibility(page, "practice-feedback")


def test_the_practice_report_says_it_never_counts(page: Page, server: ServerProcess) -> None:
    sid = finished_session(server, mode="practice")
    page.goto(f"{server.base_url}/s/{sid}/result")
    notice = page.locator("#practice-notice")
    assert "never count toward a credential" in notice.inner_text()
    check_accessibility(page, "report-practice")
