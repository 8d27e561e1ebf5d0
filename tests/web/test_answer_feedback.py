"""The author's correct / incorrect feedback (QTI feedback on correct and other answers)."""

from __future__ import annotations

import html
import json
import random

from engine.learner import raw_answer
from item_banks.native import decode_bank
from tests.answers import shown_by_text
from tests.item_banks.helpers import raw_bank
from tests.web.conftest import Site


def test_the_learner_sees_the_feedback_for_their_answer_only_after_it(site: Site) -> None:
    raw = raw_bank(2)
    for item in raw["items"]:
        item["correct_feedback"] = f"Well done on {item['id']}."
        item["incorrect_feedback"] = f"Look again at {item['id']}."
    bank = decode_bank(json.dumps(raw).encode(), source="b.json", fmt="json")
    uploaded = site.client.post(
        "/api/v1/author/banks?filename=fb.json",
        content=json.dumps(raw).encode(),
        headers=site.auth(),
    )
    assert uploaded.status_code == 201, uploaded.text
    created = site.client.post(
        "/api/v1/author/assessments",
        json={
            "title": "Feedback",
            "bank_hash": uploaded.json()["hash"],
            "feedback_mode": "instant",
            "policy": {"stopping": {"rule": "fixed_length", "n": 2}},
        },
        headers=site.auth(),
    )
    assert created.status_code == 201, created.text
    items = {item.id: item for item in bank.items}
    state = site.client.post(f"/api/v1/assessments/{created.json()['id']}/sessions", json={}).json()
    seen = []
    for category in (1, 0):
        item = items[state["item"]["id"]]
        page = html.unescape(site.client.get(f"/s/{state['id']}").text)
        assert "Well done on" not in page and "Look again at" not in page
        assert "Well done on" not in json.dumps(state) and "Look again" not in json.dumps(state)
        answer = raw_answer(item, category, random.Random(1))
        body = {
            "item_id": item.id,
            "position": state["item"]["position"],
            "answer": shown_by_text(item, state["item"], answer),
        }
        reply = site.client.post(f"/api/v1/sessions/{state['id']}/responses", json=body)
        assert reply.status_code == 200, reply.text
        text = html.unescape(reply.text)
        right, wrong = item.correct_feedback, item.incorrect_feedback
        assert (right in text, wrong in text) == (category == 1, category == 0)
        seen.append(category)
        state = reply.json()["session"]
    assert seen == [1, 0]
    # The report's feedback panels show each answer's note as HTML.
    report = html.unescape(site.client.get(f"/s/{state['id']}").text)
    assert report.count('<div class="prose author-note">') == 2
    assert "Well done on" in report and "Look again at" in report
