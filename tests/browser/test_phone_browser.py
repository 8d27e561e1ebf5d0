"""Every page on a phone and a desktop, by keyboard and without script (chromium).

At 320, 390 and 1280 px wide: no page scrolls sideways (``scrollWidth <= innerWidth``), code
blocks and tables scroll in their own focusable regions, chart text renders at 12 px or
more, and axe-core finds no WCAG 2.2 AA violation. Then, with script: after every answer the
page shows one current state (no stale refusal, fresh progress, no practice leftovers, the
panel's colour follows the second try), an empty answer is refused in plain words with the
page kept, and an answer sent while the server is unreachable is kept and sent again.
Without script: the feedback page shows the question, and the report prints whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import check_accessibility
from tests.browser.phone_bank import phone_assessment
from tests.browser.test_learner_browser import tab_to
from tests.credentials.helpers import take
from tests.item_banks.formats.test_media import PACKAGE
from tests.server import ServerProcess

pytestmark = pytest.mark.browser

WIDTHS = (320, 390, 1280)
#: A QTI file of one essay: a bank the engine cannot run.
ESSAY = Path(__file__).parents[1] / "item_banks" / "formats" / "data" / "qti3" / "extended-text.xml"

FITS = "document.scrollingElement.scrollWidth <= window.innerWidth"
#: Elements that stick out of the viewport and are not inside a region that scrolls.
OVERFLOWING = """() => {
  const w = window.innerWidth;
  return [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > w + 0.5)
    .filter(e => !e.closest('.table-scroll, .chart-scroll, pre'))
    .map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className).slice(0, 5);
}"""
#: Rendered size of every chart label (font size times the SVG's scale on screen).
CHART_TEXT_PX = """() => [...document.querySelectorAll('svg text')]
  .filter(t => t.getClientRects().length)
  .map(t => { const m = t.getScreenCTM();
              return parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b); })"""
#: Scrolling boxes that a keyboard cannot reach (axe's scrollable-region-focusable, directly).
UNREACHABLE_SCROLLERS = """() => [...document.querySelectorAll('main *')]
  .filter(e => e.scrollWidth > e.clientWidth + 1)
  .filter(e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX))
  .filter(e => e.tabIndex < 0 && !e.querySelector('a, button, input, select, textarea'))
  .map(e => e.tagName + '.' + e.className)"""


@pytest.fixture(scope="module")
def pages(server: ServerProcess) -> dict[str, str]:
    """One of every page a learner, an employer or an author meets, as paths."""
    base = server.base_url
    auth = {"Authorization": f"Bearer {server.author_token}"}
    assessment = server.assessment_url.rsplit("/", 1)[1]
    with httpx.Client(base_url=base, timeout=30) as api:
        endpoint = api.post(
            "/api/v1/author/webhooks", json={"url": "https://example.org/hooks"}, headers=auth
        ).json()["endpoint"]["id"]
        done = take(api, assessment)
        open_session = api.post(f"/api/v1/assessments/{assessment}/sessions", json={}).json()
        bank = api.get("/api/v1/author/banks", headers=auth).json()[0]["hash"]
        essays = api.post(  # stored, but no assessment can run on it: the page says why
            "/api/v1/author/banks?filename=essay.xml", content=ESSAY.read_bytes(), headers=auth
        ).json()["hash"]
        pictures = api.post(  # a question showing an image kept from a QTI package
            "/api/v1/author/banks?filename=pics.zip", content=PACKAGE, headers=auth
        ).json()["hash"]
        pictured = api.post(
            "/api/v1/author/assessments",
            json={
                "title": "Pictures",
                "bank_hash": pictures,
                "policy": {"stopping": {"rule": "fixed_length", "n": 1}},
            },
            headers=auth,
        ).json()["id"]
        with_image = api.post(f"/api/v1/assessments/{pictured}/sessions", json={}).json()["id"]
    numeric = phone_assessment(base, server.author_token, "numeric").replace(base, "")
    with httpx.Client(base_url=base, timeout=30) as api:
        phone = api.post(f"/api/v1/assessments/{numeric.rsplit('/', 1)[1]}/sessions", json={})
    credential = str(done["credential_url"]).replace(base, "")
    return {
        "home": "/",
        "landing": f"/a/{assessment}",
        "question": f"/s/{open_session['id']}",
        "question-with-code-and-table": f"/s/{phone.json()['id']}",
        "question-with-image": f"/s/{with_image}",
        "feedback": f"/s/{done['id']}/feedback/1",
        "report": f"/s/{done['id']}/result",
        "credential": credential,
        "evidence": f"{credential}/evidence",
        "verify": "/verify",
        "not-found": "/s/no-such-session",
        "author-login": "/author/login",
        "author-dashboard": "/author",
        "author-bank": f"/author/banks/{bank}",
        "author-bank-essays-only": f"/author/banks/{essays}",
        "author-assessment": f"/author/assessments/{assessment}",
        "author-credential": f"/author/assessments/{assessment}/credential",
        "author-upload": "/author/banks/upload",
        "author-webhooks": "/author/webhooks",
        "author-webhook": f"/author/webhooks/{endpoint}",
        "author-lti": "/author/lti",
    }


def signed_in(browser: Browser, server: ServerProcess, **options: Any) -> BrowserContext:
    context = browser.new_context(**options)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(server.base_url + "/author/login")
    page.get_by_label("Author token").fill(server.author_token)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.close()
    return context


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_fits_the_screen_and_passes_axe(
    browser: Browser, server: ServerProcess, pages: dict[str, str], width: int
) -> None:
    context = signed_in(browser, server, viewport={"width": width, "height": 900})
    page = context.new_page()
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    try:
        for name, path in pages.items():
            response = page.goto(server.base_url + path)
            assert response is not None
            expected = 404 if name == "not-found" else 200
            assert response.status == expected, (name, response.status)
            if name == "not-found":
                missing.remove(server.base_url + path)
            assert page.evaluate(FITS), (name, width, page.evaluate(OVERFLOWING))
            assert page.evaluate(UNREACHABLE_SCROLLERS) == [], (name, width)
            sizes = page.evaluate(CHART_TEXT_PX)
            assert all(size >= 11.99 for size in sizes), (name, width, min(sizes))
            for pre in page.locator("main pre").all():
                assert pre.get_attribute("tabindex") == "0" and pre.get_attribute("aria-label")
            check_accessibility(page, f"{width}px-{name}")
    finally:
        context.close()
    assert missing == [], f"requests answered 404 (a missing favicon?): {missing}"


def test_code_blocks_and_tables_scroll_by_keyboard_on_a_phone(
    browser: Browser, server: ServerProcess, pages: dict[str, str]
) -> None:
    context = browser.new_context(viewport={"width": 320, "height": 800})
    page = context.new_page()
    try:
        page.goto(server.base_url + pages["question-with-code-and-table"])
        for selector in ("#stem pre", "#stem .table-scroll"):
            box = page.locator(selector).first
            assert box.evaluate("e => e.scrollWidth > e.clientWidth")  # it does overflow
            for _ in range(40):  # Tab until the box itself has focus
                page.keyboard.press("Tab")
                if box.evaluate("e => e === document.activeElement"):
                    break
            else:
                pytest.fail(f"{selector} never took keyboard focus")
            outline = box.evaluate("e => getComputedStyle(e).outlineStyle")
            assert outline != "none"  # the focus is visible
            assert box.evaluate("e => e.scrollLeft") == 0
            for _ in range(5):
                page.keyboard.press("ArrowRight")
            # Keyboard scrolling is animated: wait for it to move the box (not the page).
            box.evaluate(
                """e => new Promise((done, fail) => {
                     const t0 = performance.now();
                     (function look() {
                       if (e.scrollLeft > 0) return done();
                       if (performance.now() - t0 > 5000) return fail(new Error('no scroll'));
                       requestAnimationFrame(look);
                     })();
                   })"""
            )
            assert page.evaluate("window.scrollX") == 0
        assert page.evaluate(FITS)
    finally:
        context.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def start(page: Page, url: str) -> None:
    page.goto(url)
    with page.expect_navigation():
        page.get_by_role("button", name="Start the assessment").click()
    page.wait_for_selector("form.answer")


def stored_answers(server: ServerProcess, page: Page) -> int:
    sid = page.url.split("/s/", 1)[1].split("/")[0]
    view = httpx.get(f"{server.base_url}/api/v1/sessions/{sid}", timeout=10).json()
    return int(view["progress"]["answered"])


def test_after_an_answer_the_page_shows_one_current_state(
    phone: Page, server: ServerProcess
) -> None:
    page = phone
    start(page, phone_assessment(server.base_url, server.author_token, "numeric"))
    assert "0 answered" in page.locator("#progress").inner_text()
    page.fill("#answer", "22,5")  # refused: the decimal separator
    page.get_by_role("button", name="Submit answer").click()
    page.wait_for_selector("#answer-error")
    assert "decimal separator" in page.locator("#answer-error").inner_text()
    assert page.evaluate("document.activeElement.id") in ("answer-error", "answer")
    page.fill("#answer", "2250")  # wrong, and 100 times too large
    page.get_by_role("button", name="Submit answer").click()
    page.wait_for_selector("#feedback-live #feedback")
    assert page.locator("#answer-error").count() == 0  # the old refusal is gone
    assert page.locator("[aria-invalid]").count() == 0
    assert page.locator(".feedback").count() == 1  # exactly one panel
    text = page.locator("#feedback-live").inner_text()
    assert "100 times too large" in text and "percentage" not in text
    assert "1 answered" in page.locator("#progress").inner_text()  # fresh progress
    assert page.locator("#progress").count() == 1
    assert page.evaluate(FITS)
    check_accessibility(page, "phone-numeric-feedback-in-place")


def test_an_empty_answer_is_refused_and_the_page_kept(phone: Page, server: ServerProcess) -> None:
    page = phone
    start(page, phone_assessment(server.base_url, server.author_token, "multiple_response"))
    assert "All or nothing" in page.locator("#scoring-rule").inner_text()
    before = page.locator("#stem").inner_text()
    page.get_by_role("button", name="Submit answer").click()
    page.wait_for_selector("#answer-error")
    assert page.locator("#answer-error").inner_text() == "Choose at least one answer."
    assert page.locator("#stem").inner_text() == before  # the same question, kept
    assert page.locator("#answer-error").get_attribute("role") == "alert"
    assert stored_answers(server, page) == 0  # nothing empty is scored
    page.locator("input[name=answer]").first.check()
    page.get_by_role("button", name="Submit answer").click()
    page.wait_for_selector("#feedback-live #feedback")
    assert page.locator("#answer-error").count() == 0
    assert stored_answers(server, page) == 1


def test_practice_second_try_leaves_no_leftovers_and_the_right_colour(
    phone: Page, server: ServerProcess
) -> None:
    page = phone
    url = phone_assessment(server.base_url, server.author_token, "single_choice", mode="practice")
    start(page, url)
    wrong = page.locator("label", has_text="pivot")
    wrong.click()
    with page.expect_navigation():
        page.get_by_role("button", name="Submit answer").click()
    page.wait_for_selector("#retry")
    page.locator("label", has_text="groupby").click()
    page.get_by_role("button", name="Submit your second try").click()
    page.wait_for_selector("#feedback-live #feedback")
    assert page.locator("#retry").count() == 0  # no second-try box, no "Show me the answer"
    assert page.get_by_role("button", name="Show me the answer").count() == 0
    panel = page.locator("#feedback-live #feedback")
    assert "right" in (panel.get_attribute("class") or "").split()
    heading = page.locator("#feedback-live #verdict")
    assert heading.inner_text() == "Right at the second try"
    right = page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--right')")
    assert right.strip() == "#0a5c2e"
    assert heading.evaluate("e => getComputedStyle(e).color") == "rgb(10, 92, 46)"  # not red
    assert "Your first try: not right" in panel.inner_text()
    check_accessibility(page, "phone-practice-second-try")


def test_an_answer_sent_offline_is_kept_and_sent_again(phone: Page, server: ServerProcess) -> None:
    page = phone
    start(page, phone_assessment(server.base_url, server.author_token, "numeric"))
    page.fill("#answer", "22.5")
    page.context.set_offline(True)
    page.get_by_role("button", name="Submit answer").click()
    status = page.locator("#answer-status")
    # A locator assertion, not wait_for_function: the page's CSP forbids eval, which a string
    # predicate needs whenever it is not true at the first poll.
    expect(status).to_contain_text("could not reach the server")
    assert "could not reach the server" in status.inner_text()
    assert "Your answer is kept" in status.inner_text()
    assert page.locator("#answer").input_value() == "22.5"  # the typed answer survives
    assert page.locator("form.answer").count() == 1  # still the question page
    check_accessibility(page, "phone-offline-kept")
    page.context.set_offline(False)  # back online: it is sent again by itself
    page.wait_for_selector("#feedback-live #feedback", timeout=20_000)
    assert page.locator("#feedback-live #verdict").inner_text() == "Right"
    assert status.inner_text() == ""
    assert stored_answers(server, page) == 1  # once, although it was tried twice


def test_without_script_the_feedback_page_shows_the_question_and_the_report_prints_whole(
    browser: Browser, server: ServerProcess, page: Page
) -> None:
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    context.set_default_timeout(15_000)
    plain = context.new_page()
    try:
        url = phone_assessment(server.base_url, server.author_token, "numeric", length=2)
        plain.goto(url)
        with plain.expect_navigation():
            plain.get_by_role("button", name="Start the assessment").click()
        stem = plain.locator("#stem").inner_text()
        plain.fill("#answer", "2250")
        with plain.expect_navigation():
            plain.get_by_role("button", name="Submit answer").click()
        assert "/feedback/1" in plain.url
        assert plain.locator("#stem").inner_text() == stem  # the question it explains
        assert "100 times too large" in plain.locator("#feedback").inner_text()
        assert "1 answered" in plain.locator("#progress").inner_text()
        assert plain.evaluate(FITS)
        feedback_url = plain.url
        with plain.expect_navigation():
            plain.locator("a.primary").click()
        plain.fill("#answer", "22.5")
        with plain.expect_navigation():
            plain.get_by_role("button", name="Submit answer").click()
        with plain.expect_navigation():
            plain.locator("a.primary").click()
        assert plain.url.endswith("/result")
        # The report: the summary comes first, each answer's feedback is folded ...
        first = plain.locator("main section").first
        assert first.get_attribute("id") == "summary"
        answers = plain.locator("article.review details.answer")
        assert answers.count() == 2
        assert all(d.get_attribute("open") is None for d in answers.all())
        assert not plain.locator("article.review .feedback").first.is_visible()
        plain.locator("article.review summary").first.click()  # open by hand, no script
        assert plain.locator("article.review .feedback").first.is_visible()
        plain.locator("article.review summary").first.click()
        # ... and printing shows everything, by the stylesheet alone.
        plain.emulate_media(media="print")
        for panel in plain.locator("article.review .feedback").all():
            assert panel.is_visible()
        assert plain.locator("table.path").is_visible()
        assert plain.locator("details.technical table").is_visible()
        plain.emulate_media(media="screen")
        report_url = plain.url
    finally:
        context.close()
    for name, url in (("feedback-no-script", feedback_url), ("report-print", report_url)):
        page.goto(url)
        check_accessibility(page, f"phone-{name}")


def test_the_report_is_summary_first_and_every_answer_folds(
    phone: Page, server: ServerProcess
) -> None:
    page = phone
    assessment = server.assessment_url.rsplit("/", 1)[1]
    with httpx.Client(base_url=server.base_url, timeout=30) as api:
        done = take(api, assessment, correct=False, email=None, name=None)
    page.goto(f"{server.base_url}/s/{done['id']}/result")
    main_text = page.locator("main").inner_text()
    assert main_text.index("The test stopped because") < main_text.index("Where you stand")
    assert "stopped because reached" not in main_text
    assert "100%" not in main_text and " 0%" not in main_text
    report = httpx.get(f"{server.base_url}/api/v1/sessions/{done['id']}/report", timeout=10)
    answers = page.locator("article.review details.answer")
    assert answers.count() == report.json()["questions"] > 0
    assert all(d.get_attribute("open") is None for d in answers.all())
    height = page.evaluate("document.scrollingElement.scrollHeight")
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    assert all(d.get_attribute("open") is not None for d in answers.all())
    page.evaluate("window.dispatchEvent(new Event('afterprint'))")
    assert page.evaluate("document.scrollingElement.scrollHeight") == height
    # A link to an answer ("seen in question 3") opens its explanation.
    page.goto(f"{server.base_url}/s/{done['id']}/result#answer-2")
    assert page.locator("#answer-2 details").get_attribute("open") is not None
    # The summary speaks the reported scale; theta only in the psychometric details.
    assert "θ" not in page.locator("#summary").inner_text()
    assert (page.locator("details.technical").text_content() or "").count("θ") >= 1


def test_the_progress_speaks_points(phone: Page, server: ServerProcess) -> None:
    start(phone, server.assessment_url)
    progress = phone.locator("#progress").inner_text()
    assert "measured to ± 100 points" in progress  # the prior's SD, before any answer
    assert "0 answered, at most 28 questions in all" in progress


def test_keyboard_only_on_a_phone_from_landing_to_an_opened_explanation(
    phone: Page, server: ServerProcess
) -> None:
    page = phone
    page.goto(phone_assessment(server.base_url, server.author_token, "numeric", length=2))
    tab_to(page, "el.tagName === 'BUTTON' && el.textContent.includes('Start the assessment')")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    for typed in ("2250", "22.5"):
        page.wait_for_selector("form.answer")
        tab_to(page, "el.id === 'answer'")
        page.keyboard.type(typed)
        page.keyboard.press("Enter")  # submits the form
        page.wait_for_selector("#feedback-live #feedback")
        assert page.evaluate("document.activeElement.matches('#feedback-live a.primary')")
        with page.expect_navigation():
            page.keyboard.press("Enter")
    assert page.url.endswith("/result")
    tab_to(page, "el.tagName === 'SUMMARY' && el.closest('article.review')")
    page.keyboard.press("Enter")
    opened = page.evaluate("document.activeElement.closest('details').open")
    assert opened
    assert page.evaluate(FITS)
    check_accessibility(page, "phone-report-keyboard")
