"""The learner side of the isolation walk, from the route table: every session route opens
only with that session's own key. Another learner's guess, an author token of the session's
organisation or of another, gets 404 and nothing of the session."""

from __future__ import annotations

import re
import secrets
from functools import partial

from litestar.routes import HTTPRoute

from tests.credentials.helpers import take
from tests.orgs.conftest import TwoOrgs

PARAM = re.compile(r"\{(\w+):(\w+)\}")


def _fill(session_id: str, match: re.Match[str]) -> str:
    return session_id if match.group(1) == "session_id" else "1"


def test_every_session_route_opens_only_with_its_own_key(two_orgs: TwoOrgs) -> None:
    site = two_orgs.site
    mine = take(site.client, site.assessment_id, name="Grace Hopper", email="grace@example.org")
    routes = [
        (method, route.path)
        for route in site.client.app.routes
        if isinstance(route, HTTPRoute) and "{session_id:" in route.path
        for method in route.route_handler_map
        if method not in ("HEAD", "OPTIONS")
    ]
    assert len(routes) >= 10
    guesses = [secrets.token_urlsafe(24), mine["id"][:-1] + ("A" if mine["id"][-1] != "A" else "B")]
    for method, path in routes:
        for guess in guesses:
            for who in (None, "owner", "other"):
                url = PARAM.sub(partial(_fill, guess), path)
                headers = two_orgs.bearer(who) if who else {}
                data = {"_csrf_token": site.csrf()} if not path.startswith("/api/") else None
                reply = site.client.request(
                    method,
                    url,
                    headers=headers,
                    data=data if method == "POST" else None,
                    json={} if method == "POST" and path.startswith("/api/") else None,
                    follow_redirects=False,
                )
                where = f"{who or 'anonymous'}: {method} {path}"
                # 404, or the body's own refusal (the same for any id): never the session
                assert reply.status_code in (400, 404, 422), (
                    f"{where}: {reply.status_code} {reply.text[:200]}"
                )
                assert "Grace" not in reply.text and mine["id"] not in reply.text, where
    own = site.client.get(f"/api/v1/sessions/{mine['id']}")
    assert own.status_code == 200 and own.json()["id"] == mine["id"]
