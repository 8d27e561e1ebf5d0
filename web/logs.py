"""Session keys never reach a log: access-log lines name learner URLs without them.

A session's id is its key, and it is in the learner's URLs (``/s/{id}``,
``/api/v1/sessions/{id}``). uvicorn's access log prints every request line at INFO
(``skillgauge serve --log-level info``); :class:`RedactSessionKeys` replaces the key in
those lines with ``{session}`` before any handler formats them.
"""

from __future__ import annotations

import logging
import re

SESSION_PATH = re.compile(r"(/s/|/api/v1/sessions/)[A-Za-z0-9_-]+")
REDACTED = r"\1{session}"
LOGGERS = ("uvicorn.access", "uvicorn.error", "skillgauge.web")


def redact(text: str) -> str:
    """``text`` with every session key in a learner URL replaced by ``{session}``."""
    return SESSION_PATH.sub(REDACTED, text)


class RedactSessionKeys(logging.Filter):
    """A logging filter that removes session keys from the message and its arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drop it."""
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def install() -> None:
    """Add the filter to the access, server and application loggers (once)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSessionKeys) for f in logger.filters):
            logger.addFilter(RedactSessionKeys())
