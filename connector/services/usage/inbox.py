"""The consumer's inbox for push transfers (DSP 2025-1 §transfer: in a push, the consumer's ``dataAddress`` names
where the provider sends the data).

When a consumer requests a push without naming a destination, its connector offers its own inbox:
``{base}/public/inbox/{consumerPid}`` with a bearer token it signed, bound to that transfer and valid for the
provider only. The provider streams the bytes there (PUT or POST); they are written to a file in the state folder as
they arrive (memory stays flat), hashed, and recorded as a ``receipt`` in our ledger. The management API serves the
received file (``GET /transfers/{id}/data``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from connector.dataplane.access_tokens import AccessTokenError, issue_access_token, verify_access_token
from connector.dsp.states import Role, TransferState
from connector.errors import ConnectorError
from connector.services.runtime import Runtime
from connector.services.usage.access import Opened
from connector.services.usage.ledger import UsageLedger

INBOX_PATH = "/public/inbox"
INBOX_TOKEN_TTL = dt.timedelta(hours=24)
CHUNK = 1 << 20


class InboxRefused(ConnectorError):
    code = "inbox-refused"


class Inbox:
    def __init__(self, runtime: Runtime, ledger: UsageLedger, folder: Path) -> None:
        self.rt = runtime
        self.ledger = ledger
        self.folder = folder

    def data_address(self, consumer_pid: str, agreement_id: str, provider: str) -> dict[str, Any]:
        """The DSP ``DataAddress`` of our inbox for one push transfer (token bound to it and to the provider)."""
        token, expires = issue_access_token(
            self.rt.identity.key,
            issuer=self.rt.identity.did,
            transfer_id=consumer_pid,
            agreement_id=agreement_id,
            consumer=provider,
            now=self.rt.now(),
            ttl=INBOX_TOKEN_TTL,
        )
        return {
            "@type": "DataAddress",
            "endpointType": "https://w3id.org/idsa/v4.1/HTTP",
            "endpoint": f"{self.rt.identity.base_url}{INBOX_PATH}/{consumer_pid}",
            "endpointProperties": [
                {"@type": "EndpointProperty", "name": "authorization", "value": token},
                {"@type": "EndpointProperty", "name": "authType", "value": "bearer"},
                {"@type": "EndpointProperty", "name": "expiresAt", "value": expires.isoformat()},
            ],
        }

    def path(self, transfer_id: str) -> Path:
        return self.folder / hashlib.sha256(transfer_id.encode()).hexdigest()[:32]

    async def receive(self, consumer_pid: str, authorization: str | None, body: AsyncIterator[bytes]) -> dict[str, Any]:
        """Store the pushed bytes of a STARTED push transfer; refuse anything else with the reason."""
        token = (authorization or "").removeprefix("Bearer ").removeprefix("bearer ").strip()
        try:
            claims = verify_access_token(token, self.rt.identity.key, issuer=self.rt.identity.did, now=self.rt.now())
        except AccessTokenError as exc:
            raise InboxRefused(exc.message, code=exc.code) from exc
        if claims.transfer_id != consumer_pid:
            raise InboxRefused("this token is for another transfer", code="dataplane-token-invalid")
        async with self.rt.store.transaction() as tx:
            t = await tx.transfers.find_by_consumer_pid(Role.CONSUMER, consumer_pid)
        if t is None or t.counter_party_id != claims.consumer or t.format != "HttpData-PUSH":
            raise InboxRefused("no push transfer of yours with this id", code="not-found")
        if t.state is not TransferState.STARTED:
            raise InboxRefused(f"the transfer is {t.state}, not STARTED", code="invalid-state")
        target = self.path(t.id)
        digest, size = await _write(target, body)
        async with self.rt.store.transaction() as tx:
            await self.ledger.append(
                tx,
                "receipt",
                agreement_id=t.agreement_id,
                transfer_id=t.id,
                counterparty=t.counter_party_id,
                data={"direction": "push", "bytes": size, "digest": f"sha-256={digest}", "complete": True},
            )
        return {"bytes": size, "digest": f"sha-256={digest}"}

    async def open(self, transfer_id: str) -> Opened:
        """The received file of a push transfer, for the management API."""
        target = self.path(transfer_id)
        if not await asyncio.to_thread(target.is_file):
            raise ConnectorError("nothing was pushed to this transfer yet", code="not-received")
        size = (await asyncio.to_thread(target.stat)).st_size

        async def chunks() -> AsyncIterator[bytes]:
            handle = await asyncio.to_thread(target.open, "rb")
            try:
                while data := await asyncio.to_thread(handle.read, CHUNK):
                    yield data
            finally:
                handle.close()

        async def finish(sent: int, complete: bool) -> None:
            return None

        headers = {"content-length": str(size), "content-type": "application/octet-stream"}
        return Opened(200, headers, chunks(), finish)


async def _write(target: Path, body: AsyncIterator[bytes]) -> tuple[str, int]:
    """Write ``body`` to ``target`` atomically (temp file + rename), returning its SHA-256 and size."""
    await asyncio.to_thread(target.parent.mkdir, parents=True, exist_ok=True)
    tmp = target.with_suffix(".part")
    hasher = hashlib.sha256()
    size = 0
    handle = await asyncio.to_thread(tmp.open, "wb")
    try:
        async for chunk in body:
            hasher.update(chunk)
            size += len(chunk)
            await asyncio.to_thread(handle.write, chunk)
    finally:
        handle.close()
    await asyncio.to_thread(os.replace, tmp, target)
    return hasher.hexdigest(), size
