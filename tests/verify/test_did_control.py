"""DID control: a learner signs a challenge with their did:key (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from sqlalchemy import select, update

from tests.credentials.helpers import answer_all, take
from tests.credentials.test_award_flow import assert_valid_ob3
from tests.verify.did_helpers import did_for, new_key, sign
from tests.verify.helpers import OFF, add_endpoint, events, payloads, session_row
from tests.web.conftest import Site, open_site
from web.authoring import authenticate
from web.credentials import service
from web.db.connection import utcnow
from web.db.schema import did_challenges
from web.demo import DEMO_ACHIEVEMENT


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    """The app on SQLite and on PostgreSQL."""
    yield from open_site(database_url, tmp_path, **OFF)


def verified_only(site: Site) -> None:
    author = authenticate(site.runtime, site.token)
    spec = msgspec.structs.replace(DEMO_ACHIEVEMENT, require_verified_email=True)
    service.save_achievement(site.runtime, author, site.assessment_id, spec)


def challenge(site: Site, session_id: str) -> dict[str, Any]:
    reply = site.client.post(f"/api/v1/sessions/{session_id}/did/challenge")
    assert reply.status_code == 201, reply.text
    return reply.json()  # type: ignore[no-any-return]


def prove(site: Site, session_id: str, token: str) -> Any:
    return site.client.post(f"/api/v1/sessions/{session_id}/did/proof", json={"jws": token})


def credential_of(site: Site, session_id: str) -> dict[str, Any]:
    view = site.client.get(f"/api/v1/sessions/{session_id}").json()
    url = view["credential_url"].replace(site.runtime.settings.base_url, "")
    return site.client.get(url).json()  # type: ignore[no-any-return]


@pytest.mark.parametrize("kind", ["Ed25519", "P-256"])
def test_a_signed_challenge_makes_the_did_the_verified_recipient(site: Site, kind: str) -> None:
    add_endpoint(site)
    verified_only(site)
    key = new_key(kind)
    did = did_for(key)
    view = take(site.client, site.assessment_id, email=None, did=did)
    assert view["award_status"] == "awaiting_email" and view["credential_url"] is None
    asked = challenge(site, view["id"])
    assert asked["did"] == did and asked["kid"] == f"{did}#{did.removeprefix('did:key:')}"
    assert asked["alg"] == ("EdDSA" if kind == "Ed25519" else "ES256")
    assert asked["aud"] == site.runtime.settings.base_url and asked["sub"].startswith("p_")
    reply = prove(site, view["id"], sign(asked, key))
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["identity"] == "did_control" and body["did"] == did
    assert body["award_status"] == "issued"
    assert session_row(site, view["id"]).did_verified_at is not None
    assert events(site) == ["assessment.completed", "credential.issued"]
    assert payloads(site, "credential.issued")[0]["data"]["recipient"]["name"] == "Ada Lovelace"
    document = credential_of(site, view["id"])
    assert document["credentialSubject"]["id"] == did
    names = [i["identityHash"] for i in document["credentialSubject"]["identifier"]]
    assert names == ["Ada Lovelace"]
    narrative = document["evidence"][0]["narrative"]
    assert "Identity: DID control (did:key challenge signed 20" in narrative
    assert_valid_ob3(document)
    report = site.client.post("/api/v1/credentials/verify", json={"credential": document}).json()
    assert report["verified"] is True, report
    assert report["summary"]["recipient"] == "Ada Lovelace"
    # The same credential as a VC-JWT names the DID as its subject.
    url = site.client.get(f"/api/v1/sessions/{view['id']}").json()["credential_url"]
    token = site.client.get(
        url.replace(site.runtime.settings.base_url, "") + "/credential.jwt"
    ).text
    by_jwt = site.client.post("/api/v1/credentials/verify", json={"credential": token}).json()
    assert by_jwt["verified"] is True
    claims = msgspec.json.decode(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["sub"] == did


def test_control_proven_before_the_end_is_in_the_credential_at_once(site: Site) -> None:
    key = new_key("Ed25519")
    did = did_for(key)
    reply = site.client.post(
        f"/api/v1/assessments/{site.assessment_id}/sessions", json={"name": "Ada", "did": did}
    )
    session_id = reply.json()["id"]
    assert prove(site, session_id, sign(challenge(site, session_id), key)).status_code == 200
    view = answer_all(site.client, site.client.get(f"/api/v1/sessions/{session_id}").json())
    assert view["credential_url"] is not None
    document = credential_of(site, session_id)
    assert document["credentialSubject"]["id"] == did
    assert "DID control" in document["evidence"][0]["narrative"]


def test_a_did_nobody_proved_stays_self_asserted(site: Site) -> None:
    did = did_for(new_key("Ed25519"))
    view = take(site.client, site.assessment_id, email=None, did=did)
    document = credential_of(site, view["id"])
    assert document["credentialSubject"]["id"] == did
    kinds = [i["identityType"] for i in document["credentialSubject"].get("identifier", [])]
    assert "name" not in kinds
    assert "Identity: self-asserted" in document["evidence"][0]["narrative"]


def refused(reply: Any, located: str) -> str:
    assert reply.status_code == 422, reply.text
    errors = reply.json()["errors"]
    assert any(e.startswith(located) for e in errors), errors
    return " ".join(errors)


def started(site: Site, did: str) -> str:
    reply = site.client.post(
        f"/api/v1/assessments/{site.assessment_id}/sessions", json={"name": "Ada", "did": did}
    )
    assert reply.status_code == 201, reply.text
    return str(reply.json()["id"])


def test_every_wrong_proof_is_refused_where_it_is_wrong(site: Site) -> None:
    key = new_key("Ed25519")
    session_id = started(site, did_for(key))
    asked = challenge(site, session_id)
    # Signed by another key under this DID's kid.
    text = refused(prove(site, session_id, sign(asked, new_key("Ed25519"))), "jws signature:")
    assert "does not verify with the key of did:key:z6Mk" in text
    # A payload changed after signing.
    good = sign(asked, key)
    head, _, signature = good.split(".")
    other = sign(asked, key, payload={"nonce": "x" * 43}).split(".")[1]
    refused(prove(site, session_id, f"{head}.{other}.{signature}"), "jws signature:")
    # A nonce the service never issued, and another session's nonce.
    refused(
        prove(site, session_id, sign(asked, key, payload={"nonce": "n" * 43})), "jws payload nonce:"
    )
    other_key = new_key("Ed25519")
    other_session = started(site, did_for(other_key))
    theirs = challenge(site, other_session)
    text = refused(
        prove(site, session_id, sign({**asked, "nonce": theirs["nonce"]}, key)),
        "jws payload nonce:",
    )
    assert "not a challenge this service issued for this session" in text
    # Another DID's key and kid.
    text = refused(prove(site, session_id, sign(theirs, other_key)), "jws header kid:")
    assert "is not this session's DID" in text
    # Audience and subject.
    wrong_aud = sign(asked, key, payload={"aud": "https://elsewhere.example"})
    refused(prove(site, session_id, wrong_aud), "jws payload aud:")
    refused(prove(site, session_id, sign(asked, key, payload={"sub": "p_0"})), "jws payload sub:")
    # The wrong algorithm for the key, and no kid.
    refused(prove(site, session_id, sign(asked, key, header={"kid": ""})), "jws header kid:")
    # Malformed.
    refused(prove(site, session_id, "not-a-jws"), "jws: not a compact JWS")
    refused(prove(site, session_id, "e30.e30.e30x"), "jws")
    refused(prove(site, session_id, "!!!.e30.AA"), "jws header:")
    # None of that used the nonce: the right proof still works, once.
    assert prove(site, session_id, good).status_code == 200
    text = refused(prove(site, session_id, good), "jws payload nonce:")
    assert "already used" in text


def test_an_expired_challenge_is_refused(site: Site) -> None:
    key = new_key("P-256")
    session_id = started(site, did_for(key))
    asked = challenge(site, session_id)
    with site.runtime.db.write() as conn:
        conn.execute(update(did_challenges).values(expires_at=utcnow() - timedelta(seconds=1)))
    text = refused(prove(site, session_id, sign(asked, key)), "jws payload nonce:")
    assert "expired" in text
    assert session_row(site, session_id).did_verified_at is None


def test_only_a_keyed_hash_of_the_nonce_is_stored(site: Site) -> None:
    key = new_key("Ed25519")
    session_id = started(site, did_for(key))
    asked = challenge(site, session_id)
    with site.runtime.db.read() as conn:
        rows = conn.execute(select(did_challenges)).all()
    assert len(rows) == 1 and rows[0].session_id == session_id
    assert asked["nonce"] not in str(tuple(rows[0])) and len(rows[0].nonce_hash) == 64


@pytest.mark.parametrize(
    ("did", "located"),
    [
        ("did:web:example.org", "did: the did:web method is not supported"),
        ("did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme", "did: the key type"),
    ],
)
def test_unsupported_dids_get_no_challenge(site: Site, did: str, located: str) -> None:
    session_id = started(site, did)
    refused(site.client.post(f"/api/v1/sessions/{session_id}/did/challenge"), located)
    assert (
        "fetches nothing from other sites"
        in site.client.post(
            f"/api/v1/sessions/{started(site, 'did:web:example.org')}/did/challenge"
        ).text
    )


def test_a_session_without_a_did_and_bad_bodies(site: Site) -> None:
    reply = site.client.post(
        f"/api/v1/assessments/{site.assessment_id}/sessions", json={"name": "Ada"}
    )
    session_id = reply.json()["id"]
    assert site.client.post(f"/api/v1/sessions/{session_id}/did/challenge").status_code == 409
    assert site.client.post("/api/v1/sessions/nope/did/challenge").status_code == 404
    key = new_key("Ed25519")
    session_id = started(site, did_for(key))
    url = f"/api/v1/sessions/{session_id}/did/proof"
    assert site.client.post(url, json={"jws": "a.b.c", "extra": 1}).status_code == 400
    assert site.client.post(url, json={"jws": "a" * 5000}).status_code == 400
    assert site.client.post(url, json={}).status_code == 400


def form_post(site: Site, path: str, **data: str) -> Any:
    return site.client.post(path, data={"_csrf_token": site.csrf(), **data}, follow_redirects=False)


def test_the_page_shows_a_challenge_and_takes_the_pasted_jws(site: Site) -> None:
    verified_only(site)
    key = new_key("P-256")
    did = did_for(key)
    view = take(site.client, site.assessment_id, email=None, did=did)
    result = site.client.get(f"/s/{view['id']}/result").text
    assert f'href="/s/{view["id"]}/did"' in result
    page = site.client.get(f"/s/{view['id']}/did").text
    assert did in page and "Show me a challenge to sign" in page
    shown = form_post(site, f"/s/{view['id']}/did/challenge")
    assert shown.status_code == 200
    nonce = re.search(r'"nonce": "([A-Za-z0-9_-]+)"', shown.text)
    assert nonce is not None, shown.text
    asked = {
        "kid": f"{did}#{did.removeprefix('did:key:')}",
        "nonce": nonce.group(1),
        "aud": site.runtime.settings.base_url,
        "sub": re.search(r'"sub": "(p_[0-9a-f]+)"', shown.text).group(1),  # type: ignore[union-attr]
    }
    bad = form_post(site, f"/s/{view['id']}/did/proof", jws="abc")
    assert bad.status_code == 422
    assert "jws: not a compact JWS" in bad.text and 'aria-invalid="true"' in bad.text
    assert ">abc</textarea>" in bad.text
    good = form_post(site, f"/s/{view['id']}/did/proof", jws=sign(asked, key))
    assert good.status_code == 303 and good.headers["location"] == f"/s/{view['id']}/did"
    assert "You proved control of" in site.client.get(f"/s/{view['id']}/did").text
    assert "You earned a credential" in site.client.get(f"/s/{view['id']}/result").text


def test_the_page_explains_an_unsupported_did(site: Site) -> None:
    session_id = started(site, "did:web:example.org")
    page = site.client.get(f"/s/{session_id}/did").text
    assert "fetches nothing from other sites" in page and "Show me a challenge" not in page
    session_id = site.client.post(
        f"/api/v1/assessments/{site.assessment_id}/sessions", json={"name": "Ada"}
    ).json()["id"]
    assert "started without a DID" in site.client.get(f"/s/{session_id}/did").text
