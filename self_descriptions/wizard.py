"""Offline keys of Gaia-X wizard DIDs: the signer's PEM public key, base58-encoded, in the did:web path.

The Tagus wizard signs with ``did:web:wizard.lab.gaia-x.eu:api:credentials:<base58(PEM)>`` (``gaiax.md`` §5.1):
``seg = did.split('#')[0].split(':')[-1]`` decodes (Bitcoin alphabet) to ``-----BEGIN PUBLIC KEY-----…``. Such
credentials therefore verify without any network access; the synthesized key has no ``x5u``, so its trust cannot be
established (the chain check reports it) — exactly as much as the DID itself proves.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import serialization
from jwcrypto import jwk

from self_descriptions.did import DidDocument, DidError, DidResolver

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {c: i for i, c in enumerate(_ALPHABET)}
MAX_SEGMENT = 4096


def b58decode(text: str) -> bytes:
    number = 0
    for char in text:
        value = _INDEX.get(char)
        if value is None:
            raise DidError(f"invalid base58 character {char!r}")
        number = number * 58 + value
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\x00" * (len(text) - len(text.lstrip("1"))) + body


def b58encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, rem = divmod(number, 58)
        out = _ALPHABET[rem] + out
    return "1" * (len(data) - len(data.lstrip(b"\x00"))) + out


def wizard_did(pem: bytes, host: str = "wizard.lab.gaia-x.eu:api:credentials") -> str:
    return f"did:web:{host}:{b58encode(pem)}"


class Base58PemDidResolver:
    """Resolves wizard-style DIDs offline; other DIDs go to ``fallback`` (or fail)."""

    def __init__(self, fallback: DidResolver | None = None, *, fragments: tuple[str, ...] = ("JWK2020",)) -> None:
        self.fallback = fallback
        self.fragments = fragments

    async def resolve(self, did: str) -> DidDocument:
        base = did.split("#", 1)[0]
        segment = base.rsplit(":", 1)[-1]
        if base.startswith("did:web:") and 200 < len(segment) <= MAX_SEGMENT:
            try:
                pem = b58decode(segment)
            except DidError:
                pem = b""
            if pem.startswith(b"-----BEGIN PUBLIC KEY-----"):
                return DidDocument.parse(self._document(base, pem))
        if self.fallback is None:
            raise DidError(f"unknown DID {base!r}: not a wizard DID with an embedded key, and no resolver configured")
        return await self.fallback.resolve(did)

    def _document(self, did: str, pem: bytes) -> dict[str, Any]:
        try:
            public = serialization.load_pem_public_key(pem)
            key = jwk.JWK.from_pyca(public)
        except (ValueError, TypeError) as exc:
            raise DidError(f"the key embedded in {did[:60]}… is not a usable PEM public key") from exc
        data: dict[str, Any] = key.export_public(as_dict=True)
        methods = [f"{did}#{f}" for f in self.fragments]
        return {
            "id": did,
            "verificationMethod": [
                {"id": m, "type": "JsonWebKey2020", "controller": did, "publicKeyJwk": data} for m in methods
            ],
            "assertionMethod": methods,
        }


__all__ = ["Base58PemDidResolver", "b58decode", "b58encode", "wizard_did"]
