"""Self-issued ID tokens (DCP 1.0): issue, verify, and every rejection the spec requires."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from jwcrypto import jws

from connector.identity.participant import ParticipantIdentity
from connector.identity.tokens import AuthenticationError, extract_token, issue_token, verify_token
from self_descriptions.certificates import create_development_pki
from self_descriptions.did import OfflineDidResolver
from self_descriptions.keys import Algorithm, generate_key

pytestmark = pytest.mark.unit

NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)
VERIFIER = "did:web:verifier.example.com"


class MemoryJtis:
    def __init__(self) -> None:
        self.seen: dict[str, dt.datetime] = {}

    async def remember_jti(self, jti: str, expires_at: dt.datetime, now: dt.datetime) -> bool:
        if jti in self.seen and self.seen[jti] > now:
            return False
        self.seen[jti] = expires_at
        return True


def make_identity(alg: Algorithm = "ES256", host: str = "caller.example.com") -> ParticipantIdentity:
    key = generate_key(alg)
    chain = create_development_pki(now=NOW).issue_leaf(key, host, now=NOW)
    return ParticipantIdentity(did=f"did:web:{host}", key=key, chain_pem=chain.to_pem(), base_url=f"https://{host}")


@pytest.fixture(scope="module")
def caller() -> ParticipantIdentity:
    return make_identity()


def resolver_for(*identities: ParticipantIdentity) -> OfflineDidResolver:
    return OfflineDidResolver([i.did_document() for i in identities])


async def verify(token: str, resolver: OfflineDidResolver, jtis: MemoryJtis | None = None, **kw: object) -> object:
    return await verify_token(
        token, audience=VERIFIER, resolver=resolver, jti_store=jtis or MemoryJtis(), now=kw.pop("now", NOW), **kw
    )


@pytest.mark.parametrize("alg", ["ES256", "PS256", "EdDSA"])
async def test_round_trip_every_key_type(alg: Algorithm) -> None:
    ident = make_identity(alg)
    token = issue_token(ident, VERIFIER, now=NOW, access_token="opaque", scopes=["a:b", "c:d"])
    result = await verify_token(token, audience=VERIFIER, resolver=resolver_for(ident), jti_store=MemoryJtis(), now=NOW)
    assert result.did == ident.did
    assert result.access_token == "opaque"
    assert result.scopes == ("a:b", "c:d")


async def test_bearer_prefix_and_raw_token_both_accepted(caller: ParticipantIdentity) -> None:
    resolver = resolver_for(caller)
    raw = issue_token(caller, VERIFIER, now=NOW)
    assert extract_token("Bearer " + raw) == raw
    assert extract_token(raw) == raw
    await verify("bearer " + raw, resolver)
    await verify(issue_token(caller, VERIFIER, now=NOW), resolver)


async def test_replayed_jti_rejected(caller: ParticipantIdentity) -> None:
    jtis = MemoryJtis()
    token = issue_token(caller, VERIFIER, now=NOW)
    await verify(token, resolver_for(caller), jtis)
    with pytest.raises(AuthenticationError, match="replay"):
        await verify(token, resolver_for(caller), jtis)


async def test_wrong_audience_rejected(caller: ParticipantIdentity) -> None:
    token = issue_token(caller, "did:web:someone-else.example.com", now=NOW)
    with pytest.raises(AuthenticationError, match="audience"):
        await verify(token, resolver_for(caller))


async def test_expired_rejected_and_leeway_applies(caller: ParticipantIdentity) -> None:
    token = issue_token(caller, VERIFIER, now=NOW, lifetime=dt.timedelta(minutes=1))
    await verify(token, resolver_for(caller), now=NOW + dt.timedelta(seconds=80))  # within 30 s leeway
    token = issue_token(caller, VERIFIER, now=NOW, lifetime=dt.timedelta(minutes=1))
    with pytest.raises(AuthenticationError, match="expired"):
        await verify(token, resolver_for(caller), now=NOW + dt.timedelta(minutes=2))


async def test_unknown_did_rejected(caller: ParticipantIdentity) -> None:
    with pytest.raises(AuthenticationError, match="cannot resolve"):
        await verify(issue_token(caller, VERIFIER, now=NOW), OfflineDidResolver())


async def test_signature_by_another_key_rejected(caller: ParticipantIdentity) -> None:
    impostor = make_identity()  # same DID host, different key
    token = issue_token(impostor, VERIFIER, now=NOW)
    with pytest.raises(AuthenticationError, match="signature does not verify"):
        await verify(token, resolver_for(caller))


async def test_rotated_key_under_the_same_kid_is_the_one_checked(caller: ParticipantIdentity) -> None:
    # Keys are reused by their key material (jose.public_key): after a rotation that keeps the kid, the
    # new document's key is used, and a token of the old key no longer verifies.
    rotated = make_identity()  # same DID and kid, new key
    old_token, new_token = issue_token(caller, VERIFIER, now=NOW), issue_token(rotated, VERIFIER, now=NOW)
    assert (await verify(old_token, resolver_for(caller))).did == caller.did
    assert (await verify(new_token, resolver_for(rotated))).did == caller.did
    with pytest.raises(AuthenticationError, match="signature does not verify"):
        await verify(issue_token(caller, VERIFIER, now=NOW), resolver_for(rotated))


def forge(claims: dict[str, object], header: dict[str, object], ident: ParticipantIdentity) -> str:
    token = jws.JWS(json.dumps(claims).encode())
    token.add_signature(ident.key.jwk, None, header)
    return str(token.serialize(compact=True))


def base_claims(ident: ParticipantIdentity) -> dict[str, object]:
    t = int(NOW.timestamp())
    return {"iss": ident.did, "sub": ident.did, "aud": VERIFIER, "jti": "j1", "iat": t, "exp": t + 60}


async def test_iss_sub_mismatch_rejected(caller: ParticipantIdentity) -> None:
    claims = base_claims(caller) | {"iss": "did:web:other.example.com"}
    with pytest.raises(AuthenticationError, match="differ"):
        await verify(forge(claims, {"alg": "ES256", "kid": caller.kid}, caller), resolver_for(caller))


async def test_embedded_key_header_rejected(caller: ParticipantIdentity) -> None:
    header = {"alg": "ES256", "kid": caller.kid, "jwk": caller.key.public_jwk()}
    with pytest.raises(AuthenticationError, match="'jwk' is not accepted"):
        await verify(forge(base_claims(caller), header, caller), resolver_for(caller))


async def test_alg_none_rejected(caller: ParticipantIdentity) -> None:
    def b64(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    token = f"{b64({'alg': 'none'})}.{b64(base_claims(caller))}."
    with pytest.raises(AuthenticationError, match="not accepted"):
        await verify(token, resolver_for(caller))


async def test_milliseconds_times_accepted(caller: ParticipantIdentity) -> None:
    t = int(NOW.timestamp()) * 1000
    claims = base_claims(caller) | {"iat": t, "exp": t + 60_000}
    await verify(forge(claims, {"alg": "ES256", "kid": caller.kid}, caller), resolver_for(caller))


async def test_kid_not_in_capability_invocation_rejected(caller: ParticipantIdentity) -> None:
    doc = caller.did_document()
    doc["capabilityInvocation"] = []
    with pytest.raises(AuthenticationError, match="not listed in capabilityInvocation"):
        await verify(issue_token(caller, VERIFIER, now=NOW), OfflineDidResolver([doc]))


@pytest.mark.parametrize("value", [None, "", "Bearer ", "a.b", "x" * 20000])
async def test_garbage_rejected_with_reason(value: str | None, caller: ParticipantIdentity) -> None:
    with pytest.raises(AuthenticationError):
        await verify(value, resolver_for(caller))  # type: ignore[arg-type]
