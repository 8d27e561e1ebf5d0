"""The exception tree of :mod:`web`.

Every class carries its HTTP status; :mod:`web.problems` turns these, and the exception trees
of :mod:`item_banks` and :mod:`engine`, into RFC 9457 problem responses (API) or error pages
(browser) in one place.
"""

from __future__ import annotations


class WebError(Exception):
    """Base class of the web service's own errors."""

    status_code = 500
    title = "Something went wrong"

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)


class ConfigurationError(WebError):
    """A setting is missing or invalid (raised at start-up)."""

    title = "Configuration error"


class NotFoundError(WebError):
    """The resource does not exist (or is not visible to this client)."""

    status_code = 404
    title = "Not found"


class UnauthorizedError(WebError):
    """No valid author token."""

    status_code = 401
    title = "Sign-in required"


class SignInRequiredError(WebError):
    """A page for authors was asked for without a signed-in author (pages redirect)."""

    status_code = 303
    title = "Sign-in required"


class ForbiddenError(WebError):
    """Authenticated but not allowed."""

    status_code = 403
    title = "Not allowed"


class ConflictError(WebError):
    """The request does not fit the current state (e.g. an answer to an old question)."""

    status_code = 409
    title = "Not possible right now"


class UnsupportedMediaTypeError(WebError):
    """A body in a media type the endpoint does not read (JSON endpoints want JSON)."""

    status_code = 415
    title = "Send the data as JSON"


class InvalidInputError(WebError):
    """The request's content is invalid; ``problems`` lists located reasons."""

    status_code = 422
    title = "Invalid input"

    def __init__(self, detail: str, problems: list[str] | None = None) -> None:
        super().__init__(detail)
        self.problems = problems or []


class RateLimitedError(WebError):
    """Too many requests of one kind from one client."""

    status_code = 429
    title = "Too many requests"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
