"""Verified learners: mailed single-use expiring links, named credentials, results links."""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from sqlalchemy import select, update

from tests.credentials.helpers import answer_all, take
from tests.verify.helpers import OFF, add_endpoint, events, payloads, session_row
from tests.web.conftest import Site, open_site
from web.authoring import authenticate
from web.credentials import service
from web.db.connection import utcnow
from web.db.schema import credentials, learner_links, learner_sessions
from web.demo import DEMO_ACHIEVEMENT
from web.errors import ConfigurationError
from web.mail import Mail, SmtpSender
from web.settings import load_settings
from web.verification import send_verification, settle_awaiting

LINK = re.compile(r"http://[^/\s]+(/(?:email|me)/[A-Za-z0-9_-]+)")


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    """The app on SQLite and on PostgreSQL."""
    yield from open_site(database_url, tmp_path, **OFF)


def outbox(site: Site) -> Path:
    return Path(site.runtime.settings.mail_dir)


def mails(site: Site) -> list[email.message.Message]:
    folder = outbox(site)
    if not folder.exists():
        return []
    return [email.message_from_bytes(p.read_bytes()) for p in sorted(folder.glob("*.eml"))]


def link_in(message: email.message.Message) -> str:
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    found = LINK.search(body.decode("utf-8"))
    assert found is not None, body
    return found.group(1)


def start(site: Site, assessment: str, **learner: str) -> dict[str, Any]:
    body = {"name": "Ada Lovelace", "email": "ada@example.org", **learner}
    reply = site.client.post(f"/api/v1/assessments/{assessment}/sessions", json=body)
    assert reply.status_code == 201, reply.text
    return reply.json()  # type: ignore[no-any-return]


def use(site: Site, path: str) -> Any:
    return site.client.post(path, data={"_csrf_token": site.csrf()}, follow_redirects=False)


def credential_of(site: Site, view: dict[str, Any]) -> dict[str, Any]:
    url = view["credential_url"].replace(site.runtime.settings.base_url, "")
    return site.client.get(url).json()  # type: ignore[no-any-return]


def test_a_verified_learner_is_named_and_the_link_works_once(site: Site) -> None:
    view = start(site, site.assessment_id)
    [message] = mails(site)
    assert message["To"] == "ada@example.org" and "Confirm your email" in message["Subject"]
    path = link_in(message)
    assert path.startswith("/email/")
    token = path.rsplit("/", 1)[1]
    with site.runtime.db.read() as conn:
        stored = conn.execute(select(learner_links)).all()
    assert len(stored) == 1 and token not in str(tuple(stored[0]))  # only a keyed hash
    page = site.client.get(path)
    assert page.status_code == 200 and "ada@example.org" in page.text
    assert session_row(site, view["id"]).email_verified_at is None  # a GET uses nothing
    reply = use(site, path)
    assert reply.status_code == 303
    assert reply.headers["location"] == f"/s/{view['id']}/result?verified=1"
    assert session_row(site, view["id"]).email_verified_at is not None
    again = use(site, path)
    assert again.status_code == 410 and "already used" in again.text
    assert 'action="/me"' in again.text  # the way to a new link
    finished = answer_all(site.client, view)
    document = credential_of(site, finished)
    names = [
        i["identityHash"]
        for i in document["credentialSubject"]["identifier"]
        if i["identityType"] == "name"
    ]
    assert names == ["Ada Lovelace"]
    assert "Identity: verified email" in document["evidence"][0]["narrative"]


def test_a_self_asserted_learner_is_not_named(site: Site) -> None:
    view = take(site.client, site.assessment_id)
    document = credential_of(site, view)
    kinds = [i["identityType"] for i in document["credentialSubject"]["identifier"]]
    assert kinds == ["emailAddress"]
    assert "Ada Lovelace" not in msgspec.json.encode(document).decode()
    assert "Identity: self-asserted" in document["evidence"][0]["narrative"]


def test_expired_and_unknown_links_get_a_located_friendly_page(site: Site) -> None:
    start(site, site.assessment_id)
    path = link_in(mails(site)[0])
    with site.runtime.db.write() as conn:
        conn.execute(update(learner_links).values(expires_at=utcnow() - timedelta(seconds=1)))
    for reply in (site.client.get(path), use(site, path)):
        assert reply.status_code == 410 and "This link has expired" in reply.text
    unknown = site.client.get("/email/not-a-real-token")
    assert unknown.status_code == 404 and "This link is not valid" in unknown.text
    assert site.client.get("/me/" + "x" * 300).status_code == 404


def test_the_link_expires_after_the_configured_minutes(site: Site) -> None:
    view = start(site, site.assessment_id)
    with site.runtime.db.read() as conn:
        row = conn.execute(select(learner_links)).one()
    assert row.session_id == view["id"]
    minutes = (row.expires_at - row.created_at).total_seconds() / 60
    assert minutes == pytest.approx(30)


def test_verified_only_assessments_issue_when_the_link_is_used(site: Site) -> None:
    add_endpoint(site)
    author = authenticate(site.runtime, site.token)
    spec = msgspec.structs.replace(DEMO_ACHIEVEMENT, require_verified_email=True)
    service.save_achievement(site.runtime, author, site.assessment_id, spec)
    landing = site.client.get(f"/a/{site.assessment_id}").text
    assert "issues badges to confirmed addresses only" in landing
    view = take(site.client, site.assessment_id)
    assert view["result"]["passed"] is True
    assert view["credential_url"] is None and view["award_status"] == "awaiting_email"
    assert "confirmed email addresses only" in view["award_note"]
    assert events(site) == ["assessment.completed"]
    page = site.client.get(f"/s/{view['id']}/result").text
    assert "Confirm your email to receive your credential" in page
    path = link_in(mails(site)[0])
    assert use(site, path).status_code == 303
    assert events(site) == ["assessment.completed", "credential.issued"]
    issued = payloads(site, "credential.issued")[0]["data"]
    assert issued["recipient"]["name"] == "Ada Lovelace"
    assert session_row(site, view["id"]).award_status == "issued"
    page = site.client.get(f"/s/{view['id']}/result").text
    assert "You earned a credential" in page
    # A second link for the same address changes nothing: one credential, one event.
    site.client.post("/me", data={"email": "ada@example.org", "_csrf_token": site.csrf()})
    assert use(site, link_in(mails(site)[-1])).status_code == 200
    assert events(site) == ["assessment.completed", "credential.issued"]


def test_a_results_link_lists_the_learners_sessions_and_discloses_nothing(site: Site) -> None:
    view = take(site.client, site.assessment_id)
    before = len(mails(site))
    unknown = site.client.post(
        "/me", data={"email": "nobody@example.org", "_csrf_token": site.csrf()}
    )
    known = site.client.post("/me", data={"email": "ADA@example.org", "_csrf_token": site.csrf()})
    assert unknown.status_code == known.status_code == 200
    assert "a link to them is on its way" in unknown.text and "on its way" in known.text
    sent = mails(site)[before:]
    assert [m["To"] for m in sent] == ["ada@example.org"]
    path = link_in(sent[0])
    assert path.startswith("/me/")
    listing = use(site, path)
    assert listing.status_code == 200
    assert f"/s/{view['id']}/result" in listing.text and "your credential" in listing.text
    assert session_row(site, view["id"]).email_verified_at is not None
    assert use(site, path).status_code == 410
    bad = site.client.post("/me", data={"email": "not an address", "_csrf_token": site.csrf()})
    assert bad.status_code == 422 and "Enter the email address" in bad.text


def test_a_mail_server_that_is_down_does_not_stop_the_assessment(site: Site) -> None:
    class Down:
        def send(self, mail: Mail) -> None:
            raise ConnectionRefusedError("connection refused")

    site.runtime.services["mail"] = Down()
    view = start(site, site.assessment_id)
    assert view["status"] == "in_progress"
    assert not send_verification(site.runtime, view["id"], "ada@example.org", "Demo")


def test_smtp_sender_speaks_starttls_login_and_sends(tmp_path: Path) -> None:
    calls: list[tuple[str, Any]] = []

    class FakeSMTP:
        def __init__(self, host: str, port: int, timeout: float) -> None:
            calls.append(("connect", (host, port, timeout)))

        def __enter__(self) -> FakeSMTP:
            return self

        def __exit__(self, *exc: object) -> None:
            calls.append(("quit", None))

        def ehlo(self) -> None:
            calls.append(("ehlo", None))

        def starttls(self) -> None:
            calls.append(("starttls", None))

        def login(self, user: str, password: str) -> None:
            calls.append(("login", (user, password)))

        def send_message(self, message: email.message.EmailMessage) -> None:
            calls.append(("send", (message["From"], message["To"], message["Subject"])))

    settings = load_settings(
        {
            "SKILLGAUGE_DATA_DIR": str(tmp_path),
            "SKILLGAUGE_MAIL": "smtp",
            "SKILLGAUGE_SMTP_HOST": "mail.example.org",
            "SKILLGAUGE_SMTP_USERNAME": "sg",
            "SKILLGAUGE_SMTP_PASSWORD": "pw",
            "SKILLGAUGE_MAIL_FROM": "noreply@example.org",
        }
    )
    SmtpSender(settings, FakeSMTP).send(Mail(to="ada@example.org", subject="Hi", body="x"))
    assert [c[0] for c in calls] == ["connect", "ehlo", "starttls", "ehlo", "login", "send", "quit"]
    assert calls[0][1] == ("mail.example.org", 587, 30)
    assert calls[-2][1] == ("noreply@example.org", "ada@example.org", "Hi")


def test_smtp_without_a_host_is_a_named_setting_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="SKILLGAUGE_SMTP_HOST"):
        load_settings({"SKILLGAUGE_DATA_DIR": str(tmp_path), "SKILLGAUGE_MAIL": "smtp"})


def test_an_email_confirmed_while_the_session_finished_still_gets_its_credential(
    site: Site,
) -> None:
    author = authenticate(site.runtime, site.token)
    spec = msgspec.structs.replace(DEMO_ACHIEVEMENT, require_verified_email=True)
    service.save_achievement(site.runtime, author, site.assessment_id, spec)
    view = take(site.client, site.assessment_id)
    assert view["award_status"] == "awaiting_email"
    # The link was used between the finishing read and the commit: the row says verified,
    # the award still waits. Looking again issues it, once.
    with site.runtime.db.write() as conn:
        conn.execute(
            update(learner_sessions)
            .where(learner_sessions.c.id == view["id"])
            .values(email_verified_at=utcnow())
        )
    settle_awaiting(site.runtime, view["id"])
    settle_awaiting(site.runtime, view["id"])
    assert session_row(site, view["id"]).award_status == "issued"
    with site.runtime.db.read() as conn:
        assert len(conn.execute(select(credentials)).all()) == 1


def test_results_links_are_rate_limited_per_client(site: Site) -> None:
    take(site.client, site.assessment_id)
    codes = [
        site.client.post(
            "/me", data={"email": "ada@example.org", "_csrf_token": site.csrf()}
        ).status_code
        for _ in range(7)
    ]
    assert codes[:5] == [200] * 5 and codes[5:] == [429, 429]


def test_the_author_turns_on_verified_only_from_the_credential_form(site: Site) -> None:
    site.client.post("/author/login", data={"token": site.token, "_csrf_token": site.csrf()})
    path = f"/author/assessments/{site.assessment_id}/credential"
    form = {
        "name": "Python for Data Analysis",
        "description": "Working skill.",
        "criteria": "Pass.",
        "achievement_type": "Badge",
        "min_confidence": "80",
        "_csrf_token": site.csrf(),
    }
    saved = site.client.post(path, data={**form, "require_verified_email": "on"})
    assert saved.status_code == 200, saved.text  # the redirect lands on the page
    assert 'id="require_verified_email" name="require_verified_email" value="on" checked' in (
        saved.text
    )
    view = take(site.client, site.assessment_id)
    assert view["award_status"] == "awaiting_email"
    site.client.post(path, data=form)  # unticked: self-asserted learners are certified again
    assert take(site.client, site.assessment_id, seed=2)["credential_url"] is not None
