"""LTI 1.3 against a platform simulator on loopback: login -> deep link -> launch -> answer ->
score received, and every bad case refused with a reason (wrong audience, replayed launch and
nonce, expired token, unknown deployment, forged signature, platform down for the score)."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from joserfc import jws
from joserfc.errors import InvalidKeyIdError
from joserfc.jwk import RSAKey
from litestar.testing import TestClient
from sqlalchemy import func, select

from skillgauge.cli import main
from tests.credentials.helpers import answer_all
from tests.lti.simulator import DL, LTI, Platform, running_platform
from tests.web.conftest import Site, open_site
from web.db.connection import utcnow
from web.db.schema import learner_sessions, lti_launches, lti_platforms
from web.lti import messages, platform_keys, service
from web.lti.scores import ScorePoster
from web.lti.tool_key import tool_key
from web.store import lti as lti_store

OFF = {"SKILLGAUGE_WEBHOOK_WORKER": "off", "SKILLGAUGE_WEBHOOK_ALLOW_PRIVATE": "1"}


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    yield from open_site(database_url, tmp_path, **OFF)


@pytest.fixture
def sqlite_site(sqlite_url: str, tmp_path: Path) -> Iterator[Site]:
    yield from open_site(sqlite_url, tmp_path, **OFF)


@pytest.fixture
def platform() -> Iterator[Platform]:
    with running_platform() as running:
        yield running
        platform_keys.forget(running.registration()["jwks_url"])


def register(site: Site, platform: Platform) -> dict[str, Any]:
    reply = site.client.post(
        "/api/v1/author/lti/platforms", json=platform.registration(), headers=site.auth()
    )
    assert reply.status_code == 201, reply.text
    platform.tool_jwks = site.client.get("/lti/jwks").json()
    return reply.json()  # type: ignore[no-any-return]


def login(site: Site, platform: Platform, hint: str = "user-42") -> str:
    """The platform's login initiation; returns the auth request the tool redirects to."""
    target = site.runtime.settings.base_url + "/lti/launch"
    reply = site.client.get(
        "/lti/login", params=platform.login_params(target, hint), follow_redirects=False
    )
    assert reply.status_code == 302, reply.text
    return str(reply.headers["location"])


def launch(site: Site, token: str, state: str) -> Any:
    return site.client.post(
        "/lti/launch", data={"id_token": token, "state": state}, follow_redirects=False
    )


def sessions(site: Site) -> int:
    with site.runtime.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(learner_sessions)).scalar_one())


def poster(site: Site, later: float = 0.0) -> ScorePoster:
    return ScorePoster(
        site.runtime.db, site.runtime.settings, clock=lambda: utcnow() + timedelta(seconds=later)
    )


def refused(reply: Any, words: str) -> None:
    assert reply.status_code == 401, reply.text
    assert words in html.unescape(reply.text), reply.text


def test_login_deep_link_launch_answer_and_the_score_arrives(
    site: Site, platform: Platform
) -> None:
    registered = register(site, platform)
    assert registered["tool"]["login_url"].endswith("/lti/login")
    assert registered["tool"]["jwks_url"].endswith("/lti/jwks")
    # Deep linking: the instructor picks the assessment; the signed answer goes back.
    token, state = platform.id_token(login(site, platform, "teacher-1"), platform.deep_linking())
    page = launch(site, token, state)
    assert page.status_code == 200, page.text
    assert "frame-ancestors " + platform.issuer in page.headers["content-security-policy"]
    action = re.search(r'action="(/lti/deep-link/[^"]+)"', page.text)
    assert action is not None and site.assessment_id in page.text
    answered = site.client.post(action.group(1), data={"assessment": site.assessment_id})
    assert answered.status_code == 200, answered.text
    assert f'action="{platform.issuer}/deep-link-return"' in answered.text
    jwt_field = re.search(r'name="JWT" value="([^"]+)"', answered.text)
    assert jwt_field is not None
    claims = platform.check_tool_jwt(jwt_field.group(1))
    assert claims["iss"] == platform.client_id and claims["aud"] == platform.issuer
    assert claims[LTI + "message_type"] == "LtiDeepLinkingResponse"
    assert claims[LTI + "deployment_id"] == platform.deployment_id
    assert claims[DL + "data"] == "opaque-123"
    [item] = claims[DL + "content_items"]
    assert item["type"] == "ltiResourceLink" and item["lineItem"]["scoreMaximum"] == 1000
    # The choice is used once.
    again = site.client.post(action.group(1), data={"assessment": site.assessment_id})
    assert again.status_code == 401
    # A learner launches the link: the session starts with the LMS identity ...
    custom = item["custom"]["assessment"]
    token, state = platform.id_token(login(site, platform), platform.resource_link(custom))
    started = launch(site, token, state)
    assert started.status_code == 303, started.text
    session_id = started.headers["location"].removeprefix("/s/")
    with site.runtime.db.read() as conn:
        row = conn.execute(
            select(learner_sessions).where(learner_sessions.c.id == session_id)
        ).one()
        [stored] = lti_store.launches_for_session(conn, session_id)
    assert row.learner_name == "Ada Lovelace" and stored.subject == "user-42"
    # ... and a second launch of the same link resumes it.
    token, state = platform.id_token(login(site, platform), platform.resource_link(custom))
    resumed = launch(site, token, state)
    assert resumed.headers["location"] == f"/s/{session_id}"
    # Nothing is posted while the session runs.
    assert poster(site).run_once() == 0 and platform.scores == []
    view = site.client.get(f"/api/v1/sessions/{session_id}").json()
    finished = answer_all(site.client, view)
    assert finished["status"] != "in_progress"
    assert poster(site).run_once() == 1
    [score] = platform.scores
    assert score.lineitem == "/lineitems/link-1/scores?course=7"
    assert score.content_type == "application/vnd.ims.lis.v1.score+json"
    assert score.body["userId"] == "user-42"
    assert 0 < score.body["scoreGiven"] <= score.body["scoreMaximum"] == 1000
    assert score.body["comment"].startswith("Passed.")
    assert score.body["activityProgress"] == "Completed"
    assert score.body["gradingProgress"] == "FullyGraded"
    with site.runtime.db.read() as conn:
        assert lti_store.score_state(conn, stored.id)["status"] == "delivered"
    assert poster(site).run_once() == 0 and len(platform.scores) == 1  # posted once
    # A launch after the end opens the learner's record: this session, its credential, the CLR.
    token, state = platform.id_token(login(site, platform), platform.resource_link(custom))
    record = launch(site, token, state).headers["location"]
    assert record.startswith("/me/record/")
    page = site.client.get(record)
    assert page.status_code == 200 and f"/s/{session_id}/result" in page.text
    assert "Simulated Moodle" in page.text and "Add to LinkedIn" in page.text
    document = site.client.get(record + "/clr.json").json()
    [held] = document["credentialSubject"]["verifiableCredential"]
    assert held["id"] == finished["credential_url"]
    kinds = [i["identityType"] for i in document["credentialSubject"]["identifier"]]
    assert kinds == ["ltiUserId"]  # the LMS user id, hashed; no unconfirmed name or email
    # Another LMS user's record is not this one.
    token, state = platform.id_token(
        login(site, platform, "user-43"), platform.resource_link(custom)
    )
    other = launch(site, token, state).headers["location"]
    assert other != f"/s/{session_id}" and other.startswith("/s/")


def test_wrong_audience_is_refused(sqlite_site: Site, platform: Platform) -> None:
    register(sqlite_site, platform)
    message = platform.resource_link(sqlite_site.assessment_id)
    token, state = platform.id_token(login(sqlite_site, platform), message, aud="another-tool")
    refused(launch(sqlite_site, token, state), "not this tool's client id")
    assert sessions(sqlite_site) == 0


def test_replayed_launch_and_replayed_nonce_are_refused(
    sqlite_site: Site, platform: Platform
) -> None:
    register(sqlite_site, platform)
    message = platform.resource_link(sqlite_site.assessment_id)
    token, state = platform.id_token(login(sqlite_site, platform), message)
    assert launch(sqlite_site, token, state).status_code == 303
    # The same POST again: its cookie was cleared; with the cookie kept, the state is spent.
    refused(launch(sqlite_site, token, state), "Open the activity in a new window")
    sqlite_site.client.cookies.set(service.state_cookie_name(state), state, path="/lti/")
    refused(launch(sqlite_site, token, state), "already used")
    # The same id_token (its nonce) with a fresh login's state.
    fresh = re.search(r"state=([^&]+)", login(sqlite_site, platform))
    assert fresh is not None
    refused(launch(sqlite_site, token, fresh.group(1)), "nonce")
    # A nonce the tool issued but already accepted once is refused by the nonce store too.
    with sqlite_site.runtime.db.write() as conn:
        [platform_id] = conn.execute(select(lti_launches.c.platform_id)).scalars().all()
        nonce = platform.last_nonce
        assert not lti_store.remember_nonce(conn, platform_id, nonce, utcnow())
    assert sessions(sqlite_site) == 1


def test_expired_token_is_refused(sqlite_site: Site, platform: Platform) -> None:
    register(sqlite_site, platform)
    now = int(time.time())
    message = platform.resource_link(sqlite_site.assessment_id)
    token, state = platform.id_token(
        login(sqlite_site, platform), message, iat=now - 900, exp=now - 600
    )
    refused(launch(sqlite_site, token, state), "expired")
    # A token issued long ago is refused whatever its exp says (the nonce store forgets).
    token, state = platform.id_token(
        login(sqlite_site, platform), message, iat=now - 3 * 86_400, exp=now + 600
    )
    refused(launch(sqlite_site, token, state), "more than a day ago")
    assert sessions(sqlite_site) == 0
    with sqlite_site.runtime.db.write() as conn:
        platform_id = conn.execute(select(lti_platforms.c.id)).scalar_one()
        lti_store.remember_nonce(conn, platform_id, "old", utcnow() - timedelta(days=3))
        lti_store.remember_nonce(conn, platform_id, "new", utcnow())
        lti_store.purge(conn, utcnow())
        assert lti_store.remember_nonce(conn, platform_id, "old", utcnow())  # forgotten
        assert not lti_store.remember_nonce(conn, platform_id, "new", utcnow())


def test_unknown_deployment_is_refused(sqlite_site: Site, platform: Platform) -> None:
    register(sqlite_site, platform)
    message = {
        **platform.resource_link(sqlite_site.assessment_id),
        LTI + "deployment_id": "deployment-9",
    }
    token, state = platform.id_token(login(sqlite_site, platform), message)
    refused(launch(sqlite_site, token, state), "deployment 'deployment-9' is not registered")
    assert sessions(sqlite_site) == 0


def test_forged_signature_is_refused(sqlite_site: Site, platform: Platform) -> None:
    register(sqlite_site, platform)
    forger = RSAKey.generate_key(2048, {"kid": str(platform.key.kid)})  # same kid, other key
    message = platform.resource_link(sqlite_site.assessment_id)
    token, state = platform.id_token(login(sqlite_site, platform), message, key=forger)
    refused(launch(sqlite_site, token, state), "signature does not verify")
    # A token changed after signing fails too.
    token, state = platform.id_token(login(sqlite_site, platform), message)
    head, body, signature = token.split(".")
    tampered = f"{head}.{body[:-4]}AAAA.{signature}"
    refused(launch(sqlite_site, tampered, state), "")
    assert sessions(sqlite_site) == 0


def test_unknown_platform_and_foreign_target_are_refused_at_login(
    sqlite_site: Site, platform: Platform
) -> None:
    target = sqlite_site.runtime.settings.base_url + "/lti/launch"
    params = platform.login_params(target)
    reply = sqlite_site.client.get("/lti/login", params=params, follow_redirects=False)
    refused(reply, "no platform with issuer")
    register(sqlite_site, platform)
    params["target_link_uri"] = "https://evil.example/launch"
    reply = sqlite_site.client.get("/lti/login", params=params, follow_redirects=False)
    refused(reply, "is not this tool")
    name = service.state_cookie_name("no-such-state")
    sqlite_site.client.cookies.set(name, "no-such-state", path="/lti/")
    refused(launch(sqlite_site, "a.b.c", "no-such-state"), "login state is unknown")


def test_a_platform_down_when_the_score_is_posted_gets_it_later(
    sqlite_site: Site, platform: Platform
) -> None:
    register(sqlite_site, platform)
    message = platform.resource_link(sqlite_site.assessment_id)
    token, state = platform.id_token(login(sqlite_site, platform), message)
    session_id = launch(sqlite_site, token, state).headers["location"].removeprefix("/s/")
    view = sqlite_site.client.get(f"/api/v1/sessions/{session_id}").json()
    answer_all(sqlite_site.client, view, correct=False)
    platform.down = True
    assert poster(sqlite_site).run_once() == 1
    with sqlite_site.runtime.db.read() as conn:
        [launched] = lti_store.launches_for_session(conn, session_id)
        state_after = lti_store.score_state(conn, launched.id)
    assert state_after["status"] == "pending" and state_after["retry_step"] == 1
    assert "503" in state_after["last_error"]
    assert state_after["next_attempt_at"] > utcnow()  # waits for the retry schedule
    assert poster(sqlite_site).run_once() == 0  # not due yet
    platform.down = False
    assert poster(sqlite_site, later=3600).run_once() == 1
    [score] = platform.scores
    assert score.body["comment"].startswith("Not passed.")
    with sqlite_site.runtime.db.read() as conn:
        done = lti_store.score_state(conn, launched.id)
    assert done["status"] == "delivered" and done["attempts"] == 2
    # The author sees each launch and where its score stands; other authors see nothing.
    platform_id = launched.platform_id
    listed = sqlite_site.client.get(
        f"/api/v1/author/lti/platforms/{platform_id}/launches", headers=sqlite_site.auth()
    )
    assert listed.status_code == 200
    [row] = listed.json()
    assert row["subject"] == "user-42" and row["score_status"] == "delivered"
    assert row["attempts"] == 2 and row["last_status"] == 200
    assert (
        sqlite_site.client.get(
            "/api/v1/author/lti/platforms/lti_nope/launches", headers=sqlite_site.auth()
        ).status_code
        == 404
    )


def test_registration_is_checked_and_owned(sqlite_site: Site, platform: Platform) -> None:
    assert (
        sqlite_site.client.post(
            "/api/v1/author/lti/platforms", json=platform.registration()
        ).status_code
        == 401
    )
    bad = {**platform.registration(), "jwks_url": "ftp://example.org/jwks"}
    reply = sqlite_site.client.post(
        "/api/v1/author/lti/platforms", json=bad, headers=sqlite_site.auth()
    )
    assert reply.status_code == 422 and "jwks_url" in reply.text
    register(sqlite_site, platform)
    twice = sqlite_site.client.post(
        "/api/v1/author/lti/platforms", json=platform.registration(), headers=sqlite_site.auth()
    )
    assert twice.status_code == 422 and "already registered" in twice.text
    listed = sqlite_site.client.get("/api/v1/author/lti/platforms", headers=sqlite_site.auth())
    assert [p["issuer"] for p in listed.json()] == [platform.issuer]
    # A link naming an assessment the platform's author does not own opens nothing.
    message = platform.resource_link("no-such-assessment")
    token, state = platform.id_token(login(sqlite_site, platform), message)
    assert launch(sqlite_site, token, state).status_code == 404


def test_login_by_post_and_a_rotated_platform_key_is_fetched_again(
    sqlite_site: Site, platform: Platform
) -> None:
    register(sqlite_site, platform)
    target = sqlite_site.runtime.settings.base_url + "/lti/launch"
    posted = sqlite_site.client.post(
        "/lti/login", data=platform.login_params(target), follow_redirects=False
    )
    assert posted.status_code == 302  # Moodle posts the login form; no CSRF token needed
    message = platform.resource_link(sqlite_site.assessment_id, link="link-a")
    token, state = platform.id_token(str(posted.headers["location"]), message)
    assert launch(sqlite_site, token, state).status_code == 303  # the JWKS is now cached
    platform.key = RSAKey.generate_key(2048, {"kid": "platform-2"})  # the platform rotates
    message = platform.resource_link(sqlite_site.assessment_id, link="link-b")
    token, state = platform.id_token(login(sqlite_site, platform), message)
    assert launch(sqlite_site, token, state).status_code == 303
    assert sessions(sqlite_site) == 2


def test_the_login_state_is_bound_to_the_browser_that_started_it(
    sqlite_site: Site, platform: Platform
) -> None:
    register(sqlite_site, platform)
    message = platform.resource_link(sqlite_site.assessment_id)
    target = sqlite_site.runtime.settings.base_url + "/lti/launch"
    started = sqlite_site.client.get(
        "/lti/login", params=platform.login_params(target), follow_redirects=False
    )
    cookie = started.headers["set-cookie"]
    token, state = platform.id_token(str(started.headers["location"]), message)
    assert cookie.startswith(f"{service.state_cookie_name(state)}={state};")
    assert "HttpOnly" in cookie and "Path=/lti/" in cookie
    assert "Secure" not in cookie  # plain http: the fallback a browser keeps
    # Another browser (a login CSRF: the attacker's state and id_token, posted by the
    # victim's browser) carries no cookie for this state: refused, and the state is kept.
    with TestClient(sqlite_site.client.app) as other:
        refused(
            other.post("/lti/launch", data={"id_token": token, "state": state}),
            "Open the activity in a new window",
        )
    # A cookie holding another state is refused too.
    name = service.state_cookie_name(state)
    sqlite_site.client.cookies.set(name, "another-state", path="/lti/")
    refused(launch(sqlite_site, token, state), "login CSRF refused")
    assert sessions(sqlite_site) == 0
    # The browser that started the login, with its cookie, launches.
    sqlite_site.client.cookies.set(name, state, path="/lti/")
    launched = launch(sqlite_site, token, state)
    assert launched.status_code == 303
    assert launched.headers["set-cookie"].startswith(f"{name}=; Path=/lti/; Max-Age=0")
    assert sessions(sqlite_site) == 1


def test_over_https_the_state_cookie_crosses_sites_in_the_platform_partition(
    sqlite_site: Site, platform: Platform
) -> None:
    register(sqlite_site, platform)
    target = sqlite_site.runtime.settings.base_url + "/lti/launch"
    started = sqlite_site.client.get(
        "https://testserver.local/lti/login",
        params=platform.login_params(target),
        follow_redirects=False,
    )
    assert started.status_code == 302, started.text
    attributes = {a.strip() for a in started.headers["set-cookie"].split(";")[1:]}
    assert {"SameSite=None", "Secure", "Partitioned", "HttpOnly"} <= attributes


def test_a_launch_with_only_the_line_items_container_gets_its_line_item_made_then_found(
    sqlite_site: Site, platform: Platform
) -> None:
    register(sqlite_site, platform)

    def take(hint: str, link: str) -> None:
        message = platform.resource_link(sqlite_site.assessment_id, link, container_only=True)
        token, state = platform.id_token(login(sqlite_site, platform, hint), message)
        session_id = launch(sqlite_site, token, state).headers["location"].removeprefix("/s/")
        view = sqlite_site.client.get(f"/api/v1/sessions/{session_id}").json()
        answer_all(sqlite_site.client, view)

    take("user-1", "link-9")
    assert poster(sqlite_site).run_once() == 1
    [item] = platform.lineitems  # created in the container for this resource link
    assert item["resourceLinkId"] == "link-9" and item["scoreMaximum"] == 1000
    assert item["label"] and item["resourceId"] == sqlite_site.assessment_id
    assert platform.lineitem_queries == ["course=7&resource_link_id=link-9"]
    [score] = platform.scores
    assert score.lineitem == "/lineitems/made-1/scores" and score.body["userId"] == "user-1"
    # A second learner on the same link: the line item is found, not made again.
    take("user-2", "link-9")
    assert poster(sqlite_site).run_once() == 1
    assert len(platform.lineitems) == 1 and len(platform.lineitem_queries) == 2
    assert [s.lineitem for s in platform.scores] == ["/lineitems/made-1/scores"] * 2
    assert platform.scores[1].body["userId"] == "user-2"
    with sqlite_site.runtime.db.read() as conn:
        stored = conn.execute(select(lti_launches.c.lineitem_url)).scalars().all()
    assert stored == [f"{platform.issuer}/lineitems/made-1"] * 2  # kept for retries


def test_a_container_the_platform_refuses_retries_later(
    sqlite_site: Site, platform: Platform
) -> None:
    register(sqlite_site, platform)
    message = platform.resource_link(sqlite_site.assessment_id, container_only=True)
    token, state = platform.id_token(login(sqlite_site, platform), message)
    session_id = launch(sqlite_site, token, state).headers["location"].removeprefix("/s/")
    view = sqlite_site.client.get(f"/api/v1/sessions/{session_id}").json()
    answer_all(sqlite_site.client, view)
    platform.down = True
    assert poster(sqlite_site).run_once() == 1
    with sqlite_site.runtime.db.read() as conn:
        [launched] = lti_store.launches_for_session(conn, session_id)
        after = lti_store.score_state(conn, launched.id)
    assert after["status"] == "pending" and "503" in after["last_error"]
    assert launched.lineitem_url is None and platform.lineitems == []
    platform.down = False
    assert poster(sqlite_site, later=3600).run_once() == 1
    assert len(platform.lineitems) == 1 and len(platform.scores) == 1


def test_a_rotated_tool_key_signs_from_then_on_and_both_keys_are_published(
    sqlite_site: Site, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    register(sqlite_site, platform)
    data_dir = sqlite_site.runtime.settings.data_dir
    [first] = sqlite_site.client.get("/lti/jwks").json()["keys"]
    # A token the platform got with the old key, then the rotation (by the command line).
    message = platform.resource_link(sqlite_site.assessment_id, container_only=True)
    token, state = platform.id_token(login(sqlite_site, platform), message)
    session_id = launch(sqlite_site, token, state).headers["location"].removeprefix("/s/")
    old_assertion = messages.client_assertion(
        key=tool_key(data_dir), platform=_platform(sqlite_site)
    )
    monkeypatch.setenv("SKILLGAUGE_DATA_DIR", data_dir)
    assert main(["lti", "rotate-key"]) == 0
    published = sqlite_site.client.get("/lti/jwks").json()["keys"]
    assert [k["kid"] for k in published][1:] == [first["kid"]]  # the new key, then the old
    new_kid = published[0]["kid"]
    assert new_kid != first["kid"] and all("d" not in k for k in published)  # public only
    platform.tool_jwks = {"keys": published}
    assert platform.check_tool_jwt(old_assertion)["iss"] == platform.client_id  # still valid
    # What the tool signs now carries the new key, and the platform accepts it.
    view = sqlite_site.client.get(f"/api/v1/sessions/{session_id}").json()
    answer_all(sqlite_site.client, view)
    assert poster(sqlite_site).run_once() == 1 and len(platform.scores) == 1
    assert platform.token_requests >= 1
    signed = messages.client_assertion(key=tool_key(data_dir), platform=_platform(sqlite_site))
    assert jws.extract_compact(signed.encode()).protected["kid"] == new_kid
    # Only the new key published: the old assertion no longer verifies ...
    platform.tool_jwks = {"keys": published[:1]}
    with pytest.raises(InvalidKeyIdError):
        platform.check_tool_jwt(old_assertion)
    # ... and a second rotation retires the first key.
    assert main(["lti", "rotate-key"]) == 0
    kids = [k["kid"] for k in sqlite_site.client.get("/lti/jwks").json()["keys"]]
    assert len(kids) == 2 and kids[1] == new_kid and first["kid"] not in kids


def _platform(site: Site) -> lti_store.Platform:
    with site.runtime.db.read() as conn:
        platform_id = conn.execute(select(lti_platforms.c.id)).scalar_one()
        found = lti_store.get_platform(conn, platform_id)
    assert found is not None
    return found
