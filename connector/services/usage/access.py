"""The provider's decision on every access to a transfer's data (issue 6 §4), and token refresh.

A pull carries the data-plane token of the transfer (``Authorization: Bearer``) and may declare its purpose
(``X-GXC-Purpose`` header or ``gxc-purpose`` query parameter) and prove its current claims (``X-GXC-Identity``: a
DCP self-issued ID token for us, as on DSP requests). The access is then evaluated in the ``access`` scope with the
live world (:mod:`.world`). A deny is answered 403 with the reason and recorded; a permit *reserves* a use (so the
N+1-th concurrent pull is already denied), which becomes *completed* when the last byte was sent, *interrupted*
(still counted) when the client disconnects after data left, or *aborted* (released) when it disconnects before.
Decisions and reservations of one ledger are serialised by the ledger lock
they are recorded under, so the count cannot race.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from connector.dataplane.access_tokens import AccessClaims, issue_access_token, verify_access_token
from connector.dataplane.ranges import parse_range
from connector.dataplane.sources import SourceError, file_info, upstream_url
from connector.dataplane.streams import HttpRequester, Meter, file_chunks, open_upstream, repr_digest
from connector.domain import Agreement, Asset, ClaimsSnapshot, FileDataAddress, TransferProcess, UsageRecord
from connector.dsp.states import Role, TransferState
from connector.errors import ConnectorError
from connector.identity.tokens import AuthenticationError, VerifiedCaller, verify_token
from connector.services.runtime import Runtime
from connector.services.usage.grants import Grants
from connector.services.usage.ledger import UsageLedger
from connector.services.usage.obligations import Obligations
from connector.services.usage.world import usage_world
from connector.store.protocols import Transaction
from policies import Request

log = logging.getLogger(__name__)

#: How many file digests to remember (keyed by path and ETag): a full read of an unchanged file is not re-hashed.
DIGEST_CACHE = 256

Finish = Callable[[int, bool], Awaitable[None]]


class AccessDenied(ConnectorError):
    """The agreement's policy (or the transfer's state) does not permit this access: 403 with the reason."""

    code = "access-denied"

    def __init__(self, message: str, *, code: str | None = None, report: Mapping[str, Any] | None = None) -> None:
        super().__init__(message, code=code)
        self.report = dict(report or {})


@dataclass
class Opened:
    """A permitted access: what to answer and how to report the outcome (``finish(bytes_sent, complete)``)."""

    status: int
    headers: dict[str, str]
    chunks: AsyncIterator[bytes] | None
    finish: Finish


async def _no_finish(sent: int, complete: bool) -> None:
    return None


class AccessControl:
    def __init__(
        self,
        runtime: Runtime,
        ledger: UsageLedger,
        obligations: Obligations,
        client: HttpRequester,
        grants: Grants | None = None,
    ) -> None:
        self.rt = runtime
        self.ledger = ledger
        self.obligations = obligations
        self.client = client
        self.grants = grants if grants is not None else Grants()
        self._digests: OrderedDict[tuple[str, str], str] = OrderedDict()

    # -- pull ----------------------------------------------------------------------------------------------------

    async def pull(
        self,
        provider_pid: str,
        token: str,
        *,
        method: str = "GET",
        sub_path: str = "",
        query: str = "",
        headers: Mapping[str, str] | None = None,
        purpose: str | None = None,
        identity: str | None = None,
        body: AsyncIterator[bytes] | None = None,
    ) -> Opened:
        """Verify the token, decide in the ``access`` scope, open the source. Raises AccessTokenError (401),
        AccessDenied (403, recorded) or SourceError."""
        now = self.rt.now()
        bound = verify_access_token(token, self.rt.identity.key, issuer=self.rt.identity.did, now=now)
        fresh: dict[str, Any] | None = None
        caller: VerifiedCaller | None = None
        if identity:
            caller, fresh = await self._verified_claims(identity, bound)
        async with self.rt.store.transaction() as tx:
            t = await self._bound_transfer(tx, bound, provider_pid)
            if fresh is not None and t is not None:
                await tx.usage.save_claims(
                    ClaimsSnapshot(transfer_id=t.id, consumer=bound.consumer, claims=fresh, seen_at=now)
                )
        if t is not None and caller is not None:
            self.grants.remember(t.id, caller)  # lets the policy monitor ask for current claims (grants.py)
        if t is None:
            raise AccessDenied("this token is bound to another transfer, agreement or consumer", code="token-mismatch")
        return await self.decide(
            t, method=method, sub_path=sub_path, query=query, headers=headers or {}, purpose=purpose, body=body
        )

    async def _verified_claims(self, identity: str, bound: AccessClaims) -> tuple[VerifiedCaller, dict[str, Any]]:
        now = self.rt.now()
        try:
            caller = await verify_token(
                f"Bearer {identity}",
                audience=self.rt.identity.did,
                resolver=self.rt.resolver,
                jti_store=self.rt.store,
                now=now,
            )
        except AuthenticationError as exc:
            raise AccessDenied(f"X-GXC-Identity does not verify: {exc.message}", code="identity-invalid") from exc
        if caller.did != bound.consumer:
            raise AccessDenied("X-GXC-Identity names another participant than the token", code="identity-mismatch")
        return caller, dict((await self.rt.claims.claims_for(caller, now=now)).claims)

    async def _bound_transfer(self, tx: Transaction, bound: AccessClaims, provider_pid: str) -> TransferProcess | None:
        """The transfer the token is for, if it is the one addressed; misuse by an authentic token is recorded."""
        t = await tx.transfers.find_by_provider_pid(Role.PROVIDER, bound.transfer_id)
        if (
            t is None
            or bound.transfer_id != provider_pid
            or t.counter_party_id != bound.consumer
            or t.agreement_id != bound.agreement_id
        ):
            await self.ledger.append(
                tx,
                "access",
                agreement_id=bound.agreement_id,
                transfer_id=provider_pid,
                counterparty=bound.consumer,
                data={
                    "decision": "deny",
                    "reason": "token bound to another transfer",
                    "tokenTransfer": bound.transfer_id,
                },
            )
            return None
        return t

    async def decide(
        self,
        t: TransferProcess,
        *,
        method: str = "GET",
        sub_path: str = "",
        query: str = "",
        headers: Mapping[str, str] | None = None,
        purpose: str | None = None,
        body: AsyncIterator[bytes] | None = None,
    ) -> Opened:
        """Evaluate one access to ``t`` in the ``access`` scope; on permit reserve a use and open the source."""
        now = self.rt.now()
        counted = method.upper() != "HEAD"
        use_id = f"urn:uuid:{uuid.uuid4()}"
        async with self.rt.store.transaction() as tx:
            agreement = await tx.agreements.get(t.agreement_id)
            asset = await tx.assets.get(t.asset_id)
            current = await tx.transfers.get(t.id)
            base = {"method": method.upper(), "purpose": purpose, "path": sub_path or None}
            if current.state is not TransferState.STARTED:
                reason = f"the transfer is {current.state}: its tokens are revoked"
                await self._record(tx, current, "access", {**base, "decision": "deny", "reason": reason})
                denied: AccessDenied | None = AccessDenied(reason, code="transfer-not-started")
            else:
                snapshot = await tx.usage.claims(t.id)
                claims = dict(snapshot.claims) if snapshot else {"participant": t.counter_party_id}
                world = await usage_world(tx, agreement, now=now, claims=claims)
                request = Request(
                    action="use",
                    target=agreement.asset_id,
                    party=t.counter_party_id,
                    parameters={"purpose": purpose} if purpose else {},
                )
                report = self.rt.policies.evaluate(agreement.policy, "access", request, world)
                await self.obligations.track(tx, agreement, report, side="provider", transfer_id=t.id)
                uses = world.counters.get("http://www.w3.org/ns/odrl/2/use", 0)
                decision = {**base, "decision": report.decision, "reason": report.reason, "usesBefore": uses}
                if report.decision != "permit":
                    await self._record(tx, current, "access", decision)
                    denied = AccessDenied(report.reason, code="policy-denied", report=report.to_json())
                else:
                    denied = None
                    if counted:
                        await tx.usage.reserve(
                            UsageRecord(
                                id=use_id,
                                agreement_id=agreement.id,
                                transfer_id=t.id,
                                consumer=t.counter_party_id,
                                purpose=purpose,
                                created_at=now,
                            )
                        )
                    await self._record(tx, current, "access", {**decision, "use": use_id if counted else None})
        if denied is not None:
            raise denied
        try:
            opened = await self._open(
                asset, agreement, method=method, sub_path=sub_path, query=query, headers=headers or {}, body=body
            )
        except BaseException as exc:
            if counted:
                await self._finish(t, use_id, 0, None, complete=False, reason=str(exc) or type(exc).__name__)
            raise
        source_finish = opened.finish

        async def finish(sent: int, complete: bool) -> None:
            digest = await _digest(source_finish, sent, complete)
            if counted:
                await self._finish(t, use_id, sent, digest, complete=complete, status=opened.status)
                if complete:
                    await self._inform(t, {"use": use_id, "bytes": sent, "digest": digest, "status": opened.status})

        return Opened(opened.status, opened.headers, opened.chunks, finish)

    async def _inform(self, t: TransferProcess, use: Mapping[str, Any]) -> None:
        """``inform`` duties: the use completed, call their webhooks (failures are recorded, never raised)."""
        try:
            await self.obligations.notify(t.agreement_id, t.provider_pid, use)
        except Exception:
            log.exception("could not notify the webhooks of a completed use", extra={"transfer": t.id})

    async def _record(self, tx: Transaction, t: TransferProcess, kind: str, data: Mapping[str, Any]) -> None:
        await self.ledger.append(
            tx,
            kind,
            agreement_id=t.agreement_id,
            transfer_id=t.provider_pid,
            counterparty=t.counter_party_id,
            data=data,
        )

    async def _finish(
        self,
        t: TransferProcess,
        use_id: str,
        sent: int,
        digest: str | None,
        *,
        complete: bool,
        status: int | None = None,
        reason: str | None = None,
    ) -> None:
        # A use that delivered data counts even when the client hung up before the end (see the domain docstring).
        state = "completed" if complete else ("interrupted" if sent > 0 else "aborted")
        async with self.rt.store.transaction() as tx:
            await tx.usage.finish(use_id, state=state, bytes_sent=sent, digest=digest, at=self.rt.now())
            data: dict[str, Any] = {"use": use_id, "bytes": sent, "digest": digest, "status": status}
            if reason:
                data["reason"] = reason[:500]
            await self._record(tx, t, f"use-{state}", data)

    # -- sources ----------------------------------------------------------------------------------------------

    async def _open(
        self,
        asset: Asset,
        agreement: Agreement,
        *,
        method: str,
        sub_path: str,
        query: str,
        headers: Mapping[str, str],
        body: AsyncIterator[bytes] | None,
    ) -> _Source:
        address = asset.data_address
        if isinstance(address, FileDataAddress):
            return self._open_file(address, asset, method=method, sub_path=sub_path, query=query, headers=headers)
        url = upstream_url(address, sub_path=sub_path, query=query, method=method)
        secrets: dict[str, str] = {}
        for name, ref in address.headers.items():
            # Secrets are referenced, never stored with the asset: GXC_SECRET_<NAME> in the connector's environment.
            value = os.environ.get("GXC_SECRET_" + ref.secret.upper().replace("-", "_"))
            if value is None:
                raise SourceError(
                    f"secret {ref.secret!r} for this asset's backend is not configured (GXC_SECRET_...)",
                    code="source-unavailable",
                )
            secrets[name] = value
        meter = Meter()
        upstream = await open_upstream(
            self.client, url, method=method.upper(), headers=headers, fixed_headers=secrets, meter=meter, content=body
        )
        return _Source(upstream.status, upstream.headers, upstream.chunks(), meter, None, upstream.aclose)

    def _open_file(
        self,
        address: FileDataAddress,
        asset: Asset,
        *,
        method: str,
        sub_path: str,
        query: str,
        headers: Mapping[str, str],
    ) -> _Source:
        if sub_path.strip("/") or query:
            raise SourceError("this asset is a file: it takes no path or query parameters")
        if method.upper() not in ("GET", "HEAD"):
            raise SourceError(f"method {method} is not allowed for a file asset (GET or HEAD)")
        info = file_info(address)
        lowered = {k.lower(): v for k, v in headers.items()}
        wanted = parse_range(lowered.get("range"), info.size, if_range=lowered.get("if-range"), etag=info.etag)
        out = {
            "content-type": asset.content_type or "application/octet-stream",
            "accept-ranges": "bytes",
            "etag": info.etag,
        }
        start, length, status = 0, info.size, 200
        if wanted is not None:
            start, length, status = wanted.start, wanted.length, 206
            out["content-range"] = wanted.content_range(info.size)
        out["content-length"] = str(length)
        key = (str(info.path), info.etag)
        known = self._digests.get(key) if wanted is None else None
        if known is not None:
            out["repr-digest"] = repr_digest(known)
        meter = None if known is not None else Meter()
        chunks = None if method.upper() == "HEAD" else file_chunks(info, start, length, meter)

        def remember(digest: str) -> None:
            if wanted is None:
                self._digests[key] = digest
                while len(self._digests) > DIGEST_CACHE:
                    self._digests.popitem(last=False)

        return _Source(status, out, chunks, meter, known, None, remember if known is None else None)

    # -- token refresh ----------------------------------------------------------------------------------------

    async def refresh(self, token: str) -> dict[str, str]:
        """A new token for a running transfer, from a current or recently expired one (refresh grace)."""
        now = self.rt.now()
        bound = verify_access_token(
            token, self.rt.identity.key, issuer=self.rt.identity.did, now=now, allow_expired_for_refresh=True
        )
        async with self.rt.store.transaction() as tx:
            t = await self._bound_transfer(tx, bound, bound.transfer_id)
            if t is None:
                raise AccessDenied("this token's transfer is unknown", code="token-mismatch")
            if t.state is not TransferState.STARTED:
                await self._record(tx, t, "token-refresh", {"decision": "deny", "reason": f"transfer is {t.state}"})
                denied = True
            else:
                denied = False
                fresh, expires = issue_access_token(
                    self.rt.identity.key,
                    issuer=self.rt.identity.did,
                    transfer_id=bound.transfer_id,
                    agreement_id=bound.agreement_id,
                    consumer=bound.consumer,
                    now=now,
                    ttl=self.rt.behaviour.access_token_ttl,
                )
                await self._record(tx, t, "token-refresh", {"decision": "permit", "previous": bound.jti})
        if denied:
            raise AccessDenied(f"the transfer is {t.state}: its tokens are revoked", code="transfer-not-started")
        return {"authorization": fresh, "authType": "bearer", "expiresAt": expires.isoformat()}


class _Source:
    """An opened source: what to answer, the chunks, and how its digest is known once sent."""

    def __init__(
        self,
        status: int,
        headers: dict[str, str],
        chunks: AsyncIterator[bytes] | None,
        meter: Meter | None,
        known: str | None,
        close: Callable[[], Awaitable[None]] | None,
        remember: Callable[[str], None] | None = None,
    ) -> None:
        self.status = status
        self.headers = headers
        self.chunks = chunks
        self.meter = meter
        self.known = known
        self.close = close
        self.remember = remember

    async def finish(self, sent: int, complete: bool) -> str | None:
        if self.close is not None:
            await self.close()
        if self.meter is None:
            return self.known if complete else None
        if not complete:
            await self.meter.close()
            return None
        digest = await self.meter.digest()
        if self.remember is not None:
            self.remember(digest)
        return digest


async def _digest(finish: Callable[[int, bool], Awaitable[str | None]], sent: int, complete: bool) -> str | None:
    return await finish(sent, complete)
