"""The tool's own RS256 key: signs Deep Linking responses and AGS token requests.

LTI 1.3 (1EdTech Security Framework 1.0, section 6) requires RS256 for the messages a tool
signs. The key is made on first use and kept under ``SKILLGAUGE_DATA_DIR/lti`` (directory
0700, private key 0600, PKCS#8 PEM), outside the database; its public half is served as the
tool's JWKS (``/lti/jwks``), which platforms fetch by URL. The key id is its RFC 7638
thumbprint.

Rotation (``skillgauge lti rotate-key``, :func:`rotate_tool_key`) makes a new key and keeps
the one before as ``tool-rs256.previous.pem``: the JWKS publishes both (new first), so a
platform holding a cached keyset or a JWT signed a moment before still verifies; everything
signed from then on uses the new key. The next rotation retires the previous one. Each
process notices a rotation by the key file's change (its modification time and inode).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import RSAKey

from web.credentials.errors import KeyStoreError

FILE = "tool-rs256.pem"
PREVIOUS = "tool-rs256.previous.pem"
_lock = threading.Lock()
_cache: dict[Path, tuple[tuple[int, int], RSAKey]] = {}


def _new_pem() -> bytes:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write_replacing(path: Path, pem: bytes) -> None:
    """Write ``pem`` to ``path`` atomically (a 0600 temporary file renamed over it)."""
    temporary = path.with_name(path.name + f".{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    os.replace(temporary, path)


def _load(pem: bytes) -> RSAKey:
    key = RSAKey.import_key(pem)
    return RSAKey.import_key(pem, {"kid": key.thumbprint(), "alg": "RS256", "use": "sig"})


def _stamp(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_mtime_ns, info.st_ino


def tool_key(data_dir: str) -> RSAKey:
    """The tool's private RSA key (made on first use), with ``kid``, ``alg`` and ``use``."""
    folder = Path(data_dir) / "lti"
    path = folder / FILE
    with _lock:
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not path.exists():
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as out:
                    out.write(_new_pem())
        except FileExistsError:  # another process made it first
            pass
        except OSError as exc:
            raise KeyStoreError(
                f"the LTI tool key at {path} cannot be read or made: {exc}"
            ) from None
        return _read(path)


def _read(path: Path) -> RSAKey:
    """The key in ``path``, cached until the file changes (call with the lock held)."""
    try:
        stamp = _stamp(path)
        cached = _cache.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        key = _load(path.read_bytes())
    except OSError as exc:
        raise KeyStoreError(f"the LTI tool key at {path} cannot be read: {exc}") from None
    _cache[path] = (stamp, key)
    return key


def previous_key(data_dir: str) -> RSAKey | None:
    """The key before the last rotation (still published), if any."""
    path = Path(data_dir) / "lti" / PREVIOUS
    with _lock:
        return _read(path) if path.exists() else None


def rotate_tool_key(data_dir: str) -> RSAKey:
    """Make a new signing key; the current one becomes the previous (still published).

    The current key file is never missing: the previous is written first, then the new key
    replaces the current one in a single rename.
    """
    current = tool_key(data_dir)
    folder = Path(data_dir) / "lti"
    with _lock:
        try:
            _write_replacing(folder / PREVIOUS, (folder / FILE).read_bytes())
            _write_replacing(folder / FILE, _new_pem())
        except OSError as exc:
            raise KeyStoreError(f"the LTI tool key in {folder} cannot be rotated: {exc}") from None
        key = _read(folder / FILE)
    del current  # made first, so a first rotation also leaves a previous key
    return key


def public_jwks(data_dir: str) -> dict[str, Any]:
    """The tool's JWKS: the signing key's public half, then the previous key's (if any)."""
    keys = [tool_key(data_dir)]
    before = previous_key(data_dir)
    if before is not None and before.kid != keys[0].kid:
        keys.append(before)
    return {
        "keys": [
            {**k.as_dict(private=False), "kid": k.kid, "alg": "RS256", "use": "sig"} for k in keys
        ]
    }
