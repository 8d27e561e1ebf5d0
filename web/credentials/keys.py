"""The issuer's signing keys: created on first start, kept outside the database, rotatable.

Layout under ``SKILLGAUGE_DATA_DIR/keys`` (directory mode 0700):

- ``manifest.json``: every key ever used, newest last: id, algorithm, created, retired;
- ``<algorithm>-<n>.pem``: the private key of an active key (PKCS#8, mode 0600);
- ``<algorithm>-<n>.pub.pem``: the public key of every key, active or retired.

Two algorithms are kept: Ed25519 for Data Integrity proofs (``eddsa-rdfc-2022``) and P-256
for VC-JWT (ES256, the one of RS256/ES256 that 1EdTech's validator accepts with short keys).
Rotation makes a new key of each algorithm active and retires the old ones: their private
keys are deleted, their public keys stay published, so every credential signed earlier still
verifies. A key's id is its ``publicKeyMultibase`` (Ed25519) or its RFC 7638 JWK thumbprint
(P-256). Processes notice a rotation by the manifest's modification time.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import msgspec
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from joserfc.jwk import ECKey, OKPKey

from web.credentials.errors import KeyStoreError
from web.credentials.multibase import ed25519_multikey

Algorithm = Literal["Ed25519", "ES256"]
ALGORITHMS: tuple[Algorithm, ...] = ("Ed25519", "ES256")


class KeyEntry(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One key in the manifest."""

    kid: str
    algorithm: Algorithm
    file: str
    created: datetime
    retired: datetime | None = None


class Manifest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The key manifest."""

    keys: list[KeyEntry] = msgspec.field(default_factory=list)


@dataclass(frozen=True)
class PublicKey:
    """A published key: what verifiers need."""

    kid: str
    algorithm: Algorithm
    created: datetime
    retired: datetime | None
    ed25519: Ed25519PublicKey | None
    p256: ec.EllipticCurvePublicKey | None

    @property
    def active(self) -> bool:
        """Whether this key signs new credentials."""
        return self.retired is None

    def jwk(self) -> dict[str, Any]:
        """The public key as a JWK (RFC 7517), with ``kid`` and ``alg``."""
        if self.p256 is not None:
            key = ECKey.import_key(self.p256)
            return {**key.as_dict(private=False), "kid": self.kid, "alg": "ES256", "use": "sig"}
        assert self.ed25519 is not None
        okp = OKPKey.import_key(self.ed25519)
        return {**okp.as_dict(private=False), "kid": self.kid, "alg": "EdDSA", "use": "sig"}


@dataclass(frozen=True)
class ActiveKeys:
    """The private keys that sign now."""

    ed25519_kid: str
    ed25519: Ed25519PrivateKey
    p256_kid: str
    p256: ec.EllipticCurvePrivateKey


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _kid(private: Ed25519PrivateKey | ec.EllipticCurvePrivateKey) -> str:
    if isinstance(private, Ed25519PrivateKey):
        raw = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return ed25519_multikey(raw)
    return str(ECKey.import_key(private.public_key()).thumbprint())


class KeyRing:
    """The key directory of one data directory; safe to share between threads."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._stamp: int | None = None
        self._public: dict[str, PublicKey] = {}
        self._active: ActiveKeys | None = None

    # -- files ---------------------------------------------------------------------------

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """Serialize key creation and rotation across processes (``flock``)."""
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(self.directory, 0o700)
            fd = os.open(self.directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise KeyStoreError(f"cannot use the key directory {self.directory}: {exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    @property
    def _manifest_path(self) -> Path:
        return self.directory / "manifest.json"

    def _read_manifest(self) -> Manifest:
        path = self._manifest_path
        if not path.exists():
            return Manifest()
        try:
            return msgspec.json.decode(path.read_bytes(), type=Manifest)
        except (OSError, msgspec.DecodeError) as exc:
            raise KeyStoreError(f"{path}: {exc}") from None

    def _write_private(self, name: str, data: bytes) -> None:
        path = self.directory / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())

    def _write_public(self, name: str, data: bytes) -> None:
        path = self.directory / name
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)

    def _write_manifest(self, manifest: Manifest) -> None:
        tmp = self.directory / "manifest.json.tmp"
        tmp.write_bytes(msgspec.json.format(msgspec.json.encode(manifest)))
        os.chmod(tmp, 0o644)
        os.replace(tmp, self._manifest_path)

    def _new_key(self, algorithm: Algorithm, serial: int) -> KeyEntry:
        private: Ed25519PrivateKey | ec.EllipticCurvePrivateKey = (
            Ed25519PrivateKey.generate()
            if algorithm == "Ed25519"
            else ec.generate_private_key(ec.SECP256R1())
        )
        stem = f"{algorithm.lower()}-{serial}"
        self._write_private(
            stem + ".pem",
            private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
        self._write_public(
            stem + ".pub.pem",
            private.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
        )
        return KeyEntry(kid=_kid(private), algorithm=algorithm, file=stem, created=_now())

    # -- public API ----------------------------------------------------------------------

    def ensure(self) -> None:
        """Create one key of each algorithm unless active ones exist (first start)."""
        with self._exclusive():
            manifest = self._read_manifest()
            missing = [
                a
                for a in ALGORITHMS
                if not any(k.algorithm == a and k.retired is None for k in manifest.keys)
            ]
            if not missing:
                return
            for algorithm in missing:
                manifest.keys.append(self._new_key(algorithm, len(manifest.keys) + 1))
            self._write_manifest(manifest)

    def rotate(self) -> list[str]:
        """Retire the active keys (public parts stay published) and create new ones."""
        with self._exclusive():
            manifest = self._read_manifest()
            now = _now()
            retired = []
            kept: list[KeyEntry] = []
            for entry in manifest.keys:
                if entry.retired is None:
                    (self.directory / (entry.file + ".pem")).unlink(missing_ok=True)
                    retired.append(entry.kid)
                    kept.append(msgspec.structs.replace(entry, retired=now))
                else:
                    kept.append(entry)
            manifest.keys = kept
            for algorithm in ALGORITHMS:
                manifest.keys.append(self._new_key(algorithm, len(manifest.keys) + 1))
            self._write_manifest(manifest)
        self._stamp = None
        return retired

    def _refresh(self) -> None:
        try:
            stamp = self._manifest_path.stat().st_mtime_ns
        except FileNotFoundError:
            self.ensure()
            stamp = self._manifest_path.stat().st_mtime_ns
        if stamp == self._stamp:
            return
        with self._lock:
            manifest = self._read_manifest()
            public: dict[str, PublicKey] = {}
            active: dict[str, tuple[str, object]] = {}
            for entry in manifest.keys:
                pem = (self.directory / (entry.file + ".pub.pem")).read_bytes()
                key = serialization.load_pem_public_key(pem)
                public[entry.kid] = PublicKey(
                    kid=entry.kid,
                    algorithm=entry.algorithm,
                    created=entry.created,
                    retired=entry.retired,
                    ed25519=key if isinstance(key, Ed25519PublicKey) else None,
                    p256=key if isinstance(key, ec.EllipticCurvePublicKey) else None,
                )
                if entry.retired is None:
                    path = self.directory / (entry.file + ".pem")
                    if path.stat().st_mode & 0o077:
                        raise KeyStoreError(f"{path} is readable by others; chmod 600 it")
                    private = serialization.load_pem_private_key(path.read_bytes(), None)
                    active[entry.algorithm] = (entry.kid, private)
            if "Ed25519" not in active or "ES256" not in active:
                raise KeyStoreError(f"{self.directory} has no active signing keys")
            ed_kid, ed_key = active["Ed25519"]
            p_kid, p_key = active["ES256"]
            assert isinstance(ed_key, Ed25519PrivateKey)
            assert isinstance(p_key, ec.EllipticCurvePrivateKey)
            self._public = public
            self._active = ActiveKeys(ed_kid, ed_key, p_kid, p_key)
            self._stamp = stamp

    def active(self) -> ActiveKeys:
        """The keys that sign now (created on first use)."""
        self._refresh()
        assert self._active is not None
        return self._active

    def published(self) -> list[PublicKey]:
        """Every key ever used, oldest first; retired ones still verify old credentials."""
        self._refresh()
        return sorted(self._public.values(), key=lambda k: (k.created, k.algorithm))

    def find(self, kid: str) -> PublicKey | None:
        """The published key with id ``kid``."""
        self._refresh()
        return self._public.get(kid)
