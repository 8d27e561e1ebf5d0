"""A fixed-window rate limiter kept in the database, so every web process shares it."""

from __future__ import annotations

import time

from sqlalchemy import Connection, case
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from web.db.schema import rate_limits


def hit(
    conn: Connection, key: str, window_seconds: int, now: float | None = None
) -> tuple[int, int]:
    """Count one event for ``key`` in the current window.

    Returns
    -------
    tuple
        The number of events in this window so far (this one included) and the seconds
        until the window ends.
    """
    moment = time.time() if now is None else now
    window = int(moment // window_seconds) * window_seconds
    insert = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
    upsert = insert(rate_limits).values(key=key[:200], window_start=window, count=1)
    statement = upsert.on_conflict_do_update(
        index_elements=[rate_limits.c.key],
        set_={
            "count": case((rate_limits.c.window_start == window, rate_limits.c.count + 1), else_=1),
            "window_start": window,
        },
    ).returning(rate_limits.c.count)
    count = int(conn.execute(statement).scalar_one())
    return count, int(window + window_seconds - moment) + 1
