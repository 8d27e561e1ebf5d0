"""Take the demo assessment through the API until it passes (every answer right)."""

from __future__ import annotations

import random
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient

from engine.learner import raw_answer
from item_banks.model import category_count
from item_banks.native import read_bank
from item_banks.sample import sample_bank_path
from tests.answers import shown_by_text

ITEMS = {item.id: item for item in read_bank(sample_bank_path()).items}


def take(
    client: TestClient[Litestar] | Any,
    assessment_id: str,
    *,
    correct: bool = True,
    name: str | None = "Ada Lovelace",
    email: str | None = "ada@example.org",
    did: str | None = None,
    seed: int = 1,
) -> dict[str, Any]:
    """Start, answer every question (right or wrong), return the final session view."""
    rng = random.Random(seed)
    body = {k: v for k, v in {"name": name, "email": email, "did": did}.items() if v}
    reply = client.post(f"/api/v1/assessments/{assessment_id}/sessions", json=body)
    assert reply.status_code == 201, reply.text
    return answer_all(client, reply.json(), correct=correct, rng=rng)


def answer_all(
    client: TestClient[Litestar] | Any,
    view: dict[str, Any],
    *,
    correct: bool = True,
    rng: random.Random | None = None,
) -> dict[str, Any]:
    """Answer every remaining question of a started session; return the final view."""
    rng = rng or random.Random(1)
    while view["status"] == "in_progress":
        item = ITEMS[view["item"]["id"]]
        top = category_count(item.irt) - 1
        answer = shown_by_text(item, view["item"], raw_answer(item, top if correct else 0, rng))
        reply = client.post(
            f"/api/v1/sessions/{view['id']}/responses",
            json={"item_id": item.id, "position": view["item"]["position"], "answer": answer},
        )
        assert reply.status_code == 200, reply.text
        view = reply.json()["session"]
    return view
