"""Package audio and video on a learner page: native players, keyboard reachable, axe clean."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page

from tests.browser.conftest import check_accessibility
from tests.item_banks.formats.test_audio_video import PACKAGE
from tests.server import ServerProcess

pytestmark = pytest.mark.browser


def test_audio_and_video_are_native_players_within_the_csp(
    page: Page, server: ServerProcess
) -> None:
    auth = {"Authorization": f"Bearer {server.author_token}"}
    with httpx.Client(base_url=server.base_url, headers=auth) as api:
        bank = api.post("/api/v1/author/banks?filename=sounds.zip", content=PACKAGE)
        assert bank.status_code == 201, bank.text
        created = api.post(
            "/api/v1/author/assessments",
            json={
                "title": "Sounds",
                "bank_hash": bank.json()["hash"],
                "policy": {"stopping": {"rule": "fixed_length", "n": 1}},
            },
        ).json()
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security" in m.text else None)
    page.goto(created["url"])
    page.get_by_role("button", name="Start the assessment").click()
    page.wait_for_selector("form.answer")
    audio = page.locator("audio[aria-label='The word cat']")
    assert audio.get_attribute("controls") is not None
    assert audio.evaluate("a => a.paused && !a.autoplay && a.preload") == "none"
    video = page.locator("video[aria-label='A cat walking']")
    assert video.evaluate("v => v.paused && !v.autoplay && v.controls")
    audio.focus()
    assert page.evaluate("document.activeElement.tagName") == "AUDIO"
    check_accessibility(page, "learner-question-audio-video")
    assert blocked == []
