"""Authorization matrix (issue 9 §1): every endpoint of the connector app x every kind of caller.

The routes are read from ``app.routes`` and each must have an entry in :data:`ROUTES` saying how it authenticates
(or sit under a router whose one guard covers all its routes, :data:`PREFIX_GROUPS`: those are enumerated from the
app and every one goes through the matrix), so a new endpoint without an entry fails
:func:`test_every_route_has_an_authorization_entry`. The groups:

- ``dsp-provider`` / ``dsp-callback`` (DCP self-issued token; the process must be the caller's): no token, wrong
  audience, expired, replayed ``jti``, another participant (a valid member with its own token), the correct
  participant. Authentication failures answer 404 with code ``unauthorized``; another participant gets 404 on a
  process that is not its own and the process does not move, whatever valid message it sends;
- ``management`` (``X-Api-Key``): no key, another connector's key, a DCP token instead of the key, the key;
- ``console`` (session cookie + CSRF): no session, the API key as a header (does not open the console), a session;
  ``console-public`` (sign-in page, static files) needs nothing;
- ``dataplane-attestation`` (DCP token of the consumer + an attestation it signed, for its own transfer);
- ``dataplane-pull`` / ``dataplane-refresh`` / ``dataplane-inbox`` (the transfer's bearer token): none, garbage, a
  DCP identity token, another participant's transfer token, an expired token, the token after the transfer ended,
  the correct token while the transfer is STARTED;
- ``credentials`` (verifier's self-issued token carrying an access token we issued to that verifier): none, no
  access token, wrong audience, expired, replayed, another participant presenting a stolen access token, an access
  token signed by someone else, the correct verifier;
- ``public`` (discovery, health, OpenAPI) needs nothing.

A membership credential that no longer holds is checked where a policy needs it, for two callers: one whose
credential its issuer revoked (the federation sets its bit in its W3C Bitstring Status List) and one whose
credential expired. For both, the catalog hides the offer, a new negotiation is terminated, a transfer request on an
old agreement is refused and a pull that proves the caller's current claims is denied, while a participant whose
membership is valid keeps all of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from jwcrypto import jws

from connector.app import create_app
from connector.dataplane.access_tokens import issue_access_token as issue_data_token
from connector.identity.tokens import issue_token
from connector.identity.wallet import HeldCredential, issue_access_token
from connector.services.usage.deletion import ATTESTATION_TYPE
from connector.settings import load_settings
from self_descriptions.proofs.vc_jwt import sign_vc_jwt
from self_descriptions.status_list import status_entry
from tests.integration.connector.harness import Issuer, Running, dataspace_pki, make_participant, running_issuer
from tests.integration.console.console_client import hidden, sign_in
from tests.integration.dataplane.flow import Clock
from tests.integration.dataplane.flow import running as running_with_clock

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DSP = "/dsp/2025-1"
CTX = ["https://w3id.org/dspace/2025/1/context.jsonld"]
MEMBERSHIP = "https://w3id.org/gaia-x/connector/policy/membership"
MEMBERS = {
    "@context": "http://www.w3.org/ns/odrl.jsonld",
    "@type": "Set",
    "uid": "urn:policy:members",
    "permission": [
        {"action": "use", "constraint": [{"leftOperand": MEMBERSHIP, "operator": "isAnyOf", "rightOperand": "urn:ds"}]}
    ],
}
DATA = b"a,b\n1,2\n"

# -- the table: every route of the app and how it authenticates ---------------------------------------------------

_DSP_PROVIDER = [
    ("POST", "/catalog/request"),
    ("GET", "/catalog/datasets/{id}"),
    ("POST", "/negotiations/request"),
    ("GET", "/negotiations/{providerPid}"),
    ("POST", "/negotiations/{providerPid}/request"),
    ("POST", "/negotiations/{providerPid}/events"),
    ("POST", "/negotiations/{providerPid}/agreement/verification"),
    ("POST", "/negotiations/{providerPid}/termination"),
    ("POST", "/transfers/request"),
    ("GET", "/transfers/{providerPid}"),
    ("POST", "/transfers/{providerPid}/start"),
    ("POST", "/transfers/{providerPid}/completion"),
    ("POST", "/transfers/{providerPid}/suspension"),
    ("POST", "/transfers/{providerPid}/termination"),
]
_DSP_CALLBACK = [
    ("POST", "/negotiations/offers"),
    ("GET", "/callback/negotiations/{consumerPid}"),
    ("POST", "/callback/negotiations/{consumerPid}/offers"),
    ("POST", "/callback/negotiations/{consumerPid}/agreement"),
    ("POST", "/callback/negotiations/{consumerPid}/events"),
    ("POST", "/callback/negotiations/{consumerPid}/termination"),
    ("POST", "/callback/transfers/{consumerPid}/start"),
    ("POST", "/callback/transfers/{consumerPid}/completion"),
    ("POST", "/callback/transfers/{consumerPid}/suspension"),
    ("POST", "/callback/transfers/{consumerPid}/termination"),
]
_M = "/api/management/v1"
_PULL_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
ROUTES: dict[tuple[str, str], str] = {
    **{(m, DSP + p): "dsp-provider" for m, p in _DSP_PROVIDER},
    **{(m, DSP + p + "/"): "dsp-provider" for m, p in _DSP_PROVIDER},
    **{(m, DSP + p): "dsp-callback" for m, p in _DSP_CALLBACK},
    **{(m, DSP + p + "/"): "dsp-callback" for m, p in _DSP_CALLBACK},
    **{(m, "/public/transfers/{provider_pid}"): "dataplane-pull" for m in _PULL_METHODS},
    **{(m, "/public/transfers/{provider_pid}/{sub_path:path}"): "dataplane-pull" for m in _PULL_METHODS},
    ("PUT", "/public/inbox/{consumer_pid}"): "dataplane-inbox",
    ("POST", "/public/inbox/{consumer_pid}"): "dataplane-inbox",
    ("POST", "/public/token"): "dataplane-refresh",
    ("POST", "/public/attestations/deletion"): "dataplane-attestation",
    ("POST", "/credentials/presentations/query"): "credentials",
    ("GET", "/console/login"): "console-public",
    ("POST", "/console/login"): "console-public",
    ("GET", "/console/static/{name}"): "console-public",
    **{
        ("GET", p): "public"
        for p in (
            "/openapi.json",
            "/docs",
            "/docs/oauth2-redirect",
            "/terms",
            "/.well-known/did.json",
            "/.well-known/x5u/participant.chain.pem",
            "/.well-known/dspace-version",
            "/health",
        )
    },
}


#: Whole routers behind one guard: the management router's ``X-Api-Key`` dependency and the console's session. Their
#: routes are enumerated from the app and every one of them goes through the matrix.
PREFIX_GROUPS = ((_M + "/", "management"), ("/console", "console"))


def group_of(method: str, path: str) -> str | None:
    if (method, path) in ROUTES:
        return ROUTES[(method, path)]
    return next((group for prefix, group in PREFIX_GROUPS if path.startswith(prefix)), None)


def app_routes(app: Any) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for context in iter_route_contexts(app.routes):
        path = str(context.path)
        for method in context.methods or {"*"}:
            if method != "HEAD" or path.startswith("/public/"):
                out.add((method, path))
    return out


def test_every_route_has_an_authorization_entry(tmp_path: Path) -> None:
    state = make_participant(tmp_path, "routes", dataspace_pki())
    app = create_app(load_settings(state / "gxc.toml"))
    routes = app_routes(app)
    missing = sorted(r for r in routes if group_of(*r) is None)
    assert not missing, f"routes without an authorization entry (add them to ROUTES and the matrix): {missing}"
    stale = sorted(ROUTES.keys() - routes)
    assert not stale, f"entries for routes the app no longer has: {stale}"


# -- the data space: a provider, its consumer, another member (mallory), a member whose credential lapses, and (for
# -- the revocation test) a member whose credential the federation will revoke ----------------------------------


@dataclass
class Space:
    tmp: Path
    clock: Clock
    federation: Issuer
    provider: Running
    consumer: Running
    mallory: Running
    lapsed: Running
    offer_id: str = ""
    agreement: str = ""
    #: the consumer's negotiation, parked in REQUESTED (the provider waits for its operator)
    open_negotiation: dict[str, Any] = field(default_factory=dict)
    open_offer: dict[str, Any] = field(default_factory=dict)
    #: the consumer's STARTED transfer (consumer's management view)
    transfer: dict[str, Any] = field(default_factory=dict)
    mallory_transfer: dict[str, Any] = field(default_factory=dict)
    lapsed_agreement: str = ""
    lapsed_transfer: dict[str, Any] = field(default_factory=dict)
    revoked: Running | None = None
    revoked_agreement: str = ""
    revoked_transfer: dict[str, Any] = field(default_factory=dict)

    def runtime(self, conn: Running) -> Any:
        return conn.app.state.connector.runtime

    def dcp(self, caller: Running, audience: str, *, at: dt.datetime | None = None) -> str:
        """A self-issued token of ``caller`` for ``audience``, with the access token and scopes it grants."""
        peers = self.runtime(caller).peers
        access, scopes = peers.credentials(audience)
        identity = caller.app.state.identity
        return issue_token(identity, audience, now=at or self.clock(), scopes=scopes, access_token=access)


#: The revocable member's index in the federation's status list.
REVOKED_INDEX = 4242


def membership(
    issuer: Issuer, subject: str, *, valid_from: dt.datetime, valid_until: dt.datetime, status_index: int | None = None
) -> str:
    credential: dict[str, Any] = {
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/gaia-x/development#"],
        "type": ["VerifiableCredential", "MembershipCredential"],
        "id": f"urn:uuid:{uuid.uuid4()}",
        "issuer": issuer.identity.did,
        "validFrom": valid_from.isoformat().replace("+00:00", "Z"),
        "validUntil": valid_until.isoformat().replace("+00:00", "Z"),
        "credentialSubject": {"id": subject, "memberOf": "urn:ds"},
    }
    if status_index is not None:
        credential["credentialStatus"] = status_entry(issuer.status_list_url, status_index, "revocation")
    return sign_vc_jwt(credential, issuer.identity.key, kid=issuer.identity.kid, issued_at=valid_from)


def key_of(conn: Running) -> str:
    assert conn.settings.management_api_key is not None
    return conn.settings.management_api_key.get_secret_value()


async def negotiate(consumer: Running, provider: Running, offer_id: str) -> dict[str, Any]:
    r = await consumer.post("/negotiations", {"counterPartyAddress": provider.base, "offerId": offer_id}, wait=20)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def start_transfer(consumer: Running, agreement: str) -> dict[str, Any]:
    r = await consumer.post("/transfers", {"agreementId": agreement}, wait=20)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def offer_of(consumer: Running, provider: Running) -> str | None:
    r = await consumer.post("/catalog/request", {"counterPartyAddress": provider.base})
    assert r.status_code == 200, r.text
    found = [d for d in r.json()["catalog"].get("dataset") or [] if d["@id"] == "weather"]
    return str(found[0]["hasPolicy"][0]["@id"]) if found else None


async def provider_view(provider: Running, kind: str, consumer_pid: str) -> dict[str, Any]:
    items = (await provider.api.get(f"/{kind}", params={"limit": 200})).json()["items"]
    (found,) = [p for p in items if p["consumerPid"] == consumer_pid]
    return dict(found)


def attestation(who: Running, audience: str, transfer: dict[str, Any], agreement: str) -> str:
    """A deletion attestation as the consumer's connector signs it (connector.services.usage.deletion)."""
    now = dt.datetime.now(dt.UTC)
    claims = {
        "iss": who.did,
        "aud": audience,
        "agreementId": agreement,
        "transferId": transfer["providerPid"],
        "consumerPid": transfer["consumerPid"],
        "digest": None,
        "deletedAt": now.isoformat(),
        "iat": int(now.timestamp()),
        "jti": str(uuid.uuid4()),
    }
    token = jws.JWS(json.dumps(claims).encode())
    identity = who.app.state.identity
    token.add_signature(identity.key.jwk, None, {"alg": identity.key.alg, "typ": ATTESTATION_TYPE, "kid": identity.kid})
    return str(token.serialize(compact=True))


def token_of(transfer: dict[str, Any]) -> str:
    props = {p["name"]: p["value"] for p in transfer["dataAddress"]["endpointProperties"]}
    return str(props["authorization"])


@contextlib.asynccontextmanager
async def data_space(tmp: Path, *, revocable: bool = False) -> AsyncIterator[Space]:
    """The data space; ``revocable`` adds the member whose membership carries a status list entry."""
    pki = dataspace_pki()
    clock = Clock()
    names = ("consumer", "mallory", "lapsed", *(("revoked",) if revocable else ()))
    async with running_issuer(tmp, pki) as federation, contextlib.AsyncExitStack() as stack:
        dirs = {
            "provider": make_participant(tmp, "provider", pki, trusted_issuers=[federation.identity.did]),
            **{name: make_participant(tmp, name, pki) for name in names},
        }
        up = {name: await stack.enter_async_context(running_with_clock(d, clock)) for name, d in dirs.items()}
        provider, consumer, mallory, lapsed = (up[n] for n in ("provider", "consumer", "mallory", "lapsed"))
        space = Space(tmp, clock, federation, provider, consumer, mallory, lapsed, revoked=up.get("revoked"))
        now = clock()
        for member, until in ((consumer, now + dt.timedelta(days=30)), (mallory, now + dt.timedelta(days=30))):
            token = membership(federation, member.did, valid_from=now, valid_until=until)
            space.runtime(member).wallet.add(HeldCredential.from_token(token))
        # lapsed's membership ends in two minutes; the revocation test moves the shared clock past it
        short = membership(federation, lapsed.did, valid_from=now, valid_until=now + dt.timedelta(minutes=2))
        space.runtime(lapsed).wallet.add(HeldCredential.from_token(short))
        if space.revoked is not None:
            # valid for a month, with an entry in the federation's revocation list the test will set
            revocable_token = membership(
                federation,
                space.revoked.did,
                valid_from=now,
                valid_until=now + dt.timedelta(days=30),
                status_index=REVOKED_INDEX,
            )
            space.runtime(space.revoked).wallet.add(HeldCredential.from_token(revocable_token))

        data = tmp / "weather.csv"
        data.write_bytes(DATA)
        asset = {"id": "weather", "title": "weather", "dataAddress": {"kind": "file", "path": str(data)}}
        assert (await provider.post("/assets", asset)).status_code == 201
        assert (await provider.post("/policies", {"id": "members", "policy": MEMBERS})).status_code == 201
        definition = {
            "id": "cd",
            "accessPolicyId": "members",
            "contractPolicyId": "members",
            "assetIds": ["weather"],
        }
        assert (await provider.post("/contract-definitions", definition)).status_code == 201

        offer_id = await offer_of(consumer, provider)
        assert offer_id is not None
        space.offer_id = offer_id
        for who in (consumer, mallory, lapsed, *((space.revoked,) if space.revoked else ())):
            n = await negotiate(who, provider, offer_id)
            assert n["state"] == "FINALIZED", n["error"]
            t = await start_transfer(who, n["agreementId"])
            assert t["state"] == "STARTED", t
            if who is consumer:
                space.agreement, space.transfer = n["agreementId"], t
            elif who is mallory:
                space.mallory_transfer = t
            elif who is lapsed:
                space.lapsed_agreement, space.lapsed_transfer = n["agreementId"], t
            else:
                space.revoked_agreement, space.revoked_transfer = n["agreementId"], t
        # park one negotiation of the consumer in REQUESTED: every negotiation message would be valid there
        runtime = space.runtime(provider)
        runtime.behaviour = type(runtime.behaviour)(**{**vars(runtime.behaviour), "auto_agree": False})
        r = await consumer.post("/negotiations", {"counterPartyAddress": provider.base, "offerId": offer_id})
        assert r.status_code == 201, r.text
        for _ in range(200):
            seen = (await consumer.api.get(f"/negotiations/{r.json()['id']}")).json()
            if seen["state"] == "REQUESTED" and seen.get("providerPid"):
                break
            await _tick()
        space.open_negotiation = seen
        space.open_offer = (await provider_view(provider, "negotiations", seen["consumerPid"]))["offers"][-1]
        yield space


async def _tick() -> None:
    await asyncio.sleep(0.05)


# -- DSP ------------------------------------------------------------------------------------------------------------

DENY_AUTH = "denied: 404 unauthorized"
DENY = "denied: 404"
THROUGH = "through"


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: dict[str, Any] | None


def dsp_calls(s: Space) -> tuple[dict[str, Call], dict[str, Call]]:
    """(provider routes, callback routes) -> a valid message for the parked negotiation / the STARTED transfer."""
    n, t = s.open_negotiation, s.transfer
    npid, ncid, tpid, tcid = n["providerPid"], n["consumerPid"], t["providerPid"], t["consumerPid"]
    neg = {"providerPid": npid, "consumerPid": ncid}
    tr = {"providerPid": tpid, "consumerPid": tcid}

    def msg(kind: str, **fields: Any) -> dict[str, Any]:
        return {"@context": CTX, "@type": kind, **fields}

    agreement = {
        **{k: v for k, v in s.open_offer.items() if k not in ("@type", "@context")},
        "@id": f"urn:uuid:{uuid.uuid4()}",
        "@type": "Agreement",
        "target": "weather",
        "assigner": s.provider.did,
        "assignee": s.consumer.did,
        "timestamp": "2026-01-01T00:00:00Z",
    }
    provider = {
        "/catalog/request": Call("POST", "/catalog/request", msg("CatalogRequestMessage")),
        "/catalog/datasets/{id}": Call("GET", "/catalog/datasets/weather", None),
        "/negotiations/request": Call("POST", "/negotiations/request", {}),
        "/negotiations/{providerPid}": Call("GET", f"/negotiations/{npid}", None),
        "/negotiations/{providerPid}/request": Call(
            "POST",
            f"/negotiations/{npid}/request",
            msg("ContractRequestMessage", **neg, offer=s.open_offer),
        ),
        "/negotiations/{providerPid}/events": Call(
            "POST", f"/negotiations/{npid}/events", msg("ContractNegotiationEventMessage", **neg, eventType="ACCEPTED")
        ),
        "/negotiations/{providerPid}/agreement/verification": Call(
            "POST", f"/negotiations/{npid}/agreement/verification", msg("ContractAgreementVerificationMessage", **neg)
        ),
        "/negotiations/{providerPid}/termination": Call(
            "POST",
            f"/negotiations/{npid}/termination",
            msg("ContractNegotiationTerminationMessage", **neg, code="stop", reason=["matrix"]),
        ),
        "/transfers/request": Call(
            "POST",
            "/transfers/request",
            msg(
                "TransferRequestMessage",
                consumerPid=f"urn:uuid:{uuid.uuid4()}",
                agreementId=s.agreement,
                format="HttpData-PULL",
                callbackAddress=s.mallory.base + DSP + "/callback",
            ),
        ),
        "/transfers/{providerPid}": Call("GET", f"/transfers/{tpid}", None),
        "/transfers/{providerPid}/start": Call("POST", f"/transfers/{tpid}/start", msg("TransferStartMessage", **tr)),
        "/transfers/{providerPid}/completion": Call(
            "POST", f"/transfers/{tpid}/completion", msg("TransferCompletionMessage", **tr)
        ),
        "/transfers/{providerPid}/suspension": Call(
            "POST", f"/transfers/{tpid}/suspension", msg("TransferSuspensionMessage", **tr, code="x", reason=["m"])
        ),
        "/transfers/{providerPid}/termination": Call(
            "POST", f"/transfers/{tpid}/termination", msg("TransferTerminationMessage", **tr, code="x", reason=["m"])
        ),
    }
    callback = {
        "/negotiations/offers": Call("POST", "/negotiations/offers", {}),
        "/callback/negotiations/{consumerPid}": Call("GET", f"/callback/negotiations/{ncid}", None),
        "/callback/negotiations/{consumerPid}/offers": Call(
            "POST", f"/callback/negotiations/{ncid}/offers", msg("ContractOfferMessage", **neg, offer=s.open_offer)
        ),
        "/callback/negotiations/{consumerPid}/agreement": Call(
            "POST",
            f"/callback/negotiations/{ncid}/agreement",
            msg("ContractAgreementMessage", **neg, agreement=agreement),
        ),
        "/callback/negotiations/{consumerPid}/events": Call(
            "POST",
            f"/callback/negotiations/{ncid}/events",
            msg("ContractNegotiationEventMessage", **neg, eventType="FINALIZED"),
        ),
        "/callback/negotiations/{consumerPid}/termination": Call(
            "POST",
            f"/callback/negotiations/{ncid}/termination",
            msg("ContractNegotiationTerminationMessage", **neg, code="stop", reason=["matrix"]),
        ),
        "/callback/transfers/{consumerPid}/start": Call(
            "POST", f"/callback/transfers/{tcid}/start", msg("TransferStartMessage", **tr)
        ),
        "/callback/transfers/{consumerPid}/completion": Call(
            "POST", f"/callback/transfers/{tcid}/completion", msg("TransferCompletionMessage", **tr)
        ),
        "/callback/transfers/{consumerPid}/suspension": Call(
            "POST",
            f"/callback/transfers/{tcid}/suspension",
            msg("TransferSuspensionMessage", **tr, code="x", reason=["m"]),
        ),
        "/callback/transfers/{consumerPid}/termination": Call(
            "POST",
            f"/callback/transfers/{tcid}/termination",
            msg("TransferTerminationMessage", **tr, code="x", reason=["m"]),
        ),
    }
    return provider, callback


#: Routes that open something new: another (valid) participant may call them for itself.
OPEN_ROUTES = {"/catalog/request", "/catalog/datasets/{id}", "/negotiations/request", "/negotiations/offers"}


async def snapshot(s: Space) -> tuple[str, ...]:
    """States (and agreements) of every process on both sides: a refused call must not move any of them."""
    out: list[str] = []
    for conn in (s.provider, s.consumer):
        for kind in ("negotiations", "transfers", "agreements"):
            items = (await conn.api.get(f"/{kind}", params={"limit": 200})).json()["items"]
            out += sorted(f"{conn.name}:{kind}:{i['id']}:{i.get('state')}" for i in items)
    return tuple(out)


def outcome(r: httpx.Response) -> str:
    code = r.json().get("code") if r.headers.get("content-type", "").startswith("application/json") else None
    if r.status_code == 404:
        return DENY_AUTH if code == "unauthorized" else DENY
    return THROUGH if r.status_code in (200, 201, 400, 409) else f"unexpected {r.status_code}"


async def test_dsp_routes_only_let_the_process_owner_through(tmp_path: Path) -> None:
    async with data_space(tmp_path) as s, httpx.AsyncClient(timeout=30) as http:
        provider_calls, callback_calls = dsp_calls(s)
        table = [(s.provider, s.consumer, template, call) for template, call in provider_calls.items()] + [
            (s.consumer, s.provider, template, call) for template, call in callback_calls.items()
        ]
        covered = {(c.method, DSP + t) for _, _, t, c in table}
        assert covered == {k for k, g in ROUTES.items() if g.startswith("dsp-") and not k[1].endswith("/")}

        async def send(target: Running, call: Call, token: str | None, *, slash: bool = False) -> httpx.Response:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            url = target.base + DSP + call.path + ("/" if slash else "")
            return await http.request(call.method, url, json=call.body, headers=headers)

        failures: list[str] = []
        before = await snapshot(s)
        checked = 0
        for target, owner, template, call in table:
            stamp = s.clock() - dt.timedelta(minutes=20)

            def make(
                name: str, target: Running = target, owner: Running = owner, stamp: dt.datetime = stamp
            ) -> str | None:
                """A fresh token per request (sending one twice would be a replay)."""
                if name == "wrong audience":
                    return s.dcp(owner, s.mallory.did)
                if name == "expired":
                    return s.dcp(owner, target.did, at=stamp)
                if name == "another participant":
                    return s.dcp(s.mallory, target.did)
                return None

            for name in ("no token", "wrong audience", "expired", "another participant"):
                for slash in (False, True):
                    r = await send(target, call, make(name), slash=slash)
                    checked += 1
                    got = outcome(r)
                    expected = DENY_AUTH if name != "another participant" else DENY
                    if name == "another participant" and template in OPEN_ROUTES:
                        expected = THROUGH
                    if name == "another participant" and template == "/transfers/request":
                        # the agreement is the consumer's: refused, whatever the code
                        ok = r.status_code in (400, 403, 404)
                    else:
                        ok = got == expected
                    if not ok:
                        failures.append(f"{call.method} {template} by {name}: {got} ({r.status_code} {r.text[:600]})")
            # replayed: the owner's token, accepted once (its own process state), then sent again
            token = s.dcp(owner, target.did)
            first = await http.get(
                target.base
                + DSP
                + (
                    f"/transfers/{s.transfer['providerPid']}"
                    if target is s.provider
                    else f"/callback/negotiations/{s.open_negotiation['consumerPid']}"
                ),
                headers={"Authorization": f"Bearer {token}"},
            )
            assert first.status_code == 200, first.text
            r = await send(target, call, token)
            checked += 1
            if outcome(r) != DENY_AUTH:
                failures.append(f"{call.method} {template} replayed: {outcome(r)} ({r.status_code} {r.text[:600]})")
        after = await snapshot(s)
        assert not failures, "\n".join(failures)
        assert before == after, "a refused call moved a process"

        # the correct participant gets through every route (a valid message may still be out of turn: 400);
        # GETs first, terminations last, as they end the processes
        order = sorted(table, key=lambda e: (e[3].method != "GET", "termination" in e[2]))
        for target, owner, template, call in order:
            if template in OPEN_ROUTES | {"/transfers/request"} and call.method == "POST":
                call = Call(call.method, call.path, {})  # opening a process is covered by the protocol tests
            for slash in (False, True):
                r = await send(target, call, s.dcp(owner, target.did), slash=slash)
                checked += 1
                if outcome(r) != THROUGH:
                    failures.append(
                        f"{call.method} {template} by its owner: {outcome(r)} ({r.status_code} {r.text[:600]})"
                    )
        assert not failures, "\n".join(failures)
        assert checked >= len(table) * 10


# -- management API and console --------------------------------------------------------------------------------------


def fill(template: str) -> str:
    """Path parameters of management and console routes: ids that do not exist, a harmless action."""
    return re.sub(r"\{[a-z_]+\}", "no-such", template.replace("{action}", "suspend"))


async def test_management_console_credentials_and_public_routes(tmp_path: Path) -> None:
    async with data_space(tmp_path) as s:
        await management_and_console_need_the_key(s)
        await credential_service_answers_only_the_verifier_it_granted(s)
        await public_routes_need_nothing(s)


async def management_and_console_need_the_key(s: Space) -> None:
    async with httpx.AsyncClient(base_url=s.provider.base, timeout=30) as http:
        routes = app_routes(s.provider.app)
        calls = sorted((m, fill(p)) for m, p in routes if group_of(m, p) == "management")
        assert len(calls) >= 30
        callers = {
            "no key": {},
            "another connector's key": {"X-Api-Key": key_of(s.consumer)},
            "empty key": {"X-Api-Key": ""},
            "DCP token instead of the key": {"Authorization": f"Bearer {s.dcp(s.consumer, s.provider.did)}"},
        }
        failures: list[str] = []
        before = await snapshot(s)
        for method, path in calls:
            for name, headers in callers.items():
                body: dict[str, Any] | None = {} if method == "POST" else None
                async with http.stream(method, path, json=body, headers=headers) as r:
                    if r.status_code != 401:
                        failures.append(f"{method} {path} with {name}: {r.status_code}")
        assert not failures, "\n".join(failures)
        assert before == await snapshot(s)
        # the key opens every route (the ids do not exist, the bodies are empty: a 4xx that is not 401/403)
        for method, path in calls:
            body = {} if method == "POST" else None
            async with http.stream(method, path, json=body, headers={"X-Api-Key": key_of(s.provider)}) as r:
                if r.status_code in (401, 403) or r.status_code >= 500:
                    failures.append(f"{method} {path} with the key: {r.status_code}")
        assert not failures, "\n".join(failures)

        # console: every page needs a session (the API key header does not open it); sign-in and static are public
        console = sorted((m, p) for m, p in routes if group_of(m, p) == "console")
        for method, template in console:
            path = fill(template)
            for name, headers in {"no session": {}, "API key header": {"X-Api-Key": key_of(s.provider)}}.items():
                r = await http.request(method, path, headers=headers, data={} if method == "POST" else None)
                login = r.status_code == 303 and r.headers["location"].startswith("/console/login")
                bare = template == "/console" and r.status_code in (301, 302, 303, 307, 308)
                if not (login or bare or (method == "POST" and r.status_code in (303, 403))):
                    failures.append(f"console {method} {path} with {name}: {r.status_code}")
        assert (await http.get("/console/login")).status_code == 200
        assert (await http.get("/console/static/console.css")).status_code == 200
        page = await http.get("/console/login")
        wrong = await http.post(
            "/console/login", data={"login_token": hidden(page.text, "login_token"), "api_key": key_of(s.consumer)}
        )
        assert wrong.status_code == 401
        assert (await http.get("/console/")).status_code == 303, "another connector's key opened the console"
        csrf = await sign_in(http, key_of(s.provider))
        for method, template in sorted(console, key=lambda c: c[1] == "/console/logout"):
            path = fill(template)
            if path == "/console/events":
                continue  # a stream; its guard is checked above
            forged = await http.request(method, path) if method == "POST" else None
            if forged is not None and forged.status_code != 403:
                failures.append(f"console POST {path} without the CSRF token: {forged.status_code}")
            r = await http.request(method, path, headers={"X-CSRF-Token": csrf} if method == "POST" else {})
            to_login = "/console/login" in r.headers.get("location", "") and path != "/console/logout"
            if r.status_code in (401, 403) or r.status_code >= 500 or to_login:
                failures.append(f"console {method} {path} signed in: {r.status_code}")
        assert not failures, "\n".join(failures)


# -- data plane ------------------------------------------------------------------------------------------------------


async def test_data_plane_tokens_work_only_for_their_transfer_while_it_lives(tmp_path: Path) -> None:
    async with data_space(tmp_path) as s, httpx.AsyncClient(base_url=s.provider.base, timeout=30) as http:
        t = s.transfer
        pid = t["providerPid"]
        provider_transfer = await provider_view(s.provider, "transfers", t["consumerPid"])
        identity = s.runtime(s.provider).identity
        mallory_identity = s.mallory.app.state.identity
        claims = {"transfer_id": provider_transfer["id"], "agreement_id": s.agreement, "consumer": s.consumer.did}
        expired, _ = issue_data_token(
            identity.key, issuer=identity.did, now=s.clock() - dt.timedelta(hours=2), **claims
        )
        forged, _ = issue_data_token(mallory_identity.key, issuer=identity.did, now=s.clock(), **claims)
        wrong: dict[str, str | None] = {
            "no token": None,
            "garbage": "x.y.z",
            "DCP identity token": s.dcp(s.consumer, s.provider.did),
            "another participant's transfer token": token_of(s.mallory_transfer),
            "expired": expired,
            "signed by another key": forged,
        }
        paths = [f"/public/transfers/{pid}", f"/public/transfers/{pid}/sub"]
        assert {k for k, g in ROUTES.items() if g == "dataplane-pull"} == {
            (m, p)
            for m in _PULL_METHODS
            for p in ("/public/transfers/{provider_pid}", "/public/transfers/{provider_pid}/{sub_path:path}")
        }
        failures: list[str] = []
        for method in _PULL_METHODS:
            for path in paths:
                for name, token in wrong.items():
                    headers = {"Authorization": f"Bearer {token}"} if token else {}
                    r = await http.request(method, path, headers=headers)
                    if r.status_code not in ((401, 403) if name.startswith("another") else (401,)):
                        failures.append(f"{method} {path} with {name}: {r.status_code} {r.text[:200]}")
        for name, token in wrong.items():
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            r = await http.post("/public/token", headers=headers)
            if r.status_code != 401 and not name.startswith("another"):  # that one refreshes its own transfer
                failures.append(f"refresh with {name}: {r.status_code}")
            for method in ("PUT", "POST"):
                r = await http.request(method, f"/public/inbox/{t['consumerPid']}", headers=headers, content=b"x")
                if r.status_code not in (401, 404):
                    failures.append(f"{method} inbox with {name}: {r.status_code}")
        assert not failures, "\n".join(failures)

        # deletion attestations: the consumer's own DCP token and its own signed attestation, nothing else
        ours = attestation(s.consumer, s.provider.did, t, s.agreement)
        attestations: dict[str, tuple[str | None, str]] = {
            "no token": (None, ours),
            "garbage": ("x.y.z", ours),
            "wrong audience": (s.dcp(s.consumer, s.mallory.did), ours),
            "expired": (s.dcp(s.consumer, s.provider.did, at=s.clock() - dt.timedelta(minutes=20)), ours),
            "data-plane token": (token_of(t), ours),
            "another participant, its own attestation": (
                s.dcp(s.mallory, s.provider.did),
                attestation(s.mallory, s.provider.did, t, s.agreement),
            ),
            "another participant, a stolen attestation": (s.dcp(s.mallory, s.provider.did), ours),
        }
        for name, (bearer, signed) in attestations.items():
            headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
            r = await http.post("/public/attestations/deletion", json={"attestation": signed}, headers=headers)
            expected = (400, 403, 404) if name.startswith("another") else (401,)
            assert r.status_code in expected, f"attestation with {name}: {r.status_code} {r.text[:300]}"
        r = await http.post(
            "/public/attestations/deletion",
            json={"attestation": ours},
            headers={"Authorization": f"Bearer {s.dcp(s.consumer, s.provider.did)}"},
        )
        assert r.status_code == 201, r.text

        mine = {"Authorization": f"Bearer {token_of(t)}"}
        r = await http.get(f"/public/transfers/{pid}", headers=mine)
        assert r.status_code == 200, r.text
        assert r.content == DATA
        assert (await http.head(f"/public/transfers/{pid}", headers=mine)).status_code == 200
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            r = await http.request(method, f"/public/transfers/{pid}", headers=mine)
            assert r.status_code not in (401, 403, 404), f"{method}: {r.status_code} {r.text}"
        # another participant's own token pulls its own transfer only
        theirs = s.mallory_transfer
        r = await http.get(
            f"/public/transfers/{theirs['providerPid']}", headers={"Authorization": f"Bearer {token_of(theirs)}"}
        )
        assert r.status_code == 200
        refreshed = await http.post("/public/token", headers=mine)
        assert refreshed.status_code == 200, refreshed.text
        fresh = {"Authorization": f"Bearer {refreshed.json()['authorization']}"}
        assert (await http.get(f"/public/transfers/{pid}", headers=fresh)).status_code == 200

        # the transfer ends: neither the old nor the refreshed token opens it, nor refreshes
        assert (await s.consumer.post(f"/transfers/{t['id']}/complete", {})).status_code == 200
        for _ in range(200):
            if (await provider_view(s.provider, "transfers", t["consumerPid"]))["state"] == "COMPLETED":
                break
            await _tick()
        for headers in (mine, fresh):
            r = await http.get(f"/public/transfers/{pid}", headers=headers)
            assert r.status_code in (401, 403), r.text
            assert (await http.post("/public/token", headers=headers)).status_code in (401, 403)


# -- credential service ----------------------------------------------------------------------------------------------


async def credential_service_answers_only_the_verifier_it_granted(s: Space) -> None:
    async with httpx.AsyncClient(base_url=s.consumer.base, timeout=30) as http:
        holder = s.consumer.app.state.identity
        scopes = s.runtime(s.consumer).wallet.scopes()
        grant = issue_access_token(holder, s.provider.did, scopes, now=s.clock())
        provider_id = s.provider.app.state.identity
        mallory_id = s.mallory.app.state.identity
        query = {
            "@context": ["https://w3id.org/tractusx-trust/v0.8"],
            "type": "PresentationQueryMessage",
            "scope": scopes,
        }

        def token(who: Any, audience: str, access: str | None, *, at: dt.datetime | None = None) -> str:
            return issue_token(who, audience, now=at or s.clock(), access_token=access, scopes=scopes)

        replay = token(provider_id, holder.did, grant)
        assert (
            await http.post(
                "/credentials/presentations/query", json=query, headers={"Authorization": f"Bearer {replay}"}
            )
        ).status_code == 200
        callers: dict[str, str | None] = {
            "no token": None,
            "no access token": token(provider_id, holder.did, None),
            "wrong audience": token(provider_id, mallory_id.did, grant),
            "expired": token(provider_id, holder.did, grant, at=s.clock() - dt.timedelta(minutes=20)),
            "replayed": replay,
            "another participant with a stolen access token": token(mallory_id, holder.did, grant),
            "access token signed by another participant": token(
                provider_id, holder.did, issue_access_token(mallory_id, provider_id.did, scopes, now=s.clock())
            ),
        }
        assert {k for k, g in ROUTES.items() if g == "credentials"} == {("POST", "/credentials/presentations/query")}
        for name, value in callers.items():
            headers = {"Authorization": f"Bearer {value}"} if value else {}
            r = await http.post("/credentials/presentations/query", json=query, headers=headers)
            assert r.status_code == 401, f"{name}: {r.status_code} {r.text[:300]}"
            assert "presentation" not in r.json()
        r = await http.post(
            "/credentials/presentations/query",
            json=query,
            headers={"Authorization": f"Bearer {token(provider_id, holder.did, grant)}"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["presentation"]


async def public_routes_need_nothing(s: Space) -> None:
    async with httpx.AsyncClient(base_url=s.provider.base, timeout=30) as http:
        for (method, path), group in ROUTES.items():
            if group == "public":
                r = await http.request(method, path)
                assert r.status_code == 200, f"{method} {path}: {r.status_code}"


# -- revoked and expired credentials ----------------------------------------------------------------------------------


async def test_a_revoked_or_expired_membership_no_longer_passes_the_policy(tmp_path: Path) -> None:
    async with (
        data_space(tmp_path, revocable=True) as s,
        httpx.AsyncClient(base_url=s.provider.base, timeout=30) as http,
    ):
        assert s.revoked is not None

        def pull_headers(who: Running, transfer: dict[str, Any]) -> dict[str, str]:
            # X-GXC-Identity: the provider evaluates the caller's claims as they are now
            return {"Authorization": f"Bearer {token_of(transfer)}", "X-GXC-Identity": s.dcp(who, s.provider.did)}

        callers = (
            ("revoked", s.revoked, s.revoked_agreement, s.revoked_transfer),
            ("expired", s.lapsed, s.lapsed_agreement, s.lapsed_transfer),
        )
        for _, who, _, transfer in callers:
            url = f"/public/transfers/{transfer['providerPid']}"
            assert (await http.get(url, headers=pull_headers(who, transfer))).status_code == 200
        # the federation revokes one membership (sets its bit in its status list); the lapsed one expires
        # (validUntil + clock skew passed); the moved clock also passes the claims and status-list caches
        s.federation.revoked.add(REVOKED_INDEX)
        s.clock.offset = dt.timedelta(minutes=5)

        assert await offer_of(s.consumer, s.provider) is not None
        for name, who, agreement, transfer in callers:
            assert await offer_of(who, s.provider) is None, f"{name}: the catalog still shows the offer"
            r = await who.post("/negotiations", {"counterPartyAddress": s.provider.base, "offerId": s.offer_id})
            assert r.status_code == 400, r.text  # its connector no longer finds the offer in the provider's catalog
            # and the provider refuses a request sent anyway (the offer was seen while the credential was valid)
            consumer_pid = f"urn:uuid:{uuid.uuid4()}"
            request = {
                "@context": CTX,
                "@type": "ContractRequestMessage",
                "consumerPid": consumer_pid,
                "offer": s.open_offer,
                "callbackAddress": who.base + DSP + "/callback",
            }
            auth = {"Authorization": f"Bearer {s.dcp(who, s.provider.did)}"}
            r = await http.post(DSP + "/negotiations/request", json=request, headers=auth)
            if r.status_code == 201:
                for _ in range(200):
                    n = await provider_view(s.provider, "negotiations", consumer_pid)
                    if n["state"] == "TERMINATED":
                        break
                    await _tick()
                assert n["state"] == "TERMINATED", n
                # policy-denied; the code becomes delivery-failed when the termination cannot reach the caller
                assert n["error"]["code"] in ("policy-denied", "delivery-failed"), n["error"]
            else:
                assert r.status_code == 400, r.text
            t = await start_transfer(who, agreement)
            assert t["state"] == "TERMINATED", t
            assert t["error"]["code"] == "policy-denied", t["error"]
            # the refusal says why when the issuer withdrew the credential
            assert (name == "revoked") == ("revoked by its issuer" in t["error"]["reason"]), (name, t["error"])
            r = await http.get(f"/public/transfers/{transfer['providerPid']}", headers=pull_headers(who, transfer))
            assert r.status_code == 403, r.text
            assert "membership" in r.text
        # a participant whose membership is valid keeps all of it
        runtime = s.runtime(s.provider)
        runtime.behaviour = type(runtime.behaviour)(**{**vars(runtime.behaviour), "auto_agree": True})
        ok = await negotiate(s.consumer, s.provider, s.offer_id)
        assert ok["state"] == "FINALIZED", ok["error"]
        r = await http.get(
            f"/public/transfers/{s.transfer['providerPid']}", headers=pull_headers(s.consumer, s.transfer)
        )
        assert r.status_code == 200, r.text
