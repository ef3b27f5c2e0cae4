"""Key pairs and JWKs for participants: P-256 (ES256), RSA (PS256/RS256) and Ed25519 (EdDSA).

Gaia-X accepts any JOSE algorithm the registry knows; the GXDCH itself signs with PS256 (RSA), and did:web documents
publish the public key as a ``JsonWebKey2020`` ``publicKeyJwk`` carrying ``alg`` and ``x5u`` (see
``shared/reference/gaiax.md`` §key binding). Private keys are written with 0600 permissions and never logged.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwcrypto import jwk

from self_descriptions.errors import KeyMaterialError

KeyType = Literal["EC", "RSA", "OKP"]
Algorithm = Literal["ES256", "PS256", "RS256", "EdDSA"]

#: The JOSE algorithms allowed for each key type (RFC 7518 §3, RFC 8037 §3.1).
ALGORITHMS_BY_KTY: dict[str, tuple[Algorithm, ...]] = {
    "EC": ("ES256",),
    "RSA": ("PS256", "RS256"),
    "OKP": ("EdDSA",),
}

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey


@dataclass(frozen=True)
class KeyPair:
    """A private key with the JOSE algorithm it signs with."""

    jwk: jwk.JWK
    alg: Algorithm

    @property
    def kty(self) -> str:
        return cast(str, self.jwk["kty"])

    def private_key(self) -> PrivateKey:
        return cast(PrivateKey, self.jwk.get_op_key("sign"))

    def public_key(self) -> PublicKey:
        return cast(PublicKey, self.jwk.get_op_key("verify"))

    def public_jwk(self, *, kid: str | None = None, x5u: str | None = None) -> dict[str, Any]:
        """The public JWK as published in a DID document: key material plus ``alg`` (and ``x5u`` when given)."""
        data: dict[str, Any] = self.jwk.export_public(as_dict=True)
        data["alg"] = self.alg
        if kid is not None:
            data["kid"] = kid
        if x5u is not None:
            data["x5u"] = x5u
        return data

    def thumbprint(self) -> str:
        """RFC 7638 JWK thumbprint (SHA-256, base64url): a stable key identifier."""
        return cast(str, self.jwk.thumbprint())

    def private_pem(self) -> bytes:
        return self.private_key().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def public_pem(self) -> bytes:
        return self.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def __repr__(self) -> str:  # never print key material
        return f"KeyPair(kty={self.kty!r}, alg={self.alg!r}, thumbprint={self.thumbprint()!r})"


def generate_key(alg: Algorithm = "ES256") -> KeyPair:
    """Generate a fresh key pair for ``alg`` (RSA keys are 3072 bits, NIST SP 800-57 beyond 2030)."""
    private: PrivateKey
    if alg == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
    elif alg in ("PS256", "RS256"):
        private = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    elif alg == "EdDSA":
        private = ed25519.Ed25519PrivateKey.generate()
    else:
        raise KeyMaterialError(f"unsupported algorithm {alg!r}; choose ES256, PS256, RS256 or EdDSA")
    return KeyPair(jwk.JWK.from_pyca(private), alg)


def default_alg_for(private: PrivateKey) -> Algorithm:
    if isinstance(private, ec.EllipticCurvePrivateKey):
        if not isinstance(private.curve, ec.SECP256R1):
            raise KeyMaterialError(f"unsupported EC curve {private.curve.name}; only P-256 (ES256) is supported")
        return "ES256"
    if isinstance(private, rsa.RSAPrivateKey):
        return "PS256"
    return "EdDSA"


def check_alg(kty: str, alg: str) -> Algorithm:
    """Return ``alg`` if it is valid for a key of type ``kty``, else raise (an alg/JWK mismatch is an attack)."""
    allowed = ALGORITHMS_BY_KTY.get(kty, ())
    if alg not in allowed:
        raise KeyMaterialError(f"algorithm {alg!r} does not fit a {kty} key (allowed: {', '.join(allowed) or 'none'})")
    return alg


def load_private_pem(data: bytes, *, alg: Algorithm | None = None, source: str = "key") -> KeyPair:
    """Load a PKCS#8/PKCS#1/SEC1 PEM private key; ``alg`` defaults by key type (EC->ES256, RSA->PS256, OKP->EdDSA)."""
    try:
        private = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyMaterialError(f"{source}: not an unencrypted PEM private key ({exc})") from exc
    if not isinstance(private, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        raise KeyMaterialError(f"{source}: unsupported key type {type(private).__name__}")
    chosen = alg or default_alg_for(private)
    key = KeyPair(jwk.JWK.from_pyca(private), chosen)
    check_alg(key.kty, chosen)
    return key


def load_private_key_file(path: Path, *, alg: Algorithm | None = None) -> KeyPair:
    """Read a PEM private key from ``path`` with a message that says what to do when it is missing."""
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise KeyMaterialError(f"private key file {path} does not exist; run `gxc init` to create one") from exc
    except OSError as exc:
        raise KeyMaterialError(f"cannot read private key file {path}: {exc.strerror}") from exc
    return load_private_pem(data, alg=alg, source=str(path))


def write_private_key_file(key: KeyPair, path: Path) -> None:
    """Write the key as PKCS#8 PEM, readable by the owner only (0600), created atomically with that mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, key.private_pem())
    finally:
        os.close(fd)
    os.replace(tmp, path)


def public_key_from_jwk(data: dict[str, Any]) -> jwk.JWK:
    """Import a public JWK, refusing one that carries private material (it must never be published)."""
    if any(member in data for member in ("d", "p", "q", "dp", "dq", "qi", "k")):
        raise KeyMaterialError("a published JWK must not contain private or symmetric key material")
    try:
        return jwk.JWK(**data)
    except Exception as exc:  # jwcrypto raises several unrelated types for malformed JWKs
        raise KeyMaterialError(f"malformed JWK: {exc}") from exc
