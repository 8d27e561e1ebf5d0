"""Members, roles, invitations, the audit log and bank sharing, through the API."""

from __future__ import annotations

import email
import re
from datetime import timedelta
from pathlib import Path

import msgspec
from sqlalchemy import text, update

from item_banks.sample import sample_bank_path
from tests.credentials.helpers import take
from tests.web.conftest import Site
from web.authoring import create_author
from web.db.connection import utcnow
from web.db.schema import invitations
from web.demo import DEMO_ACHIEVEMENT

ORG = "/api/v1/author/org"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _body(mail: email.message.Message) -> str:
    payload = mail.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def _mails(site: Site) -> list[email.message.Message]:
    folder = Path(site.runtime.settings.mail_dir or Path(site.runtime.settings.data_dir) / "outbox")
    return [email.message_from_bytes(p.read_bytes()) for p in sorted(folder.glob("*.eml"))]


def test_the_last_owner_cannot_be_removed_or_demoted(site: Site) -> None:
    members = site.client.get(f"{ORG}/members", headers=site.auth()).json()
    (owner,) = [m for m in members if m["role"] == "owner"]
    demote = site.client.put(
        f"{ORG}/members/{owner['membership_id']}/role", json={"role": "viewer"}, headers=site.auth()
    )
    assert demote.status_code == 409 and "last owner" in demote.json()["detail"]
    remove = site.client.delete(f"{ORG}/members/{owner['membership_id']}", headers=site.auth())
    assert remove.status_code == 409
    second, token = create_author(site.runtime, "second@demo.example", org="demo", role="author")
    promoted = site.client.put(
        f"{ORG}/members/{second.membership_id}/role", json={"role": "owner"}, headers=site.auth()
    )
    assert promoted.status_code == 200
    assert site.client.get(f"{ORG}/members", headers=_bearer(token)).status_code == 200
    gone = site.client.delete(f"{ORG}/members/{owner['membership_id']}", headers=_bearer(token))
    assert gone.status_code == 200
    assert [m["email"] for m in gone.json()] == ["second@demo.example"]
    # the removed owner's token no longer signs in anywhere
    assert site.client.get(ORG, headers=site.auth()).status_code == 401


def test_a_token_carries_only_its_members_role_and_a_body_cannot_name_an_organisation(
    site: Site,
) -> None:
    _, viewer = create_author(site.runtime, "viewer@demo.example", org="demo", role="viewer")
    org = site.client.get(ORG, headers=_bearer(viewer)).json()
    assert (org["slug"], org["your_role"]) == ("demo", "viewer")
    upload = site.client.post(
        "/api/v1/author/banks",
        params={"filename": "bank.yaml"},
        content=sample_bank_path().read_bytes(),
        headers=_bearer(viewer),
    )
    assert upload.status_code == 403 and "(viewer)" in upload.json()["detail"]
    other, other_token = create_author(site.runtime, "owner@b.example")
    # an organisation or issuer field in a body is refused, never obeyed (Badgr PR #341)
    sneaky = site.client.patch(
        ORG, json={"name": "B renamed", "org_id": 1}, headers=_bearer(other_token)
    )
    assert sneaky.status_code == 400
    renamed = site.client.patch(ORG, json={"name": "B renamed"}, headers=_bearer(other_token))
    assert renamed.json()["slug"] == other.org_slug
    assert site.client.get(ORG, headers=site.auth()).json()["name"] != "B renamed"


def test_invitation_by_signed_single_use_expiring_link(site: Site) -> None:
    sent = site.client.post(
        f"{ORG}/invitations",
        json={"email": "New.Person@Example.org", "role": "reviewer"},
        headers=site.auth(),
    )
    assert sent.status_code == 201, sent.text
    (mail,) = _mails(site)
    assert mail["To"] == "new.person@example.org"
    body = _body(mail)
    link = re.search(r"https?://\S+/invitations/(\S+)", body)
    assert link is not None
    token = link.group(1)
    with site.runtime.db.read() as conn:
        stored = conn.execute(text("SELECT token_hash FROM invitations")).scalars().all()
    assert token not in stored and len(stored) == 1  # only a keyed hash is kept
    page = site.client.get(f"/invitations/{token}")
    assert page.status_code == 200 and "reviewer" in page.text
    accepted = site.client.post(
        f"/invitations/{token}", data={"_csrf_token": site.csrf()}, follow_redirects=False
    )
    assert accepted.status_code == 201, accepted.text
    new_token = re.search(r'id="new-token" value="([^"]+)"', accepted.text)
    assert new_token is not None
    me = site.client.get(ORG, headers=_bearer(new_token.group(1))).json()
    assert (me["slug"], me["your_role"]) == ("demo", "reviewer")
    again = site.client.post(f"/invitations/{token}", data={"_csrf_token": site.csrf()})
    assert again.status_code == 409 and "used already" in again.text
    assert site.client.get("/invitations/" + "x" * 43).status_code == 404
    # an expired link is refused
    site.client.post(f"{ORG}/invitations", json={"email": "late@example.org"}, headers=site.auth())
    late = _body(_mails(site)[-1])
    late_token = re.search(r"/invitations/(\S+)", late).group(1)  # type: ignore[union-attr]
    with site.runtime.db.write() as conn:
        conn.execute(
            update(invitations)
            .where(invitations.c.email == "late@example.org")
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    expired = site.client.post(f"/invitations/{late_token}", data={"_csrf_token": site.csrf()})
    assert expired.status_code == 409 and "expired" in expired.text


def test_the_audit_log_records_who_did_what_and_only_owners_read_it(site: Site) -> None:
    _, reviewer = create_author(site.runtime, "rev@demo.example", org="demo", role="reviewer")
    view = take(site.client, site.assessment_id)
    credential_id = view["credential_url"].rsplit("/", 1)[1]
    revoked = site.client.post(
        f"/api/v1/author/credentials/{credential_id}/revoke",
        json={"reason": "test"},
        headers=_bearer(reviewer),
    )
    assert revoked.status_code == 200
    site.client.post(f"{ORG}/keys/rotate", headers=site.auth())
    site.client.post(f"{ORG}/invitations", json={"email": "x@example.org"}, headers=site.auth())
    log = site.client.get(f"{ORG}/audit", headers=site.auth())
    assert log.status_code == 200
    entries = {(e["action"], e["actor"]) for e in log.json()}
    assert ("credential.revoke", "rev@demo.example") in entries
    assert ("keys.rotate", "demo-author@skillgauge.invalid") in entries
    assert ("invitation.send", "demo-author@skillgauge.invalid") in entries
    assert site.client.get(f"{ORG}/audit", headers=_bearer(reviewer)).status_code == 403
    exported = site.client.get(f"{ORG}/audit.csv", headers=site.auth())
    assert exported.text.splitlines()[0] == "id,at,actor,action,object,detail"
    assert "credential.revoke" in exported.text
    # another organisation's log holds none of it
    _, other = create_author(site.runtime, "owner@b.example")
    assert site.client.get(f"{ORG}/audit", headers=_bearer(other)).json() == []


def test_a_shared_bank_version_is_usable_until_withdrawn_and_assessments_keep_it(
    site: Site,
) -> None:
    with site.runtime.db.read() as conn:
        demo = site.runtime.assessment(conn, site.assessment_id)
    other, token = create_author(site.runtime, "owner@b.example")
    create = {
        "title": "B on A's bank",
        "bank_hash": demo.bank_hash,
        "policy": msgspec.to_builtins(demo.policy),
    }
    refused = site.client.post("/api/v1/author/assessments", json=create, headers=_bearer(token))
    assert refused.status_code == 404
    shared = site.client.post(
        "/api/v1/author/shares",
        json={"bank_hash": demo.bank_hash, "organisation": other.org_slug},
        headers=site.auth(),
    )
    assert shared.status_code == 201 and shared.json()["with_keys"] is False
    listed = site.client.get("/api/v1/author/banks", headers=_bearer(token)).json()
    assert [b["hash"] for b in listed] == [demo.bank_hash]
    made = site.client.post("/api/v1/author/assessments", json=create, headers=_bearer(token))
    assert made.status_code == 201, made.text
    page = site.client.get(f"/author/banks/{demo.bank_hash}", headers=_bearer(token))
    assert page.status_code == 200 and "without its answer keys" in page.text
    b_assessment = made.json()["id"]
    # B cannot pass it on: only a holder shares
    onward = site.client.post(
        "/api/v1/author/shares",
        json={"bank_hash": demo.bank_hash, "organisation": "demo"},
        headers=_bearer(token),
    )
    assert onward.status_code == 404
    withdrawn = site.client.post(
        f"/api/v1/author/shares/{shared.json()['id']}/withdraw", headers=site.auth()
    )
    assert withdrawn.status_code == 200 and withdrawn.json()["withdrawn_at"]
    assert site.client.get("/api/v1/author/banks", headers=_bearer(token)).json() == []
    again = site.client.post("/api/v1/author/assessments", json=create, headers=_bearer(token))
    assert again.status_code == 404
    # the assessment made while shared keeps its pinned version: learners still take it
    site.client.put(
        f"/api/v1/author/assessments/{b_assessment}/achievement",
        json=msgspec.to_builtins(DEMO_ACHIEVEMENT),
        headers=_bearer(token),
    )
    finished = take(site.client, b_assessment)
    assert finished["status"] == "finished"
    overview = site.client.get(f"/api/v1/author/assessments/{b_assessment}", headers=_bearer(token))
    assert overview.status_code == 200
    assert overview.json()["assessment"]["bank_hash"] == demo.bank_hash
