"""The published test vectors reproduce exactly: W3C eddsa-rdfc-2022, 1EdTech OB 3.0, the
Standard Webhooks signature, and the bundled context is the 1EdTech file byte for byte."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.credentials.specs import SPECS, spec_json, spec_text
from web.credentials import data_integrity
from web.credentials.documents import (
    CONTEXTS,
    canonicalize,
    default_loader,
    loader_with_examples,
)
from web.credentials.errors import CanonicalizationError
from web.credentials.multibase import decode_base58btc, ed25519_from_multikey, ed25519_multikey

W3C = "vc-di-eddsa/eddsa-rdfc-2022/"


def w3c_private_key() -> Ed25519PrivateKey:
    raw = decode_base58btc(spec_json("vc-di-eddsa/keyPair.json")["privateKeyMultibase"])
    assert raw[:2] == b"\x80\x26"  # multicodec ed25519-priv
    return Ed25519PrivateKey.from_private_bytes(raw[2:])


def test_w3c_eddsa_rdfc_2022_vector() -> None:
    loader = loader_with_examples()
    unsigned = spec_json("vc-di-eddsa/unsigned.json")
    options = spec_json(W3C + "proofConfigDataInt.json")
    data = data_integrity.hash_data(unsigned, options, loader)
    assert data.canonical_document == spec_text(W3C + "canonDocDataInt.txt")
    assert data.canonical_proof_config == spec_text(W3C + "proofCanonDataInt.txt")
    assert data.combined.hex() == spec_text(W3C + "combinedHashDataInt.txt").strip()
    key = w3c_private_key()
    public = spec_json("vc-di-eddsa/keyPair.json")["publicKeyMultibase"]
    assert ed25519_multikey(key.public_key().public_bytes_raw()) == public
    options_only = {k: v for k, v in options.items() if k != "@context"}
    proof = data_integrity.create_proof(unsigned, key, options_only, loader)
    assert proof["proofValue"] == spec_text(W3C + "sigBTC58DataInt.txt").strip()
    signed = spec_json(W3C + "signedDataInt.json")
    assert {**unsigned, "proof": proof} == signed
    check = data_integrity.verify(
        signed,
        lambda method: key.public_key() if method == options["verificationMethod"] else None,
        loader,
    )
    assert check.ok, check.reason


def _ob3_vector() -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """The credential, proof and keys from the 1EdTech page (its JSON blocks, parsed)."""
    html = spec_text("ob3/linked-data-proof-ob.html")
    hexes = re.findall(r">\s*([0-9a-f]{64,128})</code", html)
    public_hex, private_hex = hexes[0], hexes[1]
    signed_block = html[html.index("Signed credential") :]
    start = signed_block.index("{")
    end = signed_block.rindex("}") + 1
    signed = json.loads(signed_block[start:end])
    proof = signed["proof"]
    credential = {k: v for k, v in signed.items() if k != "proof"}
    return credential, proof, {"public": public_hex, "private": private_hex}


def test_openbadges_3_eddsa_vector() -> None:
    credential, proof, keys = _ob3_vector()
    data = data_integrity.hash_data(credential, proof, default_loader())
    assert data.canonical_document == spec_text("ob3/testvector-document-canon.txt")
    assert data.canonical_proof_config == spec_text("ob3/testvector-proof-canon.txt")
    assert (
        hashlib.sha256(data.canonical_document.encode()).hexdigest()
        == "87f65a76d40146205e3b3e06cb0fbd153f97f9ce70372390f52566bb7f9e0773"
    )
    assert (
        hashlib.sha256(data.canonical_proof_config.encode()).hexdigest()
        == "d34009cea0dbc1ca941e09dc01c8c9d3e3ce3c5b853f67ee44698dcea10f5d19"
    )
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(keys["private"][:64]))
    assert key.public_key().public_bytes_raw().hex() == keys["public"]
    assert ed25519_from_multikey(proof["verificationMethod"].split("#")[1]) == bytes.fromhex(
        keys["public"]
    )
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    made = data_integrity.create_proof(credential, key, options)
    assert made["proofValue"] == proof["proofValue"]
    assert made["proofValue"] == (
        "z5x9aCBYovW3CQCbKdNyhEm7ffYSw1YpEdPywQJoNbzDD2gkzQDKJ1sYKJaWvqZtkMtSbz35HcbgXVEDYHxCzgkCr"
    )
    signed = {**credential, "proof": proof}
    assert data_integrity.verify(signed, lambda _m: key.public_key()).ok
    signed["name"] = "Teamwork Badge (edited)"
    check = data_integrity.verify(signed, lambda _m: key.public_key())
    assert not check.ok
    assert "changed after signing" in check.reason


def test_bundled_ob3_context_is_the_1edtech_file() -> None:
    assert (CONTEXTS / "ob-v3p0-context-3.0.3.json").read_bytes() == (
        SPECS / "ob3" / "context-3.0.3.json"
    ).read_bytes()
    assert (CONTEXTS / "credentials-examples-v2.json").read_bytes() == (
        SPECS / "vc-di-eddsa" / "context-credentials-examples-v2.json"
    ).read_bytes()


def test_the_loader_refuses_every_other_url_and_never_fetches() -> None:
    unsigned = spec_json("vc-di-eddsa/unsigned.json")
    # The examples context is served only by the vector loader, never by the default one,
    # even after the vector loader resolved it (no shared cache between loaders).
    canonicalize(unsigned, loader_with_examples())
    with pytest.raises(CanonicalizationError, match="examples/v2"):
        canonicalize(unsigned)
    remote = {
        **unsigned,
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://evil.example/ctx"],
    }
    with pytest.raises(CanonicalizationError, match=r"evil\.example"):
        canonicalize(remote)


def test_properties_that_would_go_unsigned_are_refused() -> None:
    credential, _, _ = _ob3_vector()
    credential["@unknownKeyword"] = "not covered by any signature"
    with pytest.raises(CanonicalizationError, match="unsigned"):
        canonicalize(credential)


def test_proof_created_is_an_xsd_datetime() -> None:
    options = data_integrity.proof_options(
        "https://x.example/k", datetime(2024, 5, 6, 7, 8, 9, 999, tzinfo=UTC)
    )
    assert options["created"] == "2024-05-06T07:08:09Z"
