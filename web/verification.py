"""Verified learners: email links that prove control of an address, and bring learners back.

- When a learner gives an email address to an assessment that awards a credential, a
  ``verify`` link is mailed (:func:`send_verification`). Using it marks the session's email
  verified and issues a credential that waited for it (``award_status = "awaiting_email"``).
- "Send me a link to my results" (:func:`send_results_link`) mails a ``results`` link to an
  address that has sessions; using it verifies the address for all of them and lists them
  with their results and credentials. The answer is the same whether or not the address has
  sessions, so the form does not tell who took an assessment.

Links are single-use and expire (``SKILLGAUGE_LINK_MINUTES``, 30 by default); the database
keeps only a keyed hash of each (:mod:`web.store.links`). A link is shown on a page with a
button first, and used only by that POST: mail scanners that fetch links do not use them up.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime

import msgspec
from sqlalchemy import select, update

from web.credentials import awards
from web.db.connection import as_utc, utcnow
from web.db.schema import assessments, learner_sessions
from web.errors import ConflictError, RateLimitedError
from web.mail import Mail, sender_for
from web.reviews import issue_pending
from web.runtime import Runtime
from web.store import credentials as credential_store
from web.store import links, ratelimit
from web.store import sessions as session_store

log = logging.getLogger("skillgauge.mail")


class LearnerSession(msgspec.Struct, frozen=True, kw_only=True):
    """One of a learner's sessions, as the results page lists it."""

    id: str
    title: str
    started: datetime
    finished: datetime | None
    award_status: str | None
    credential_url: str | None


class UsedLink(msgspec.Struct, frozen=True, kw_only=True):
    """What using a link did."""

    purpose: links.Purpose
    email: str
    session_id: str | None
    sessions: list[LearnerSession]


def _deliver(rt: Runtime, mail: Mail) -> bool:
    sender = rt.services.get("mail") or sender_for(rt.settings)
    try:
        sender.send(mail)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("mail to a learner was not sent: %s", exc)
        return False
    return True


def send_verification(rt: Runtime, session_id: str, email: str, title: str) -> bool:
    """Mail a ``verify`` link for the session; False if the mail could not be sent."""
    now = utcnow()
    with rt.db.write() as conn:
        token = links.create(
            conn,
            rt.settings.secret_key,
            purpose="verify",
            email=email,
            session_id=session_id,
            now=now,
            minutes=rt.settings.link_minutes,
        )
    url = f"{rt.settings.base_url}/email/{token}"
    return _deliver(
        rt,
        Mail(
            to=email,
            subject=f"Confirm your email for {title}",
            body=(
                f'You started the assessment "{title}" and gave this email address.\n\n'
                f"Confirm it to receive your credential under your name:\n\n{url}\n\n"
                f"The link works once, within {rt.settings.link_minutes} minutes. If you did "
                "not start this assessment, ignore this message.\n"
            ),
        ),
    )


def send_results_link(rt: Runtime, email: str, client: str) -> None:
    """Mail a ``results`` link to ``email`` if it has sessions (silently nothing otherwise)."""
    email = email.strip().lower()
    with rt.db.write() as conn:
        count, retry_after = ratelimit.hit(conn, f"results-link:{client}", 60, now=rt.clock())
        if count > 5:
            raise RateLimitedError("too many links asked for; try again in a minute", retry_after)
        known = conn.execute(
            select(learner_sessions.c.id).where(learner_sessions.c.learner_email == email).limit(1)
        ).first()
        if known is None:
            return
        token = links.create(
            conn,
            rt.settings.secret_key,
            purpose="results",
            email=email,
            session_id=None,
            now=utcnow(),
            minutes=rt.settings.link_minutes,
        )
    url = f"{rt.settings.base_url}/me/{token}"
    _deliver(
        rt,
        Mail(
            to=email,
            subject="Your Skillgauge results",
            body=(
                "Someone (we hope you) asked for a link to the assessments taken with this "
                f"email address:\n\n{url}\n\nThe link works once, within "
                f"{rt.settings.link_minutes} minutes. If you did not ask, ignore this message.\n"
            ),
        ),
    )


def check(rt: Runtime, token: str) -> links.Link:
    """The link, if it can be used (:class:`~web.store.links.LinkError` otherwise)."""
    with rt.db.read() as conn:
        return links.peek(conn, rt.settings.secret_key, token, utcnow())


def use(rt: Runtime, token: str) -> UsedLink:
    """Use a link once: verify the email, issue credentials waiting for it, list sessions."""
    now = utcnow()
    c = learner_sessions.c
    with rt.db.write() as conn:
        link = links.consume(conn, rt.settings.secret_key, token, now)
        scope = (
            c.id == link.session_id if link.purpose == "verify" else c.learner_email == link.email
        )
        conn.execute(
            update(learner_sessions)
            .where(scope)
            .where(c.learner_email == link.email)
            .where(c.email_verified_at.is_(None))
            .values(email_verified_at=now)
        )
        waiting = list(
            conn.execute(select(c.id).where(scope).where(c.award_status == "awaiting_email"))
            .scalars()
            .all()
        )
    for session_id in waiting:
        issue_pending(
            rt,
            session_id,
            expected="awaiting_email",
            status="issued",
            author_id=None,
            review=None,
        )
    return UsedLink(
        purpose=link.purpose,
        email=link.email,
        session_id=link.session_id,
        sessions=sessions_of(rt, link.email) if link.purpose == "results" else [],
    )


def settle_awaiting(rt: Runtime, session_id: str) -> None:
    """Issue an award that started waiting for an email (or a DID) confirmed meanwhile.

    Called after a finishing session committed ``awaiting_email``: the learner may have
    used their link between the finishing read and that commit, and nobody else would look
    again. A no-op when the email is not verified or the award moved on.
    """
    with rt.db.read() as conn:
        record = session_store.load_session(conn, session_id)
    if (
        record is None
        or record.award_status != "awaiting_email"
        or not awards.identity_verified(record)
    ):
        return
    try:
        issue_pending(
            rt, session_id, expected="awaiting_email", status="issued", author_id=None, review=None
        )
    except ConflictError:  # the link's own request issued it first
        return


def sessions_of(rt: Runtime, email: str) -> list[LearnerSession]:
    """The sessions taken with ``email``, newest first, with their credentials."""
    c = learner_sessions.c
    issuer = awards.issuer_of(rt)
    with rt.db.read() as conn:
        rows = conn.execute(
            select(c.id, c.created_at, c.finished_at, c.award_status, assessments.c.title)
            .join(assessments, assessments.c.id == c.assessment_id)
            .where(c.learner_email == email)
            .order_by(c.created_at.desc())
            .limit(200)
        ).all()
        out = []
        for row in rows:
            credential = credential_store.for_session(conn, row.id)
            out.append(
                LearnerSession(
                    id=row.id,
                    title=row.title,
                    started=as_utc(row.created_at) or utcnow(),
                    finished=as_utc(row.finished_at),
                    award_status=row.award_status,
                    credential_url=(
                        None if credential is None else issuer.credential_url(credential.id)
                    ),
                )
            )
    return out
