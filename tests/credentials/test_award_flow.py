"""Passing the demo assessment issues a credential that validates against the official OB 3.0
schema, verifies (JSON-LD and VC-JWT), reports tampering and revocation, and reaches a real
webhook receiver that checks its Standard Webhooks signature."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from sqlalchemy import func, select

from engine.learner import raw_answer
from item_banks.model import category_count
from tests.answers import shown_by_text
from tests.credentials.helpers import ITEMS, answer_all, take
from tests.credentials.receiver import Receiver, running_receiver
from tests.credentials.specs import spec_json
from tests.web.conftest import Site, open_site
from web.credentials import awards
from web.db.schema import assessments, credentials, responses, webhook_messages
from web.store import assessments as assessment_store
from web.webhooks.worker import DeliveryWorker

OFF = {"SKILLGAUGE_WEBHOOK_WORKER": "off", "SKILLGAUGE_WEBHOOK_ALLOW_PRIVATE": "1"}


def schema_validator() -> jsonschema.Draft201909Validator:
    schema = spec_json("ob3/achievementcredential.json")
    checker = jsonschema.Draft201909Validator.FORMAT_CHECKER
    # jsonschema skips a format it has no checker for; the schema's dates need this one.
    assert "date-time" in checker.checkers, "rfc3339-validator is not installed"
    return jsonschema.Draft201909Validator(schema, format_checker=checker)


def assert_valid_ob3(document: dict[str, Any]) -> None:
    errors = [f"{list(e.path)}: {e.message}" for e in schema_validator().iter_errors(document)]
    assert errors == []


@pytest.fixture
def cred_site(sqlite_url: str, tmp_path: Path) -> Iterator[Site]:
    yield from open_site(sqlite_url, tmp_path, **OFF)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


def add_endpoint(site: Site, receiver: Receiver) -> str:
    reply = site.client.post(
        "/api/v1/author/webhooks", json={"url": receiver.url}, headers=site.auth()
    )
    assert reply.status_code == 201, reply.text
    receiver.secret = reply.json()["secret"]
    return str(reply.json()["endpoint"]["id"])


def confirm_email(site: Site) -> None:
    """Use the newest emailed confirmation link (read from the file outbox)."""
    newest = sorted(Path(site.runtime.settings.mail_dir).glob("*.eml"))[-1]
    path = re.search(r"/email/[A-Za-z0-9_-]+", newest.read_text())
    assert path is not None
    reply = site.client.post(
        path.group(0), data={"_csrf_token": site.csrf()}, follow_redirects=False
    )
    assert reply.status_code == 303, reply.text


def worker(site: Site) -> DeliveryWorker:
    return DeliveryWorker(site.runtime.db, site.runtime.settings)


def test_passing_issues_a_verified_schema_valid_credential_delivered_by_webhook(
    cred_site: Site, receiver: Receiver
) -> None:
    site = cred_site
    add_endpoint(site, receiver)
    landing = site.client.get(f"/a/{site.assessment_id}")
    assert 'name="email"' in landing.text and "signed digital badge" in landing.text
    started = site.client.post(
        f"/api/v1/assessments/{site.assessment_id}/sessions",
        json={"name": "Ada Lovelace", "email": "ada@example.org"},
    ).json()
    confirm_email(site)  # the credential names only learners who confirmed their email
    view = answer_all(site.client, started)
    assert view["result"]["passed"] is True
    with site.runtime.db.read() as conn:
        row = conn.execute(select(credentials)).one()
    credential_id = row.id
    document = site.client.get(f"/credentials/{credential_id}").json()
    assert_valid_ob3(document)
    # The schema check sees dates: a malformed validFrom fails it.
    assert list(schema_validator().iter_errors({**document, "validFrom": "29 Nov 2026"}))
    assert document["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    subject = document["credentialSubject"]
    email = next(i for i in subject["identifier"] if i["identityType"] == "emailAddress")
    assert email["hashed"] is True and "ada@example.org" not in json.dumps(document)
    assert len(subject["result"]) == 4
    assert document["credentialStatus"]["type"] == "BitstringStatusListEntry"
    # It verifies, as JSON-LD and as VC-JWT, through the API.
    report = site.client.post("/api/v1/credentials/verify", json={"credential": document}).json()
    assert report["verified"] is True, report
    assert report["summary"]["recipient"] == "Ada Lovelace"
    token = site.client.get(f"/credentials/{credential_id}/credential.jwt").text
    by_jwt = site.client.post("/api/v1/credentials/verify", json={"credential": token}).json()
    assert by_jwt["verified"] is True and by_jwt["format"] == "vc-jwt"
    # The page shows it, verified, with share and LinkedIn links.
    page = site.client.get(f"/credentials/{credential_id}", headers={"accept": "text/html"})
    assert page.status_code == 200
    for words in ("Verified", "Ada Lovelace", "linkedin.com/profile/add", "credential.json"):
        assert words in page.text
    # Delivered to the receiver, which verified the signature.
    assert worker(site).drain() == 2
    kinds = sorted(d.body["type"] for d in receiver.accepted())
    assert kinds == ["assessment.completed", "credential.issued"]
    assert all(d.verified for d in receiver.deliveries)
    issued = next(d for d in receiver.deliveries if d.body["type"] == "credential.issued")
    assert issued.body["data"]["recipient"]["email"] == "ada@example.org"
    assert issued.body["data"]["credential"] == document
    assert issued.webhook_id.startswith("msg_")


def test_tampered_credential_fails_with_a_reason(cred_site: Site) -> None:
    site = cred_site
    take(site.client, site.assessment_id)
    with site.runtime.db.read() as conn:
        credential_id = conn.execute(select(credentials.c.id)).scalar_one()
    document = site.client.get(f"/credentials/{credential_id}").json()
    document["credentialSubject"]["result"][0]["value"] = "3.50"
    report = site.client.post("/api/v1/credentials/verify", json={"credential": document}).json()
    assert report["verified"] is False
    assert report["status"] == "invalid"
    assert "changed after signing" in report["reason"]
    token = site.client.get(f"/credentials/{credential_id}/credential.jwt").text
    head, body, signature = token.split(".")
    forged = f"{head}.{body[:-4]}AAAA.{signature}"
    bad = site.client.post("/api/v1/credentials/verify", json={"credential": forged}).json()
    assert bad["verified"] is False


def test_revoked_credential_reports_revoked(cred_site: Site, receiver: Receiver) -> None:
    site = cred_site
    add_endpoint(site, receiver)
    take(site.client, site.assessment_id)
    with site.runtime.db.read() as conn:
        credential_id = conn.execute(select(credentials.c.id)).scalar_one()
    url = f"http://127.0.0.1:8000/credentials/{credential_id}"
    before = site.client.post("/api/v1/credentials/verify", json={"url": url}).json()
    assert before["verified"] is True
    revoked = site.client.post(
        f"/api/v1/author/credentials/{credential_id}/revoke",
        json={"reason": "issued in error"},
        headers=site.auth(),
    )
    assert revoked.status_code == 200, revoked.text
    after = site.client.post("/api/v1/credentials/verify", json={"url": url}).json()
    assert after["verified"] is False and after["status"] == "revoked"
    assert after["reason"] == "The issuer revoked this credential."
    status_url = site.client.get(f"/credentials/{credential_id}").json()["credentialStatus"]
    listed = site.client.get(
        status_url["statusListCredential"].replace("http://127.0.0.1:8000", "")
    )
    assert listed.json()["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    worker(site).drain()
    assert "credential.revoked" in [d.body["type"] for d in receiver.accepted()]


def test_failing_session_and_practice_mode_award_nothing(
    cred_site: Site, receiver: Receiver
) -> None:
    site = cred_site
    add_endpoint(site, receiver)
    view = take(site.client, site.assessment_id, correct=False)
    assert view["result"]["passed"] is False
    anonymous = take(site.client, site.assessment_id, name=None, email=None, seed=3)
    assert anonymous["result"]["passed"] is True
    with site.runtime.db.write() as conn:
        record = assessment_store.get_assessment(conn, site.assessment_id)
        assert record is not None
        conn.execute(
            assessments.update()
            .where(assessments.c.id == site.assessment_id)
            .values(feedback_mode="practice")
        )
    site.runtime._assessments.clear()
    take(site.client, site.assessment_id, seed=4)
    with site.runtime.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(credentials)).scalar_one() == 0
        events = conn.execute(select(webhook_messages.c.event_type)).scalars().all()
    assert sorted(events) == ["assessment.completed"] * 3


def test_award_and_outbox_roll_back_with_the_final_answer(
    cred_site: Site, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure after the award's rows are written undoes the answer, the result, the
    credential and the outbox rows together; the retried answer then commits all of them."""
    site = cred_site
    add_endpoint(site, receiver)
    real_write = awards.write

    def failing_write(conn: Any, completion: awards.Completion) -> None:
        real_write(conn, completion)
        raise RuntimeError("crash after the award's rows were written")

    monkeypatch.setattr(awards, "write", failing_write)
    rng = random.Random(3)
    view = site.client.post(
        f"/api/v1/assessments/{site.assessment_id}/sessions", json={"email": "r@example.org"}
    ).json()
    while True:
        item = ITEMS[view["item"]["id"]]
        body = {
            "item_id": item.id,
            "position": view["item"]["position"],
            "answer": shown_by_text(
                item, view["item"], raw_answer(item, category_count(item.irt) - 1, rng)
            ),
        }
        reply = site.client.post(f"/api/v1/sessions/{view['id']}/responses", json=body)
        if reply.status_code == 500:
            break
        assert reply.status_code == 200, reply.text
        view = reply.json()["session"]
        assert view["status"] == "in_progress"
    with site.runtime.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(credentials)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(webhook_messages)).scalar_one() == 0
        answers = conn.execute(
            select(func.count()).select_from(responses).where(responses.c.session_id == view["id"])
        ).scalar_one()
    assert answers == body["position"] - 1  # the final answer was not stored either
    assert site.client.get(f"/api/v1/sessions/{view['id']}").json()["status"] == "in_progress"
    monkeypatch.setattr(awards, "write", real_write)
    final = site.client.post(f"/api/v1/sessions/{view['id']}/responses", json=body)
    assert final.status_code == 200
    assert final.json()["session"]["credential_url"]
    with site.runtime.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(credentials)).scalar_one() == 1
        assert conn.execute(select(func.count()).select_from(webhook_messages)).scalar_one() == 2


def test_a_did_becomes_the_subject_id(cred_site: Site) -> None:
    site = cred_site
    did = "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
    view = take(site.client, site.assessment_id, did=did, email=None, name=None)
    document = site.client.get(view["credential_url"].replace("http://127.0.0.1:8000", "")).json()
    assert_valid_ob3(document)
    assert document["credentialSubject"]["id"] == did
    assert "identifier" not in document["credentialSubject"]
    token = site.client.get(f"/credentials/{document['id'].rsplit('/', 1)[1]}/credential.jwt").text
    report = site.client.post("/api/v1/credentials/verify", json={"credential": token}).json()
    assert report["verified"] is True and report["summary"]["recipient_did"] == did
    bad = site.client.post(
        f"/api/v1/assessments/{site.assessment_id}/sessions", json={"did": "not a did"}
    )
    assert bad.status_code == 400
