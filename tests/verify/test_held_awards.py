"""Integrity at finish: held awards, their release or refusal by the author, and webhooks."""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from sqlalchemy import func, select, update

from engine.integrity_policy import IntegrityConfig, PersonFitCheck
from engine.learner import raw_answer
from tests.answers import shown_by_text
from tests.credentials.helpers import ITEMS, take
from tests.verify.helpers import (
    OFF,
    add_endpoint,
    events,
    integrity_assessment,
    payloads,
    session_row,
)
from tests.web.conftest import Site, open_site
from web import authoring, reviews
from web.db.connection import utcnow
from web.db.schema import assessments, credentials, learner_sessions
from web.errors import ConflictError, NotFoundError
from web.pseudonyms import person_id


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    yield from open_site(database_url, tmp_path, **OFF)


def answer_all_but(site: Site, view: dict[str, Any], keep: int) -> dict[str, Any]:
    """Answer ``keep`` questions of a started session (right), return the view."""
    for _ in range(keep):
        item = ITEMS[view["item"]["id"]]
        answer = shown_by_text(item, view["item"], raw_answer(item, 1, random.Random(0)))
        reply = site.client.post(
            f"/api/v1/sessions/{view['id']}/responses",
            json={"item_id": item.id, "position": view["item"]["position"], "answer": answer},
        )
        assert reply.status_code == 200, reply.text
        view = reply.json()["session"]
    return view


def credential_count(site: Site) -> int:
    with site.runtime.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(credentials)).scalar_one())


def author_page(site: Site, path: str) -> str:
    site.client.post("/author/login", data={"token": site.token, "_csrf_token": site.csrf()})
    page = site.client.get(path)
    assert page.status_code == 200, page.text
    return page.text


def test_a_held_award_issues_nothing_until_released_once(site: Site) -> None:
    add_endpoint(site)
    assessment = integrity_assessment(site, "hold")
    view = take(site.client, assessment)
    assert view["result"]["passed"] is True
    assert view["credential_url"] is None and view["award_status"] == "held"
    assert "being reviewed" in view["award_note"]
    assert "faster than reading the question allows" in view["award_note"]
    assert credential_count(site) == 0
    assert events(site) == ["assessment.completed"]
    completed = payloads(site, "assessment.completed")[0]["data"]
    assert completed["award_status"] == "held" and completed["credential_id"] is None
    assert completed["integrity"]["decision"] == "hold"
    row = session_row(site, view["id"])
    assert row.award_status == "held" and '"decision":"hold"' in row.integrity
    # The learner's page says so, and shows no credential.
    page = site.client.get(f"/s/{view['id']}/result").text
    assert "Your credential is under review" in page and "You earned a credential" not in page
    # The author sees the evidence and releases it; the credential and its webhook follow.
    person = person_id(site.runtime.settings.secret_key, view["id"])
    listing = author_page(site, f"/author/assessments/{assessment}/integrity")
    assert person in listing and "held for review" in listing
    overview = author_page(site, f"/author/assessments/{assessment}")
    assert f"/author/assessments/{assessment}/integrity/{person}" in overview
    detail = author_page(site, f"/author/assessments/{assessment}/integrity/{person}")
    for words in ("answers faster than reading allows", "hold", "Release: issue the credential"):
        assert words in detail
    reply = site.client.post(
        f"/author/assessments/{assessment}/integrity/{person}/decision",
        data={"decision": "release", "_csrf_token": site.csrf()},
        follow_redirects=False,
    )
    assert reply.status_code == 303
    assert credential_count(site) == 1
    assert events(site) == ["assessment.completed", "credential.issued"]
    issued = payloads(site, "credential.issued")[0]["data"]["credential"]
    narrative = issued["evidence"][0]["narrative"]
    assert "raised: answers faster than reading allows" in narrative
    assert "released by the assessment's author" in narrative
    assert "ability estimate" in narrative and "standard error" in narrative
    # Exactly once: a second release (or a refusal after it) changes nothing.
    again = site.client.post(
        f"/author/assessments/{assessment}/integrity/{person}/decision",
        data={"decision": "release", "_csrf_token": site.csrf()},
    )
    assert again.status_code == 409 and "already decided" in again.text
    author = authoring.authenticate(site.runtime, site.token)
    with pytest.raises(ConflictError):
        reviews.refuse(site.runtime, author, assessment, person, "")
    assert credential_count(site) == 1
    assert events(site) == ["assessment.completed", "credential.issued"]
    # The learner now sees the credential.
    page = site.client.get(f"/s/{view['id']}/result").text
    assert "You earned a credential" in page and "under review" not in page


def test_a_refused_award_sends_award_refused_and_never_a_credential(site: Site) -> None:
    add_endpoint(site)
    assessment = integrity_assessment(site, "hold")
    view = take(site.client, assessment)
    person = person_id(site.runtime.settings.secret_key, view["id"])
    author_page(site, f"/author/assessments/{assessment}/integrity/{person}")
    reply = site.client.post(
        f"/author/assessments/{assessment}/integrity/{person}/decision",
        data={
            "decision": "refuse",
            "note": "answers from a leaked key",
            "_csrf_token": site.csrf(),
        },
        follow_redirects=False,
    )
    assert reply.status_code == 303
    assert events(site) == ["assessment.completed", "award.refused"]
    refused = payloads(site, "award.refused")[0]
    assert refused["type"] == "award.refused"
    assert refused["data"]["person_id"] == person
    assert refused["data"]["note"] == "answers from a leaked key"
    assert refused["data"]["integrity"]["decision"] == "hold"
    assert view["id"] not in str(refused)  # the session key never leaves the learner
    author = authoring.authenticate(site.runtime, site.token)
    with pytest.raises(ConflictError):
        reviews.release(site.runtime, author, assessment, person)
    assert credential_count(site) == 0
    assert events(site) == ["assessment.completed", "award.refused"]
    page = site.client.get(f"/s/{view['id']}/result").text
    assert "No credential for this result" in page and "cannot be certified" in page
    assert session_row(site, view["id"]).award_status == "refused"


def test_refuse_policy_withholds_and_tells_the_learner(site: Site) -> None:
    add_endpoint(site)
    assessment = integrity_assessment(site, "refuse")
    view = take(site.client, assessment)
    assert view["result"]["passed"] is True
    assert view["award_status"] == "withheld" and view["credential_url"] is None
    assert "cannot be certified" in view["award_note"]
    assert credential_count(site) == 0
    assert events(site) == ["assessment.completed"]
    author = authoring.authenticate(site.runtime, site.token)
    person = person_id(site.runtime.settings.secret_key, view["id"])
    with pytest.raises(ConflictError):
        reviews.release(site.runtime, author, assessment, person)
    assert credential_count(site) == 0


def test_none_policy_issues_at_once_and_says_which_checks_passed(site: Site) -> None:
    add_endpoint(site)
    view = take(site.client, site.assessment_id)  # the demo: every action "none"
    assert view["credential_url"] is not None and view["award_status"] is None
    row = session_row(site, view["id"])
    assert row.integrity is not None and row.award_status is None
    issued = payloads(site, "credential.issued")[0]["data"]["credential"]
    assert "Integrity checks" not in issued["evidence"][0]["narrative"]
    # A policy acting on a check that passes says so in the evidence.
    assessment = integrity_assessment(site, "hold")
    rt = site.runtime
    with rt.db.write() as conn:
        record = rt.assessment(conn, assessment)
        policy = msgspec.structs.replace(
            record.policy, integrity=IntegrityConfig(person_fit=PersonFitCheck(action="hold"))
        )
        conn.execute(
            update(assessments)
            .where(assessments.c.id == assessment)
            .values(policy=msgspec.json.encode(policy).decode())
        )
    rt._assessments.clear()
    passed = take(site.client, assessment, seed=3)
    assert passed["credential_url"] is not None
    document = site.client.get(passed["credential_url"].replace(rt.settings.base_url, "")).json()
    narrative = document["evidence"][0]["narrative"]
    assert "Integrity checks required by the assessment: passed: answer-pattern fit (lz*)" in (
        narrative
    )


def test_only_the_owner_sees_or_decides(site: Site) -> None:
    assessment = integrity_assessment(site, "hold")
    view = take(site.client, assessment)
    person = person_id(site.runtime.settings.secret_key, view["id"])
    other, token = authoring.create_author(site.runtime, "eve@example.org")
    with pytest.raises(NotFoundError):
        reviews.release(site.runtime, other, assessment, person)
    with pytest.raises(NotFoundError):
        reviews.session_evidence(site.runtime, other, assessment, person)
    site.client.post("/author/login", data={"token": token, "_csrf_token": site.csrf()})
    for path in (
        f"/author/assessments/{assessment}/integrity",
        f"/author/assessments/{assessment}/integrity/{person}",
    ):
        assert site.client.get(path).status_code == 404
    reply = site.client.post(
        f"/author/assessments/{assessment}/integrity/{person}/decision",
        data={"decision": "release", "_csrf_token": site.csrf()},
    )
    assert reply.status_code == 404
    # Without the CSRF token the form is refused even for the owner.
    site.client.post("/author/login", data={"token": site.token, "_csrf_token": site.csrf()})
    reply = site.client.post(
        f"/author/assessments/{assessment}/integrity/{person}/decision",
        data={"decision": "release"},
    )
    assert reply.status_code == 403
    assert credential_count(site) == 0
    assert session_row(site, view["id"]).award_status == "held"
    assert re.search(r"p_[0-9a-f]{20}", person)


def test_concurrent_decisions_issue_at_most_one_credential(site: Site) -> None:
    """Two releases and a refusal at once: exactly one wins, the others change nothing."""
    add_endpoint(site)
    assessment = integrity_assessment(site, "hold")
    view = take(site.client, assessment)
    person = person_id(site.runtime.settings.secret_key, view["id"])
    author = authoring.authenticate(site.runtime, site.token)
    barrier = threading.Barrier(3)
    outcomes: list[str] = []

    def decide(action: str) -> None:
        barrier.wait()
        try:
            if action == "release":
                reviews.release(site.runtime, author, assessment, person)
            else:
                reviews.refuse(site.runtime, author, assessment, person, "")
            outcomes.append(action)
        except ConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=decide, args=(a,)) for a in ("release", "release", "refuse")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes).count("conflict") == 2, outcomes
    winner = next(o for o in outcomes if o != "conflict")
    status = session_row(site, view["id"]).award_status
    if winner == "release":
        assert status == "released" and credential_count(site) == 1
        assert events(site) == ["assessment.completed", "credential.issued"]
    else:
        assert status == "refused" and credential_count(site) == 0
        assert events(site) == ["assessment.completed", "award.refused"]


def test_a_session_finished_by_its_time_limit_gets_its_evidence(site: Site) -> None:
    assessment = integrity_assessment(site, "hold")
    started = site.client.post(f"/api/v1/assessments/{assessment}/sessions", json={}).json()
    view = answer_all_but(site, started, keep=3)
    with site.runtime.db.write() as conn:
        conn.execute(
            update(learner_sessions)
            .where(learner_sessions.c.id == view["id"])
            .values(deadline=utcnow() - timedelta(seconds=1))
        )
    finished = site.client.get(f"/api/v1/sessions/{view['id']}").json()
    assert finished["status"] == "finished"
    row = session_row(site, view["id"])
    evidence = msgspec.json.decode(row.integrity)
    assert evidence["items"] == 3
    too_fast = next(f for f in evidence["flags"] if f["check"] == "too_fast_to_read")
    assert too_fast["computed"] is False  # 3 answers: fewer than the check's minimum of 5
    assert row.award_status is None  # no email: no award to hold


def test_the_author_api_lists_shows_and_decides_once(site: Site) -> None:
    add_endpoint(site)
    assessment = integrity_assessment(site, "hold")
    held_view = take(site.client, assessment, seed=1)
    other_view = take(site.client, assessment, seed=2)
    held, other = (
        person_id(site.runtime.settings.secret_key, v["id"]) for v in (held_view, other_view)
    )
    base = f"/api/v1/author/assessments/{assessment}/integrity"
    listing = site.client.get(base, headers=site.auth()).json()
    assert {s["person_id"] for s in listing} == {held, other}
    assert all(s["award_status"] == "held" for s in listing)
    detail = site.client.get(f"{base}/{held}", headers=site.auth()).json()
    flag = next(f for f in detail["evidence"]["flags"] if f["check"] == "too_fast_to_read")
    assert flag["raised"] and flag["action"] == "hold" and flag["threshold"] == 0.1
    assert flag["value"] > 0.1 and "reading" in flag["reason"]
    released = site.client.post(f"{base}/{held}/release", headers=site.auth())
    assert released.status_code == 200 and released.json()["credential_url"].startswith("http")
    again = site.client.post(f"{base}/{held}/release", headers=site.auth())
    assert again.status_code == 409
    refused = site.client.post(
        f"{base}/{other}/refuse", json={"note": "copied answers"}, headers=site.auth()
    )
    assert refused.status_code == 200 and refused.json()["award_status"] == "refused"
    assert sorted(events(site)) == sorted(
        ["assessment.completed", "assessment.completed", "credential.issued", "award.refused"]
    )
    _, token = authoring.create_author(site.runtime, "eve@example.org")
    eve = {"Authorization": f"Bearer {token}"}
    assert site.client.get(base, headers=eve).status_code == 404
    assert site.client.post(f"{base}/{other}/release", headers=eve).status_code == 404
    assert site.client.get(base).status_code == 401
