"""A session's key is printed on the learner's own pages and nowhere else.

A session id is the key to its report and its open questions. Every other output that
names a session (the response export, the author's pages and API, webhook payloads,
credentials and their evidence, the server's log) is fetched here after a session that
earned a credential, and searched for the key; each must name the learner, where it names
one, by the pseudonymous ``person_id`` instead.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from pathlib import Path

import httpx
from sqlalchemy import select

from tests.credentials.helpers import take
from tests.server import start_server
from tests.web.conftest import Site
from web.db.schema import credentials, webhook_messages
from web.logs import redact
from web.pseudonyms import person_id, pseudonymizer


def sign_in(site: Site) -> None:
    reply = site.client.post(
        "/author/login",
        data={"_csrf_token": site.csrf(), "token": site.token},
        follow_redirects=False,
    )
    assert reply.status_code == 303


def test_person_ids_are_stable_keyed_and_unrelated_to_the_key() -> None:
    sid = "Sdizp_3g8lzz8M9nev47yqooDyq9Ml9R"
    one = person_id("k" * 40, sid)
    assert one == person_id("k" * 40, sid) == pseudonymizer("k" * 40)(sid)  # stable
    assert one.startswith("p_") and len(one) == 22
    assert sid not in one and sid[:8] not in one
    assert one != person_id("j" * 40, sid)  # another server's key: another pseudonym
    assert one != person_id("k" * 40, sid[:-1] + "x")


def test_no_output_outside_the_learners_pages_prints_the_session_key(site: Site) -> None:
    endpoint = site.client.post(
        "/api/v1/author/webhooks",
        json={"url": "https://example.org/hooks"},
        headers=site.auth(),
    )
    assert endpoint.status_code == 201, endpoint.text
    endpoint_id = endpoint.json()["endpoint"]["id"]
    view = take(site.client, site.assessment_id)
    sid = view["id"]
    assert view["credential_url"], "the session earned a credential"
    pseudonym = person_id(site.runtime.settings.secret_key, sid)
    with site.runtime.db.read() as conn:
        credential_id = conn.execute(select(credentials.c.id)).scalar_one()
        payloads = [row.payload for row in conn.execute(select(webhook_messages.c.payload))]
    auth = site.auth()
    a = site.assessment_id
    outputs: dict[str, str] = {}
    for path in (
        f"/api/v1/author/assessments/{a}/responses.csv",
        f"/api/v1/author/assessments/{a}",
        "/api/v1/author/assessments",
        f"/api/v1/author/assessments/{a}/credentials",
        f"/api/v1/author/assessments/{a}/achievement",
        f"/api/v1/author/webhooks/{endpoint_id}",
    ):
        reply = site.client.get(path, headers=auth)
        assert reply.status_code == 200, (path, reply.text)
        outputs[path] = reply.text
    detail = json.loads(outputs[f"/api/v1/author/webhooks/{endpoint_id}"])
    for message in detail["messages"]:
        path = f"/api/v1/author/webhooks/{endpoint_id}/messages/{message['id']}"
        outputs[path] = site.client.get(path, headers=auth).text
    for path in (
        f"/credentials/{credential_id}",
        f"/credentials/{credential_id}/evidence",
        f"/credentials/{credential_id}/credential.json",
        f"/credentials/{credential_id}/credential.jwt",
    ):
        reply = site.client.get(path)
        assert reply.status_code == 200, path
        outputs[path] = reply.text
    jwt = outputs[f"/credentials/{credential_id}/credential.jwt"]
    body = jwt.split(".")[1]
    outputs["the VC-JWT's payload"] = base64.urlsafe_b64decode(
        body + "=" * (-len(body) % 4)
    ).decode()
    json_ld = site.client.get(
        f"/credentials/{credential_id}", headers={"accept": "application/ld+json"}
    )
    outputs["the credential as JSON-LD"] = json_ld.text
    verified = site.client.post(
        "/api/v1/credentials/verify", json={"url": f"/credentials/{credential_id}"}
    )
    outputs["verification"] = verified.text
    sign_in(site)
    for path in (
        "/author",
        f"/author/assessments/{a}",
        f"/author/assessments/{a}/responses.csv",
        f"/author/assessments/{a}/credential",
        "/author/webhooks",
        f"/author/webhooks/{endpoint_id}",
    ):
        reply = site.client.get(path)
        assert reply.status_code == 200, path
        outputs[path] = reply.text
    for n, payload in enumerate(payloads):
        outputs[f"webhook payload {n}"] = payload
    assert len(payloads) == 2  # assessment.completed and credential.issued
    leaks = [name for name, text in outputs.items() if sid in text]
    assert leaks == [], f"the session key is printed by {leaks}"
    # ... and they name the learner by the pseudonym instead.
    export = list(csv.DictReader(io.StringIO(outputs[f"/author/assessments/{a}/responses.csv"])))
    assert {row["person_id"] for row in export} == {pseudonym}
    assert pseudonym in outputs[f"/author/assessments/{a}"]
    completed = next(json.loads(p) for p in payloads if '"assessment.completed"' in p)
    assert completed["data"]["person_id"] == pseudonym
    assert "session_id" not in completed["data"]
    # The learner's own session (its URL, its API view) is where the key lives.
    assert site.client.get(f"/api/v1/sessions/{sid}").json()["id"] == sid


def test_log_lines_never_carry_a_session_key(tmp_path: Path) -> None:
    assert redact("GET /s/AbC_12-x/feedback/3 HTTP/1.1") == "GET /s/{session}/feedback/3 HTTP/1.1"
    assert redact('"POST /api/v1/sessions/AbC_12-x/responses"') == (
        '"POST /api/v1/sessions/{session}/responses"'
    )
    server = start_server(tmp_path, log_level="info")
    try:
        with httpx.Client(base_url=server.base_url, timeout=10) as client:
            assessment = server.assessment_url.rsplit("/", 1)[1]
            view = take(client, assessment)
            sid = view["id"]
            client.get(f"/s/{sid}")
            client.get(f"/s/{sid}/result")
            client.get(f"/s/{sid}/feedback/1")
    finally:
        server.stop()
    log = "".join(server.output)
    assert "GET /s/{session}/result" in log  # the access log ran, and it was redacted
    assert sid not in log
