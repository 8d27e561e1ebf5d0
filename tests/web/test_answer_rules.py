"""What an answer means and how refusals read: opaque option ids, empty answers, JSON only.

Also the error pages' plain titles, their security headers and the bundled favicon.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from item_banks.model import Match, MultipleResponse, Numeric, Order, ShortText, SingleChoice
from item_banks.native import encode_bank
from tests.web.conftest import Site, form_fields
from tests.web.mixed_bank import mixed_bank
from tests.web.test_feedback_modes import (
    answer,
    compiled_of,
    hinted_item,
    new_assessment,
    pend,
    start,
)
from web.answers import EMPTY_ANSWER, OptionIds
from web.db.schema import responses
from web.security import SECURITY_HEADERS


def stored(site: Site) -> int:
    with site.runtime.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(responses)).scalar_one())


def first_item_of(site: Site, kind: type) -> Any:
    compiled = compiled_of(site)
    return next(
        i
        for i in compiled.bank.items
        if isinstance(i.interaction, kind) and i.status == "operational"
    )


def post_answer(site: Site, sid: str, view: dict[str, Any], answer: Any) -> Any:
    return site.client.post(
        f"/api/v1/sessions/{sid}/responses",
        json={
            "item_id": view["item"]["id"],
            "position": view["item"]["position"],
            "answer": answer,
        },
    )


# ------------------------------------------------------------------ opaque option ids


def test_option_ids_are_per_session_and_say_nothing_about_the_bank(site: Site) -> None:
    item = first_item_of(site, MultipleResponse)
    compiled = compiled_of(site)
    bank_ids = {o.id for o in item.interaction.options}
    seen: list[list[str]] = []
    for _ in range(3):
        sid = start(site)["id"]
        view = pend(site, sid, compiled, item.id)
        shown = [o["id"] for o in view["item"]["options"]]
        assert not set(shown) & bank_ids
        assert all(len(i) == 11 and i.startswith("o") for i in shown)
        assert pend(site, sid, compiled, item.id)["item"]["options"] == view["item"]["options"]
        seen.append(shown)
    assert len({frozenset(s) for s in seen}) == 3  # no id repeats across sessions
    # The derivation needs the server's key: the session id alone does not give it.
    other = OptionIds("another-server-secret-" + "z" * 20, sid)
    assert {other.shown(item.id, o) for o in bank_ids}.isdisjoint(seen[-1])


def test_a_bank_id_or_another_sessions_id_is_refused_in_plain_words(site: Site) -> None:
    item = first_item_of(site, SingleChoice)
    compiled = compiled_of(site)
    one = pend(site, start(site)["id"], compiled, item.id)
    two = pend(site, start(site)["id"], compiled, item.id)
    for wrong in (item.interaction.key, two["item"]["options"][0]["id"]):
        refused = post_answer(site, one["id"], one, wrong)
        assert refused.status_code == 422
        assert refused.json()["detail"] == (
            "that is not one of this question's choices; reload the page"
        )
    assert stored(site) == 0
    right = post_answer(site, one["id"], one, one["item"]["options"][0]["id"])
    assert right.status_code == 200


def test_order_and_match_answers_come_back_to_the_banks_ids(site: Site) -> None:
    """Stored answers keep the bank's ids (the export and calibration need them)."""
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
            "policy": {"stopping": {"rule": "fixed_length", "n": 6}},
        },
        headers=site.auth(),
    ).json()
    view = site.client.post(f"/api/v1/assessments/{created['id']}/sessions", json={}).json()
    sid = view["id"]
    bank = mixed_bank()
    items = {i.id: i for i in bank.items}
    ids = OptionIds(site.runtime.settings.secret_key, sid)
    while view["status"] == "in_progress":
        item = items[view["item"]["id"]]
        interaction = item.interaction
        answer: Any = "3"
        if isinstance(interaction, Order):
            answer = [ids.shown(item.id, o) for o in interaction.key]
        elif isinstance(interaction, Match):
            answer = [
                f"{ids.shown(item.id, p.source, 's')} {ids.shown(item.id, p.target, 't')}"
                for p in interaction.key
            ]
        elif isinstance(interaction, SingleChoice):
            answer = ids.shown(item.id, interaction.key)
        elif isinstance(interaction, MultipleResponse):
            answer = [ids.shown(item.id, k) for k in interaction.key]
        elif isinstance(interaction, ShortText):
            answer = interaction.key[0]
        reply = post_answer(site, sid, view, answer)
        assert reply.status_code == 200, reply.text
        if not isinstance(interaction, Numeric):
            assert reply.json()["feedback"]["correct"], item.id
        view = reply.json()["session"]
    with site.runtime.db.read() as conn:
        rows = conn.execute(select(responses.c.item_id, responses.c.answer)).all()
    for item_id, raw in rows:
        interaction = items[item_id].interaction
        if isinstance(interaction, Order):
            assert raw == '["' + '","'.join(interaction.key) + '"]'
        if isinstance(interaction, SingleChoice):
            assert raw == f'"{interaction.key}"'


# ------------------------------------------------------------------ empty answers


@pytest.mark.parametrize(
    ("kind", "empty"),
    [
        (SingleChoice, ""),
        (MultipleResponse, []),
        (Numeric, "   "),
        (ShortText, ""),
    ],
)
def test_an_empty_answer_is_never_scored_api(site: Site, kind: type, empty: Any) -> None:
    item = first_item_of(site, kind)
    view = pend(site, start(site)["id"], compiled_of(site), item.id)
    refused = post_answer(site, view["id"], view, empty)
    assert refused.status_code == 422
    expected = EMPTY_ANSWER[view["item"]["type"]]
    assert refused.json()["detail"] == expected
    assert expected in (
        "Choose an answer.",
        "Choose at least one answer.",
        "Type a number.",
        "Type your answer.",
    )
    assert stored(site) == 0


def test_ticking_nothing_keeps_the_page_and_asks_in_plain_words(site: Site) -> None:
    item = first_item_of(site, MultipleResponse)
    r = site.client.post(
        f"/a/{site.assessment_id}/start", data={"_csrf_token": site.csrf()}, follow_redirects=False
    )
    sid = r.headers["location"].rsplit("/", 1)[1]
    pend(site, sid, compiled_of(site), item.id)
    page = site.client.get(f"/s/{sid}").text
    fields = form_fields(page)
    assert "All or nothing: this counts as right only if you choose every correct answer" in page
    refused = site.client.post(
        f"/s/{sid}/answer", data={"_csrf_token": site.csrf(), **fields}, follow_redirects=False
    )
    assert refused.status_code == 422
    assert '<p id="answer-error" class="error" role="alert">Choose at least one answer.</p>' in (
        refused.text
    )
    assert form_fields(refused.text) == fields  # the same question, kept
    assert "is not an option" not in refused.text
    assert stored(site) == 0


def test_partial_credit_items_say_so_on_the_question(site: Site) -> None:
    compiled = compiled_of(site)
    partial = next(
        i
        for i in compiled.bank.items
        if isinstance(i.interaction, MultipleResponse) and i.interaction.scoring == "partial"
    )
    view = pend(site, start(site)["id"], compiled, partial.id)
    assert view["item"]["scoring"].startswith("Partial credit: each correct choice earns a point")
    page = site.client.get(f"/s/{view['id']}").text
    assert 'aria-describedby="stem scoring-rule"' in page


# ------------------------------------------------------------------ JSON bodies


def test_json_endpoints_refuse_a_body_not_declared_as_json(site: Site) -> None:
    view = start(site)
    sid, item = view["id"], view["item"]
    body = (
        f'{{"item_id": "{item["id"]}", "position": 1, "answer": '
        f'"{item["options"][0]["id"] if item["options"] else "1"}"}}'
    ).encode()
    endpoints = [
        (f"/api/v1/sessions/{sid}/responses", {}),
        (f"/api/v1/assessments/{site.assessment_id}/sessions", {}),
        (f"/api/v1/sessions/{sid}/hints", {}),
        ("/api/v1/author/assessments", site.auth()),
        ("/api/v1/author/webhooks", site.auth()),
        ("/api/v1/credentials/verify", {}),
    ]
    for path, headers in endpoints:
        for media in ("text/plain", "application/x-www-form-urlencoded", None):
            sent = {**headers, **({"content-type": media} if media else {})}
            refused = site.client.post(path, content=body, headers=sent)
            assert refused.status_code == 415, (path, media, refused.text)
            problem = refused.json()
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert problem["title"] == "Send the data as JSON"
            assert "Content-Type: application/json" in problem["detail"]
    assert stored(site) == 0
    accepted = site.client.post(
        f"/api/v1/sessions/{sid}/responses",
        content=body,
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert accepted.status_code in (200, 422), accepted.text  # read as JSON
    no_body = site.client.post(f"/api/v1/assessments/{site.assessment_id}/sessions")
    assert no_body.status_code == 201  # an optional body may be left out


# ------------------------------------------------------------------ error pages


def test_error_pages_have_plain_titles_and_the_security_headers(site: Site) -> None:
    missing = site.client.get("/no/such/page")
    assert missing.status_code == 404
    forged = site.client.post("/author/login", data={"token": "x"})  # no CSRF token
    assert forged.status_code == 403
    sid = start(site)["id"]
    conflict = site.client.get(f"/s/{sid}/result")  # redirects: not finished
    assert conflict.status_code == 200
    stale = site.client.post(
        f"/s/{sid}/answer",
        data={
            "_csrf_token": site.csrf(),
            "item_id": "nope",
            "position": "7",
            "kind": "numeric",
            "answer": "1",
        },
    )
    assert stale.status_code == 409
    assert "<h1>Not possible right now</h1>" in stale.text
    assert "ConflictError" not in stale.text
    for response in (missing, forged, stale):
        for name, value in SECURITY_HEADERS.items():
            assert response.headers.get(name) == value, (response.status_code, name)
        assert response.headers["cache-control"] == "no-store"
        assert '<link rel="icon" href="/static/favicon.svg"' in response.text


def test_the_favicon_is_bundled(site: Site) -> None:
    icon = site.client.get("/static/favicon.svg")
    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.text.startswith("<svg")
    legacy = site.client.get("/favicon.ico", follow_redirects=False)
    assert legacy.status_code == 301 and legacy.headers["location"] == "/static/favicon.svg"


def test_practice_feedback_after_a_right_second_try_is_not_red(site: Site) -> None:
    assessment = new_assessment(site, "practice")
    compiled = compiled_of(site, assessment)
    item = hinted_item(compiled, 1)
    interaction = item.interaction
    assert isinstance(interaction, SingleChoice)
    wrong = next(o.id for o in interaction.options if o.id != interaction.key)
    view = pend(site, start(site, assessment)["id"], compiled, item.id)
    answer(site, view["id"], view, wrong)
    answer(site, view["id"], view, interaction.key, attempt=2)
    page = site.client.get(f"/s/{view['id']}/feedback/{view['item']['position']}").text
    assert '<section id="feedback" class="feedback right"' in page
    assert '<h2 id="verdict">Right at the second try</h2>' in page
    assert "Your first try: not right" in page
    assert 'id="stem"' in page  # the feedback page shows the question too
