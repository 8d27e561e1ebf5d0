"""The issuer: its public URLs, its Profile, its keys, and signing in both formats.

Every URL a credential carries is derived from ``SKILLGAUGE_BASE_URL``:

==========================================  ===============================================
``{base}/issuer``                           the issuer Profile (JSON-LD), listing its keys
``{base}/issuer/keys``                      every published public key as a JWK set
``{base}/issuer/keys/{kid}``                one key: a Multikey (Ed25519) or a JWK (P-256)
``{base}/achievements/{id}``                an Achievement (JSON-LD)
``{base}/credentials/{id}``                 a credential (JSON-LD; a page for browsers)
``{base}/status-lists/{n}``                 a Bitstring Status List credential
``{base}/orgs/{slug}``                      an organisation's issuer Profile (JSON-LD)
``{base}/orgs/{slug}/did.json``             its DID document (did:web, path-based)
==========================================  ===============================================

Each organisation is an issuer of its own: credentials name it by a path-based did:web
(``did:web:<host>[%3A<port>][:<base path>]:orgs:<slug>``, resolved at
``{base}/orgs/{slug}/did.json`` as the did:web method says) and are signed with its own keys,
whose verification methods are ``<did>#<kid>``. The service-wide issuer (``{base}/issuer``)
remains for credentials issued before organisations; the organisation migrated from it
(``legacy``) also accepts that identity and its key URLs, so those credentials still verify.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from web.credentials import data_integrity, vc_jwt
from web.credentials.documents import CREDENTIALS_V2, OB_V3P0
from web.credentials.keys import KeyRing, PublicKey
from web.credentials.ob3 import issuer_profile
from web.settings import Settings

MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"
DID_CONTEXT = "https://www.w3.org/ns/did/v1"
JWK_CONTEXT = "https://w3id.org/security/jwk/v1"


def did_web(base_url: str, *path: str) -> str:
    """The path-based did:web of ``{base_url}/{path...}`` (its document is ``.../did.json``).

    The host's port is percent-encoded (``%3A``); each path segment becomes a ``:`` segment.
    """
    parts = urlsplit(base_url)
    host = quote(parts.netloc, safe="")
    segments = [s for s in parts.path.split("/") if s] + list(path)
    return ":".join(["did", "web", host, *(quote(s, safe="") for s in segments)])


@dataclass
class Issuer:
    """The service as an issuer of credentials."""

    base_url: str
    name: str
    keys: KeyRing
    #: the organisation's short name; None for the service-wide issuer
    slug: str | None = None
    #: whether it also answers to the service-wide identity ({base}/issuer, its key URLs)
    legacy: bool = False
    url: str = ""
    email: str = ""
    image: str = ""
    description: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> Issuer:
        """The service-wide issuer (keys under ``SKILLGAUGE_DATA_DIR/keys``)."""
        return cls(
            base_url=settings.base_url,
            name=settings.issuer_name,
            keys=KeyRing(Path(settings.data_dir) / "keys"),
        )

    @classmethod
    def for_org(cls, settings: Settings, org: Any, keys: KeyRing | None = None) -> Issuer:
        """The issuer of an organisation (``web.store.orgs.Organisation``), its own keys."""
        return cls(
            base_url=settings.base_url,
            name=org.name,
            keys=keys or KeyRing(Path(settings.data_dir) / org.keys_dir),
            slug=org.slug,
            legacy=bool(org.legacy_issuer),
            url=org.url,
            email=org.email,
            image=org.image,
            description=org.description,
        )

    # -- URLs ----------------------------------------------------------------------------

    @property
    def service_id(self) -> str:
        """The service-wide issuer's id (its Profile's URL)."""
        return f"{self.base_url}/issuer"

    @property
    def id(self) -> str:
        """The issuer's id: an organisation's did:web, else the service's Profile URL."""
        if self.slug is None:
            return self.service_id
        return did_web(self.base_url, "orgs", self.slug)

    @property
    def profile_url(self) -> str:
        """Where the issuer's Profile is served."""
        return self.service_id if self.slug is None else f"{self.base_url}/orgs/{self.slug}"

    def accepts(self, issuer_id: str | None) -> bool:
        """Whether a credential naming ``issuer_id`` names this issuer."""
        return issuer_id == self.id or (self.legacy and issuer_id == self.service_id)

    def key_url(self, kid: str) -> str:
        """The verification method id of a key (``<did>#<kid>`` for an organisation)."""
        if self.slug is None:
            return f"{self.base_url}/issuer/keys/{kid}"
        return f"{self.id}#{kid}"

    def credential_url(self, credential_id: str) -> str:
        """A credential's id."""
        return f"{self.base_url}/credentials/{credential_id}"

    def evidence_url(self, credential_id: str) -> str:
        """The public session summary linked as a credential's evidence."""
        return f"{self.base_url}/credentials/{credential_id}/evidence"

    def achievement_url(self, achievement_id: str) -> str:
        """An achievement's id."""
        return f"{self.base_url}/achievements/{achievement_id}"

    def achievement_image_url(self, achievement_id: str) -> str:
        """The badge image drawn for an achievement without its own image."""
        return f"{self.base_url}/achievements/{achievement_id}/image.svg"

    def status_list_url(self, list_id: int) -> str:
        """A status list credential's id."""
        return f"{self.base_url}/status-lists/{list_id}"

    def local_path(self, url: str) -> str | None:
        """The path of ``url`` if it is one of this service's URLs, else None."""
        if url == self.base_url or url.startswith(self.base_url + "/"):
            return url[len(self.base_url) :] or "/"
        return None

    # -- documents -----------------------------------------------------------------------

    def embedded_profile(self) -> dict[str, Any]:
        """The Profile as credentials embed it."""
        profile = issuer_profile(
            issuer_id=self.id, name=self.name, url=self.url or self.profile_url
        )
        if self.email:
            profile["email"] = self.email
        if self.image:
            profile["image"] = {"id": self.image, "type": "Image"}
        if self.description:
            profile["description"] = self.description
        return profile

    def did_document(self) -> dict[str, Any]:
        """The DID document served at ``{base}/orgs/{slug}/did.json`` (every published key).

        Ed25519 keys are Multikeys (Data Integrity), P-256 keys JsonWebKeys (VC-JWT); both are
        assertion methods, so a verifier resolving the did:web finds every key it signed with.
        """
        methods: list[dict[str, Any]] = []
        for key in self.keys.published():
            if key.ed25519 is not None:
                methods.append(
                    {
                        "id": self.key_url(key.kid),
                        "type": "Multikey",
                        "controller": self.id,
                        "publicKeyMultibase": key.kid,
                    }
                )
            else:
                jwk = {k: v for k, v in key.jwk().items() if k not in ("kid", "use")}
                methods.append(
                    {
                        "id": self.key_url(key.kid),
                        "type": "JsonWebKey",
                        "controller": self.id,
                        "publicKeyJwk": jwk,
                    }
                )
        return {
            "@context": [DID_CONTEXT, MULTIKEY_CONTEXT, JWK_CONTEXT],
            "id": self.id,
            "alsoKnownAs": [self.profile_url],
            "verificationMethod": methods,
            "assertionMethod": [m["id"] for m in methods],
        }

    def key_document(self, key: PublicKey) -> dict[str, Any]:
        """One key: a Multikey for Ed25519 (Data Integrity), a JWK for P-256 (VC-JWT)."""
        if key.ed25519 is not None:
            return {
                "@context": MULTIKEY_CONTEXT,
                "id": self.key_url(key.kid),
                "type": "Multikey",
                "controller": self.id,
                "publicKeyMultibase": key.kid,
                "status": "active" if key.active else "retired",
            }
        return {**key.jwk(), "status": "active" if key.active else "retired"}

    def profile_document(self) -> dict[str, Any]:
        """The issuer Profile served at :attr:`id`, with every published key."""
        keys = self.keys.published()
        return {
            "@context": [CREDENTIALS_V2, OB_V3P0],
            **self.embedded_profile(),
            "description": self.description
            or f"{self.name} issues Open Badges 3.0 credentials for passed adaptive assessments.",
            "verificationMethod": [self.key_document(k) for k in keys if k.ed25519 is not None],
            "assertionMethod": [self.key_url(k.kid) for k in keys if k.ed25519 is not None],
            "jwks": f"{self.profile_url}/keys",
        }

    # -- signing and key resolution -------------------------------------------------------

    def sign(self, credential: dict[str, Any], created: datetime) -> tuple[dict[str, Any], str]:
        """The credential with an ``eddsa-rdfc-2022`` proof, and as an ES256 VC-JWT."""
        active = self.keys.active()
        secured = data_integrity.sign(
            credential, active.ed25519, self.key_url(active.ed25519_kid), created
        )
        token = vc_jwt.encode(credential, active.p256, self.key_url(active.p256_kid))
        return secured, token

    def sign_data_integrity(self, document: dict[str, Any], created: datetime) -> dict[str, Any]:
        """``document`` with an ``eddsa-rdfc-2022`` proof (status list credentials)."""
        active = self.keys.active()
        return data_integrity.sign(
            document, active.ed25519, self.key_url(active.ed25519_kid), created
        )

    def published_key(self, url: str) -> PublicKey | None:
        """The published key of THIS issuer a verification method / ``kid`` URL names.

        A key of another issuer is None here, even when it is on this service.
        """
        own = f"{self.id}#"
        if self.slug is not None and url.startswith(own):
            return self.keys.find(url[len(own) :])
        prefix = f"{self.base_url}/issuer/keys/"
        if (self.slug is None or self.legacy) and url.startswith(prefix):
            return self.keys.find(url[len(prefix) :])
        return None

    def resolve_ed25519(self, url: str) -> Ed25519PublicKey | None:
        """A trusted Ed25519 key by verification method."""
        key = self.published_key(url)
        return None if key is None else key.ed25519

    def resolve_p256(self, url: str) -> ec.EllipticCurvePublicKey | None:
        """A trusted P-256 key by ``kid``."""
        key = self.published_key(url)
        return None if key is None else key.p256
