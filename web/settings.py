"""Settings of the web service, read from environment variables.

==============================  ==========================================================
``SKILLGAUGE_DATABASE_URL``     SQLAlchemy URL; default ``sqlite:///var/skillgauge.db``
                                (a file under ``./var``, WAL mode). PostgreSQL:
                                ``postgresql+psycopg://user@host:5432/dbname``.
``SKILLGAUGE_SECRET_KEY``       Signs CSRF tokens and encrypts the author's session
                                cookie (at least 32 characters). Default: a random key
                                created once in ``var/secret_key`` (mode 0600).
``SKILLGAUGE_BASE_URL``         Public URL used in links shown to people and in
                                credentials; default ``http://127.0.0.1:8000``.
``SKILLGAUGE_DATA_DIR``         Directory for the SQLite file and keys; default ``./var``.
``SKILLGAUGE_MAX_UPLOAD_BYTES`` Largest bank upload; default 20 MB.
``SKILLGAUGE_MAX_ITEMS``        Most items in a bank; default 5000.
``SKILLGAUGE_SESSIONS_PER_MINUTE``  Session starts allowed per client address per
                                minute; default 30.
``SKILLGAUGE_SECURE_COOKIES``   ``1`` to mark cookies Secure (behind HTTPS); default
                                on when the base URL is https.
==============================  ==========================================================
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import msgspec
from msgspec import Meta

from web.errors import ConfigurationError


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Everything the service reads from its environment."""

    database_url: str
    secret_key: Annotated[str, Meta(min_length=32)]
    base_url: str = "http://127.0.0.1:8000"
    data_dir: str = "var"
    max_upload_bytes: Annotated[int, Meta(ge=1024)] = 20 * 1024 * 1024
    max_items: Annotated[int, Meta(ge=1)] = 5_000
    sessions_per_minute: Annotated[int, Meta(ge=1)] = 30
    secure_cookies: bool = False

    @property
    def is_sqlite(self) -> bool:
        """Whether the database is SQLite."""
        return self.database_url.startswith("sqlite")


def _secret_from_file(data_dir: Path) -> str:
    """Read (or create once, mode 0600) the development secret key under ``data_dir``."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key)
    return key


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from None


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from ``env`` (default: ``os.environ``).

    Raises
    ------
    ConfigurationError
        Naming the variable that is wrong.
    """
    env = os.environ if env is None else env
    data_dir = Path(env.get("SKILLGAUGE_DATA_DIR") or "var")
    url = env.get("SKILLGAUGE_DATABASE_URL") or f"sqlite:///{data_dir / 'skillgauge.db'}"
    secret = env.get("SKILLGAUGE_SECRET_KEY") or _secret_from_file(data_dir)
    base_url = (env.get("SKILLGAUGE_BASE_URL") or "http://127.0.0.1:8000").rstrip("/")
    secure_raw = env.get("SKILLGAUGE_SECURE_COOKIES")
    secure = base_url.startswith("https://") if not secure_raw else secure_raw == "1"
    values = {
        "database_url": url,
        "secret_key": secret,
        "base_url": base_url,
        "data_dir": str(data_dir),
        "max_upload_bytes": _int(env, "SKILLGAUGE_MAX_UPLOAD_BYTES", 20 * 1024 * 1024),
        "max_items": _int(env, "SKILLGAUGE_MAX_ITEMS", 5_000),
        "sessions_per_minute": _int(env, "SKILLGAUGE_SESSIONS_PER_MINUTE", 30),
        "secure_cookies": secure,
    }
    try:
        return msgspec.convert(values, Settings)
    except msgspec.ValidationError as exc:
        field = str(exc).rsplit("$.", 1)[-1].rstrip("`")
        name = "SKILLGAUGE_" + field.upper()
        raise ConfigurationError(f"{name}: {str(exc).split(' - at ')[0]}") from None
