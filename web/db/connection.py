"""Database connections: SQLite (WAL, embedded default) or PostgreSQL, one API.

Reads use :meth:`Database.read`; anything that writes uses :meth:`Database.write`, one
transaction that commits on success and rolls back on any exception.

SQLite allows one writer at a time. Left alone, concurrent writers wait in SQLite's busy
handler, which *sleeps* (1 ms, 2 ms, ... up to 100 ms) between retries, so under load a
write waits far longer than the lock is held. Writers therefore queue on an in-process
mutex and a cross-process ``flock`` on ``<database>.writelock``, which wake the next
writer the moment the lock is free; the transaction then starts with ``BEGIN IMMEDIATE``
(holding SQLite's write lock from its first statement, so it never fails half-way) and
finds the lock free. PostgreSQL needs none of this: it has row locks, and the repositories
use optimistic version checks.

On PostgreSQL every statement is a network round trip, and BEGIN and COMMIT are two more.
Work that is one statement (the answer path's session read, and its write, which is one
statement there: see :func:`web.store.sessions.record_answer`) therefore runs on an
autocommit connection (:meth:`Database.read_one`, :meth:`Database.write_one`; each storage
thread keeps one), where that statement is its own transaction. A connection is pinged
before use only when it has been idle for :data:`PING_AFTER_IDLE` seconds (a ping on every
checkout was one round trip per transaction); a connection the server dropped while in use
fails its statement, marks every older pooled connection stale (SQLAlchemy's pool
invalidation), and the answer path retries (:func:`disconnected` tells those errors apart).
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

_WRITE = "skillgauge_write"


def utcnow() -> datetime:
    """The current time, timezone-aware UTC, truncated to milliseconds."""
    now = datetime.now(UTC)
    return now.replace(microsecond=(now.microsecond // 1000) * 1000)


def as_utc(value: datetime | None) -> datetime | None:
    """Make a datetime read back from SQLite (naive) timezone-aware UTC."""
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


#: Threads that run PostgreSQL work per process (:meth:`web.runtime.Runtime.call`); the pool
#: holds as many connections, so a request never waits for a connection another thread keeps.
POSTGRES_THREADS = 16

#: Seconds a pooled PostgreSQL connection may sit idle and still be used without a ping.
PING_AFTER_IDLE = 1.0


def disconnected(error: BaseException) -> bool:
    """Whether ``error`` is a database error because the connection was lost.

    Idempotent work may then be tried again on a new connection.
    """
    return isinstance(error, exc.DBAPIError) and bool(error.connection_invalidated)


class Database:
    """An SQLAlchemy engine with the project's transaction discipline."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self.url = url
        self.dialect = parsed.get_backend_name()
        self._mutex = threading.Lock()
        self._local = threading.local()
        self._lock_path: Path | None = None
        if self.dialect == "sqlite":
            database = parsed.database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
                self._lock_path = Path(database + ".writelock")
            self.engine: Engine = create_engine(
                url,
                connect_args={"timeout": 30, "check_same_thread": False},
                pool_size=20,
                # Every transaction ends in COMMIT or ROLLBACK through Database.read/write,
                # so the pool's extra rollback on check-in is pure overhead.
                pool_reset_on_return=None,
            )
            event.listen(self.engine, "connect", _sqlite_connect)
            event.listen(self.engine, "begin", _sqlite_begin)
        else:
            # One pooled connection per storage thread (see POSTGRES_THREADS), and as many
            # again for nested uses and the delivery worker; never more than that per process.
            self.engine = create_engine(
                url,
                pool_size=POSTGRES_THREADS,
                max_overflow=POSTGRES_THREADS,
                pool_timeout=30,
            )
            event.listen(self.engine, "checkin", _postgres_checkin)
            event.listen(self.engine, "checkout", _postgres_checkout)
            self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")

    @property
    def is_sqlite(self) -> bool:
        """Whether this is the embedded SQLite database."""
        return self.dialect == "sqlite"

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection in a read transaction (consistent snapshot on both databases)."""
        with self._connection(write=False) as conn, conn.begin():
            yield conn

    @contextmanager
    def read_one(self) -> Iterator[Connection]:
        """A connection for reads that need no snapshot across statements.

        On SQLite a lone statement is atomic by itself, so no BEGIN/COMMIT is spent on it (the
        answer path's session read); anything that does start a transaction is rolled back at
        the end. On PostgreSQL the connection is in autocommit mode: each statement is its own
        transaction, with no BEGIN or COMMIT round trip.
        """
        if not self.is_sqlite:
            with self._autocommit_connection() as conn:
                yield conn
            return
        with self._connection(write=False) as conn:
            try:
                yield conn
            finally:
                if conn.in_transaction():
                    conn.rollback()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A connection in a write transaction; commits at the end, rolls back on error."""
        with self._writer_turn(), self._connection(write=True) as conn, conn.begin():
            yield conn

    @contextmanager
    def write_one(self) -> Iterator[Connection]:
        """A connection for a write that is ONE statement (atomic by itself).

        On PostgreSQL an autocommit connection: the statement commits as it completes, one
        round trip in all. On SQLite this is :meth:`write` (the writer's turn and ``BEGIN
        IMMEDIATE`` still apply). The caller must issue a single statement.
        """
        if self.is_sqlite:
            with self.write() as conn:
                yield conn
            return
        with self._autocommit_connection() as conn:
            yield conn

    @contextmanager
    def _autocommit_connection(self) -> Iterator[Connection]:
        """PostgreSQL: this thread's kept autocommit connection (a pooled one if it is busy).

        A pool checkout and check-in cost more client CPU than the statement they serve
        (about 15 % of an answer's); each storage thread therefore keeps one autocommit
        connection for :meth:`read_one` and :meth:`write_one`. Kept connections are at most
        :data:`POSTGRES_THREADS`, half the pool. One idle for :data:`PING_AFTER_IDLE` seconds
        is pinged first, and replaced if the server dropped it.
        """
        local = self._local
        if getattr(local, "autocommit_busy", False):  # a nested use
            with self._autocommit.connect() as conn:
                yield conn
            return
        kept: Connection | None = getattr(local, "autocommit", None)
        if kept is not None and (
            kept.closed
            or kept.invalidated
            or (
                time.monotonic() - local.autocommit_used >= PING_AFTER_IDLE
                and not _alive(kept.connection.driver_connection)
            )
        ):
            if not (kept.closed or kept.invalidated):
                kept.invalidate()
            kept.close()
            kept = None
        if kept is None:
            kept = self._autocommit.connect()
            local.autocommit = kept
        local.autocommit_busy = True
        try:
            yield kept
        finally:
            local.autocommit_busy = False
            local.autocommit_used = time.monotonic()

    @contextmanager
    def _connection(self, *, write: bool) -> Iterator[Connection]:
        """Yield the kept connection of this thread (or a pooled one if it is busy).

        On SQLite, checking a connection out of the pool and back in costs about as much as a short
        transaction; each thread therefore keeps one connection for reads and one for writes
        (marked for ``BEGIN IMMEDIATE`` on SQLite) and reuses them. A nested use on the same
        thread gets a pooled connection instead.
        """
        if not self.is_sqlite:
            # PostgreSQL: a pooled connection per transaction. Keeping one reader and one
            # writer per thread (as on SQLite) held two connections per storage thread and
            # ran the pool dry under load (QueuePool timeouts answered as 500s).
            with self.engine.connect() as conn:
                conn.execution_options(**{_WRITE: write})
                yield conn
            return
        slot = "writer" if write else "reader"
        kept: Connection | None = getattr(self._local, slot, None)
        if kept is not None and not (kept.closed or kept.invalidated) and not kept.in_transaction():
            yield kept
            return
        if kept is None or kept.closed or kept.invalidated:
            fresh = self.engine.connect()
            fresh.execution_options(**{_WRITE: write})
            setattr(self._local, slot, fresh)
            yield fresh
            return
        with self.engine.connect() as conn:  # the kept one is busy: a nested use
            conn.execution_options(**{_WRITE: write})
            yield conn

    @contextmanager
    def _writer_turn(self) -> Iterator[None]:
        """On SQLite, wait (without sleeping) until no other writer of any process writes."""
        if self._lock_path is None:
            yield
            return
        with self._mutex:
            fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # closing releases the flock

    def dispose(self) -> None:
        """Close this thread's kept connections and every pooled one (at shutdown)."""
        for slot in ("reader", "writer", "autocommit"):
            kept: Connection | None = getattr(self._local, slot, None)
            if kept is not None:
                kept.close()
                setattr(self._local, slot, None)
        self.engine.dispose()


def _postgres_checkin(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    record.info["idle_since"] = time.monotonic()


def _postgres_checkout(
    dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
) -> None:
    """Ping a connection that sat idle (the server may have closed it).

    A fresh or busy one is used as it is. A failed ping makes the pool connect again.
    """
    idle_since = record.info.get("idle_since")
    if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE:
        return
    if not _alive(dbapi_connection):
        raise exc.DisconnectionError("the server closed an idle connection")


def _alive(dbapi_connection: Any) -> bool:
    """Whether an idle psycopg connection still answers (one empty statement)."""
    try:
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        try:
            dbapi_connection.execute(";")
        finally:
            dbapi_connection.autocommit = autocommit
    except Exception:  # the server is gone or closed this connection
        return False
    return True


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's implicit BEGIN is off).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # Straight to the driver: going through exec_driver_sql costs a full statement execution.
    immediate = conn.get_execution_options().get(_WRITE, False)
    conn.connection.driver_connection.execute(  # type: ignore[union-attr]
        "BEGIN IMMEDIATE" if immediate else "BEGIN"
    )
