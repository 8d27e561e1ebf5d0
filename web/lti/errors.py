"""The exception tree of :mod:`web.lti` (mapped to responses in :mod:`web.problems`)."""

from __future__ import annotations

from web.errors import InvalidInputError, WebError


class LtiError(WebError):
    """Base class of the LTI errors."""

    title = "LTI error"


class LaunchRefusedError(LtiError):
    """A login or launch that fails a security check (signature, audience, nonce, state...)."""

    status_code = 401
    title = "This launch from your learning platform was refused"


class CookielessLaunchError(LaunchRefusedError):
    """A launch whose browser did not send back the login cookie (a third-party frame)."""

    title = "Open this activity in a new window"


class PlatformInputError(LtiError, InvalidInputError):
    """A platform registration with a located problem."""

    title = "The platform registration is not valid"

    def __init__(self, detail: str, problems: list[str] | None = None) -> None:
        InvalidInputError.__init__(self, detail, problems)


class PlatformUnreachableError(LtiError):
    """The platform's JWKS, token or score endpoint could not be reached or refused us."""

    status_code = 502
    title = "The learning platform could not be reached"
