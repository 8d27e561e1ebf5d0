"""Data Integrity proofs with the ``eddsa-rdfc-2022`` cryptosuite.

W3C "Data Integrity EdDSA Cryptosuites v1.0", section 3.3 (eddsa-rdfc-2022):

1. transform: the document without ``proof`` is canonicalized with RDFC-1.0;
2. proof configuration: the proof options without ``proofValue``, carrying the document's
   ``@context``, canonicalized the same way;
3. hash: ``SHA-256(canonical proof configuration) || SHA-256(canonical document)`` (64 bytes);
4. sign the 64 bytes with Ed25519 (RFC 8032); ``proofValue`` is ``z`` + base58btc(signature).

Verification repeats 1-3 from the secured document and checks the signature.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from web.credentials.documents import ClosedLoader, canonicalize
from web.credentials.errors import CanonicalizationError
from web.credentials.multibase import MultibaseError, decode_base58btc, encode_base58btc

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-rdfc-2022"


@dataclass(frozen=True)
class HashData:
    """The intermediate values of the algorithm (what the test vectors publish)."""

    canonical_proof_config: str
    canonical_document: str

    @property
    def combined(self) -> bytes:
        """``SHA-256(proof config) || SHA-256(document)``."""
        return (
            hashlib.sha256(self.canonical_proof_config.encode("utf-8")).digest()
            + hashlib.sha256(self.canonical_document.encode("utf-8")).digest()
        )


def xsd_datetime(moment: datetime) -> str:
    """An ``xsd:dateTimeStamp`` in UTC with second precision, e.g. ``2024-01-02T03:04:05Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def hash_data(
    document: Mapping[str, Any], proof_options: Mapping[str, Any], loader: ClosedLoader | None
) -> HashData:
    """Canonicalize the document (without ``proof``) and the proof configuration."""
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    config = {k: v for k, v in proof_options.items() if k != "proofValue"}
    config["@context"] = copy.deepcopy(unsecured.get("@context"))
    return HashData(
        canonical_proof_config=canonicalize(config, loader),
        canonical_document=canonicalize(unsecured, loader),
    )


def proof_options(verification_method: str, created: datetime) -> dict[str, Any]:
    """The proof options of an assertion proof made now by ``verification_method``."""
    return {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": xsd_datetime(created),
        "verificationMethod": verification_method,
        "proofPurpose": "assertionMethod",
    }


def create_proof(
    document: Mapping[str, Any],
    key: Ed25519PrivateKey,
    options: Mapping[str, Any],
    loader: ClosedLoader | None = None,
) -> dict[str, Any]:
    """The proof object (options plus ``proofValue``) over ``document``."""
    data = hash_data(document, options, loader)
    signature = key.sign(data.combined)
    return {**options, "proofValue": encode_base58btc(signature)}


def sign(
    document: Mapping[str, Any],
    key: Ed25519PrivateKey,
    verification_method: str,
    created: datetime,
    loader: ClosedLoader | None = None,
) -> dict[str, Any]:
    """A copy of ``document`` secured with one proof.

    The proof is given as a list: Open Badges 3.0's JSON Schema requires an array.
    """
    proof = create_proof(document, key, proof_options(verification_method, created), loader)
    secured = dict(copy.deepcopy(document))
    secured["proof"] = [proof]
    return secured


@dataclass(frozen=True)
class ProofCheck:
    """The outcome of checking one document's proofs."""

    ok: bool
    reason: str
    verification_method: str | None = None
    created: str | None = None


KeyResolver = Callable[[str], Ed25519PublicKey | None]


def verify(
    document: Mapping[str, Any], resolve: KeyResolver, loader: ClosedLoader | None = None
) -> ProofCheck:
    """Check the ``eddsa-rdfc-2022`` proof of a secured document.

    ``resolve`` maps a ``verificationMethod`` to a trusted public key (None: not a key we
    trust). The document passes if one of its proofs of this cryptosuite is an assertion
    proof by a trusted key and its signature is valid; the reason says why not otherwise.
    """
    proofs = document.get("proof")
    if proofs is None:
        return ProofCheck(False, "the credential carries no proof")
    candidates = proofs if isinstance(proofs, list) else [proofs]
    reasons = []
    for proof in candidates:
        if not isinstance(proof, dict):
            reasons.append("a proof is not an object")
            continue
        if proof.get("type") != PROOF_TYPE or proof.get("cryptosuite") != CRYPTOSUITE:
            reasons.append(
                f"proof type {proof.get('type')!r}/{proof.get('cryptosuite')!r} is not "
                f"{PROOF_TYPE}/{CRYPTOSUITE}"
            )
            continue
        if proof.get("proofPurpose") != "assertionMethod":
            reasons.append("the proof's purpose is not assertionMethod")
            continue
        method = proof.get("verificationMethod")
        value = proof.get("proofValue")
        if not isinstance(method, str) or not isinstance(value, str):
            reasons.append("the proof lacks verificationMethod or proofValue")
            continue
        key = resolve(method)
        if key is None:
            reasons.append(f"the signing key {method} is not one of this issuer's keys")
            continue
        try:
            signature = decode_base58btc(value)
            data = hash_data(document, proof, loader)
        except MultibaseError as exc:
            reasons.append(f"proofValue: {exc}")
            continue
        except CanonicalizationError as exc:
            reasons.append(exc.detail)
            continue
        try:
            key.verify(signature, data.combined)
        except InvalidSignature:
            reasons.append("the signature does not match the content: it was changed after signing")
            continue
        return ProofCheck(True, "the signature is valid", method, proof.get("created"))
    return ProofCheck(False, "; ".join(reasons) or "no usable proof")
