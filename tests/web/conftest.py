"""Web test fixtures: an app per test on SQLite, and on a throwaway PostgreSQL database.

PostgreSQL runs at 127.0.0.1:5432 in CI (trust auth). If it is unreachable the PostgreSQL
tests FAIL, naming the URL; set ``SKILLGAUGE_TEST_POSTGRES=skip`` to skip them on purpose
(they are then reported as skipped, never as passed).
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from web.app import create_app
from web.db.connection import Database
from web.db.migrate import migrate
from web.demo import ensure_demo
from web.runtime import Runtime
from web.settings import Settings, load_settings

POSTGRES_ADMIN_URL = os.environ.get(
    "SKILLGAUGE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _admin() -> Any:
    return create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A migrated template database; each test copies it (fast) into its own database."""
    if os.environ.get("SKILLGAUGE_TEST_POSTGRES") == "skip":
        pytest.skip("PostgreSQL tests skipped on purpose (SKILLGAUGE_TEST_POSTGRES=skip)")
    name = f"sg_template_{secrets.token_hex(4)}"
    admin = _admin()
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL} ({exc.orig}); start it, set "
            "SKILLGAUGE_TEST_POSTGRES_URL, or SKILLGAUGE_TEST_POSTGRES=skip to skip on purpose"
        )
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    db = Database(url)
    migrate(db)
    db.dispose()
    yield name
    _drop(admin, name)
    admin.dispose()


def _drop(admin: Any, name: str) -> None:
    with admin.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))


@pytest.fixture
def postgres_url(postgres_template: str) -> Iterator[str]:
    """A fresh PostgreSQL database for one test."""
    name = f"sg_test_{secrets.token_hex(6)}"
    admin = _admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"'))
    yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    _drop(admin, name)
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The storage-layer and learner-flow tests run on both databases."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'skillgauge.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


def settings_for(url: str, tmp_path: Path, **overrides: str) -> Settings:
    env = {
        "SKILLGAUGE_DATA_DIR": str(tmp_path / "var"),
        "SKILLGAUGE_DATABASE_URL": url,
        "SKILLGAUGE_SECRET_KEY": "test-secret-" + "x" * 40,
        "SKILLGAUGE_SESSIONS_PER_MINUTE": "100000",
        **overrides,
    }
    return load_settings(env)


@dataclass
class Site:
    """A running test app with its demo content."""

    client: TestClient[Litestar]
    runtime: Runtime
    assessment_id: str
    token: str

    def csrf(self) -> str:
        """The CSRF token (the cookie is set by any page GET)."""
        if "skillgauge_csrf" not in self.client.cookies:
            self.client.get("/")
        return str(self.client.cookies["skillgauge_csrf"])

    def auth(self) -> dict[str, str]:
        """The author's API header."""
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'skillgauge.db'}"


def open_site(url: str, tmp_path: Path, **overrides: str) -> Iterator[Site]:
    app = create_app(settings_for(url, tmp_path, **overrides))
    with TestClient(app) as client:
        runtime: Runtime = app.state.runtime
        info = ensure_demo(runtime)
        yield Site(
            client=client,
            runtime=runtime,
            assessment_id=info.assessment_url.rsplit("/", 1)[1],
            token=info.author_token,
        )


@pytest.fixture
def site(sqlite_url: str, tmp_path: Path) -> Iterator[Site]:
    """The app on SQLite with the demo assessment."""
    yield from open_site(sqlite_url, tmp_path)


@pytest.fixture
def any_site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    """The app on SQLite and on PostgreSQL."""
    yield from open_site(database_url, tmp_path)


FIELD = re.compile(r'name="(item_id|position|kind)" value="([^"]*)"')
OPTION = re.compile(r'name="answer" id="option-\d+" value="([^"]+)"')


def form_fields(html: str) -> dict[str, str]:
    """The hidden fields of the question form."""
    return dict(FIELD.findall(html))


def options(html: str) -> list[str]:
    """The option values of the question form, in page order."""
    return OPTION.findall(html)
