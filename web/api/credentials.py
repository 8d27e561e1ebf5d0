"""Public credential endpoints: issuer, keys, achievements, credentials, status lists, verify.

``GET /credentials/{id}`` answers JSON-LD, unless the client prefers HTML (a browser), which
gets the credential's page (see :mod:`web.pages.credentials`).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody

from web.credentials import service
from web.credentials.awards import issuer_of, org_issuer
from web.credentials.badge_image import badge_svg
from web.credentials.issuer import Issuer
from web.credentials.verify import Report
from web.errors import InvalidInputError, NotFoundError
from web.pages.learner import runtime
from web.params import StoredInt
from web.problems import with_problem_responses
from web.store import achievements as achievement_store
from web.store import orgs as org_store

JSON_LD = "application/ld+json"


def _object(media_type: str, description: str) -> dict[int, ResponseSpec]:
    """Document a 200 response whose body is a JSON object (the handlers send encoded bytes)."""
    return {
        200: ResponseSpec(
            data_container=dict[str, Any],
            media_type=media_type,
            description=description,
            generate_examples=False,
        )
    }


def _json(document: Any, media_type: str = JSON_LD, **headers: str) -> Response[bytes]:
    return Response(
        content=msgspec.json.encode(document),
        media_type=media_type,
        headers={"cache-control": "no-cache", "access-control-allow-origin": "*", **headers},
    )


@get("/issuer", media_type=JSON_LD, responses=_object(JSON_LD, "The issuer Profile"))
async def issuer_profile(state: State) -> Response[bytes]:
    """The issuer Profile (Open Badges 3.0), with its public keys."""
    rt = runtime(state)
    return _json(await rt.call(lambda: issuer_of(rt).profile_document()))


@get(
    "/issuer/keys",
    media_type="application/jwk-set+json",
    responses=_object("application/jwk-set+json", "A JWK set"),
)
async def issuer_keys(state: State) -> Response[bytes]:
    """Every public key ever used (a JWK set); retired keys still verify older credentials."""
    rt = runtime(state)

    def load() -> dict[str, Any]:
        keys = issuer_of(rt).keys.published()
        return {"keys": [{**k.jwk(), "status": "active" if k.active else "retired"} for k in keys]}

    return _json(await rt.call(load), "application/jwk-set+json")


@get(
    "/issuer/keys/{kid:str}",
    media_type=JSON_LD,
    responses=_object(JSON_LD, "A Multikey (Ed25519) or, as application/jwk+json, a JWK (P-256)"),
)
async def issuer_key(state: State, kid: FromPath[str]) -> Response[bytes]:
    """One public key: a Multikey (Ed25519, Data Integrity) or a JWK (P-256, VC-JWT)."""
    rt = runtime(state)
    issuer = issuer_of(rt)
    key = await rt.call(issuer.keys.find, kid)
    if key is None:
        raise NotFoundError("no such key")
    document = issuer.key_document(key)
    return _json(document, JSON_LD if key.ed25519 is not None else "application/jwk+json")


def _org_issuer(rt: Any, slug: str) -> Issuer:
    with rt.db.read() as conn:
        org = org_store.get_by_slug(conn, slug) if len(slug) <= 40 else None
        if org is None:
            raise NotFoundError("no such organisation")
        return org_issuer(rt, conn, org.id)


@get("/orgs/{slug:str}", media_type=JSON_LD, responses=_object(JSON_LD, "An issuer Profile"))
async def org_profile(state: State, slug: FromPath[str]) -> Response[bytes]:
    """An organisation's issuer Profile (Open Badges 3.0), with its public keys."""
    rt = runtime(state)
    return _json(await rt.call(lambda: _org_issuer(rt, slug).profile_document()))


@get(
    "/orgs/{slug:str}/did.json",
    media_type="application/did+ld+json",
    responses=_object("application/did+ld+json", "A DID document (did:web)"),
)
async def org_did(state: State, slug: FromPath[str]) -> Response[bytes]:
    """An organisation's DID document: the did:web its credentials name, with its keys."""
    rt = runtime(state)
    return _json(
        await rt.call(lambda: _org_issuer(rt, slug).did_document()), "application/did+ld+json"
    )


@get(
    "/orgs/{slug:str}/keys",
    media_type="application/jwk-set+json",
    responses=_object("application/jwk-set+json", "A JWK set"),
)
async def org_keys(state: State, slug: FromPath[str]) -> Response[bytes]:
    """Every public key an organisation ever signed with (a JWK set)."""
    rt = runtime(state)

    def load() -> dict[str, Any]:
        keys = _org_issuer(rt, slug).keys.published()
        return {"keys": [{**k.jwk(), "status": "active" if k.active else "retired"} for k in keys]}

    return _json(await rt.call(load), "application/jwk-set+json")


@get(
    "/achievements/{achievement_id:str}",
    media_type=JSON_LD,
    responses=_object(JSON_LD, "An Achievement"),
)
async def achievement(state: State, achievement_id: FromPath[str]) -> Response[bytes]:
    """An Achievement (JSON-LD)."""
    rt = runtime(state)
    return _json(await rt.call(service.public_achievement, rt, achievement_id))


@get("/achievements/{achievement_id:str}/image.svg", media_type="image/svg+xml")
async def achievement_image(state: State, achievement_id: FromPath[str]) -> Response[str]:
    """The drawn badge of an achievement."""
    rt = runtime(state)

    def load() -> str:
        with rt.db.read() as conn:
            record = achievement_store.get(conn, achievement_id)
        if record is None:
            raise NotFoundError("no such achievement")
        return badge_svg(record.spec.name)

    return Response(
        content=await rt.call(load),
        media_type="image/svg+xml",
        headers={"cache-control": "public, max-age=3600"},
    )


@get(
    "/credentials/{credential_id:str}/credential.json",
    media_type=JSON_LD,
    responses=_object(JSON_LD, "The signed credential"),
)
async def credential_download(state: State, credential_id: FromPath[str]) -> Response[bytes]:
    """The credential file (JSON-LD with its proof), as a download."""
    rt = runtime(state)
    record = await rt.call(service.get_credential, rt, credential_id)
    return _json(
        record.document,
        JSON_LD,
        **{"content-disposition": f'attachment; filename="credential-{credential_id}.json"'},
    )


@get("/credentials/{credential_id:str}/credential.jwt", media_type="application/vc+jwt")
async def credential_jwt(state: State, credential_id: FromPath[str]) -> Response[str]:
    """The credential as a VC-JWT (ES256)."""
    rt = runtime(state)
    record = await rt.call(service.get_credential, rt, credential_id)
    return Response(
        content=record.jwt,
        media_type="application/vc+jwt",
        headers={
            "content-disposition": f'attachment; filename="credential-{credential_id}.jwt"',
            "access-control-allow-origin": "*",
        },
    )


@get(
    "/status-lists/{list_id:int}",
    media_type=JSON_LD,
    responses=_object(JSON_LD, "A Bitstring Status List credential"),
)
async def status_list(state: State, list_id: StoredInt) -> Response[bytes]:
    """A Bitstring Status List credential (revocation), signed."""
    rt = runtime(state)
    document = await rt.call(service.status_list_document, rt, list_id)
    if document is None:
        raise NotFoundError("no such status list")
    return _json(document)


class VerifyRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What to verify: a credential (JSON-LD object or VC-JWT string), or its URL here."""

    credential: dict[str, Any] | str | None = None
    url: str | None = None


@post("/api/v1/credentials/verify", status_code=200, tags=["credentials"])
async def verify_credential(
    state: State, request: Request[Any, Any, Any], data: JSONBody[VerifyRequest]
) -> Report:
    """Verify an Open Badges 3.0 credential this service issued.

    Checks the proof, the issuer, the validity dates and the revocation status; ``reason``
    says in plain words what failed.
    """
    rt = runtime(state)
    del request

    def run() -> Report:
        if data.credential is not None:
            return service.verify_given(rt, data.credential)
        if data.url:
            return service.verify_given(rt, service.credential_at(rt, data.url).document)
        raise InvalidInputError(
            "send the credential (JSON-LD object or VC-JWT) or its URL",
            ["credential: missing", "url: missing"],
        )

    return await rt.call(run)


credential_api = Router(
    path="/",
    route_handlers=with_problem_responses(
        [
            issuer_profile,
            issuer_keys,
            issuer_key,
            org_profile,
            org_did,
            org_keys,
            achievement,
            achievement_image,
            credential_download,
            credential_jwt,
            status_list,
            verify_credential,
        ]
    ),
    tags=["credentials"],
)
