"""Security: the answer key never leaks early, CSRF, headers, limits, access control."""

from __future__ import annotations

import html
import json
import random
import re
from pathlib import Path

import msgspec
import pytest
from sqlalchemy import update

from engine.learner import raw_answer
from item_banks.model import Item, MultipleResponse, Numeric, ShortText, SingleChoice
from item_banks.native import decode_bank, read_bank
from item_banks.sample import sample_bank_path
from tests.answers import shown_by_text, shown_ids
from tests.item_banks.helpers import raw_bank
from tests.web.conftest import Site, open_site
from web.answers import OptionIds
from web.authoring import create_author
from web.db.schema import learner_sessions
from web.errors import ConfigurationError
from web.markdown import render, render_inline
from web.settings import load_settings
from web.store.sessions import load_session

BANK = read_bank(sample_bank_path())


MISCONCEPTIONS = {m.id: m for m in BANK.misconceptions}


def secrets_of(item: Item, hints: int = 0) -> list[str]:
    """Texts that must not be visible before the item is answered (raw and rendered).

    The solution, the author notes, the correct / incorrect feedback, the hints (but the
    first ``hints``, in practice mode), option rationales,
    numeric common wrong answers and short-text wrong answers with their explanations, and
    the explanations of the misconceptions the item points to.
    """
    texts = [item.solution, item.notes, item.correct_feedback, item.incorrect_feedback]
    texts += item.hints[hints:]
    interaction = item.interaction
    named: list[str | None] = []
    if isinstance(interaction, SingleChoice | MultipleResponse):
        texts += [o.rationale for o in interaction.options if o.rationale]
        named += [o.misconception for o in interaction.options]
    if isinstance(interaction, Numeric):
        texts += [w.explanation for w in interaction.common_wrong_answers]
        named += [w.misconception for w in interaction.common_wrong_answers]
    if isinstance(interaction, ShortText):
        texts += [w.explanation for w in interaction.wrong_answers]
        named += [w.misconception for w in interaction.wrong_answers]
    texts += [MISCONCEPTIONS[m].explanation for m in named if m]
    found = []
    for text in texts:
        if not text.strip():
            continue
        found.append(text.strip())
        inline = render_inline(text).strip()
        if len(inline) > 12:
            found.append(inline)
    return found


def key_values(item: Item) -> list[str]:
    """Forms of the answer key that must not appear (unless the stem itself shows them).

    (Authored wrong answers are not secret in themselves: "count" or "sum" reveal nothing;
    their explanations are, and :func:`secrets_of` lists those.)
    """
    interaction = item.interaction
    if isinstance(interaction, Numeric):
        values = [repr(interaction.key), f"{interaction.key:g}"]
    elif isinstance(interaction, ShortText):
        values = list(interaction.key)
    else:
        return []
    stem = html.unescape(render(item.stem)) + item.stem
    return [v for v in values if len(v) > 1 and v not in stem]


def force_pending(site: Site, session_id: str, item_index: int) -> None:
    with site.runtime.db.write() as conn:
        record = load_session(conn, session_id)
        assert record is not None
        state = msgspec.structs.replace(record.state, pending=item_index)
        conn.execute(
            update(learner_sessions)
            .where(learner_sessions.c.id == session_id)
            .values(state=msgspec.json.encode(state).decode())
        )


def test_no_key_rationale_solution_hint_or_parameter_before_the_answer(site: Site) -> None:
    """Every item of the sample bank, shown as the current question, in the page and the API."""
    with site.runtime.db.read() as conn:
        compiled = site.runtime.compiled(
            conn, site.runtime.assessment(conn, site.assessment_id).bank_hash
        )
    sid = site.client.post(f"/api/v1/assessments/{site.assessment_id}/sessions", json={}).json()[
        "id"
    ]
    checked = 0
    for index, item_id in enumerate(compiled.pool.item_ids):
        item = compiled.items[item_id]
        force_pending(site, sid, index)
        page = site.client.get(f"/s/{sid}").text
        api = site.client.get(f"/api/v1/sessions/{sid}").text
        api_json = json.loads(api)
        assert api_json["item"]["id"] == item_id
        assert f'name="item_id" value="{item_id}"' in page
        for where, text in (("page", page), ("api", api)):
            plain = html.unescape(text)
            for secret in secrets_of(item):
                assert secret not in text and secret not in plain, (item_id, where, secret[:40])
            for value in key_values(item):  # (the random session id may hold digits)
                shown = re.sub(r'name="[^"]*" value="[^"]*"', "", plain).replace(sid, "")
                assert value not in shown, (item_id, where, value)
        for word in ('"irt"', '"rationale"', '"solution"', '"hints"', '"key"', '"misconception"'):
            assert word not in api
        assert "rationale" not in page.lower()
        checked += 1
    assert checked == len(BANK.items)


def test_practice_mode_shows_only_the_hints_asked_for_after_a_wrong_first_try(
    site: Site,
) -> None:
    """Every item of the sample bank in practice mode: no hint before the first try; after a
    wrong first try exactly the first hint (then one more per request), and still no key,
    rationale, solution, wrong-answer explanation or misconception explanation."""
    with site.runtime.db.read() as conn:
        bank_hash = site.runtime.assessment(conn, site.assessment_id).bank_hash
        compiled = site.runtime.compiled(conn, bank_hash)
    created = site.client.post(
        "/api/v1/author/assessments",
        json={"title": "Practice", "bank_hash": bank_hash, "feedback_mode": "practice"},
        headers=site.auth(),
    ).json()
    rng = random.Random(3)
    checked = 0
    for index, item_id in enumerate(compiled.pool.item_ids):
        item = compiled.items[item_id]
        sid = site.client.post(f"/api/v1/assessments/{created['id']}/sessions", json={}).json()[
            "id"
        ]
        force_pending(site, sid, index)
        before = site.client.get(f"/s/{sid}").text
        for hint in item.hints:
            assert html.unescape(render(hint)) not in html.unescape(before), item_id
        reply = site.client.post(
            f"/api/v1/sessions/{sid}/responses",
            json={
                "item_id": item_id,
                "position": 1,
                "answer": shown_ids(
                    site.runtime.settings.secret_key, sid, item, raw_answer(item, 0, rng)
                ),
            },
        ).json()
        assert reply["feedback"] is None
        assert reply["practice"]["hints_html"] == [render(h) for h in item.hints[:1]]
        for hints in range(min(1, len(item.hints)), min(2, len(item.hints)) + 1):
            if hints == 2:  # one more hint, on request
                more = site.client.post(
                    f"/api/v1/sessions/{sid}/hints", json={"item_id": item_id, "position": 1}
                ).json()
                assert more["practice"]["hints_html"] == [render(h) for h in item.hints[:2]]
            page = site.client.get(f"/s/{sid}").text
            api = site.client.get(f"/api/v1/sessions/{sid}").text
            for where, text in (("page", page), ("api", api)):
                plain = html.unescape(text)
                for secret in secrets_of(item, hints):
                    assert secret not in text and secret not in plain, (item_id, where, secret[:40])
                for value in key_values(item):
                    shown = re.sub(r'name="[^"]*" value="[^"]*"', "", plain).replace(sid, "")
                    assert value not in shown, (
                        item_id,
                        value,
                    )
            for word in ('"rationale"', '"solution"', '"key"', '"explanation'):
                assert word not in api
        checked += 1
    assert checked == len(BANK.items)


def test_the_key_option_is_not_always_in_the_same_place(site: Site) -> None:
    """Options are shuffled per session, so the key's position carries no information."""
    with site.runtime.db.read() as conn:
        compiled = site.runtime.compiled(
            conn, site.runtime.assessment(conn, site.assessment_id).bank_hash
        )
    index = next(
        i
        for i, item_id in enumerate(compiled.pool.item_ids)
        if isinstance(compiled.items[item_id].interaction, SingleChoice)
    )
    item = compiled.items[compiled.pool.item_ids[index]]
    assert isinstance(item.interaction, SingleChoice)
    positions = set()
    key_ids = set()
    bank_ids = {o.id for o in item.interaction.options}
    for _ in range(12):
        sid = site.client.post(
            f"/api/v1/assessments/{site.assessment_id}/sessions", json={}
        ).json()["id"]
        force_pending(site, sid, index)
        options = [
            o["id"] for o in site.client.get(f"/api/v1/sessions/{sid}").json()["item"]["options"]
        ]
        ids = OptionIds(site.runtime.settings.secret_key, sid)
        assert sorted(options) == sorted(ids.shown(item.id, o) for o in bank_ids)
        assert not set(options) & bank_ids  # the bank's letters are never shown
        key = ids.shown(item.id, item.interaction.key)
        key_ids.add(key)
        positions.add(options.index(key))
        again = site.client.get(f"/api/v1/sessions/{sid}").json()["item"]["options"]
        assert [o["id"] for o in again] == options  # stable on reload
    assert len(positions) > 1
    assert len(key_ids) == 12  # the key's id differs in every session


def test_forms_need_the_csrf_token(site: Site) -> None:
    refused = site.client.post(f"/a/{site.assessment_id}/start", data={}, follow_redirects=False)
    assert refused.status_code == 403
    assert "form expired" in refused.text
    accepted = site.client.post(
        f"/a/{site.assessment_id}/start", data={"_csrf_token": site.csrf()}, follow_redirects=False
    )
    assert accepted.status_code == 303


def test_security_headers_and_no_inline_script(site: Site) -> None:
    for path in ("/", f"/a/{site.assessment_id}", "/author/login", "/schema"):
        response = site.client.get(path)
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "'unsafe-inline'" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        if path != "/schema":
            assert response.headers["cache-control"] == "no-store"
            assert not re.search(r"<script(?![^>]*\bsrc=)", response.text)  # no inline script
            assert " style=" not in response.text  # no inline style attribute either
            assert "http://" not in re.sub(r'xmlns="http://[^"]*"', "", response.text)


def test_session_ids_are_unguessable_and_private(site: Site) -> None:
    ids = {
        site.client.post(f"/api/v1/assessments/{site.assessment_id}/sessions", json={}).json()["id"]
        for _ in range(5)
    }
    assert len(ids) == 5
    assert all(len(i) >= 32 for i in ids)  # 192 random bits, URL-safe
    some = next(iter(ids))
    assert site.client.get(f"/api/v1/sessions/{some[:-1]}x").status_code == 404
    assert site.client.get("/api/v1/sessions").status_code in (404, 405)  # no listing


def test_session_creation_is_rate_limited(sqlite_url: str, tmp_path: Path) -> None:
    for strict in open_site(sqlite_url, tmp_path, SKILLGAUGE_SESSIONS_PER_MINUTE="3"):
        strict.runtime.clock = lambda: 1_000_000.0  # inside one window, whatever the time
        codes = [
            strict.client.post(
                f"/api/v1/assessments/{strict.assessment_id}/sessions", json={}
            ).status_code
            for _ in range(5)
        ]
        assert codes[:3] == [201, 201, 201]
        assert codes[3:] == [429, 429]
        limited = strict.client.post(
            f"/api/v1/assessments/{strict.assessment_id}/sessions", json={}
        )
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.json()["title"] == "Too many requests"


def test_request_size_is_limited(site: Site) -> None:
    sid = site.client.post(f"/api/v1/assessments/{site.assessment_id}/sessions", json={}).json()[
        "id"
    ]
    huge = {"item_id": "x", "position": 1, "answer": "a" * 2_000_000}
    response = site.client.post(f"/api/v1/sessions/{sid}/responses", json=huge)
    assert response.status_code == 413


def test_author_pages_and_api_need_a_token(site: Site) -> None:
    signed_out_pages = [
        "/author",
        "/author/banks/upload",
        f"/author/banks/{'0' * 64}",
        f"/author/assessments/{site.assessment_id}",
        f"/author/assessments/{site.assessment_id}/responses.csv",
        f"/author/assessments/{site.assessment_id}/credential",
        "/author/webhooks",
        "/author/webhooks/some-endpoint",
    ]
    for path in signed_out_pages:
        response = site.client.get(path, follow_redirects=False)
        assert (response.status_code, response.headers.get("location")) == (
            303,
            "/author/login",
        ), path
    assert site.client.get("/api/v1/author/banks").status_code == 401
    bad = site.client.get("/api/v1/author/banks", headers={"Authorization": "Bearer sgt_nope"})
    assert bad.status_code == 401
    assert site.client.get("/api/v1/author/banks", headers=site.auth()).status_code == 200


def test_authors_see_only_their_own_assessments(site: Site) -> None:
    _, other_token = create_author(site.runtime, "other@example.org")
    other = {"Authorization": f"Bearer {other_token}"}
    assert (
        site.client.get(
            f"/api/v1/author/assessments/{site.assessment_id}", headers=other
        ).status_code
        == 404
    )
    assert site.client.get("/api/v1/author/assessments", headers=other).json() == []
    mine = site.client.get(f"/api/v1/author/assessments/{site.assessment_id}", headers=site.auth())
    assert mine.status_code == 200


def test_secret_key_file_is_private(tmp_path: Path) -> None:
    settings = load_settings({"SKILLGAUGE_DATA_DIR": str(tmp_path)})
    key_file = tmp_path / "secret_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert load_settings({"SKILLGAUGE_DATA_DIR": str(tmp_path)}).secret_key == settings.secret_key
    assert len(settings.secret_key) >= 32


def test_bad_settings_name_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="SKILLGAUGE_MAX_ITEMS"):
        load_settings({"SKILLGAUGE_DATA_DIR": str(tmp_path), "SKILLGAUGE_MAX_ITEMS": "many"})
    with pytest.raises(ConfigurationError, match="SKILLGAUGE_SECRET_KEY"):
        load_settings({"SKILLGAUGE_DATA_DIR": str(tmp_path), "SKILLGAUGE_SECRET_KEY": "short"})


def test_author_notes_never_reach_the_learner(site: Site) -> None:
    """An item's notes (QTI scorer rubrics, Moodle grader information) are for authors only:
    not in the question, the instant feedback after an answer, nor the result."""
    raw = raw_bank(4)
    for item in raw["items"]:
        item["notes"] = f"Scorer rubric of {item['id']}: accept only the first option."
    bank = decode_bank(json.dumps(raw).encode(), source="b.json", fmt="json")
    uploaded = site.client.post(
        "/api/v1/author/banks?filename=notes.json",
        content=json.dumps(raw).encode(),
        headers=site.auth(),
    )
    assert uploaded.status_code == 201, uploaded.text
    created = site.client.post(
        "/api/v1/author/assessments",
        json={
            "title": "Notes",
            "bank_hash": uploaded.json()["hash"],
            "feedback_mode": "instant",
            "policy": {"stopping": {"rule": "fixed_length", "n": 4}},
        },
        headers=site.auth(),
    )
    assert created.status_code == 201, created.text
    notes = [item.notes for item in bank.items]
    items = {item.id: item for item in bank.items}
    texts: list[str] = []
    view = site.client.post(f"/api/v1/assessments/{created.json()['id']}/sessions", json={})
    state = view.json()
    while state["status"] == "in_progress":
        texts += [site.client.get(f"/s/{state['id']}").text, json.dumps(state)]
        item = items[state["item"]["id"]]
        body = {
            "item_id": item.id,
            "position": state["item"]["position"],
            "answer": shown_by_text(item, state["item"], raw_answer(item, 1, random.Random(1))),
        }
        reply = site.client.post(f"/api/v1/sessions/{state['id']}/responses", json=body)
        assert reply.status_code == 200, reply.text
        texts.append(reply.text)
        state = reply.json()["session"]
    texts.append(site.client.get(f"/s/{state['id']}").text)
    assert len(texts) == 4 * 3 + 1
    assert any("Because." in html.unescape(t) for t in texts)  # rationales do show, after
    for text in texts:
        for note in notes:
            assert note not in html.unescape(text)
        assert "Scorer rubric" not in text
