"""The issuer: its public URLs, its Profile, its keys, and signing in both formats.

Every URL a credential carries is derived from ``SKILLGAUGE_BASE_URL``:

==========================================  ===============================================
``{base}/issuer``                           the issuer Profile (JSON-LD), listing its keys
``{base}/issuer/keys``                      every published public key as a JWK set
``{base}/issuer/keys/{kid}``                one key: a Multikey (Ed25519) or a JWK (P-256)
``{base}/achievements/{id}``                an Achievement (JSON-LD)
``{base}/credentials/{id}``                 a credential (JSON-LD; a page for browsers)
``{base}/status-lists/{n}``                 a Bitstring Status List credential
==========================================  ===============================================
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from web.credentials import data_integrity, vc_jwt
from web.credentials.documents import CREDENTIALS_V2, OB_V3P0
from web.credentials.keys import KeyRing, PublicKey
from web.credentials.ob3 import issuer_profile
from web.settings import Settings

MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"


@dataclass
class Issuer:
    """The service as an issuer of credentials."""

    base_url: str
    name: str
    keys: KeyRing

    @classmethod
    def from_settings(cls, settings: Settings) -> Issuer:
        """The issuer of this deployment (keys under ``SKILLGAUGE_DATA_DIR/keys``)."""
        return cls(
            base_url=settings.base_url,
            name=settings.issuer_name,
            keys=KeyRing(Path(settings.data_dir) / "keys"),
        )

    # -- URLs ----------------------------------------------------------------------------

    @property
    def id(self) -> str:
        """The issuer's id (its Profile's URL)."""
        return f"{self.base_url}/issuer"

    def key_url(self, kid: str) -> str:
        """The URL (verification method id) of a key."""
        return f"{self.base_url}/issuer/keys/{kid}"

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
        return issuer_profile(issuer_id=self.id, name=self.name, url=self.base_url)

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
            "description": f"{self.name} issues Open Badges 3.0 credentials for passed "
            "adaptive assessments.",
            "verificationMethod": [self.key_document(k) for k in keys if k.ed25519 is not None],
            "assertionMethod": [self.key_url(k.kid) for k in keys if k.ed25519 is not None],
            "jwks": f"{self.base_url}/issuer/keys",
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
        """The published key a verification method / ``kid`` URL names."""
        prefix = f"{self.base_url}/issuer/keys/"
        if not url.startswith(prefix):
            return None
        return self.keys.find(url[len(prefix) :])

    def resolve_ed25519(self, url: str) -> Ed25519PublicKey | None:
        """A trusted Ed25519 key by verification method."""
        key = self.published_key(url)
        return None if key is None else key.ed25519

    def resolve_p256(self, url: str) -> ec.EllipticCurvePublicKey | None:
        """A trusted P-256 key by ``kid``."""
        key = self.published_key(url)
        return None if key is None else key.p256
