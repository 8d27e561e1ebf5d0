"""Two organisations issue credentials that verify under their own issuer and fail under the
other's; each names its did:web, resolvable at ``/orgs/<slug>/did.json``."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import msgspec

from item_banks.sample import sample_bank_path
from tests.credentials.helpers import take
from tests.web.conftest import Site
from web.authoring import create_author
from web.credentials import service
from web.credentials.awards import org_issuer
from web.credentials.verify import verify
from web.demo import DEMO_ACHIEVEMENT
from web.store import credentials as credential_store


def did_web_url(did: str) -> tuple[str, str]:
    """The did:web method's resolution: ``did:web:host%3Aport:a:b`` -> path ``/a/b/did.json``
    on ``host:port`` (independent of the service's own code)."""
    _, method, host, *path = did.split(":")
    assert method == "web"
    return "/" + "/".join(unquote(p) for p in path) + "/did.json", unquote(host)


def _method(document: dict[str, Any]) -> str:
    proof = document["proof"]
    return str((proof[0] if isinstance(proof, list) else proof)["verificationMethod"])


def _credential(site: Site, assessment_id: str) -> credential_store.CredentialRecord:
    view = take(site.client, assessment_id)
    credential_id = view["credential_url"].rsplit("/", 1)[1]
    with site.runtime.db.read() as conn:
        record = credential_store.get(conn, credential_id)
    assert record is not None
    return record


def _second_org(site: Site) -> tuple[str, dict[str, str]]:
    """Org B (its owner's own organisation) with an assessment of its own and its achievement."""
    member, token = create_author(site.runtime, "owner@b.example")
    auth = {"Authorization": f"Bearer {token}"}
    up = site.client.post(
        "/api/v1/author/banks",
        params={"filename": "bank.yaml"},
        content=sample_bank_path().read_bytes(),
        headers=auth,
    )
    assert up.status_code == 201, up.text
    with site.runtime.db.read() as conn:
        demo = site.runtime.assessment(conn, site.assessment_id)
    made = site.client.post(
        "/api/v1/author/assessments",
        json={
            "title": "B's test",
            "bank_hash": up.json()["hash"],
            "policy": msgspec.to_builtins(demo.policy),
        },
        headers=auth,
    )
    assert made.status_code == 201, made.text
    assessment_id = made.json()["id"]
    achievement = site.client.put(
        f"/api/v1/author/assessments/{assessment_id}/achievement",
        json=msgspec.to_builtins(DEMO_ACHIEVEMENT),
        headers=auth,
    )
    assert achievement.status_code == 200, achievement.text
    return assessment_id, {"slug": member.org_slug, "org_id": str(member.org_id)}


def test_two_organisations_verify_under_their_own_issuer_only(site: Site) -> None:
    rt = site.runtime
    b_assessment, b = _second_org(site)
    a_record = _credential(site, site.assessment_id)
    b_record = _credential(site, b_assessment)
    with rt.db.read() as conn:
        issuer_a = org_issuer(rt, conn, rt.assessment(conn, site.assessment_id).org_id)
        issuer_b = org_issuer(rt, conn, int(b["org_id"]))
    assert issuer_a.id == "did:web:127.0.0.1%3A8000:orgs:demo"
    assert issuer_b.id == f"did:web:127.0.0.1%3A8000:orgs:{b['slug']}"
    assert a_record.document["issuer"]["id"] == issuer_a.id
    assert b_record.document["issuer"]["id"] == issuer_b.id
    assert _method(a_record.document).startswith(issuer_a.id + "#")
    assert issuer_a.keys.active().ed25519_kid != issuer_b.keys.active().ed25519_kid
    lookup = service.status_lookup(rt)
    for record, own, other in ((a_record, issuer_a, issuer_b), (b_record, issuer_b, issuer_a)):
        for given in (record.document, record.jwt):
            mine = verify(given, issuer=own, status_lookup=lookup)
            assert mine.verified, mine
            theirs = verify(given, issuer=other, status_lookup=lookup)
            assert not theirs.verified and theirs.checks[0].name == "proof", theirs
            found = service.verify_given(rt, given)  # the issuer it names is found by its id
            assert found.verified and found.summary is not None
            assert found.summary.issuer_id == own.id


def test_a_credential_naming_one_organisation_signed_with_anothers_key_fails(
    site: Site,
) -> None:
    rt = site.runtime
    _, b = _second_org(site)
    a_record = _credential(site, site.assessment_id)
    with rt.db.read() as conn:
        issuer_a = org_issuer(rt, conn, rt.assessment(conn, site.assessment_id).org_id)
        issuer_b = org_issuer(rt, conn, int(b["org_id"]))
    forged = {k: v for k, v in a_record.document.items() if k != "proof"}
    forged["issuer"] = issuer_b.embedded_profile()
    signed, token = issuer_a.sign(forged, a_record.issued_at)  # A's key, B's name
    for given in (signed, token):
        report = service.verify_given(rt, given)
        assert not report.verified and report.status == "invalid"
        assert "key" in report.reason or "proof" in report.reason.lower(), report.reason


def test_each_organisation_serves_its_did_document_and_profile(site: Site) -> None:
    a_record = _credential(site, site.assessment_id)
    did = a_record.document["issuer"]["id"]
    path, host = did_web_url(did)
    assert (path, host) == ("/orgs/demo/did.json", "127.0.0.1:8000")
    document = site.client.get(path).json()
    assert document["id"] == did
    method = _method(a_record.document)
    assert method in document["assertionMethod"]
    assert any(
        m["id"] == method and m["type"] == "Multikey" and m["controller"] == did
        for m in document["verificationMethod"]
    )
    profile = site.client.get("/orgs/demo").json()
    assert profile["id"] == did and "Profile" in profile["type"]
    assert site.client.get("/orgs/nobody/did.json").status_code == 404
