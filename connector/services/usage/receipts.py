"""The consumer side of a pull (issue 6 §1, §6): fetch through the stored data address, record each receipt.

``GET /api/management/v1/transfers/{id}/data`` and ``gxc transfer pull`` come here. We send the token of the
``DataAddress``, the declared purpose (``X-GXC-Purpose``) and our identity (``X-GXC-Identity``: a DCP self-issued
token with an access token for our credentials, so the provider evaluates our *current* claims). An expired token
is refreshed once at the address's ``refreshEndpoint``. Each fetch ends with a ``receipt`` record in our ledger:
bytes received, their SHA-256, and the digest the provider announced (``Repr-Digest``) when it did.
"""

from __future__ import annotations

import json
from typing import Any

from connector.dataplane.streams import HttpRequester, Meter, open_upstream
from connector.domain import TransferProcess
from connector.dsp.states import Role, TransferState
from connector.errors import ConnectorError
from connector.identity.wallet import issue_access_token
from connector.services.runtime import Runtime
from connector.services.usage.access import AccessDenied, Opened
from connector.services.usage.ledger import UsageLedger
from connector.services.usage.push import authorization_header, endpoint_properties

PURPOSE_HEADER = "X-GXC-Purpose"
IDENTITY_HEADER = "X-GXC-Identity"


class Receipts:
    def __init__(self, runtime: Runtime, ledger: UsageLedger, client: HttpRequester) -> None:
        self.rt = runtime
        self.ledger = ledger
        self.client = client

    def _identity(self, audience: str) -> str:
        scopes = self.rt.wallet.scopes()
        access = issue_access_token(self.rt.identity, audience, scopes, now=self.rt.now())
        return self.rt.peers.token_for(audience, scopes=scopes, access_token=access)

    async def fetch(self, transfer_id: str, *, purpose: str | None = None, range_header: str | None = None) -> Opened:
        async with self.rt.store.transaction() as tx:
            t = await tx.transfers.get(transfer_id)
        if t.role is not Role.CONSUMER:
            raise ConnectorError("only the consumer of a transfer fetches its data", code="not-consumer")
        if t.state is not TransferState.STARTED or not t.data_address:
            raise ConnectorError(f"the transfer is {t.state}, not STARTED with a data address", code="invalid-state")
        endpoint, props = endpoint_properties(t.data_address)
        fixed = {IDENTITY_HEADER: self._identity(t.counter_party_id), **authorization_header(props)}
        if purpose:
            fixed[PURPOSE_HEADER] = purpose
        headers = {"range": range_header} if range_header else {}
        meter = Meter()
        upstream = await open_upstream(self.client, endpoint, headers=headers, fixed_headers=fixed, meter=meter)
        if upstream.status == 401 and props.get("refreshEndpoint"):
            await upstream.aclose()
            t = await self._refresh(t, props)
            endpoint, props = endpoint_properties(t.data_address)
            fixed = {**fixed, IDENTITY_HEADER: self._identity(t.counter_party_id), **authorization_header(props)}
            upstream = await open_upstream(self.client, endpoint, headers=headers, fixed_headers=fixed, meter=meter)
        if upstream.status >= 400:
            text = b"".join([c async for c in upstream.chunks()])[:4000]
            problem = _json(text)
            reason = str(problem.get("detail") or text.decode("utf-8", "replace")[:300])
            await self._record(t, {"status": upstream.status, "decision": "deny", "reason": reason, "purpose": purpose})
            raise AccessDenied(
                f"the provider refused (HTTP {upstream.status}): {reason}",
                code=str(problem.get("code") or "provider-refused"),
                report=problem,
            )
        announced = upstream.headers.get("repr-digest")

        async def finish(sent: int, complete: bool) -> None:
            await upstream.aclose()
            digest = await meter.digest() if complete else None
            await meter.close()
            await self._record(
                t,
                {
                    "status": upstream.status,
                    "bytes": sent,
                    "digest": digest,
                    "announcedDigest": announced,
                    "complete": complete,
                    "purpose": purpose,
                    "range": range_header,
                },
            )

        return Opened(upstream.status, dict(upstream.headers), upstream.chunks(), finish)

    async def _refresh(self, t: TransferProcess, props: dict[str, str]) -> TransferProcess:
        response = await self.client.request(
            "POST", props["refreshEndpoint"], headers=authorization_header(props), stream=False
        )
        body = _json(response.content)
        if response.status_code != 200 or "authorization" not in body:
            raise AccessDenied(f"token refresh refused (HTTP {response.status_code})", code="refresh-refused")
        address = dict(t.data_address or {})
        kept = [p for p in address.get("endpointProperties", []) if p.get("name") not in ("authorization", "expiresAt")]
        kept += [
            {"@type": "EndpointProperty", "name": "authorization", "value": body["authorization"]},
            {"@type": "EndpointProperty", "name": "expiresAt", "value": body.get("expiresAt", "")},
        ]
        address["endpointProperties"] = kept
        async with self.rt.store.transaction() as tx:
            current = await tx.transfers.get(t.id)
            return await tx.transfers.update(current.evolve(data_address=address))

    async def _record(self, t: TransferProcess, data: dict[str, Any]) -> None:
        async with self.rt.store.transaction() as tx:
            await self.ledger.append(
                tx,
                "receipt",
                agreement_id=t.agreement_id,
                transfer_id=t.consumer_pid,
                counterparty=t.counter_party_id,
                data=data,
            )


def _json(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
