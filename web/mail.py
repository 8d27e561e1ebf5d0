"""Mail to learners: a file outbox by default, SMTP by setting.

:class:`FileOutbox` writes each message as an RFC 5322 ``.eml`` file (written to a temporary
name, then renamed, so a reader never sees half a message): the demo and the tests read
their links there, and nothing leaves the machine. :class:`SmtpSender` hands messages to an
SMTP server with :mod:`smtplib` (STARTTLS and login when configured).
"""

from __future__ import annotations

import os
import secrets
import smtplib
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any, Protocol

import msgspec

from web.settings import Settings


class Mail(msgspec.Struct, frozen=True, kw_only=True):
    """One plain-text message."""

    to: str
    subject: str
    body: str


class MailSender(Protocol):
    """Something that delivers :class:`Mail`."""

    def send(self, mail: Mail) -> None:
        """Deliver ``mail`` or raise ``OSError`` / ``smtplib.SMTPException``."""


def message(mail: Mail, sender: str) -> EmailMessage:
    """The RFC 5322 message of ``mail`` from ``sender``."""
    out = EmailMessage()
    out["From"] = sender
    out["To"] = mail.to
    out["Subject"] = mail.subject
    out["Date"] = format_datetime(datetime.now(UTC))
    out["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1] or "localhost")
    out.set_content(mail.body)
    return out


class FileOutbox:
    """Writes every message to ``directory`` as ``<UTC time>-<random>.eml``."""

    def __init__(self, directory: Path, sender: str) -> None:
        self.directory = directory
        self.sender = sender

    def send(self, mail: Mail) -> None:
        """Write the message atomically (a temporary file renamed into place)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        name = f"{stamp}-{secrets.token_hex(4)}.eml"
        partial = self.directory / ("." + name + ".part")
        partial.write_bytes(bytes(message(mail, self.sender)))
        os.replace(partial, self.directory / name)


class SmtpSender:
    """Sends through an SMTP server; ``factory`` is :class:`smtplib.SMTP` (tests swap it)."""

    def __init__(
        self,
        settings: Settings,
        factory: Callable[..., Any] = smtplib.SMTP,
    ) -> None:
        self.settings = settings
        self.factory = factory

    def send(self, mail: Mail) -> None:
        """One connection per message: EHLO, STARTTLS if set, login if set, send, quit."""
        s = self.settings
        with self.factory(s.smtp_host, s.smtp_port, timeout=30) as smtp:
            smtp.ehlo()
            if s.smtp_starttls:
                smtp.starttls()
                smtp.ehlo()
            if s.smtp_username:
                smtp.login(s.smtp_username, s.smtp_password)
            smtp.send_message(message(mail, s.mail_from))


def sender_for(settings: Settings) -> MailSender:
    """The sender the settings choose."""
    if settings.mail == "smtp":
        return SmtpSender(settings)
    return FileOutbox(
        Path(settings.mail_dir or Path(settings.data_dir) / "outbox"), settings.mail_from
    )
