"""Authors define achievements (form and API, with located errors); time-limit finishes
complete sessions too; the public issuer documents are served."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from tests.credentials.helpers import ITEMS
from tests.web.conftest import Site, open_site
from web.db.connection import utcnow
from web.db.schema import learner_sessions, webhook_messages

OFF = {"SKILLGAUGE_WEBHOOK_WORKER": "off", "SKILLGAUGE_WEBHOOK_ALLOW_PRIVATE": "1"}


@pytest.fixture
def author_site(sqlite_url: str, tmp_path: Path) -> Iterator[Site]:
    yield from open_site(sqlite_url, tmp_path, **OFF)


def sign_in(site: Site) -> None:
    reply = site.client.post(
        "/author/login",
        data={"token": site.token, "_csrf_token": site.csrf()},
        follow_redirects=False,
    )
    assert reply.status_code == 303


def test_achievement_by_api_with_located_errors(author_site: Site) -> None:
    site = author_site
    url = f"/api/v1/author/assessments/{site.assessment_id}/achievement"
    current = site.client.get(url, headers=site.auth())
    assert current.json()["definition"]["name"] == "Python for Data Analysis"
    bad = {
        "name": "X",
        "description": "d",
        "criteria": "c",
        "achievement_type": "Trophy",
        "pass_rule": {"competencies": ["no-such-skill"], "min_confidence": 0.9},
    }
    refused = site.client.put(url, json=bad, headers=site.auth())
    assert refused.status_code == 422
    assert refused.json()["errors"] == [
        "achievement_type: 'Trophy' is not an Open Badges 3.0 type (or an ext: extension)",
        "pass_rule.competencies[0]: the bank has no competency 'no-such-skill'",
    ]
    good = {
        **bad,
        "achievement_type": "Certification",
        "pass_rule": {"competencies": ["numpy-stats"]},
    }
    saved = site.client.put(url, json=good, headers=site.auth())
    assert saved.status_code == 200, saved.text
    achievement = site.client.get(saved.json()["url"].replace("http://127.0.0.1:8000", ""))
    assert achievement.json()["achievementType"] == "Certification"
    assert achievement.json()["type"] == ["Achievement"]
    other = site.client.put(url.replace(site.assessment_id, "nope"), json=good, headers=site.auth())
    assert other.status_code == 404


def test_achievement_form(author_site: Site) -> None:
    site = author_site
    sign_in(site)
    page = site.client.get(f"/author/assessments/{site.assessment_id}/credential")
    assert page.status_code == 200 and "Pass rule" in page.text
    form = {
        "_csrf_token": site.csrf(),
        "name": "Pandas wrangler",
        "description": "Wrangles data.",
        "criteria": "Pass pandas.",
        "achievement_type": "Badge",
        "valid_days": "365",
        "min_confidence": "90",
        "competency": "pandas-wrangling",
        "alignments": (
            "Data wrangling | https://example.org/fw/wrangling | Example FW | pandas-wrangling"
        ),
    }
    saved = site.client.post(
        f"/author/assessments/{site.assessment_id}/credential", data=form, follow_redirects=False
    )
    assert saved.status_code == 303, saved.text
    spec = site.client.get(
        f"/api/v1/author/assessments/{site.assessment_id}/achievement", headers=site.auth()
    ).json()["definition"]
    assert spec["pass_rule"] == {"competencies": ["pandas-wrangling"], "min_confidence": 0.9}
    assert spec["alignments"][0]["competency"] == "pandas-wrangling"
    broken = site.client.post(
        f"/author/assessments/{site.assessment_id}/credential",
        data={**form, "alignments": "only a name"},
    )
    assert broken.status_code == 422 and "alignments line 1" in broken.text


def test_time_limit_finish_completes_the_session(author_site: Site) -> None:
    site = author_site
    site.client.post(
        "/api/v1/author/webhooks",
        json={"url": "http://127.0.0.1:9/x", "event_types": ["assessment.completed"]},
        headers=site.auth(),
    )
    view = site.client.post(
        f"/api/v1/assessments/{site.assessment_id}/sessions", json={"email": "t@example.org"}
    ).json()
    item = ITEMS[view["item"]["id"]]
    assert item.id
    with site.runtime.db.write() as conn:
        conn.execute(
            update(learner_sessions)
            .where(learner_sessions.c.id == view["id"])
            .values(deadline=utcnow() - timedelta(seconds=1))
        )
    finished = site.client.get(f"/api/v1/sessions/{view['id']}").json()
    assert finished["status"] == "finished"
    with site.runtime.db.read() as conn:
        payloads = conn.execute(select(webhook_messages.c.payload)).scalars().all()
    assert len(payloads) == 1 and '"stop_reason":"the time limit was reached"' in payloads[0]


def test_issuer_profile_and_keys_are_published(author_site: Site) -> None:
    site = author_site
    profile = site.client.get("/issuer").json()
    assert profile["type"] == ["Profile"] and profile["id"] == "http://127.0.0.1:8000/issuer"
    method = profile["verificationMethod"][0]
    assert method["type"] == "Multikey" and method["publicKeyMultibase"].startswith("z6Mk")
    key = site.client.get(method["id"].replace("http://127.0.0.1:8000", "")).json()
    assert key["controller"] == profile["id"]
    jwks = site.client.get("/issuer/keys").json()["keys"]
    assert {k["alg"] for k in jwks} == {"EdDSA", "ES256"}
    assert all("d" not in k for k in jwks)  # public parts only
    assert site.client.get("/issuer/keys/unknown").status_code == 404
