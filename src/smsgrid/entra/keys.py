"""The issuer's RSA signing key: made on first use, kept in the data dir, published as a JWK.

Entra signs access tokens with RS256 and names the key in the JWT header's `kid`, which a validator looks up in
the `jwks_uri` document (Microsoft identity platform, "Access tokens": validate the signature). The `kid` here is
the key's RFC 7638 thumbprint, so it changes only when the key does.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

KEY_FILE = Path("entra") / "signing-key.pem"
KEY_BITS = 2048  # what Entra's own signing keys use


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@dataclass(frozen=True, slots=True)
class SigningKey:
    private_key: rsa.RSAPrivateKey
    kid: str

    @classmethod
    def from_pem(cls, pem: bytes) -> SigningKey:
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("not an RSA private key")
        numbers = key.public_key().public_numbers()
        # RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace.
        canonical = json.dumps(
            {"e": _b64url_uint(numbers.e), "kty": "RSA", "n": _b64url_uint(numbers.n)}, separators=(",", ":")
        )
        kid = base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode("ascii")
        return cls(key, kid)

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        return self.private_key.public_key()

    def jwk(self) -> dict[str, Any]:
        """The public half as a JWKS entry, with the members Entra's JWKS carries (kty, use, kid, n, e)."""
        numbers = self.public_key.public_numbers()
        return {
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": _b64url_uint(numbers.n),
            "e": _b64url_uint(numbers.e),
        }


def _new_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_or_create(data_dir: Path) -> SigningKey:
    """The key in `<data dir>/entra/signing-key.pem`, made (mode 0600 from its first byte) when there is none.

    Two processes starting on one data dir may both make a key; the file is published with a hard link, which
    fails when it already exists, so exactly one key wins and both use it.
    """
    path = data_dir / KEY_FILE
    try:
        pem = path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(_new_pem())
                out.flush()
                os.fsync(out.fileno())
            try:
                os.link(temporary, path)
            except FileExistsError:
                pass  # another process published its key first: use that one
            except OSError:
                # A file system without hard links: a rename is atomic too, only not exclusive.
                if not path.exists():
                    os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
        pem = path.read_bytes()
    try:
        return SigningKey.from_pem(pem)
    except ValueError as exc:
        raise RuntimeError(
            f"cannot read the Entra signing key {path} ({exc}); delete it and smsgrid makes a new one "
            "(tokens signed with the old key stop verifying)"
        ) from exc
