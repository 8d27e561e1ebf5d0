"""Two organisations on one service: the demo organisation ``demo`` (A), with a member of
every role and one of each kind of object, and another organisation (B) with its owner."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.credentials.helpers import take
from tests.web.conftest import (  # the database fixtures, for tests on both databases
    Site,
    database_url,
    open_site,
    postgres_template,
    postgres_url,
)
from web.authoring import create_author
from web.db.schema import webhook_messages
from web.pseudonyms import person_id
from web.store.orgs import ROLES

__all__ = ["LMS_PLATFORM", "database_url", "postgres_template", "postgres_url"]

#: An LMS platform registration (org A registers it; the walk registers it again).
LMS_PLATFORM = {
    "name": "Walk LMS",
    "issuer": "https://lms.walk.example",
    "client_id": "walk-client",
    "deployment_ids": ["1"],
    "auth_url": "https://lms.walk.example/auth",
    "token_url": "https://lms.walk.example/token",
    "jwks_url": "https://lms.walk.example/jwks",
}


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    """The app with the demo organisation, on SQLite and on PostgreSQL."""
    yield from open_site(database_url, tmp_path)


@dataclass
class TwoOrgs:
    """The site, org A's objects by path parameter name, and tokens by who holds them."""

    site: Site
    ids: dict[str, str]
    tokens: dict[str, str] = field(default_factory=dict)

    def bearer(self, who: str) -> dict[str, str]:
        """The Authorization header of ``who`` (``other`` or a role of org A)."""
        return {"Authorization": f"Bearer {self.tokens[who]}"}


@pytest.fixture
def two_orgs(tmp_path: Path) -> Iterator[TwoOrgs]:
    for site in open_site(f"sqlite:///{tmp_path / 'skillgauge.db'}", tmp_path):
        rt = site.runtime
        hook = site.client.post(
            "/api/v1/author/webhooks",
            json={"url": "https://receiver.example/hook", "event_types": ["credential.issued"]},
            headers=site.auth(),
        )
        assert hook.status_code == 201, hook.text
        endpoint = hook.json()["endpoint"]["id"]
        platform = site.client.post(
            "/api/v1/author/lti/platforms", json=LMS_PLATFORM, headers=site.auth()
        )
        assert platform.status_code == 201, platform.text
        view = take(site.client, site.assessment_id)
        assert view["status"] == "finished" and view["credential_url"], view
        with rt.db.read() as conn:
            message = conn.execute(
                select(webhook_messages.c.id).where(webhook_messages.c.endpoint_id == endpoint)
            ).scalar_one()
            record = rt.assessment(conn, site.assessment_id)
        ids = {
            "assessment_id": site.assessment_id,
            "digest": record.bank_hash,
            "credential_id": view["credential_url"].rsplit("/", 1)[1],
            "endpoint_id": endpoint,
            "message_id": message,
            "person": person_id(rt.settings.secret_key, view["id"]),
            "platform_id": platform.json()["id"],
        }
        orgs = TwoOrgs(site=site, ids=ids)
        _, orgs.tokens["other"] = create_author(rt, "owner@other.example")
        for role in ROLES:
            _, orgs.tokens[role] = create_author(rt, f"{role}@demo.example", org="demo", role=role)
        spare, _ = create_author(rt, "spare@demo.example", org="demo", role="viewer")
        third, _ = create_author(rt, "owner@third.example")
        shared = site.client.post(
            "/api/v1/author/shares",
            json={"bank_hash": record.bank_hash, "organisation": third.org_slug},
            headers=site.auth(),
        )
        assert shared.status_code == 201, shared.text
        ids["membership_id"] = str(spare.membership_id)
        ids["share_id"] = str(shared.json()["id"])
        ids["third_org"] = third.org_slug
        yield orgs
