"""did:key decoding: the W3C CCG did:key test vectors, round trips, and located refusals."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from hypothesis import given, settings
from hypothesis import strategies as st

from web.credentials.multibase import decode_base58btc, encode_base58btc
from web.did_control import DidControlError, _claims
from web.did_key import DidKeyError, did_of, public_key, resolve

# "The did:key Method v0.7" (W3C CCG), test vectors ed25519-x25519.json and nist-curves.json:
# the DID and the publicKeyJwk its DID document gives.
VECTORS = [
    (
        "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
        "EdDSA",
        {"kty": "OKP", "crv": "Ed25519", "x": "O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik"},
    ),
    (
        "did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169",
        "ES256",
        {
            "kty": "EC",
            "crv": "P-256",
            "x": "fyNYMN0976ci7xqiSdag3buk-ZCwgXU4kz9XNkBlNUI",
            "y": "hW2ojTNfH7Jbi8--CJUo3OCbH3y5n91g-IMA9MLMbTU",
        },
    ),
    (
        "did:key:zDnaerx9CtbPJ1q36T5Ln5wYt3MQYeGRG5ehnPAmxcf5mDZpv",
        "ES256",
        {
            "kty": "EC",
            "crv": "P-256",
            "x": "igrFmi0whuihKnj9R3Om1SoMph72wUGeFaBbzG2vzns",
            "y": "efsX5b10x8yjyrj4ny3pGfLcY7Xby1KzgqOdqnsrJIM",
        },
    ),
]


@pytest.mark.parametrize(("did", "alg", "jwk"), VECTORS)
def test_the_published_vectors_decode_to_their_keys(
    did: str, alg: str, jwk: dict[str, str]
) -> None:
    resolved = resolve(did)
    assert resolved.algorithm == alg
    multikey = did.removeprefix("did:key:")
    assert resolved.verification_method == f"{did}#{multikey}"
    assert public_key(resolved).as_dict() == jwk


def test_multicodec_prefixes_are_the_did_key_specs() -> None:
    ed = ed25519.Ed25519PrivateKey.generate().public_key()
    p256 = ec.generate_private_key(ec.SECP256R1()).public_key()
    ed_bytes = decode_base58btc(did_of(ed).removeprefix("did:key:"))
    p_bytes = decode_base58btc(did_of(p256).removeprefix("did:key:"))
    # varint(0xed) = ed 01; varint(0x1200) = 80 24
    assert ed_bytes[:2] == bytes([0xED, 0x01]) and len(ed_bytes) == 34
    assert p_bytes[:2] == bytes([0x80, 0x24]) and len(p_bytes) == 35
    assert did_of(ed).startswith("did:key:z6Mk")
    assert did_of(p256).startswith("did:key:zDn")


@settings(max_examples=40, deadline=None)
@given(st.binary(min_size=32, max_size=32))
def test_any_ed25519_key_round_trips(seed: bytes) -> None:
    key = ed25519.Ed25519PrivateKey.from_private_bytes(seed).public_key()
    did = did_of(key)
    resolved = resolve(did)
    assert resolved.did == did and resolved.algorithm == "EdDSA"
    back = public_key(resolved).get_op_key("verify")
    assert isinstance(back, ed25519.Ed25519PublicKey)
    assert did_of(back) == did


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=1, max_value=2**255))
def test_any_p256_key_round_trips(secret: int) -> None:
    key = ec.derive_private_key(secret, ec.SECP256R1()).public_key()
    did = did_of(key)
    resolved = resolve(did)
    assert resolved.did == did and resolved.algorithm == "ES256"
    back = public_key(resolved).get_op_key("verify")
    assert isinstance(back, ec.EllipticCurvePublicKey)
    assert did_of(back) == did


@pytest.mark.parametrize(
    ("did", "message"),
    [
        ("did:web:example.org", "did:web method is not supported"),
        ("did:example:123", "did:example method is not supported"),
        ("mailto:ada@example.org", "not a DID"),
        ("did:key:6MkiTBz1ymuepAQ4HEH", "must start with 'z'"),
        ("did:key:z0OIl", "not base58btc"),
        (
            "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp#z6Mk",
            "without a path, query or #fragment",
        ),
        # secp256k1 (0xe7): a real did:key, but not a key type this service reads
        ("did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme", "prefix 0xe701"),
        ("did:key:" + encode_base58btc(b"\xed\x01" + b"\x01" * 31), "has 32 bytes"),
        ("did:key:" + encode_base58btc(b"\x80\x24" + b"\x05" * 33), "not a point on the curve"),
    ],
)
def test_other_dids_are_refused_with_the_reason(did: str, message: str) -> None:
    with pytest.raises(DidKeyError, match=r"^did: ") as caught:
        resolve(did)
    assert message in str(caught.value)


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.text(max_size=300),
        st.lists(
            st.text(alphabet=st.characters(max_codepoint=127), max_size=60), min_size=3, max_size=3
        ).map(".".join),
    )
)
def test_any_pasted_text_is_refused_with_a_located_reason(token: str) -> None:
    """Whatever is pasted, the check answers with a located refusal, never another error."""
    key = resolve("did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp")
    with pytest.raises(DidControlError) as caught:
        _claims(token, key)
    assert all(p.startswith("jws") for p in caught.value.problems)
