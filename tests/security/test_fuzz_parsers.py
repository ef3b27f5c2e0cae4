"""Hypothesis fuzzing of the parsers that read what other parties send (issue 9 §3).

Each parser must either return a value or raise its package's documented error with a reason: never an
``AttributeError``/``TypeError``/``KeyError``/``RecursionError`` (which the HTTP edges would answer with 500), and
never hang. Covered: the DSP message codec (JSON and JSON-LD, any message type), the ODRL policy parser (JSON-LD and
Turtle), the DCP self-issued ID token verifier (JWT) and the data-plane access token verifier, and the JSON-LD
canonicalisation limits of ``self_descriptions``. Examples are bounded so the file runs in seconds.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.dataplane.access_tokens import AccessTokenError, issue_access_token, verify_access_token
from connector.dsp.codec import parse_any_message, parse_message
from connector.dsp.errors import DspError
from connector.dsp.negotiation_messages import ContractRequestMessage
from connector.identity.participant import ParticipantIdentity, load_identity
from connector.identity.tokens import AuthenticationError, issue_token, verify_token
from connector.settings import load_settings
from policies.errors import PolicyError
from policies.parse import parse_policy
from self_descriptions.canonical import check_limits
from self_descriptions.did import DidDocument, DidError
from self_descriptions.errors import SelfDescriptionError
from self_descriptions.keys import generate_key
from self_descriptions.loader import DocumentLoader
from tests.integration.connector.harness import dataspace_pki, make_participant

pytestmark = pytest.mark.unit

NOW = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
# derandomize: CI runs the same examples every time (a finding is reproducible, never a flake).
FUZZ = settings(
    max_examples=150, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)

# JSON values with the keys DSP, ODRL and JSON-LD processors look at, so the fuzzer reaches past the first check.
KEYS = st.sampled_from(
    [
        "@context", "@type", "@id", "@value", "@list", "@graph", "@vocab", "@reverse", "type", "uid", "target",
        "consumerPid", "providerPid", "offer", "callbackAddress", "permission", "prohibition", "obligation",
        "constraint", "leftOperand", "operator", "rightOperand", "action", "and", "or", "assigner", "assignee",
        "dataAddress", "endpointProperties", "code", "reason", "state", "filter", "x",
    ]
)  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from(
        [
            "https://w3id.org/dspace/2025/1/context.jsonld",
            "http://www.w3.org/ns/odrl.jsonld",
            "https://attacker.example/ctx.jsonld",
            "ContractRequestMessage",
            "Offer",
            "Set",
            "use",
            "count",
            "eq",
            "urn:uuid:1",
            "",
        ]
    ),
)
JSON = st.recursive(
    SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(KEYS, children, max_size=5)),
    max_leaves=25,
)
DSP_CONTEXT = ["https://w3id.org/dspace/2025/1/context.jsonld"]


@FUZZ
@given(document=JSON)
def test_dsp_codec_raises_only_dsp_errors(document: Any) -> None:
    for body in (json.dumps(document).encode(), document if isinstance(document, dict | list) else None):
        if body is None:
            continue
        with contextlib.suppress(DspError):  # parsed or refused with a reason; nothing else
            parse_any_message(body)


@FUZZ
@given(fields=st.dictionaries(KEYS, JSON, max_size=6))
def test_dsp_request_message_with_hostile_fields(fields: dict[str, Any]) -> None:
    document = {"@context": DSP_CONTEXT, "@type": "ContractRequestMessage", **fields}
    with contextlib.suppress(DspError):
        parse_message(json.dumps(document).encode(), ContractRequestMessage)


@FUZZ
@given(raw=st.binary(max_size=200))
def test_dsp_codec_on_raw_bytes(raw: bytes) -> None:
    with contextlib.suppress(DspError):
        parse_any_message(raw)


POLICY_CONTEXT = "http://www.w3.org/ns/odrl.jsonld"


@FUZZ
@given(
    permission=st.lists(st.dictionaries(KEYS, JSON, max_size=5), max_size=3),
    extra=st.dictionaries(KEYS, JSON, max_size=3),
)
def test_odrl_parser_raises_only_policy_errors(permission: list[Any], extra: dict[str, Any]) -> None:
    document = {"@context": POLICY_CONTEXT, "@type": "Set", "uid": "urn:policy:f", "permission": permission, **extra}
    loader = DocumentLoader()
    for fast in (True, False):
        with contextlib.suppress(PolicyError, SelfDescriptionError):
            parse_policy(document, loader=loader, fast=fast)


@FUZZ
@given(text=st.text(max_size=200))
def test_odrl_parser_on_text_and_turtle(text: str) -> None:
    for data in (text, "@prefix odrl: <http://www.w3.org/ns/odrl/2/> .\n" + text):
        with contextlib.suppress(PolicyError, SelfDescriptionError):
            parse_policy(data, loader=DocumentLoader())


@FUZZ
@given(document=JSON)
def test_jsonld_limits_accept_or_refuse_with_a_reason(document: Any) -> None:
    with contextlib.suppress(SelfDescriptionError):
        check_limits(document)


# -- JWTs ---------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def identity(tmp_path_factory: pytest.TempPathFactory) -> ParticipantIdentity:
    state = make_participant(tmp_path_factory.mktemp("fuzz"), "fuzz", dataspace_pki())
    return load_identity(load_settings(state / "gxc.toml"), now=dt.datetime.now(dt.UTC))


class _Resolver:
    def __init__(self, identity: ParticipantIdentity) -> None:
        self.document = DidDocument.parse(identity.did_document())

    async def resolve(self, did: str) -> DidDocument:
        if did.split("#", 1)[0] != self.document.id:
            raise DidError(f"unknown DID {did!r}")
        return self.document


class _Jtis:
    def __init__(self) -> None:
        self.seen: set[str] = set()

    async def remember_jti(self, jti: str, expires_at: dt.datetime, now: dt.datetime) -> bool:
        if jti in self.seen:
            return False
        self.seen.add(jti)
        return True


def _b64(value: Any) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


HEADER = st.fixed_dictionaries(
    {},
    optional={
        "alg": st.sampled_from(["ES256", "EdDSA", "none", "HS256", "RS256", ""]) | JSON,
        "kid": st.text(max_size=10) | JSON,
        "typ": st.sampled_from(["JWT", "at+jwt"]),
        "jku": st.just("http://169.254.169.254/"),
        "jwk": JSON,
    },
)
CLAIMS = st.fixed_dictionaries(
    {},
    optional={
        "iss": SCALARS | JSON,
        "sub": SCALARS | JSON,
        "aud": SCALARS | JSON,
        "exp": st.integers(min_value=-(2**64), max_value=2**64) | SCALARS,
        "iat": st.integers(min_value=-(2**64), max_value=2**64) | SCALARS,
        "nbf": st.integers(min_value=-(2**64), max_value=2**64) | SCALARS,
        "jti": SCALARS,
        "token": SCALARS | JSON,
        "scope": SCALARS | JSON,
        "tid": SCALARS,
    },
)


@FUZZ
@given(header=HEADER | JSON, claims=CLAIMS | JSON, signature=st.binary(max_size=80), own=st.booleans())
async def test_self_issued_token_verifier_raises_only_authentication_errors(
    identity: ParticipantIdentity, header: Any, claims: Any, signature: bytes, own: bool
) -> None:
    if own and isinstance(claims, dict):  # reach the signature check: our own DID as iss/sub, our audience
        claims = {**claims, "iss": identity.did, "sub": identity.did, "aud": identity.did}
    token = f"{_b64(header)}.{_b64(claims)}.{_b64(signature)}"
    for authorization in (f"Bearer {token}", token, f"Bearer {token}.x", "Basic abc", ""):
        with pytest.raises(AuthenticationError):
            await verify_token(
                authorization, audience=identity.did, resolver=_Resolver(identity), jti_store=_Jtis(), now=NOW
            )


@FUZZ
@given(position=st.integers(min_value=0, max_value=10_000), byte=st.characters(codec="ascii"))
async def test_self_issued_token_single_character_tampering(
    identity: ParticipantIdentity, position: int, byte: str
) -> None:
    token = issue_token(identity, identity.did, now=NOW)
    index = position % len(token)
    if token[index] == byte:
        return
    tampered = token[:index] + byte + token[index + 1 :]
    if _decoded(tampered) == _decoded(token):
        return  # base64url's last character carries unused bits: same bytes, same token (not a forgery)
    with pytest.raises(AuthenticationError):
        await verify_token(tampered, audience=identity.did, resolver=_Resolver(identity), jti_store=_Jtis(), now=NOW)


def _decoded(token: str) -> list[bytes] | None:
    try:
        return [base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)) for part in token.split(".")]
    except ValueError:
        return None


ACCESS_KEY = generate_key("ES256")


@FUZZ
@given(header=HEADER | JSON, claims=CLAIMS | JSON, signature=st.binary(max_size=80), junk=st.text(max_size=40))
def test_access_token_verifier_raises_only_access_token_errors(
    header: Any, claims: Any, signature: bytes, junk: str
) -> None:
    token = f"{_b64(header)}.{_b64(claims)}.{_b64(signature)}"
    for candidate in (token, junk, token + junk):
        for refresh in (False, True):
            with pytest.raises(AccessTokenError):
                verify_access_token(
                    candidate, ACCESS_KEY, issuer="did:web:p", now=NOW, allow_expired_for_refresh=refresh
                )


def test_access_token_round_trip_still_verifies() -> None:
    """The fuzzed verifier is the real one: a genuine token passes."""
    token, _ = issue_access_token(
        ACCESS_KEY, issuer="did:web:p", transfer_id="t", agreement_id="a", consumer="did:web:c", now=NOW
    )
    assert verify_access_token(token, ACCESS_KEY, issuer="did:web:p", now=NOW).transfer_id == "t"
