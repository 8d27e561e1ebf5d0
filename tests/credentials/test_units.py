"""Keys (creation, permissions, rotation), the status list encoding, the address policy,
Retry-After parsing, and secret sealing."""

from __future__ import annotations

import base64
import contextlib
import gzip
import ipaddress
import os
import socket
import stat
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.session import CompetencyResult, SessionResult
from web.credentials import data_integrity, ob3, status_list, vc_jwt
from web.credentials.issuer import Issuer
from web.credentials.keys import KeyRing
from web.credentials.verify import verify
from web.errors import ConfigurationError
from web.settings import load_settings
from web.webhooks.secret_box import seal, unseal
from web.webhooks.ssrf import AddressRefusedError, address_allowed, check_url, resolve
from web.webhooks.worker import Sender, parse_retry_after

BASE = "https://badges.example.org"


def _result() -> SessionResult:
    return SessionResult(
        competencies=(
            CompetencyResult(
                competency="stats",
                theta=1.2,
                se=0.3,
                items=9,
                cut_score=0.0,
                classification="pass",
                confidence=0.99,
            ),
        ),
        items=9,
        pretest_items=0,
        finished=True,
        stop_reason="every skill was measured precisely enough",
    )


def _credential(issuer: Issuer, when: datetime) -> dict[str, object]:
    spec = ob3.AchievementSpec(name="Stats", description="d", criteria="c")
    achievement = ob3.achievement_document(
        spec=spec,
        achievement_url=issuer.achievement_url("a1"),
        image_url=issuer.achievement_image_url("a1"),
        competencies=[("stats", "Statistics", 0.0)],
    )
    return ob3.build_credential(
        credential_url=issuer.credential_url("c1"),
        issuer=issuer.embedded_profile(),
        achievement=achievement,
        recipient=ob3.Recipient(name="Grace", email="grace@example.org", did=None, salt="s"),
        result=_result(),
        names={"stats": "Statistics"},
        issued_at=when,
        valid_until=when + timedelta(days=1),
        status=status_list.entry(issuer.status_list_url(1), 7),
        evidence_url=issuer.evidence_url("c1"),
    )


def _empty_list(issuer: Issuer, revoked: list[int]) -> dict[str, object]:
    document = status_list.list_credential(
        url=issuer.status_list_url(1),
        issuer=issuer.embedded_profile(),
        encoded=status_list.encode(revoked),
        valid_from=datetime.now(UTC),
    )
    return issuer.sign_data_integrity(document, datetime.now(UTC))


def test_keys_are_created_private_and_rotation_keeps_old_credentials_verifiable(
    tmp_path: Path,
) -> None:
    issuer = Issuer(base_url=BASE, name="Example", keys=KeyRing(tmp_path / "keys"))
    issuer.keys.ensure()
    directory = tmp_path / "keys"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    private = sorted(
        p for p in directory.iterdir() if p.name.endswith(".pem") and ".pub" not in p.name
    )
    assert len(private) == 2
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in private)
    now = datetime.now(UTC).replace(microsecond=0)
    old_doc, old_jwt = issuer.sign(_credential(issuer, now), now)
    old_kid = issuer.keys.active().ed25519_kid
    retired = issuer.keys.rotate()
    assert old_kid in retired
    assert issuer.keys.active().ed25519_kid != old_kid
    published = {k.kid: k for k in issuer.keys.published()}
    assert published[old_kid].retired is not None and len(published) == 4
    assert not any(p.exists() for p in private)  # retired private keys are gone
    lists = {issuer.status_list_url(1): _empty_list(issuer, [])}
    for given_ in (old_doc, old_jwt):
        report = verify(given_, issuer=issuer, status_lookup=lists.get, now=now)
        assert report.verified, report.reason
    new_doc, _ = issuer.sign(_credential(issuer, now), now)
    assert new_doc["proof"][0]["verificationMethod"].endswith(issuer.keys.active().ed25519_kid)
    # A group-readable private key is refused rather than used.
    fresh = KeyRing(tmp_path / "other")
    fresh.ensure()
    pem = next(p for p in (tmp_path / "other").iterdir() if p.name == "ed25519-1.pem")
    os.chmod(pem, 0o640)
    with pytest.raises(Exception, match="readable by others"):
        KeyRing(tmp_path / "other").active()


def test_verification_reports_revoked_expired_and_foreign_issuers(tmp_path: Path) -> None:
    issuer = Issuer(base_url=BASE, name="Example", keys=KeyRing(tmp_path / "keys"))
    now = datetime.now(UTC).replace(microsecond=0)
    signed, token = issuer.sign(_credential(issuer, now), now)
    revoked_lists = {issuer.status_list_url(1): _empty_list(issuer, [7])}
    report = verify(signed, issuer=issuer, status_lookup=revoked_lists.get, now=now)
    assert report.status == "revoked" and not report.verified
    lists = {issuer.status_list_url(1): _empty_list(issuer, [6, 8])}
    assert verify(token, issuer=issuer, status_lookup=lists.get, now=now).verified
    later = now + timedelta(days=2)
    expired = verify(signed, issuer=issuer, status_lookup=lists.get, now=later)
    assert expired.status == "expired" and "expired" in expired.reason
    other = Issuer(
        base_url="https://elsewhere.example", name="Other", keys=KeyRing(tmp_path / "k2")
    )
    foreign = verify(signed, issuer=other, status_lookup=lists.get, now=now)
    assert foreign.status == "invalid" and "not one of this issuer's keys" in foreign.reason
    # A forged status list (signed by someone else) does not count.
    forged = {
        issuer.status_list_url(1): other.sign_data_integrity(
            dict(lists[issuer.status_list_url(1)]), now
        )
    }
    bad = verify(signed, issuer=issuer, status_lookup=forged.get, now=now)
    assert bad.status == "invalid" and "status" in bad.reason.lower()


@given(st.sets(st.integers(min_value=0, max_value=status_list.LIST_SIZE - 1), max_size=50))
def test_status_list_round_trip(revoked: set[int]) -> None:
    bits = status_list.decode(status_list.encode(revoked))
    assert len(bits) == status_list.LIST_SIZE // 8
    for index in list(revoked)[:10]:
        assert status_list.bit(bits, index) == 1
    assert sum(bin(b).count("1") for b in bits) == len(revoked)


def test_status_list_bit_order_is_the_specifications() -> None:
    encoded = status_list.encode([0, 9])
    assert encoded.startswith("u") and "=" not in encoded
    raw = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))
    assert raw[0] == 0b1000_0000 and raw[1] == 0b0100_0000  # index 0 is the left-most bit
    with pytest.raises(status_list.StatusListError):
        status_list.bit(raw, status_list.LIST_SIZE)
    bomb = "u" + base64.urlsafe_b64encode(
        gzip.compress(b"\0" * (64 * status_list.LIST_SIZE + 1))
    ).decode().rstrip("=")
    with pytest.raises(status_list.StatusListError, match="larger"):
        status_list.decode(bomb)


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("93.184.216.34", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
    ],
)
def test_address_policy(address: str, allowed: bool) -> None:
    assert address_allowed(ipaddress.ip_address(address), allow_private=False) is allowed


def test_address_policy_when_private_is_allowed() -> None:
    assert address_allowed(ipaddress.ip_address("127.0.0.1"), allow_private=True)
    assert not address_allowed(ipaddress.ip_address("0.0.0.0"), allow_private=True)
    assert not address_allowed(ipaddress.ip_address("ff02::1"), allow_private=True)


def test_urls_are_checked_and_resolved_names_pinned() -> None:
    for bad in ("ftp://x.example/", "http://user:pw@x.example/", "https:///nohost"):
        with pytest.raises(AddressRefusedError):
            check_url(bad)
    with pytest.raises(AddressRefusedError, match="may not reach"):
        resolve("http://localhost:8080/hook", allow_private=False)
    target = resolve("http://localhost:8080/hook?x=1", allow_private=True)
    assert target.address.is_loopback
    assert target.host_header == "localhost:8080"
    assert target.connect_url().endswith(":8080/hook?x=1")


def test_retry_after() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120
    assert parse_retry_after("Thu, 01 Jan 2026 00:05:00 GMT", now) == 300
    assert parse_retry_after("9999999", now) == 24 * 3600
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


def test_secrets_are_sealed_and_bound_to_the_secret_key() -> None:
    sealed = seal("k" * 40, "whsec_abc")
    assert "whsec_abc" not in sealed
    assert unseal("k" * 40, sealed) == "whsec_abc"
    with pytest.raises(ConfigurationError, match="SKILLGAUGE_SECRET_KEY changed"):
        unseal("j" * 40, sealed)


def test_jwt_claims_mirror_the_credential(tmp_path: Path) -> None:
    issuer = Issuer(base_url=BASE, name="Example", keys=KeyRing(tmp_path / "keys"))
    now = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    credential = _credential(issuer, now)
    _, token = issuer.sign(credential, now)
    header = vc_jwt.unverified_header(token)
    assert header["alg"] == "ES256" and header["typ"] == "vc+jwt"
    assert header["kid"] == issuer.key_url(issuer.keys.active().p256_kid)
    decoded = vc_jwt.decode(token, issuer.resolve_p256)
    assert decoded.credential == credential
    claims = vc_jwt.claims_for(credential)
    assert claims["iss"] == issuer.id and claims["jti"] == issuer.credential_url("c1")
    assert claims["nbf"] == int(now.timestamp()) and claims["exp"] == claims["nbf"] + 86400


def test_identity_hash_is_the_open_badges_form() -> None:
    assert ob3.identity_hash("a@example.org", "salt") == (
        "sha256$" + __import__("hashlib").sha256(b"a@example.orgsalt").hexdigest()
    )


def test_data_integrity_rejects_wrong_suite_and_purpose(tmp_path: Path) -> None:
    issuer = Issuer(base_url=BASE, name="Example", keys=KeyRing(tmp_path / "keys"))
    now = datetime.now(UTC)
    signed, _ = issuer.sign(_credential(issuer, now), now)
    for field, value, words in (
        ("cryptosuite", "ecdsa-rdfc-2019", "is not DataIntegrityProof/eddsa-rdfc-2022"),
        ("proofPurpose", "authentication", "purpose"),
    ):
        changed = {**signed, "proof": [{**signed["proof"][0], field: value}]}
        check = data_integrity.verify(changed, issuer.resolve_ed25519)
        assert not check.ok and words in check.reason
    assert not data_integrity.verify({**signed, "proof": None}, issuer.resolve_ed25519).ok


def test_sender_connects_to_the_checked_address_keeping_host_and_sni() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503, headers={"retry-after": "30"}, text="busy " * 400)

    sender = Sender(timeout=5, allow_private=True, transport=httpx.MockTransport(handler))
    now = datetime.now(UTC)
    outcome = sender.send("https://localhost:8443/hooks?a=1", {"webhook-id": "msg_1"}, b"{}", now)
    (request,) = seen
    assert ipaddress.ip_address(request.url.host).is_loopback  # the resolved, checked address
    assert request.headers["host"] == "localhost:8443"
    assert request.extensions["sni_hostname"] == "localhost"
    assert request.url.raw_path == b"/hooks?a=1"
    assert outcome.status_code == 503 and outcome.retry_after == 30
    assert outcome.excerpt is not None and len(outcome.excerpt) == 500
    refused = Sender(timeout=5, allow_private=False, transport=httpx.MockTransport(handler))
    blocked = refused.send("http://localhost:8443/hooks", {}, b"{}", now)
    assert blocked.status_code is None and blocked.error and blocked.error.startswith("refused")
    assert len(seen) == 1  # nothing was sent


def _trickling_receiver(lines: int, every: float) -> tuple[int, threading.Thread]:
    """A receiver that answers 200 but sends its header one line every ``every`` seconds."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        with conn, listener:
            request = b""
            while not request.endswith(b"\r\n\r\n{}"):  # the whole request, body "{}"
                chunk = conn.recv(65536)
                if not chunk:
                    return
                request += chunk
            with contextlib.suppress(OSError):  # the sender hung up: that is the point
                conn.sendall(b"HTTP/1.1 200 OK\r\n")
                for i in range(lines):
                    time.sleep(every)
                    conn.sendall(f"x-slow-{i}: 1\r\n".encode())
                conn.sendall(b"content-length: 2\r\n\r\nok")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return port, thread


def test_the_timeout_bounds_the_whole_request_not_each_read() -> None:
    # Each header line arrives well within the 1 s timeout; the whole answer takes 6 s.
    port, thread = _trickling_receiver(lines=12, every=0.5)
    sender = Sender(timeout=1.0, allow_private=True)
    outcome = sender.send(f"http://127.0.0.1:{port}/hooks", {}, b"{}", datetime.now(UTC))
    assert outcome.status_code is None and not outcome.delivered
    assert outcome.error == "timed out after 1 s"
    thread.join(timeout=30)
    sender.close()


def test_a_prompt_receiver_on_a_fresh_connection_is_delivered() -> None:
    port, thread = _trickling_receiver(lines=1, every=0.0)
    sender = Sender(timeout=5.0, allow_private=True)
    outcome = sender.send(f"http://127.0.0.1:{port}/hooks", {}, b"{}", datetime.now(UTC))
    assert outcome.delivered and outcome.excerpt == "ok"
    thread.join(timeout=30)
    sender.close()


def test_the_lease_must_outlast_a_send() -> None:
    env = {"SKILLGAUGE_DATABASE_URL": "sqlite:///x.db", "SKILLGAUGE_SECRET_KEY": "k" * 40}
    with pytest.raises(ConfigurationError, match=r"SKILLGAUGE_WEBHOOK_LEASE_SECONDS: .* \(120\)"):
        load_settings({**env, "SKILLGAUGE_WEBHOOK_TIMEOUT_SECONDS": "60"})
    settings = load_settings(
        {
            **env,
            "SKILLGAUGE_WEBHOOK_TIMEOUT_SECONDS": "60",
            "SKILLGAUGE_WEBHOOK_LEASE_SECONDS": "120",
        }
    )
    assert settings.webhook_lease_seconds == 120
