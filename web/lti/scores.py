"""Assignment and Grade Services 2.0: the score of a finished LTI session goes back to the LMS.

Each LTI launch row is the outbox of its score (:mod:`web.store.lti`). The delivery worker
that sends webhooks also runs :class:`ScorePoster` each round:

1. **stage**: launches whose session has finished get their score written (``pending``);
2. **claim** due scores (a lease, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL);
3. **post**: when the launch offered only the line items container (``lineitems``, no
   ``lineitem``), the resource link's line item is found there (``GET ?resource_link_id=``)
   or created (``POST`` with ``resourceLinkId``, ``scoreMaximum``, ``label``) and kept for
   the retries; then an access token from the platform's token endpoint (client credentials with a
   ``private_key_jwt`` assertion signed by the tool key, scope ``.../scope/score``, cached
   until it expires), then ``POST {lineitem}/scores`` with an
   ``application/vnd.ims.lis.v1.score+json`` body;
4. **record**: 2xx delivers; anything else (the platform down, a refused token, 5xx)
   retries on the webhook retry schedule (``SKILLGAUGE_WEBHOOK_RETRY_SCHEDULE``) with
   jitter, then ``failed``.

The score: ``scoreGiven`` is the mean reported score of the session's competencies
(``500 + 100 theta``, 500 typical) out of ``scoreMaximum`` 1000; the comment says passed
or not passed (every competency with a pass mark classified as passed) and the scores.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import urlencode, urlsplit, urlunsplit

import msgspec

from engine.session import SessionResult
from engine.standing import score_text
from web.credentials.data_integrity import xsd_datetime
from web.db.connection import Database, utcnow
from web.lti import messages
from web.lti.errors import PlatformUnreachableError
from web.lti.http import request
from web.lti.service import SCORE_MAXIMUM
from web.lti.tool_key import tool_key
from web.settings import Settings
from web.store import assessments as assessment_store
from web.store import lti as store
from web.webhooks.retry import retry_delay

log = logging.getLogger("skillgauge.lti")
SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
CONTAINER_TYPE = "application/vnd.ims.lis.v2.lineitemcontainer+json"


def scaled(theta: float) -> float:
    """A competency's reported score, clipped to the line item's range."""
    return min(float(SCORE_MAXIMUM), max(0.0, 500.0 + 100.0 * theta))


def score_body(subject: str, result: SessionResult, now: datetime) -> bytes:
    """The AGS ``Score`` of a finished session for LMS user ``subject``."""
    values = [scaled(c.theta) for c in result.competencies]
    given = round(sum(values) / len(values), 1) if values else 0.0
    classified = [c for c in result.competencies if c.classification is not None]
    if not classified:
        verdict = "Completed (this assessment has no pass mark)"
    elif all(c.classification == "pass" for c in classified):
        verdict = "Passed"
    else:
        verdict = "Not passed"
    detail = ", ".join(f"{c.competency} {score_text(c.theta)}" for c in result.competencies)
    comment = f"{verdict}. Scores (500 is typical): {detail}."
    return msgspec.json.encode(
        {
            "userId": subject,
            "scoreGiven": given,
            "scoreMaximum": SCORE_MAXIMUM,
            "comment": comment[:1000],
            "timestamp": xsd_datetime(now),
            "activityProgress": "Completed",
            "gradingProgress": "FullyGraded",
        }
    )


def with_query(url: str, name: str, value: str) -> str:
    """``url`` with one more query parameter (its own query kept)."""
    parts = urlsplit(url)
    extra = urlencode({name: value})
    return urlunsplit(parts._replace(query=f"{parts.query}&{extra}" if parts.query else extra))


def scores_url(lineitem: str) -> str:
    """The line item's scores endpoint: its path plus ``/scores`` (query kept)."""
    parts = urlsplit(lineitem)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/scores"))


class ScorePoster:
    """Stages, claims and posts AGS scores; one round per :meth:`run_once`."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.rng = rng or random.Random()
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def stage(self) -> int:
        """Write the scores of launches whose session finished; return how many."""
        with self.db.read() as conn:
            waiting = store.finished_waiting(conn)
        now = self.clock()
        for launch_id, subject, result in waiting:
            if result is None:
                continue
            body = score_body(subject, msgspec.json.decode(result, type=SessionResult), now)
            with self.db.write() as conn:
                store.stage_score(conn, launch_id, body, now)
        return len(waiting)

    def run_once(self) -> int:
        """Stage, claim and post due scores; return how many were attempted."""
        self.stage()
        due = self.next_due()
        if due is None or due > self.clock():
            return 0
        lease = timedelta(seconds=self.settings.webhook_lease_seconds)
        with self.db.write() as conn:
            claimed = store.claim_due(conn, now=self.clock(), limit=8, lease=lease)
        for score in claimed:
            try:
                status = self._post(score)
                error = None if 200 <= status < 300 else f"HTTP {status}"
            except PlatformUnreachableError as exc:
                status, error = 0, exc.detail
            self._record(score, status or None, error)
        return len(claimed)

    def next_due(self) -> datetime | None:
        """When the next pending score falls due."""
        with self.db.read() as conn:
            return store.next_due(conn)

    def _token(self, platform: store.Platform, scope: str = messages.SCORE_SCOPE) -> str:
        key = f"{platform.id} {scope}"
        with self._lock:
            cached = self._tokens.get(key)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        assertion = messages.client_assertion(
            key=tool_key(self.settings.data_dir), platform=platform
        )
        answer = request(
            "POST",
            platform.token_url,
            allow_private=self.settings.webhook_allow_private,
            timeout=self.settings.webhook_timeout_seconds,
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": assertion,
                "scope": scope,
            },
        )
        if answer.status_code != 200:
            raise PlatformUnreachableError(
                f"the platform's token endpoint answered HTTP {answer.status_code}"
            )
        body = answer.json()
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise PlatformUnreachableError("the platform's token endpoint gave no access_token")
        lifetime = float(body.get("expires_in", 3600) or 3600)
        with self._lock:
            self._tokens[key] = (token, time.monotonic() + max(0.0, lifetime - 60))
        return token

    def _post(self, score: store.ClaimedScore) -> int:
        with self.db.read() as conn:
            platform = store.get_platform(conn, score.platform_id)
        if platform is None:
            raise PlatformUnreachableError("the platform is no longer registered")
        lineitem = score.lineitem_url or self._lineitem(platform, score)
        token = self._token(platform)
        answer = request(
            "POST",
            scores_url(lineitem),
            allow_private=self.settings.webhook_allow_private,
            timeout=self.settings.webhook_timeout_seconds,
            headers={"authorization": f"Bearer {token}", "content-type": SCORE_TYPE},
            content=score.payload,
        )
        if answer.status_code == 401:  # the token may have been revoked: ask anew next time
            self._forget(platform)
        return answer.status_code

    def _forget(self, platform: store.Platform) -> None:
        with self._lock:
            for key in [k for k in self._tokens if k.split(" ")[0] == platform.id]:
                del self._tokens[key]

    def _lineitem(self, platform: store.Platform, score: store.ClaimedScore) -> str:
        """Find the resource link's line item in the container, or create it; keep it."""
        if not score.lineitems_url:
            raise PlatformUnreachableError("the launch named no line item")
        token = self._token(platform, f"{messages.LINEITEM_SCOPE} {messages.SCORE_SCOPE}")
        allow, timeout = self.settings.webhook_allow_private, self.settings.webhook_timeout_seconds
        found = request(
            "GET",
            with_query(score.lineitems_url, "resource_link_id", score.resource_link_id),
            headers={"authorization": f"Bearer {token}", "accept": CONTAINER_TYPE},
            allow_private=allow,
            timeout=timeout,
        )
        if found.status_code == 401:
            self._forget(platform)
        if found.status_code != 200:
            raise PlatformUnreachableError(
                f"the platform's line items answered HTTP {found.status_code}"
            )
        items = found.json()
        mine = [
            i
            for i in (items if isinstance(items, list) else [])
            if isinstance(i, dict)
            and i.get("resourceLinkId") == score.resource_link_id
            and isinstance(i.get("id"), str)
        ]
        if mine:
            url = str(mine[0]["id"])
        else:
            with self.db.read() as conn:
                assessment = assessment_store.get_assessment(conn, score.assessment_id)
            label = assessment.title if assessment is not None else score.assessment_id
            made = request(
                "POST",
                score.lineitems_url,
                headers={"authorization": f"Bearer {token}", "content-type": LINEITEM_TYPE},
                content=msgspec.json.encode(
                    {
                        "scoreMaximum": SCORE_MAXIMUM,
                        "label": label[:200],
                        "resourceLinkId": score.resource_link_id,
                        "resourceId": score.assessment_id,
                    }
                ),
                allow_private=allow,
                timeout=timeout,
            )
            body = made.json() if made.status_code in (200, 201) else None
            if not isinstance(body, dict) or not isinstance(body.get("id"), str):
                raise PlatformUnreachableError(
                    f"the platform did not create the line item (HTTP {made.status_code})"
                )
            url = str(body["id"])
        with self.db.write() as conn:
            store.set_lineitem(conn, score.launch_id, url)
        return url

    def _record(self, score: store.ClaimedScore, status: int | None, error: str | None) -> None:
        now = self.clock()
        schedule = self.settings.webhook_retry_schedule
        with self.db.write() as conn:
            if error is None:
                store.finish_claim(
                    conn,
                    score,
                    status="delivered",
                    next_attempt_at=now,
                    retry_step=score.retry_step,
                    last_status=status,
                    last_error=None,
                    delivered_at=now,
                )
                return
            log.warning("LTI score for launch %s not posted: %s", score.launch_id, error)
            delay = retry_delay(schedule, score.retry_step, self.rng)
            if delay is None:
                store.finish_claim(
                    conn,
                    score,
                    status="failed",
                    next_attempt_at=now,
                    retry_step=score.retry_step,
                    last_status=status,
                    last_error=f"gave up after {score.retry_step + 1} attempts: {error}",
                    delivered_at=None,
                )
                return
            store.finish_claim(
                conn,
                score,
                status="pending",
                next_attempt_at=now + timedelta(seconds=delay),
                retry_step=score.retry_step + 1,
                last_status=status,
                last_error=error,
                delivered_at=None,
            )
