"""Pseudonymous person ids: who answered, for authors and receivers, without the session key.

A session's id is its key (whoever has it can read the report and answer the open session),
so it never leaves the learner's own pages. Everything else that must tell learners apart
(the response export, the author's session list and API, webhook payloads) names the
session by ``person_id``::

    person_id = "p_" + hex(HMAC-SHA256(K, session_id))[:20]

with ``K`` derived from the server's secret key for this purpose alone. It is stable
(the same session always has the same id, in every export, so responses join across files),
not reversible (HMAC is a pseudorandom function: without the secret key nothing links it to
the session id), and unrelated across deployments. 80 bits make collisions between the
sessions of one assessment negligible (birthday bound: about one in 10^12 at a million
sessions).

Reference: Bellare, M., Canetti, R., & Krawczyk, H. (1996). Keying hash functions for
message authentication. CRYPTO '96 (HMAC as a PRF).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

PREFIX = "p_"
HEX_DIGITS = 20


def person_id(secret_key: str, session_id: str) -> str:
    """The pseudonymous person id of the session ``session_id`` (see the module notes)."""
    return pseudonymizer(secret_key)(session_id)


def pseudonymizer(secret_key: str) -> Callable[[str], str]:
    """:func:`person_id` with the key derived once (for exports of many rows)."""
    key = hashlib.sha256(b"skillgauge person-id\x00" + secret_key.encode("utf-8")).digest()

    def pseudonym(session_id: str) -> str:
        digest = hmac.new(key, session_id.encode("utf-8"), hashlib.sha256).hexdigest()
        return PREFIX + digest[:HEX_DIGITS]

    return pseudonym
