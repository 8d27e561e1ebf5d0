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
``SKILLGAUGE_ISSUER_NAME``      The name credentials carry as their issuer; default
                                ``Skillgauge``.
``SKILLGAUGE_WEBHOOK_WORKER``   ``inprocess`` (default: each web process delivers webhooks)
                                or ``off`` (run ``skillgauge worker`` instead).
``SKILLGAUGE_WEBHOOK_ALLOW_PRIVATE``  ``1`` allows webhook URLs on private, loopback and
                                link-local addresses (tests, development); default off.
``SKILLGAUGE_WEBHOOK_TIMEOUT_SECONDS``  Time limit of a whole request; default 15.
``SKILLGAUGE_WEBHOOK_RETRY_SCHEDULE``  Seconds between attempts, comma separated; default
                                ``5,300,1800,7200,18000,36000,36000,36000`` (37.6 hours).
``SKILLGAUGE_WEBHOOK_DISABLE_AFTER_HOURS``  An endpoint failing without a success for this
                                long is disabled; default 120 (5 days).
``SKILLGAUGE_WEBHOOK_POLL_SECONDS``  How often an idle worker looks for due messages;
                                default 1.
``SKILLGAUGE_WEBHOOK_LEASE_SECONDS``  How long a claimed message stays reserved for the
                                worker sending it; default 60, at least twice the timeout.
``SKILLGAUGE_MAIL``             How mail to learners leaves: ``file`` (default: one ``.eml``
                                file per message in ``SKILLGAUGE_MAIL_DIR``) or ``smtp``.
``SKILLGAUGE_MAIL_DIR``         The file outbox; default ``<data dir>/outbox``.
``SKILLGAUGE_MAIL_FROM``        The sender address; default ``skillgauge@localhost``.
``SKILLGAUGE_SMTP_HOST`` / ``_PORT`` / ``_USERNAME`` / ``_PASSWORD`` / ``_STARTTLS``  The
                                SMTP server (port 587 and STARTTLS by default).
``SKILLGAUGE_LINK_MINUTES``     How long an emailed link works; default 30.
==============================  ==========================================================
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from web.errors import ConfigurationError

# Seconds between webhook attempts: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, 10 h: the
# last attempt comes about a day and a half (37.6 h) after the first.
DEFAULT_RETRY_SCHEDULE = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0, 36000.0)


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
    issuer_name: Annotated[str, Meta(min_length=1, max_length=200)] = "Skillgauge"
    webhook_worker: Literal["inprocess", "off"] = "inprocess"
    webhook_allow_private: bool = False
    webhook_timeout_seconds: Annotated[float, Meta(gt=0, le=120)] = 15.0
    webhook_retry_schedule: tuple[Annotated[float, Meta(ge=0)], ...] = DEFAULT_RETRY_SCHEDULE
    webhook_disable_after_hours: Annotated[float, Meta(gt=0)] = 120.0
    webhook_poll_seconds: Annotated[float, Meta(gt=0, le=60)] = 1.0
    webhook_lease_seconds: Annotated[float, Meta(gt=0)] = 60.0
    mail: Literal["file", "smtp"] = "file"
    mail_dir: str = ""
    mail_from: Annotated[str, Meta(min_length=3, max_length=320)] = "skillgauge@localhost"
    smtp_host: str = ""
    smtp_port: Annotated[int, Meta(ge=1, le=65535)] = 587
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = True
    link_minutes: Annotated[int, Meta(ge=1, le=7 * 24 * 60)] = 30

    def __post_init__(self) -> None:
        if self.mail == "smtp" and not self.smtp_host:
            raise ValueError("SMTP mail needs a host - at `$.smtp_host`")
        # A claimed message is sent within one timeout (a round sends no more messages than
        # the worker sends at once); the lease must outlast that, or another worker could
        # claim and send it again while the first is still sending.
        if self.webhook_lease_seconds < 2 * self.webhook_timeout_seconds:
            raise ValueError(
                f"must be at least twice the webhook timeout "
                f"({2 * self.webhook_timeout_seconds:g}), got "
                f"{self.webhook_lease_seconds:g} - at `$.webhook_lease_seconds`"
            )

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


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number, got {raw!r}") from None


def _schedule(env: Mapping[str, str]) -> tuple[float, ...]:
    raw = env.get("SKILLGAUGE_WEBHOOK_RETRY_SCHEDULE")
    if not raw:
        return DEFAULT_RETRY_SCHEDULE
    try:
        return tuple(float(part) for part in raw.split(",") if part.strip())
    except ValueError:
        raise ConfigurationError(
            f"SKILLGAUGE_WEBHOOK_RETRY_SCHEDULE must be seconds separated by commas, got {raw!r}"
        ) from None


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
        "issuer_name": env.get("SKILLGAUGE_ISSUER_NAME") or "Skillgauge",
        "webhook_worker": env.get("SKILLGAUGE_WEBHOOK_WORKER") or "inprocess",
        "webhook_allow_private": env.get("SKILLGAUGE_WEBHOOK_ALLOW_PRIVATE") == "1",
        "webhook_timeout_seconds": _float(env, "SKILLGAUGE_WEBHOOK_TIMEOUT_SECONDS", 15.0),
        "webhook_retry_schedule": _schedule(env),
        "webhook_disable_after_hours": _float(env, "SKILLGAUGE_WEBHOOK_DISABLE_AFTER_HOURS", 120.0),
        "webhook_poll_seconds": _float(env, "SKILLGAUGE_WEBHOOK_POLL_SECONDS", 1.0),
        "webhook_lease_seconds": _float(env, "SKILLGAUGE_WEBHOOK_LEASE_SECONDS", 60.0),
        "mail": env.get("SKILLGAUGE_MAIL") or "file",
        "mail_dir": env.get("SKILLGAUGE_MAIL_DIR") or str(data_dir / "outbox"),
        "mail_from": env.get("SKILLGAUGE_MAIL_FROM") or "skillgauge@localhost",
        "smtp_host": env.get("SKILLGAUGE_SMTP_HOST") or "",
        "smtp_port": _int(env, "SKILLGAUGE_SMTP_PORT", 587),
        "smtp_username": env.get("SKILLGAUGE_SMTP_USERNAME") or "",
        "smtp_password": env.get("SKILLGAUGE_SMTP_PASSWORD") or "",
        "smtp_starttls": env.get("SKILLGAUGE_SMTP_STARTTLS", "1") != "0",
        "link_minutes": _int(env, "SKILLGAUGE_LINK_MINUTES", 30),
    }
    try:
        return msgspec.convert(values, Settings)
    except msgspec.ValidationError as exc:
        field = str(exc).rsplit("$.", 1)[-1].rstrip("`")
        name = "SKILLGAUGE_" + field.upper()
        raise ConfigurationError(f"{name}: {str(exc).split(' - at ')[0]}") from None
