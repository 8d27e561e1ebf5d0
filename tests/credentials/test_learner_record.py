"""The learner's record: one page with every session, result and credential, downloadable as a
signed CLR 2.0 ClrCredential and as a Verifiable Presentation, with "Add to LinkedIn" links."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import msgspec
import pytest
from sqlalchemy import update

from tests.credentials.clr_check import clr_problems, structure_problems
from tests.credentials.helpers import take
from tests.credentials.specs import SPECS, spec_json
from tests.credentials.test_award_flow import OFF, schema_validator
from tests.web.conftest import Site, database_url, open_site, postgres_template, postgres_url
from web.credentials import awards, data_integrity
from web.credentials.clr import build_clr, competency_id
from web.credentials.documents import SERVED, ClosedLoader, canonicalize
from web.credentials.errors import CanonicalizationError
from web.db.connection import utcnow
from web.db.schema import learner_links

__all__ = ["database_url", "postgres_template", "postgres_url"]

LINK = re.compile(r"/me/[A-Za-z0-9_-]+")
GRANT = re.compile(r'href="(/me/record/[A-Za-z0-9_-]+)"')
EXTENSIONS = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    """The app on SQLite and on PostgreSQL."""
    yield from open_site(database_url, tmp_path, **OFF)


def ob3_errors(document: dict[str, Any]) -> list[str]:
    return [f"{list(e.path)}: {e.message}" for e in schema_validator().iter_errors(document)]


def record_page(site: Site, email: str = "ada@example.org") -> Any:
    """Ask for a results link, use it: the record page (HTTP response)."""
    site.client.post("/me", data={"email": email, "_csrf_token": site.csrf()})
    newest = sorted(Path(site.runtime.settings.mail_dir).glob("*.eml"))[-1]
    found = LINK.search(newest.read_text())
    assert found is not None
    return site.client.post(found.group(0), data={"_csrf_token": site.csrf()})


def grant_of(page: Any) -> str:
    found = GRANT.search(page.text)
    assert found is not None, page.text
    return found.group(1)


def trusted(site: Site) -> Any:
    """The service-wide issuer's keys: the issuer of the learner's record."""
    return awards.issuer_of(site.runtime).resolve_ed25519


def badge_issuer(site: Site, vc: dict[str, Any]) -> Any:
    """The keys of the organisation a badge names as its issuer."""
    with site.runtime.db.read() as conn:
        return awards.issuer_named(site.runtime, conn, vc["issuer"]["id"]).resolve_ed25519


def test_the_official_samples_pass_the_checker_and_a_broken_one_does_not() -> None:
    """The checker accepts what 1EdTech's validator accepts, and catches what it must."""
    loader = ClosedLoader({**SERVED, EXTENSIONS: SPECS / "clr2" / "ob-v3p0-extensions.json"})
    # (sample-simple-noproof.json uses a draft context URL and VC 1.1: not a CLR 2.0 record.)
    sample = spec_json("clr2/sample-simple.json")
    assert clr_problems(sample, loader, lambda vc: []) == []
    broken = spec_json("clr2/sample-simple.json")
    broken["credentialSubject"]["association"][0]["associationType"] = "isCousinOf"
    broken["credentialSubject"]["association"][0]["targetId"] = "urn:uuid:nothing"
    broken["credentialSubject"]["unknownTerm"] = "dropped by JSON-LD"
    del broken["validFrom"]
    problems = clr_problems(broken, loader, lambda vc: [])
    assert any("associationType" in p for p in problems)
    assert any("targetId names no achievement" in p for p in problems)
    assert any("validFrom" in p for p in problems)
    assert any("unknownTerm" in p for p in problems), problems


def test_the_record_page_lists_sessions_results_and_credentials(site: Site) -> None:
    passed = take(site.client, site.assessment_id, seed=1)
    failed = take(site.client, site.assessment_id, correct=False, seed=2)
    take(site.client, site.assessment_id, email="grace@example.org", seed=3)
    page = record_page(site)
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    text = page.text
    assert f"/s/{passed['id']}/result" in text and f"/s/{failed['id']}/result" in text
    assert "grace@example.org" not in text  # only this learner's sessions
    assert text.count("Add to LinkedIn") == 1  # one credential: the passed session's
    assert "passed" in text and "not yet" in text  # the per-competency results
    scores = re.findall(r"score (\d{3})", text)
    assert len(scores) >= 2
    linkedin = re.search(r'href="(https://www\.linkedin\.com/profile/add\?[^"]+)"', text)
    assert linkedin is not None
    query = parse_qs(urlparse(linkedin.group(1).replace("&amp;", "&")).query)
    credential_url = passed["credential_url"]
    assert query["startTask"] == ["CERTIFICATION_NAME"]
    assert query["organizationName"] == [site.runtime.settings.issuer_name]
    assert query["certUrl"] == [credential_url]
    assert query["certId"] == [credential_url.rsplit("/", 1)[1]]
    assert query["name"][0] and query["issueYear"][0].isdigit() and query["issueMonth"][0]
    # The grant shows the same record again, and nothing once it expired.
    grant = grant_of(page)
    again = site.client.get(grant)
    assert again.status_code == 200 and f"/s/{passed['id']}/result" in again.text
    with site.runtime.db.write() as conn:
        conn.execute(
            update(learner_links)
            .where(learner_links.c.purpose == "record")
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    expired = site.client.get(grant)
    assert expired.status_code == 410 and "expired" in expired.text
    assert site.client.get(grant + "/clr.json").status_code == 410
    # A results link is not a grant: it cannot open the downloads.
    assert site.client.get("/me/record/not-a-grant/clr.json").status_code == 404


def test_the_clr_is_signed_valid_json_ld_and_holds_every_credential(site: Site) -> None:
    first = take(site.client, site.assessment_id, seed=1)
    second = take(site.client, site.assessment_id, seed=4)
    take(site.client, site.assessment_id, correct=False, seed=2)
    grant = grant_of(record_page(site))
    reply = site.client.get(grant + "/clr.json")
    assert reply.status_code == 200
    assert "attachment" in reply.headers["content-disposition"]
    document = reply.json()
    assert clr_problems(document, None, ob3_errors) == []
    subject = document["credentialSubject"]
    held = [vc["id"] for vc in subject["verifiableCredential"]]
    assert held == [first["credential_url"], second["credential_url"]]  # oldest first
    # The achievement once, its competencies as achievements, linked by associations.
    achievement = subject["verifiableCredential"][0]["credentialSubject"]["achievement"]
    competencies = [a for a in subject["achievement"] if a.get("achievementType") == "Competency"]
    assert [a["id"] for a in subject["achievement"]].count(achievement["id"]) == 1
    assert len(competencies) == len(achievement["resultDescription"]) >= 1
    assert {(a["sourceId"], a["targetId"]) for a in subject["association"]} == {
        (achievement["id"], competency_id(achievement["id"], rd["id"].split("#result-")[1]))
        for rd in achievement["resultDescription"]
    }
    assert all(a["associationType"] == "isParentOf" for a in subject["association"])
    # The learner by hashed email and verified name; never the plain address.
    kinds = {i["identityType"]: i for i in subject["identifier"]}
    assert kinds["name"]["identityHash"] == "Ada Lovelace"
    assert kinds["emailAddress"]["hashed"] is True
    assert "ada@example.org" not in msgspec.json.encode(document).decode()
    # Signed like the badges; the embedded credentials keep their own valid proofs.
    check = data_integrity.verify(document, trusted(site))
    assert check.ok, check.reason
    assert document["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022"
    for vc in subject["verifiableCredential"]:
        assert data_integrity.verify(vc, badge_issuer(site, vc)).ok
        assert not data_integrity.verify(vc, trusted(site)).ok  # not the service's key
    tampered = copy.deepcopy(document)
    tampered["credentialSubject"]["achievement"][0]["name"] = "Something else"
    assert not data_integrity.verify(tampered, trusted(site)).ok


def test_revoked_credentials_stay_on_the_page_but_leave_the_clr(site: Site) -> None:
    kept = take(site.client, site.assessment_id, seed=1)
    revoked = take(site.client, site.assessment_id, seed=4)
    credential_id = revoked["credential_url"].rsplit("/", 1)[1]
    reply = site.client.post(
        f"/api/v1/author/credentials/{credential_id}/revoke",
        json={"reason": "test"},
        headers=site.auth(),
    )
    assert reply.status_code in (200, 201), reply.text
    page = record_page(site)
    assert "(revoked)" in page.text and page.text.count("Add to LinkedIn") == 1
    document = site.client.get(grant_of(page) + "/clr.json").json()
    held = [vc["id"] for vc in document["credentialSubject"]["verifiableCredential"]]
    assert held == [kept["credential_url"]]


def test_the_presentation_wraps_the_signed_record(site: Site) -> None:
    take(site.client, site.assessment_id, seed=1)
    grant = grant_of(record_page(site))
    reply = site.client.get(grant + "/presentation.json")
    assert reply.status_code == 200
    presentation = reply.json()
    assert presentation["type"] == ["VerifiablePresentation"]
    [record] = presentation["verifiableCredential"]
    assert "ClrCredential" in record["type"]
    assert data_integrity.verify(record, trusted(site)).ok
    assert structure_problems(record) == []
    canonicalize(presentation)  # valid JSON-LD with the bundled contexts, no dropped term


def test_a_term_outside_the_contexts_is_refused_when_signing(site: Site) -> None:
    issuer = awards.issuer_of(site.runtime)
    document = build_clr(
        issuer=issuer.embedded_profile(),
        credentials=[],
        email="ada@example.org",
        name=None,
        did=None,
        issued_at=utcnow(),
        salt="00",
    )
    assert "association" not in document["credentialSubject"]
    document["credentialSubject"]["favouriteColour"] = "blue"
    with pytest.raises(CanonicalizationError, match="favouriteColour"):
        issuer.sign_data_integrity(document, utcnow())
