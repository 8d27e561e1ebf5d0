"""Kill the server with SIGKILL mid-session, restart it, and finish: nothing answered is lost."""

from __future__ import annotations

import random
from pathlib import Path

import httpx

from engine.learner import raw_answer
from item_banks.model import category_count
from item_banks.native import read_bank
from item_banks.sample import sample_bank_path
from tests.answers import shown_by_text
from tests.server import start_server
from web.pseudonyms import person_id

ITEMS = {item.id: item for item in read_bank(sample_bank_path()).items}


def answer(client: httpx.Client, view: dict, rng: random.Random) -> dict:  # type: ignore[type-arg]
    item = ITEMS[view["item"]["id"]]
    body = {
        "item_id": item.id,
        "position": view["item"]["position"],
        "answer": shown_by_text(
            item, view["item"], raw_answer(item, rng.randrange(category_count(item.irt)), rng)
        ),
    }
    reply = client.post(f"/api/v1/sessions/{view['id']}/responses", json=body)
    assert reply.status_code == 200, reply.text
    return reply.json()["session"]  # type: ignore[no-any-return]


def test_sigkill_then_restart_keeps_every_answer(tmp_path: Path) -> None:
    rng = random.Random(11)
    server = start_server(tmp_path)
    try:
        with httpx.Client(base_url=server.base_url, timeout=10) as client:
            assessment = server.assessment_url.rsplit("/", 1)[1]
            view = client.post(f"/api/v1/assessments/{assessment}/sessions", json={}).json()
            sid = view["id"]
            answered = []
            for _ in range(5):
                answered.append(view["item"]["id"])
                view = answer(client, view, rng)
            pending_before = view["item"]["id"]
    finally:
        server.kill()
    assert server.process.returncode == -9

    restarted = start_server(tmp_path, port=server.port)
    try:
        with httpx.Client(base_url=restarted.base_url, timeout=10) as client:
            resumed = client.get(f"/api/v1/sessions/{sid}").json()
            assert resumed["status"] == "in_progress"
            assert resumed["item"]["id"] == pending_before  # the same question comes back
            assert resumed["item"]["position"] == 6
            assert resumed["progress"]["answered"] == 5
            page = client.get(f"/s/{sid}")
            assert f'name="item_id" value="{pending_before}"' in page.text
            view = resumed
            while view["status"] == "in_progress":
                answered.append(view["item"]["id"])
                view = answer(client, view, rng)
            assert view["result"] is not None
            export = client.get(
                f"/api/v1/author/assessments/{assessment}/responses.csv",
                headers={"Authorization": f"Bearer {restarted.author_token}"},
            )
            rows = [line.split(",") for line in export.text.strip().splitlines()[1:]]
            assert sid not in export.text  # the export names sessions by pseudonym only
            secret = (tmp_path / "secret_key").read_text(encoding="ascii").strip()
            mine = [r for r in rows if r[0] == person_id(secret, sid)]
            assert [r[1] for r in mine] == answered  # every answer, in order, exactly once
            assert [int(r[5]) for r in mine] == list(range(1, len(answered) + 1))
    finally:
        restarted.stop()


def test_granian_serves_the_same_service_and_a_sigkill_loses_nothing(tmp_path: Path) -> None:
    """``skillgauge serve --server granian`` (two workers): answers, pages and their headers,
    a SIGKILL and a restart, as with uvicorn."""
    rng = random.Random(12)
    env = {"SKILLGAUGE_SERVER": "granian"}
    server = start_server(tmp_path, workers=2, extra_env=env)
    try:
        with httpx.Client(base_url=server.base_url, timeout=10) as client:
            assessment = server.assessment_url.rsplit("/", 1)[1]
            view = client.post(f"/api/v1/assessments/{assessment}/sessions", json={}).json()
            sid = view["id"]
            for _ in range(4):
                view = answer(client, view, rng)
            pending_before = view["item"]["id"]
    finally:
        server.kill()
    restarted = start_server(tmp_path, port=server.port, workers=2, extra_env=env)
    try:
        with httpx.Client(base_url=restarted.base_url, timeout=10) as client:
            resumed = client.get(f"/api/v1/sessions/{sid}").json()
            assert resumed["item"]["id"] == pending_before
            assert resumed["progress"]["answered"] == 4
            page = client.get(f"/s/{sid}")
            assert page.status_code == 200
            assert "content-security-policy" in page.headers
            assert answer(client, resumed, rng)["progress"]["answered"] == 5
    finally:
        restarted.stop()
    assert restarted.process.returncode is not None
    assert not any(sid in line for line in restarted.output), "a session key was logged"
