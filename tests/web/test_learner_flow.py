"""The learner flow, in pages and through the API, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import func, select, update

from engine.learner import raw_answer
from item_banks.model import category_count
from item_banks.native import encode_bank
from tests.answers import shown_ids
from tests.web.conftest import Site, form_fields, settings_for
from tests.web.mixed_bank import mixed_bank
from web import learning
from web.answers import OptionIds
from web.app import create_app
from web.db.schema import learner_sessions, responses
from web.demo import ensure_demo
from web.store.assessments import set_status
from web.store.sessions import load_session


def start_page_session(site: Site) -> str:
    r = site.client.post(
        f"/a/{site.assessment_id}/start",
        data={"_csrf_token": site.csrf()},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return str(r.headers["location"]).rsplit("/", 1)[1]


def answer_for(site: Site, sid: str, item_id: str, correct: bool, rng: random.Random) -> Any:
    """A right or wrong answer, in the option ids session ``sid`` is shown."""
    with site.runtime.db.read() as conn:
        compiled = site.runtime.compiled(
            conn, site.runtime.assessment(conn, site.assessment_id).bank_hash
        )
    item = compiled.items[item_id]
    raw = raw_answer(item, category_count(item.irt) - 1 if correct else 0, rng)
    return shown_ids(site.runtime.settings.secret_key, sid, item, raw)


def test_full_page_flow_to_the_result(any_site: Site) -> None:
    site = any_site
    landing = site.client.get(f"/a/{site.assessment_id}")
    assert landing.status_code == 200
    for words in ("What it measures", "How long it takes", "What is stored", "Credential"):
        assert words in landing.text
    # The demo offers a credential: name and email are asked for, and optional.
    assert 'name="email"' in landing.text
    assert "required" not in landing.text.split('name="email"')[1].split(">")[0]
    sid = start_page_session(site)
    rng = random.Random(1)
    seen = []
    for _ in range(40):
        page = site.client.get(f"/s/{sid}", follow_redirects=False)
        if page.status_code == 303:
            assert page.headers["location"] == f"/s/{sid}/result"
            break
        assert page.status_code == 200
        fields = form_fields(page.text)
        seen.append(fields["item_id"])
        assert site.client.get(f"/s/{sid}").text == page.text  # a reload shows the same question
        answer = answer_for(site, sid, fields["item_id"], len(seen) % 3 != 0, rng)
        data: dict[str, Any] = {"_csrf_token": site.csrf(), **fields, "answer": answer}
        posted = site.client.post(f"/s/{sid}/answer", data=data, follow_redirects=False)
        assert posted.status_code == 303
        assert posted.headers["location"] == f"/s/{sid}/feedback/{fields['position']}"
        feedback = site.client.get(posted.headers["location"])
        expected = "Right" if len(seen) % 3 != 0 else "Not right"
        assert f'<h2 id="verdict">{expected}' in feedback.text
        if expected == "Not right":
            assert "The correct answer" in feedback.text
    else:
        pytest.fail("the test did not finish in 40 questions")
    result = site.client.get(f"/s/{sid}/result")
    assert result.status_code == 200
    assert "Result per skill" in result.text
    results_table = result.text.split('<table class="results">', 1)[1].split("</table>", 1)[0]
    assert results_table.count('<th scope="row">') == 4
    assert len(set(seen)) == len(seen)
    with site.runtime.db.read() as conn:
        stored = conn.execute(
            select(func.count()).select_from(responses).where(responses.c.session_id == sid)
        ).scalar_one()
    assert stored == len(seen)  # every answer stored


def test_api_flow(any_site: Site) -> None:
    site = any_site
    created = site.client.post(f"/api/v1/assessments/{site.assessment_id}/sessions", json={})
    assert created.status_code == 201, created.text
    view = created.json()
    sid = view["id"]
    assert view["status"] == "in_progress"
    rng = random.Random(2)
    answered = 0
    while view["status"] == "in_progress":
        item = view["item"]
        assert set(item) >= {"id", "position", "stem_html", "type"}
        answer = answer_for(site, sid, item["id"], answered % 2 == 0, rng)
        reply = site.client.post(
            f"/api/v1/sessions/{sid}/responses",
            json={"item_id": item["id"], "position": item["position"], "answer": answer},
        )
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert body["feedback"]["correct"] == (answered % 2 == 0)
        assert body["feedback"]["item_id"] == item["id"]
        view = body["session"]
        answered += 1
    assert view["result"]["items"] <= answered
    assert len(view["result"]["competencies"]) == 4
    again = site.client.get(f"/api/v1/sessions/{sid}").json()
    assert again["status"] == "finished"
    assert again["result"] == view["result"]


def test_resubmitting_an_answer_stores_nothing_twice(any_site: Site) -> None:
    site = any_site
    view = site.client.post(f"/api/v1/assessments/{site.assessment_id}/sessions", json={}).json()
    item = view["item"]
    answer = answer_for(site, view["id"], item["id"], True, random.Random(0))
    body = {"item_id": item["id"], "position": 1, "answer": answer}
    first = site.client.post(f"/api/v1/sessions/{view['id']}/responses", json=body)
    second = site.client.post(f"/api/v1/sessions/{view['id']}/responses", json=body)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    with site.runtime.db.read() as conn:
        count = conn.execute(
            select(func.count()).select_from(responses).where(responses.c.session_id == view["id"])
        ).scalar_one()
    assert count == 1
    stale = site.client.post(
        f"/api/v1/sessions/{view['id']}/responses",
        json={"item_id": item["id"], "position": 2, "answer": answer},
    )
    assert stale.status_code == 409
    assert stale.headers["content-type"].startswith("application/problem+json")
    assert "another question" in stale.json()["detail"]


def test_malformed_answer_is_refused_not_scored(site: Site) -> None:
    sid = start_page_session(site)
    page = site.client.get(f"/s/{sid}")
    fields = form_fields(page.text)
    data = {"_csrf_token": site.csrf(), **fields, "answer": "not-an-option"}
    if fields["kind"] in ("numeric",):
        data["answer"] = "twelve"
    refused = site.client.post(f"/s/{sid}/answer", data=data, follow_redirects=False)
    if fields["kind"] == "short_text":
        assert refused.status_code == 303  # any text is a (wrong) short answer
        return
    assert refused.status_code == 422
    assert 'role="alert"' in refused.text
    assert form_fields(refused.text) == fields  # the same question again
    with site.runtime.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(responses)).scalar_one() == 0


def test_api_validation_errors_are_problem_details(site: Site) -> None:
    view = site.client.post(f"/api/v1/assessments/{site.assessment_id}/sessions", json={}).json()
    bad = site.client.post(
        f"/api/v1/sessions/{view['id']}/responses", json={"item_id": "x", "answer": "a", "extra": 1}
    )
    assert bad.status_code == 400
    problem = bad.json()
    assert problem["status"] == 400
    assert problem["title"] == "Invalid request"
    assert bad.headers["content-type"].startswith("application/problem+json")
    unknown = site.client.get("/api/v1/sessions/does-not-exist")
    assert unknown.status_code == 404
    assert unknown.json()["title"] == "Not found"


def test_two_app_processes_serve_one_session_interchangeably(
    database_url: str, tmp_path: Path
) -> None:
    """Web processes keep no state: alternate two independent apps on one database."""
    apps = [create_app(settings_for(database_url, tmp_path)) for _ in range(2)]
    with TestClient(apps[0]) as one, TestClient(apps[1]) as two:
        info = ensure_demo(apps[0].state.runtime)
        assessment_id = info.assessment_url.rsplit("/", 1)[1]
        view = one.post(f"/api/v1/assessments/{assessment_id}/sessions", json={}).json()
        sid = view["id"]
        rng = random.Random(5)
        clients = [one, two]
        steps = 0
        runtime = apps[1].state.runtime
        while view["status"] == "in_progress" and steps < 12:
            client = clients[steps % 2]
            assert client.get(f"/api/v1/sessions/{sid}").json()["item"] == view["item"]
            with runtime.db.read() as conn:
                compiled = runtime.compiled(conn, runtime.assessment(conn, assessment_id).bank_hash)
            item = compiled.items[view["item"]["id"]]
            answer = shown_ids(runtime.settings.secret_key, sid, item, raw_answer(item, 1, rng))
            reply = client.post(
                f"/api/v1/sessions/{sid}/responses",
                json={"item_id": item.id, "position": view["item"]["position"], "answer": answer},
            )
            assert reply.status_code == 200, reply.text
            view = reply.json()["session"]
            steps += 1
        with runtime.db.read() as conn:
            record = load_session(conn, sid)
        assert record is not None
        assert len(record.state.items) == steps


def test_time_limit_finishes_the_session(site: Site) -> None:
    view = site.client.post(f"/api/v1/assessments/{site.assessment_id}/sessions", json={}).json()
    with site.runtime.db.write() as conn:
        conn.execute(
            update(learner_sessions)
            .where(learner_sessions.c.id == view["id"])
            .values(deadline=datetime(2020, 1, 1, tzinfo=UTC))
        )
    item = view["item"]
    late = site.client.post(
        f"/api/v1/sessions/{view['id']}/responses",
        json={"item_id": item["id"], "position": 1, "answer": "x"},
    )
    assert late.status_code == 409
    assert "time limit" in late.json()["detail"]
    finished = site.client.get(f"/api/v1/sessions/{view['id']}").json()
    assert finished["status"] == "finished"
    assert finished["result"]["stop_reason"] == "the time limit was reached"


def test_closed_assessment_refuses_new_sessions(site: Site) -> None:
    with site.runtime.db.write() as conn:
        set_status(conn, site.assessment_id, "closed")
    refused = site.client.post(f"/api/v1/assessments/{site.assessment_id}/sessions", json={})
    assert refused.status_code == 404
    assert site.client.get(f"/a/{site.assessment_id}").status_code == 404


def test_order_and_match_questions_in_pages(site: Site) -> None:
    """Every interaction the engine can present works through the HTML form."""
    uploaded = site.client.post(
        "/api/v1/author/banks?filename=mixed.json",
        content=encode_bank(mixed_bank(), "json"),
        headers=site.auth(),
    ).json()
    created = site.client.post(
        "/api/v1/author/assessments",
        json={
            "title": "Mixed",
            "bank_hash": uploaded["hash"],
            "policy": {
                "stopping": {"rule": "fixed_length", "n": 6},
                "selection": {"method": "random"},
            },
        },
        headers=site.auth(),
    ).json()
    site_id = created["id"]
    r = site.client.post(
        f"/a/{site_id}/start", data={"_csrf_token": site.csrf()}, follow_redirects=False
    )
    sid = r.headers["location"].rsplit("/", 1)[1]
    ids = OptionIds(site.runtime.settings.secret_key, sid)

    def o(item: str, option: str, role: str = "") -> str:  # the id this session is shown
        return ids.shown(item, option, role)

    right_answers: dict[str, dict[str, Any]] = {
        "m-order": {f"rank:{o('m-order', f'o{n}')}": str(n) for n in (1, 2, 3)},
        "m-match": {
            f"match:{o('m-match', 'o1', 's')}": o("m-match", "t1", "t"),
            f"match:{o('m-match', 'o2', 's')}": o("m-match", "t2", "t"),
        },
        "m-single": {"answer": o("m-single", "o1")},
        "m-multi": {"answer": [o("m-multi", "o1"), o("m-multi", "o3")]},
        "m-number": {"answer": "3"},
        "m-text": {"answer": "dropna"},
    }
    seen = []
    while True:
        page = site.client.get(f"/s/{sid}", follow_redirects=False)
        if page.status_code == 303:
            break
        fields = form_fields(page.text)
        seen.append(fields["kind"])
        data: dict[str, Any] = {"_csrf_token": site.csrf(), **fields}
        if fields["kind"] == "order":
            assert page.text.count('name="rank:') == 3
            ranks = [f"rank:{o('m-order', f'o{n}')}" for n in (1, 2, 3)]
            duplicate = dict(data, **dict(zip(ranks, ("1", "1", "3"), strict=True)))
            refused = site.client.post(f"/s/{sid}/answer", data=duplicate)
            assert refused.status_code == 422
            assert "give every item a different position" in refused.text
        if fields["kind"] == "match":
            assert page.text.count('name="match:') == 2
            assert page.text.count(">No match</option>") == 2
        data.update(right_answers[fields["item_id"]])
        posted = site.client.post(f"/s/{sid}/answer", data=data, follow_redirects=False)
        assert posted.status_code == 303, posted.text
        feedback = site.client.get(posted.headers["location"]).text
        assert '<h2 id="verdict">Right' in feedback, fields
    assert sorted(seen) == sorted(
        ["order", "match", "single_choice", "multiple_response", "numeric", "short_text"]
    )


def test_concurrent_submissions_of_one_answer_store_it_once(any_site: Site) -> None:
    """Eight requests race with the same answer: one stores it, all get the same outcome."""
    site = any_site
    view = site.client.post(f"/api/v1/assessments/{site.assessment_id}/sessions", json={}).json()
    sid = view["id"]
    rng = random.Random(3)
    for position in (1, 2, 3):
        item = view["item"]
        answer = answer_for(site, view["id"], item["id"], position != 2, rng)

        def submit(
            _: int, item_id: str = item["id"], answer: Any = answer, at: int = position
        ) -> Any:
            return learning.submit_answer(
                site.runtime, sid, item_id=item_id, position=at, answer=answer
            )

        with ThreadPoolExecutor(8) as pool:
            outcomes = list(pool.map(submit, range(8)))
        assert all(o == outcomes[0] for o in outcomes)
        view = site.client.get(f"/api/v1/sessions/{view['id']}").json()
        assert view["status"] == "in_progress"
        assert view["progress"]["answered"] == position
    with site.runtime.db.read() as conn:
        seqs = conn.execute(
            select(responses.c.seq).where(responses.c.session_id == view["id"])
        ).scalars()
        assert sorted(seqs) == [1, 2, 3]
        record = load_session(conn, view["id"])
    assert record is not None and record.version == 3
