"""SIGKILL during the first start's migration and during a bank upload: the database then
starts cleanly with nothing half-written.

A process doing the work is killed after its K-th SQL statement, for K spread over every
statement the work runs (the first, the last before COMMIT, and points between), on SQLite
and on PostgreSQL. After each kill the next start must migrate cleanly to a schema equal to
the declared one, and the bank must be stored whole or not at all.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import make_url

from item_banks.native import read_bank
from item_banks.sample import sample_bank_path
from web.db.connection import Database
from web.db.migrate import migrate
from web.db.schema import metadata
from web.store import banks

ROOT = Path(__file__).resolve().parents[2]
KILL_POINTS = 12


def _run(mode: str, url: str, limit: int) -> int | None:
    """Run the work, killed after ``limit`` statements; the statement count if it completed."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.web.die_mid_transaction", mode, url, str(limit)],
        cwd=ROOT,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode == 0:
        return int(done.stdout.split()[1])
    assert done.returncode == -9, done.stderr  # killed, not failed
    return None


def _empty(url: str) -> None:
    """Nothing in the database: the state of a first start."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{parsed.database}{suffix}").unlink(missing_ok=True)
        return
    db = Database(url)
    with db.engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
        conn.commit()
    db.dispose()


def _starts_cleanly(url: str) -> Database:
    db = Database(url)
    migrate(db)  # the next start
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
        if db.is_sqlite:
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    return db


def _kill_points(mode: str, url: str) -> list[int]:
    _empty(url)
    total = _run(mode, url, 10**9)
    assert total is not None and total >= 2
    points = np.unique(np.linspace(1, total, KILL_POINTS).round().astype(int))
    return [int(k) for k in points]


def test_kill_during_the_first_migration_then_start_cleanly(database_url: str) -> None:
    for limit in _kill_points("migrate", database_url):
        _empty(database_url)
        assert _run("migrate", database_url, limit) is None
        _starts_cleanly(database_url).dispose()


def test_kill_during_a_bank_upload_leaves_all_of_it_or_none(database_url: str) -> None:
    for limit in _kill_points("upload", database_url):
        _empty(database_url)
        assert _run("upload", database_url, limit) is None
        db = _starts_cleanly(database_url)
        with db.read() as conn:
            stored = [banks.load_bank(conn, v.hash) for v in banks.list_versions(conn)]
        db.dispose()
        assert stored == [], f"killed after statement {limit}, before COMMIT: {len(stored)}"
    _empty(database_url)
    assert _run("upload", database_url, 10**9) is not None  # not killed: all of it
    db = _starts_cleanly(database_url)
    with db.read() as conn:
        stored = [banks.load_bank(conn, v.hash) for v in banks.list_versions(conn)]
    db.dispose()
    assert stored == [read_bank(sample_bank_path())]
