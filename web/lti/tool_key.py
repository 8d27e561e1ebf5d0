"""The tool's own RS256 key: signs Deep Linking responses and AGS token requests.

LTI 1.3 (1EdTech Security Framework 1.0, section 6) requires RS256 for the messages a tool
signs. The key is made on first use and kept under ``SKILLGAUGE_DATA_DIR/lti`` (directory
0700, private key 0600, PKCS#8 PEM), outside the database; its public half is served as the
tool's JWKS (``/lti/jwks``), which platforms fetch by URL. The key id is its RFC 7638
thumbprint.
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
_lock = threading.Lock()
_cache: dict[Path, RSAKey] = {}


def tool_key(data_dir: str) -> RSAKey:
    """The tool's private RSA key (made on first use), with ``kid``, ``alg`` and ``use``."""
    folder = Path(data_dir) / "lti"
    path = folder / FILE
    with _lock:
        cached = _cache.get(path)
        if cached is not None:
            return cached
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not path.exists():
                private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
                pem = private.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as out:
                    out.write(pem)
            pem = path.read_bytes()
        except FileExistsError:  # another process made it first
            pem = path.read_bytes()
        except OSError as exc:
            raise KeyStoreError(
                f"the LTI tool key at {path} cannot be read or made: {exc}"
            ) from None
        key = RSAKey.import_key(pem)
        key = RSAKey.import_key(pem, {"kid": key.thumbprint(), "alg": "RS256", "use": "sig"})
        _cache[path] = key
        return key


def public_jwks(data_dir: str) -> dict[str, Any]:
    """The tool's JWKS: its public key only."""
    key = tool_key(data_dir)
    public = key.as_dict(private=False)
    return {"keys": [{**public, "kid": key.kid, "alg": "RS256", "use": "sig"}]}
