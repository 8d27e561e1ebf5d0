"""PostgreSQL drops the service's connections (a restart, a failover, an administrator's
``pg_terminate_backend``): the answer path reconnects, and no answer is lost or stored twice."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bench.soak import drop_connections
from tests.web.conftest import Site, open_site
from tests.web.test_learner_flow import answer_for
from web.db.schema import responses


@pytest.fixture
def pg_site(postgres_url: str, tmp_path: Path) -> Iterator[Site]:
    yield from open_site(postgres_url, tmp_path)


def test_answers_go_on_after_the_database_drops_every_connection(pg_site: Site) -> None:
    site = pg_site
    view = site.client.post(f"/api/v1/assessments/{site.assessment_id}/sessions", json={}).json()
    rng = random.Random(5)
    for position in (1, 2, 3, 4):
        if position > 1:
            # Every pooled connection is now dead, though the pool does not know it yet.
            assert drop_connections(site.runtime.db.url) > 0
        item = view["item"]
        body = {
            "item_id": item["id"],
            "position": position,
            "answer": answer_for(site, view["id"], item["id"], position % 2 == 0, rng),
        }
        reply = site.client.post(f"/api/v1/sessions/{view['id']}/responses", json=body)
        assert reply.status_code == 200, reply.text
        view = reply.json()["session"]
        assert view["progress"]["answered"] == position
    with site.runtime.db.read() as conn:
        stored = conn.execute(
            select(func.count()).select_from(responses).where(responses.c.session_id == view["id"])
        ).scalar_one()
    assert stored == 4
