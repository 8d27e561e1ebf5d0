"""An LTI 1.3 platform simulator on loopback: its own keys, JWKS, token and AGS endpoints.

It plays the LMS: answers the tool's OIDC login redirect with a signed id_token (like a
platform's auth endpoint would, posting it back to the redirect URI), serves its JWKS at
``/jwks``, issues access tokens at ``/token`` only for a client assertion signed by the
tool's key (checked against the tool's JWKS), and records scores posted to
``/lineitems/<id>/scores`` with a valid bearer token. Its line items container
``/lineitems`` lists line items (``GET``, filtered by ``resource_link_id``) and creates
them (``POST``), for a token with the line item scope. ``down`` makes every endpoint answer
503, like a platform under maintenance.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
LINEITEM_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"


@dataclass
class Posted:
    """A score as received."""

    lineitem: str
    body: dict[str, Any]
    content_type: str


@dataclass
class Platform:
    """The simulated LMS."""

    client_id: str = "skillgauge-client"
    deployment_id: str = "deployment-1"
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, {"kid": "platform-1"}))
    tool_jwks: dict[str, Any] | None = None
    down: bool = False
    scores: list[Posted] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)
    lineitem_tokens: set[str] = field(default_factory=set)
    lineitems: list[dict[str, Any]] = field(default_factory=list)
    lineitem_queries: list[str] = field(default_factory=list)
    token_requests: int = 0
    port: int = 0
    last_nonce: str = ""

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def registration(self) -> dict[str, Any]:
        """What Moodle would show its administrator (the tool's registration form)."""
        return {
            "name": "Simulated Moodle",
            "issuer": self.issuer,
            "client_id": self.client_id,
            "deployment_ids": [self.deployment_id],
            "auth_url": f"{self.issuer}/auth",
            "token_url": f"{self.issuer}/token",
            "jwks_url": f"{self.issuer}/jwks",
        }

    def jwks(self) -> dict[str, Any]:
        return {"keys": [{**self.key.as_dict(private=False), "kid": self.key.kid, "alg": "RS256"}]}

    def login_params(self, target: str, hint: str = "user-42") -> dict[str, str]:
        """The platform's third-party login request to the tool."""
        return {
            "iss": self.issuer,
            "login_hint": hint,
            "target_link_uri": target,
            "lti_message_hint": "msg-" + hint,
            "client_id": self.client_id,
            "lti_deployment_id": self.deployment_id,
        }

    def id_token(
        self,
        auth_request: str,
        message: dict[str, Any],
        *,
        key: RSAKey | None = None,
        **overrides: Any,
    ) -> tuple[str, str]:
        """The auth endpoint: check the tool's auth request, answer (id_token, state)."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(auth_request).query).items()}
        assert auth_request.startswith(f"{self.issuer}/auth?"), auth_request
        assert query["scope"] == "openid" and query["response_type"] == "id_token"
        assert query["response_mode"] == "form_post" and query["prompt"] == "none"
        assert query["client_id"] == self.client_id
        assert query["lti_message_hint"].startswith("msg-")
        now = int(time.time())
        self.last_nonce = query["nonce"]
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.client_id,
            "sub": query["login_hint"],
            "iat": now,
            "exp": now + 300,
            "nonce": query["nonce"],
            "name": "Ada Lovelace",
            "email": "ada@example.org",
            LTI + "deployment_id": self.deployment_id,
            LTI + "version": "1.3.0",
            **message,
        }
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        signer = key or self.key
        token = jwt.encode({"alg": "RS256", "kid": signer.kid}, claims, signer)
        return token, query["state"]

    def resource_link(
        self, assessment: str | None, link: str = "link-1", *, container_only: bool = False
    ) -> dict[str, Any]:
        """A resource link launch; ``container_only`` offers ``lineitems`` but no ``lineitem``."""
        ags: dict[str, Any] = {
            "scope": [SCORE_SCOPE],
            "lineitem": f"{self.issuer}/lineitems/{link}?course=7",
        }
        if container_only:
            ags = {
                "scope": [LINEITEM_SCOPE, SCORE_SCOPE],
                "lineitems": f"{self.issuer}/lineitems?course=7",
            }
        message: dict[str, Any] = {
            LTI + "message_type": "LtiResourceLinkRequest",
            LTI + "resource_link": {"id": link, "title": "Week 3 quiz"},
            AGS: ags,
        }
        if assessment is not None:
            message[LTI + "custom"] = {"assessment": assessment}
        return message

    def deep_linking(self) -> dict[str, Any]:
        return {
            LTI + "message_type": "LtiDeepLinkingRequest",
            DL + "deep_linking_settings": {
                "deep_link_return_url": f"{self.issuer}/deep-link-return",
                "accept_types": ["ltiResourceLink"],
                "accept_presentation_document_targets": ["iframe", "window"],
                "data": "opaque-123",
            },
        }

    def check_tool_jwt(self, token: str) -> dict[str, Any]:
        """Verify a JWT the tool signed, with the tool's published JWKS."""
        assert self.tool_jwks is not None, "the tool's JWKS was not fetched"
        keys = KeySet.import_key_set(self.tool_jwks)  # type: ignore[arg-type]
        decoded = jwt.decode(token, keys, algorithms=["RS256"])
        return dict(decoded.claims)


class _Server(ThreadingHTTPServer):
    request_queue_size = 64


def _handler(platform: Platform) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: Any) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            if platform.down:
                return self._send(503, {"error": "maintenance"})
            if self.path == "/jwks":
                return self._send(200, platform.jwks())
            parts = urlsplit(self.path)
            if parts.path == "/lineitems":
                if self._bearer() not in platform.lineitem_tokens:
                    return self._send(401, {"error": "unauthorized"})
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                platform.lineitem_queries.append(parts.query)
                link = query.get("resource_link_id")
                found = [i for i in platform.lineitems if link in (None, i["resourceLinkId"])]
                return self._send(200, found)
            return self._send(404, {"error": "not found"})

        def _bearer(self) -> str:
            return str(self.headers.get("authorization", "")).removeprefix("Bearer ")

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length", "0")))
            if platform.down:
                return self._send(503, {"error": "maintenance"})
            path = urlsplit(self.path).path
            if path == "/token":
                platform.token_requests += 1
                form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                try:
                    claims = platform.check_tool_jwt(form["client_assertion"])
                except Exception as exc:
                    return self._send(401, {"error": "invalid_client", "detail": str(exc)})
                if (
                    form.get("grant_type") != "client_credentials"
                    or claims.get("iss") != platform.client_id
                    or claims.get("aud") != f"{platform.issuer}/token"
                    or SCORE_SCOPE not in form.get("scope", "")
                ):
                    return self._send(400, {"error": "invalid_request"})
                token = secrets.token_urlsafe(16)
                platform.tokens.add(token)
                if LINEITEM_SCOPE in form["scope"].split():
                    platform.lineitem_tokens.add(token)
                return self._send(
                    200, {"access_token": token, "token_type": "bearer", "expires_in": 3600}
                )
            if path == "/lineitems":
                if self._bearer() not in platform.lineitem_tokens:
                    return self._send(401, {"error": "unauthorized"})
                if not self.headers.get("content-type", "").startswith(
                    "application/vnd.ims.lis.v2.lineitem+json"
                ):
                    return self._send(415, {"error": "unsupported media type"})
                item = json.loads(raw)
                if not isinstance(item.get("scoreMaximum"), (int, float)) or not item.get("label"):
                    return self._send(400, {"error": "scoreMaximum and label are required"})
                item["id"] = f"{platform.issuer}/lineitems/made-{len(platform.lineitems) + 1}"
                platform.lineitems.append(item)
                return self._send(201, item)
            if path.startswith("/lineitems/") and path.endswith("/scores"):
                bearer = self.headers.get("authorization", "").removeprefix("Bearer ")
                if bearer not in platform.tokens:
                    return self._send(401, {"error": "unauthorized"})
                platform.scores.append(
                    Posted(
                        lineitem=self.path,
                        body=json.loads(raw),
                        content_type=self.headers.get("content-type", ""),
                    )
                )
                return self._send(200, {})
            return self._send(404, {"error": "not found"})

        def log_message(self, format: str, *args: Any) -> None:
            del format, args

    return Handler


@contextmanager
def running_platform() -> Iterator[Platform]:
    platform = Platform()
    server = _Server(("127.0.0.1", 0), _handler(platform))
    server.daemon_threads = True
    platform.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield platform
    finally:
        server.shutdown()
        server.server_close()
