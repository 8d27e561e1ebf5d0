"""What a web process derives from the database and keeps: caches, never state.

Bank versions and assessments are immutable once stored, so a process may keep their decoded
and compiled forms. Everything that changes (sessions, responses) is read from the database
on every request, so any process can serve any request.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec
from anyio import CapacityLimiter, to_thread
from sqlalchemy import Connection

from engine.policy import Policy
from engine.policy_forecast import PolicyForecast, forecast
from engine.pool import ItemPool, compile_pool
from engine.session import Session
from item_banks.formats.media import IMAGE, player
from item_banks.model import Bank, Item, Misconception
from web.db.connection import POSTGRES_THREADS, Database
from web.errors import NotFoundError
from web.settings import Settings
from web.store.assessments import AssessmentRecord, get_assessment
from web.store.banks import load_bank

T = TypeVar("T")


@dataclass(frozen=True)
class CompiledBank:
    """A bank version decoded and compiled once per process."""

    hash: str
    bank: Bank
    pool: ItemPool
    items: dict[str, Item]
    competency_names: dict[str, str]
    misconceptions: dict[str, Misconception] = field(default_factory=dict)


@dataclass
class Runtime:
    """Settings, the database and the per-process caches."""

    settings: Settings
    db: Database
    _banks: dict[str, CompiledBank] = field(default_factory=dict)
    _assessments: dict[str, AssessmentRecord] = field(default_factory=dict)
    _forecasts: dict[tuple[str, bytes], PolicyForecast] = field(default_factory=dict)
    _local: threading.local = field(default_factory=threading.local)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _limiter: CapacityLimiter | None = None
    clock: Callable[[], float] = time.time
    """Wall-clock seconds for rate-limit windows (tests substitute a fixed clock)."""
    # Per-process services created on first use (the credential issuer, the webhook worker).
    services: dict[str, Any] = field(default_factory=dict)

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        """Run blocking storage work from an async handler.

        SQLite is in-process and its statements take microseconds, so the work runs right on
        the event loop: handing it to a thread costs more than it saves, and dozens of
        threads contending for the GIL stretch every write transaction (and so SQLite's
        single write lock) from a fraction of a millisecond to several. PostgreSQL work,
        which waits on the network, runs in a small thread pool.
        """
        if self.db.is_sqlite:
            return function(*args)
        if self._limiter is None:
            self._limiter = CapacityLimiter(POSTGRES_THREADS)
        return await to_thread.run_sync(function, *args, limiter=self._limiter)

    def compiled(self, conn: Connection, digest: str) -> CompiledBank:
        """The compiled bank version ``digest`` (decoded from the database once)."""
        cached = self._banks.get(digest)
        if cached is not None:
            return cached
        bank = load_bank(conn, digest)
        if bank is None:
            raise NotFoundError(f"no bank version {digest[:12]}")
        compiled = CompiledBank(
            hash=digest,
            bank=bank,
            pool=compile_pool(bank, bank_hash=digest),
            items={item.id: item for item in with_media_urls(bank)},
            competency_names={c.id: c.name for c in bank.competencies},
            misconceptions={m.id: m for m in bank.misconceptions},
        )
        with self._lock:
            self._banks.setdefault(digest, compiled)
        return self._banks[digest]

    def assessment(
        self, conn: Connection, assessment_id: str, *, fresh: bool = False
    ) -> AssessmentRecord:
        """The assessment ``assessment_id``; ``fresh`` re-reads it (its status can change)."""
        cached = None if fresh else self._assessments.get(assessment_id)
        if cached is not None:
            return cached
        record = get_assessment(conn, assessment_id)
        if record is None:
            raise NotFoundError("no such assessment")
        self._assessments[assessment_id] = record
        return record

    def engine_session(self, compiled: CompiledBank, policy: Policy) -> Session:
        """The engine :class:`Session` for a bank and policy, one per thread.

        A Session reuses scratch buffers, so threads must not share one.
        """
        key = (compiled.hash, msgspec.json.encode(policy))
        sessions: dict[tuple[str, bytes], Session] | None = getattr(self._local, "sessions", None)
        if sessions is None:
            sessions = {}
            self._local.sessions = sessions
        session = sessions.get(key)
        if session is None:
            session = Session(compiled.pool, policy)
            sessions[key] = session
        return session

    def forecast(self, compiled: CompiledBank, policy: Policy) -> PolicyForecast:
        """What ``policy`` will do on the bank (simulated once per process and kept).

        See :func:`engine.policy_forecast.forecast`; both are immutable, so is the result.
        """
        key = (compiled.hash, msgspec.json.encode(policy))
        cached = self._forecasts.get(key)
        if cached is None:
            cached = forecast(compiled.pool, policy)
            with self._lock:
                self._forecasts.setdefault(key, cached)
        return cached


def with_media_urls(bank: Bank) -> tuple[Item, ...]:
    """The bank's items with their images pointing at ``/media/<sha256>`` (learner pages).

    Texts name a media file by its bank path (``![alt](media/....png)``); the web service
    serves it by content, so each such reference is rewritten once, when the bank version is
    compiled. An image the bank does not hold (a file a package lacked, an SVG, an outside
    address the page's CSP would block) is shown as its alt text, ``[image: alt]``, never
    as a broken request; ``data:`` images stay. Audio and video files get their content type
    as the image's title, which :mod:`web.markdown` draws as a native player.
    """
    urls = {f.path: f"/media/{f.sha256}" for f in bank.media}
    types = {f.path: f.content_type for f in bank.media}

    def image(match: re.Match[str]) -> str:
        alt, src = match.group(1), match.group(2)
        kind = player(src) or "image"
        if src in urls:
            if kind != "image":  # the title tells web.markdown to draw a player
                return f'![{alt}]({urls[src]} \\"{types[src]}\\")'
            return f"![{alt}]({urls[src]})"
        if src.startswith("data:image/"):
            return match.group(0)
        return f"[{kind}: {alt}]" if alt else f"[{kind}]"

    items = []
    for item in bank.items:
        encoded = msgspec.json.encode(item).decode()
        if "![" in encoded:
            items.append(msgspec.json.decode(IMAGE.sub(image, encoded), type=Item))
        else:
            items.append(item)
    return tuple(items)
