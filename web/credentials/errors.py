"""The exception tree of :mod:`web.credentials`.

Every class is a :class:`web.errors.WebError`, so :mod:`web.problems` maps it to a problem
response like any other error of the service.
"""

from __future__ import annotations

from web.errors import InvalidInputError, WebError


class CredentialError(WebError):
    """Base class of the credential errors (a fault on our side unless a subclass says so)."""

    title = "Credential error"


class CanonicalizationError(CredentialError, InvalidInputError):
    """A document could not be canonicalized: an unknown context, a dropped term, bad JSON-LD."""

    title = "The document is not valid JSON-LD for this service"

    def __init__(self, detail: str) -> None:
        InvalidInputError.__init__(self, detail, [detail])


class KeyStoreError(CredentialError):
    """The key directory cannot be read or written (permissions, a damaged file)."""

    title = "Signing keys unavailable"
