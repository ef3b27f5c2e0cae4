"""Data-plane tokens: bound to transfer, agreement, consumer and issuer; forged or expired ones refused."""

from __future__ import annotations

import datetime as dt

import pytest

from connector.dataplane.access_tokens import AccessTokenError, issue_access_token, verify_access_token
from self_descriptions.keys import generate_key

pytestmark = pytest.mark.unit

KEY = generate_key("ES256")
NOW = dt.datetime(2026, 11, 26, 12, tzinfo=dt.UTC)
ISSUER = "did:web:provider.example.com"


def issue(**kw: object) -> str:
    args: dict[str, object] = {
        "issuer": ISSUER,
        "transfer_id": "urn:uuid:t1",
        "agreement_id": "urn:uuid:a1",
        "consumer": "did:web:consumer.example.com",
        "now": NOW,
    }
    args.update(kw)
    return issue_access_token(KEY, **args)[0]  # type: ignore[arg-type]


def test_round_trip() -> None:
    claims = verify_access_token(issue(), KEY, issuer=ISSUER, now=NOW)
    assert claims.transfer_id == "urn:uuid:t1"
    assert claims.agreement_id == "urn:uuid:a1"
    assert claims.consumer == "did:web:consumer.example.com"


def test_expired_refused_but_refreshable_within_grace() -> None:
    token = issue(ttl=dt.timedelta(minutes=1))
    later = NOW + dt.timedelta(minutes=5)
    with pytest.raises(AccessTokenError, match="expired"):
        verify_access_token(token, KEY, issuer=ISSUER, now=later)
    assert verify_access_token(token, KEY, issuer=ISSUER, now=later, allow_expired_for_refresh=True)
    with pytest.raises(AccessTokenError, match="expired"):
        verify_access_token(token, KEY, issuer=ISSUER, now=NOW + dt.timedelta(hours=2), allow_expired_for_refresh=True)


def test_other_key_refused() -> None:
    with pytest.raises(AccessTokenError, match="signature"):
        verify_access_token(issue(), generate_key("ES256"), issuer=ISSUER, now=NOW)


def test_other_issuer_refused() -> None:
    with pytest.raises(AccessTokenError, match="another connector"):
        verify_access_token(issue(), KEY, issuer="did:web:else.example.com", now=NOW)


@pytest.mark.parametrize("mutate", [lambda t: t[:-3] + "abc", lambda t: "x" + t, lambda t: "a.b.c", lambda t: ""])
def test_tampered_refused(mutate: object) -> None:
    with pytest.raises(AccessTokenError):
        verify_access_token(mutate(issue()), KEY, issuer=ISSUER, now=NOW)  # type: ignore[operator]
