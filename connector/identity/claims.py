"""Verified claims of a calling participant, for policy evaluation (DCP 1.0 presentation flow, dsp.md §9).

After the caller's self-issued ID token verified, we resolve its DID document, find its ``CredentialService`` and
ask it for a presentation (``POST /presentations/query`` with our own self-issued token carrying the caller's
access token). The VP-JWT and every VC-JWT in it are verified with ``self_descriptions`` (signature, key in the
issuer's DID document, validity at ``now`` and, when anchors are configured, the x5u chain). Only then are claims
extracted, with the rules that keep them honest:

- the presentation must be issued by the caller itself (its holder DID);
- claims that grant something (``membership``, ``gaiaxCompliant``, ``credentialType``, ``issuer``) come only from
  credentials whose issuer is in the configured trusted issuers and whose subject is the caller;
- self-asserted facts (legal name, countries, registration number from the caller's own ``gx:LegalPerson``) are
  taken as the caller states them, which is what a Gaia-X self-description is.

The result is the plain mapping ``policies`` expects in ``World.claims`` (keys as in
``policies.operands.credential``), plus the list of problems seen, for the explanation of a denial.

Revocation (W3C Bitstring Status List v1.0, :mod:`self_descriptions.status_list`): with a status list fetcher, every
credential's ``credentialStatus`` is checked against its issuer's status list (§3.2). A revoked or suspended
credential contributes no claims; the reason is in ``problems`` and in ``withdrawn``. A status that cannot be
established (list unreachable, bad signature) also withholds the credential: fail closed (``unreachable`` tells the
policy monitor that an outage, not the caller, is the cause). Freshness: the fetcher
answers with lists at most :data:`STATUS_LIST_TTL` old, and claims that depended on them are cached for only the
rest of :data:`CLAIMS_TTL`, so a revocation published by the issuer is noticed at most ``CLAIMS_TTL`` later.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509

from connector.identity.tokens import VerifiedCaller
from connector.identity.wallet import DCP_CONTEXT, TYPE_SCOPE
from connector.peer.client import PeerClient, PeerUnreachable
from connector.peer.egress import EgressDenied
from self_descriptions.did import DidError, DidResolver
from self_descriptions.status_list import StatusListFetcher
from self_descriptions.trust import ChainValidator, X5uFetcher
from self_descriptions.verify import CredentialAssessment, assess_presentation, make_context

GX = "https://w3id.org/gaia-x/development#"
#: Tolerated clock difference between a credential's issuer and us on validFrom/validUntil.
CLOCK_SKEW = dt.timedelta(seconds=60)
#: How long verified claims of a caller are reused. A credential revoked or expired in this window is noticed at
#: most this late; failures are never cached.
CLAIMS_TTL = dt.timedelta(seconds=30)
#: How old a status list may be when it is used (the HTTP status list cache; Bitstring Status List v1.0 §6.3).
#: Claims that depended on status lists are cached for ``CLAIMS_TTL - STATUS_LIST_TTL``, keeping the bound above.
STATUS_LIST_TTL = dt.timedelta(seconds=10)
CACHE_SIZE = 10_000


@dataclass(frozen=True)
class CallerClaims:
    """What we know, verified, about a caller: claims for ``World.claims`` and why some may be missing."""

    claims: Mapping[str, Any]
    problems: tuple[str, ...] = ()
    credentials: tuple[str, ...] = field(default=())
    #: Credentials their issuer revoked or suspended (one reason line each; also in ``problems``).
    withdrawn: tuple[str, ...] = ()
    #: Something needed to decide could not be reached (the caller's credential service, a status list).
    unreachable: bool = False

    def explained(self, reason: str) -> str:
        """``reason`` of a denial, plus why credentials the caller presented did not count (revoked, suspended):
        the caller is told what to fix, and it learns nothing it does not know (they are its own credentials)."""
        return "; ".join((reason, *self.withdrawn[:3]))


class ClaimsResolver:
    """Fetches and verifies a caller's presentation; never raises for a caller's fault (claims are then missing)."""

    def __init__(
        self,
        peers: PeerClient,
        resolver: DidResolver,
        *,
        trusted_issuers: Sequence[str],
        trust_anchors: Sequence[x509.Certificate] | None,
        x5u_fetcher: X5uFetcher | None,
        clock: Callable[[], dt.datetime] | None = None,
        status_lists: StatusListFetcher | None = None,
        status_list_ttl: dt.timedelta = STATUS_LIST_TTL,
    ) -> None:
        """``status_lists`` enables revocation checks; ``status_list_ttl`` is how old a list it may answer with."""
        self.peers = peers
        self.resolver = resolver
        self.trusted_issuers = frozenset(trusted_issuers)
        self.trust_anchors = trust_anchors
        self.x5u_fetcher = x5u_fetcher
        self.clock = clock
        self.status_lists = status_lists
        #: Lifetime of cached claims: what is left of CLAIMS_TTL once a status list may already be this old.
        self.claims_ttl = max(CLAIMS_TTL - status_list_ttl, dt.timedelta(0)) if status_lists else CLAIMS_TTL
        # One chain validator for the process: it caches validated x5u chains for their validity window.
        self.chains = ChainValidator(trust_anchors, x5u_fetcher) if trust_anchors is not None else None
        self._cache: dict[tuple[str, frozenset[str]], tuple[dt.datetime, CallerClaims]] = {}

    async def claims_for(self, caller: VerifiedCaller, *, now: dt.datetime, fresh: bool = False) -> CallerClaims:
        """The caller's verified claims; complete results are reused for :attr:`claims_ttl` (a catalog request, the
        negotiation and the transfer request of one consumer follow each other within seconds). ``fresh`` skips
        the cached result (the policy monitor's periodic re-check) and caches the new one."""
        key = (caller.did, frozenset(caller.scopes))
        cached = self._cache.get(key)
        if not fresh and cached is not None and now < cached[0]:
            return cached[1]
        claims = await self._fetch(caller, now=now)
        if not claims.problems:
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            self._cache[key] = (now + self.claims_ttl, claims)
        else:
            self._cache.pop(key, None)
        return claims

    async def _fetch(self, caller: VerifiedCaller, *, now: dt.datetime) -> CallerClaims:
        base: dict[str, Any] = {"participant": caller.did}
        if caller.access_token is None:
            return CallerClaims(base, ("the caller sent no access token for its credential service",))
        try:
            document = await self.resolver.resolve(caller.did)
        except DidError as exc:
            return CallerClaims(base, (f"cannot resolve {caller.did}: {exc.message}",))
        endpoint = document.service("CredentialService")
        if endpoint is None:
            return CallerClaims(base, (f"{caller.did} publishes no CredentialService in its DID document",))
        query = {"@context": [DCP_CONTEXT], "type": "PresentationQueryMessage", "scope": _scopes(caller)}
        try:
            answer = await self.peers.send(
                "POST",
                endpoint.rstrip("/") + "/presentations/query",
                audience=caller.did,
                body=query,
                access_token=caller.access_token,
            )
        except (PeerUnreachable, EgressDenied) as exc:
            return CallerClaims(base, (f"credential service of {caller.did} unreachable: {exc}",), unreachable=True)
        if not answer.ok or not isinstance(answer.body, Mapping):
            return CallerClaims(base, (f"credential service of {caller.did} answered HTTP {answer.status}",))
        presentations = answer.body.get("presentation")
        if not isinstance(presentations, list):
            return CallerClaims(base, ("malformed PresentationResponseMessage: no presentation list",))
        # The holder signs its presentation "now" by its own clock, after our request left: verify at the time the
        # answer arrived (not when we asked) and tolerate clock skew, or a presentation made a moment after the
        # second in which we asked looks "not yet valid" (seen under load).
        arrived = max(now, self.clock()) if self.clock is not None else now
        ctx = make_context(
            resolver=self.resolver,
            trust_anchors=self.trust_anchors,
            now=arrived,
            x5u_fetcher=self.x5u_fetcher,
            leeway=CLOCK_SKEW,
            chains=self.chains,
        )
        ctx = dataclasses.replace(ctx, status_lists=self.status_lists)
        claims: dict[str, Any] = dict(base)
        problems: list[str] = []
        withdrawn: list[str] = []
        accepted: list[str] = []
        unreachable = False
        for vp in presentations[:8]:
            if not isinstance(vp, str | Mapping):
                problems.append("a presentation entry is neither a VP-JWT nor a JSON object")
                continue
            result = await assess_presentation(vp, ctx)
            if result.errors or (result.presentation is not None and not result.presentation.ok):
                problems.extend(p.message for p in result.errors)
                if result.presentation is not None:
                    problems.extend(p.message for p in result.presentation.errors)
                continue
            if result.presentation is not None and result.presentation.issuer != caller.did:
                problems.append(f"presentation holder {result.presentation.issuer} is not the caller {caller.did}")
                continue
            for credential in result.credentials:
                if not credential.ok:
                    problems.extend(f"credential {credential.id}: {p.message}" for p in credential.errors)
                    unreachable |= any(p.code == "status-retrieval-error" for p in credential.errors)
                    if credential.status in ("revoked", "suspended"):
                        withdrawn.extend(
                            f"credential {credential.id} ({', '.join(_short(t) for t in credential.types)}): "
                            f"{p.message}"
                            for p in credential.errors
                            if p.code == credential.status
                        )
                    continue
                if _absorb(claims, credential, caller.did, self.trusted_issuers):
                    accepted.append(credential.id or "(no id)")
        return CallerClaims(claims, tuple(problems), tuple(accepted), tuple(withdrawn), unreachable)


def _scopes(caller: VerifiedCaller) -> list[str]:
    granted = [s for s in caller.scopes if s.startswith(TYPE_SCOPE)]
    return granted or [TYPE_SCOPE + "VerifiableCredential"]


def _absorb(claims: dict[str, Any], credential: CredentialAssessment, caller: str, trusted: frozenset[str]) -> bool:
    """Merge one verified credential's claims; returns whether it contributed."""
    subjects = _subjects(credential.document)
    about_caller = [s for s in subjects if _subject_id(s) in (caller, None) or str(_subject_id(s)).startswith(caller)]
    if not about_caller:
        return False
    types = [_short(t) for t in credential.types]
    issuer = credential.issuer
    if issuer == caller:
        for subject in about_caller:
            _self_asserted(claims, subject)
        return True
    if issuer not in trusted:
        return False
    _add(claims, "issuer", issuer)
    for t in types:
        _add(claims, "credentialType", t)
    for subject in about_caller:
        if _subject_id(subject) != caller:
            continue
        for value in _values(subject, "memberOf"):
            _add(claims, "membership", value)
    if any(t in ("ComplianceCredential", "LabelCredential", "gx:LabelCredential", "gx:Compliance") for t in types):
        claims["gaiaxCompliant"] = True
    return True


def _self_asserted(claims: dict[str, Any], subject: Mapping[str, Any]) -> None:
    for name in _values(subject, "schema:name") + _values(subject, "name"):
        claims.setdefault("legalName", name)
    for prop, claim in (("legalAddress", "legalAddressCountry"), ("headquartersAddress", "headquartersCountry")):
        for address in _objects(subject, prop):
            for code in _values(address, "countryCode"):
                claims.setdefault(claim, code)
    for number in _objects(subject, "registrationNumber"):
        ref = number.get("id") or number.get("@id")
        if isinstance(ref, str):
            claims.setdefault("registrationNumber", ref)


def _add(claims: dict[str, Any], key: str, value: Any) -> None:
    existing = claims.setdefault(key, [])
    if value not in existing:
        existing.append(value)


def _short(term: str) -> str:
    return term[len(GX) :] if term.startswith(GX) else term


def _subjects(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    value = document.get("credentialSubject")
    items = value if isinstance(value, list) else [value]
    return [s for s in items if isinstance(s, Mapping)]


def _subject_id(subject: Mapping[str, Any]) -> str | None:
    value = subject.get("id", subject.get("@id"))
    return value if isinstance(value, str) else None


def _lookup(node: Mapping[str, Any], name: str) -> Any:
    for key in (name, f"gx:{name}", GX + name):
        if key in node:
            return node[key]
    return None


def _values(node: Mapping[str, Any], name: str) -> list[str]:
    value = node.get(name) if ":" in name else _lookup(node, name)
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for item in items:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, Mapping):
            inner = item.get("@value", item.get("id", item.get("@id")))
            if isinstance(inner, str):
                out.append(inner)
    return out


def _objects(node: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    value = _lookup(node, name)
    items = value if isinstance(value, list) else [value]
    return [i for i in items if isinstance(i, Mapping)]
