"""What authors do with webhook endpoints: create (secret shown once), inspect, redeliver."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from web.credentials.awards import notify_worker
from web.errors import InvalidInputError, NotFoundError
from web.runtime import Runtime
from web.store import audit
from web.store import webhooks as store
from web.store.authors import Member
from web.webhooks.secret_box import seal
from web.webhooks.signing import new_secret
from web.webhooks.ssrf import AddressRefusedError, address_allowed, check_url


class EndpointCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A request to add a webhook endpoint."""

    url: Annotated[str, Meta(min_length=8, max_length=2000)]
    event_types: Annotated[list[store.EventType], Meta(min_length=1)] = msgspec.field(
        default_factory=lambda: list(store.EVENT_TYPES)
    )
    description: Annotated[str, Meta(max_length=200)] = ""


class EndpointCreated(msgspec.Struct, frozen=True, kw_only=True):
    """The new endpoint and its secret (shown this once; only a sealed copy is kept)."""

    endpoint: store.Endpoint
    secret: str


class MessageDetail(msgspec.Struct, frozen=True, kw_only=True):
    """A message with its delivery log."""

    message: store.Message
    attempts: list[store.Attempt]
    payload: str


class EndpointDetail(msgspec.Struct, frozen=True, kw_only=True):
    """An endpoint, its counts and its newest messages."""

    endpoint: store.Endpoint
    counts: dict[str, int]
    messages: list[store.Message]


def create(rt: Runtime, author: Member, request: EndpointCreate) -> EndpointCreated:
    """Add an endpoint for ``author``'s events; refuses URLs the address policy forbids."""
    try:
        _, host, _, _ = check_url(request.url)
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None and not address_allowed(literal, rt.settings.webhook_allow_private):
            raise AddressRefusedError(f"{host} is a private, loopback or reserved address")
    except AddressRefusedError as exc:
        raise InvalidInputError("this webhook URL cannot be used", [f"url: {exc}"]) from None
    secret = new_secret()
    with rt.db.write() as conn:
        endpoint = store.create_endpoint(
            conn,
            owner_id=author.id,
            org_id=author.org_id,
            url=request.url.strip(),
            description=request.description.strip(),
            event_types=sorted(set(request.event_types)),
            sealed_secret=seal(rt.settings.secret_key, secret),
        )
        audit.record(
            conn,
            author.org_id,
            author.id,
            author.email,
            "webhook.create",
            endpoint.id,
            f"{endpoint.url} ({', '.join(endpoint.event_types)})",
        )
    return EndpointCreated(endpoint=endpoint, secret=secret)


def owned(rt: Runtime, author: Member, endpoint_id: str) -> store.Endpoint:
    """One of the author's endpoints (others get 404)."""
    with rt.db.read() as conn:
        endpoint = store.get_endpoint(conn, endpoint_id)
    if endpoint is None or endpoint.org_id != author.org_id:
        raise NotFoundError("no such webhook endpoint")
    return endpoint


def list_endpoints(rt: Runtime, author: Member) -> list[store.Endpoint]:
    """The author's endpoints."""
    with rt.db.read() as conn:
        return store.endpoints_of(conn, author.org_id)


def detail(rt: Runtime, author: Member, endpoint_id: str) -> EndpointDetail:
    """An endpoint with its newest messages."""
    endpoint = owned(rt, author, endpoint_id)
    with rt.db.read() as conn:
        return EndpointDetail(
            endpoint=endpoint,
            counts=store.count_by_status(conn, endpoint_id),
            messages=store.messages_of(conn, endpoint_id),
        )


def message_detail(rt: Runtime, author: Member, endpoint_id: str, message_id: str) -> MessageDetail:
    """A message of one of the author's endpoints, with every attempt."""
    owned(rt, author, endpoint_id)
    with rt.db.read() as conn:
        message = store.get_message(conn, message_id)
        if message is None or message.endpoint_id != endpoint_id:
            raise NotFoundError("no such message")
        payload = store.payload_of(conn, message_id) or b""
        return MessageDetail(
            message=message,
            attempts=store.attempts_of(conn, message_id),
            payload=payload.decode("utf-8"),
        )


def redeliver(rt: Runtime, author: Member, endpoint_id: str, message_id: str) -> None:
    """Send a message again (same ``webhook-id``, same body, fresh retry schedule)."""
    message_detail(rt, author, endpoint_id, message_id)
    with rt.db.write() as conn:
        store.redeliver(conn, message_id)
    notify_worker(rt)


def set_status(
    rt: Runtime, author: Member, endpoint_id: str, status: Literal["active", "disabled"]
) -> None:
    """Enable (clears the failure record) or disable an endpoint."""
    owned(rt, author, endpoint_id)
    with rt.db.write() as conn:
        store.set_endpoint_status(
            conn, endpoint_id, status, "disabled by its author" if status == "disabled" else None
        )


def parse_events(values: Sequence[str]) -> list[store.EventType]:
    """Event types from a form; unknown ones are refused."""
    chosen = [v for v in values if v]
    unknown = [v for v in chosen if v not in store.EVENT_TYPES]
    if unknown or not chosen:
        raise InvalidInputError(
            "choose at least one event type",
            [f"event_types: unknown {u!r}" for u in unknown] or ["event_types: none chosen"],
        )
    return [v for v in store.EVENT_TYPES if v in chosen]
