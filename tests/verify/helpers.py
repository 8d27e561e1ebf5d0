"""An assessment like the demo whose policy acts on an integrity check, and its author."""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import select

from engine.integrity_policy import Action, IntegrityConfig, ReadingCheck
from tests.web.conftest import Site
from web import authoring
from web.credentials import service
from web.db.schema import learner_sessions, webhook_messages
from web.demo import DEMO_ACHIEVEMENT
from web.store.authors import Member

OFF = {"SKILLGAUGE_WEBHOOK_WORKER": "off", "SKILLGAUGE_WEBHOOK_ALLOW_PRIVATE": "1"}


def author_of(site: Site) -> Member:
    return authoring.authenticate(site.runtime, site.token)


def integrity_assessment(site: Site, action: Action, **achievement: Any) -> str:
    """A copy of the demo assessment whose "too fast to read" check has ``action``.

    A test client answers in milliseconds, far faster than reading, so every session of
    it raises that check.
    """
    rt = site.runtime
    with rt.db.read() as conn:
        demo = rt.assessment(conn, site.assessment_id)
    policy = msgspec.structs.replace(
        demo.policy, integrity=IntegrityConfig(too_fast_to_read=ReadingCheck(action=action))
    )
    author = author_of(site)
    created = authoring.create_assessment(
        rt,
        author,
        authoring.AssessmentCreate(
            title=f"Integrity {action}", bank_hash=demo.bank_hash, policy=policy
        ),
    )
    spec = msgspec.structs.replace(DEMO_ACHIEVEMENT, **achievement)
    service.save_achievement(rt, author, created.id, spec)
    return created.id


def add_endpoint(site: Site) -> str:
    reply = site.client.post(
        "/api/v1/author/webhooks",
        json={"url": "http://127.0.0.1:9/hook"},
        headers=site.auth(),
    )
    assert reply.status_code == 201, reply.text
    return str(reply.json()["endpoint"]["id"])


def events(site: Site) -> list[str]:
    """Event types in the outbox, oldest first."""
    with site.runtime.db.read() as conn:
        rows = conn.execute(
            select(webhook_messages.c.event_type).order_by(webhook_messages.c.created_at)
        ).scalars()
        return list(rows)


def payloads(site: Site, event_type: str) -> list[dict[str, Any]]:
    with site.runtime.db.read() as conn:
        rows = conn.execute(
            select(webhook_messages.c.payload).where(webhook_messages.c.event_type == event_type)
        ).scalars()
        return [msgspec.json.decode(r) for r in rows]


def session_row(site: Site, session_id: str) -> Any:
    with site.runtime.db.read() as conn:
        return conn.execute(
            select(learner_sessions).where(learner_sessions.c.id == session_id)
        ).one()
