"""HTTP push (issue 6 §2): the provider streams the source to the consumer's ``dataAddress`` and completes.

Started by :class:`connector.services.delivery.Delivery` once the consumer ACKed TransferStartMessage. The push is
one use: decided in the ``access`` scope like a pull (the consumer may declare a ``purpose`` endpoint property),
streamed chunk by chunk with the destination's backpressure, then TransferCompletionMessage is sent; on any
failure the transfer is terminated with the reason (DSP 2025-1 §transfer: TransferTerminationMessage).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from connector.dataplane.sources import SourceError
from connector.dataplane.streams import HttpRequester, push_body
from connector.domain import TransferProcess
from connector.errors import ConnectorError
from connector.services.runtime import Runtime
from connector.services.transfers import Transfers
from connector.services.usage.access import AccessControl

log = logging.getLogger(__name__)


def endpoint_properties(address: dict[str, Any] | None) -> tuple[str, dict[str, str]]:
    """``endpoint`` and the ``endpointProperties`` (name -> value) of a DSP ``DataAddress`` in wire form."""
    if not address:
        return "", {}
    props: dict[str, str] = {}
    for prop in address.get("endpointProperties") or []:
        if isinstance(prop, dict) and isinstance(prop.get("name"), str):
            props[prop["name"]] = str(prop.get("value", ""))
    return str(address.get("endpoint") or ""), props


def authorization_header(props: dict[str, str]) -> dict[str, str]:
    token = props.get("authorization")
    if not token:
        return {}
    kind = props.get("authType", "bearer").lower()
    return {"authorization": f"Bearer {token}" if kind == "bearer" else token}


class Pusher:
    def __init__(self, runtime: Runtime, access: AccessControl, transfers: Transfers, client: HttpRequester) -> None:
        self.rt = runtime
        self.access = access
        self.transfers = transfers
        self.client = client
        self._tasks: set[asyncio.Task[None]] = set()

    async def started(self, t: TransferProcess) -> None:
        """Delivery hook: run the push in the background (the outbox worker must not wait for the bytes)."""
        task = asyncio.create_task(self.run(t.id), name=f"push {t.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def run(self, transfer_id: str) -> None:
        async with self.rt.store.transaction() as tx:
            t = await tx.transfers.get(transfer_id)
        endpoint, props = endpoint_properties(t.data_address)
        try:
            opened = await self.access.decide(t, purpose=props.get("purpose"))
        except ConnectorError as exc:
            await self.transfers.terminate(t.id, code=exc.code, reason=f"push refused: {exc.message}")
            return
        sent = 0
        complete = False
        reason = "the push did not finish"

        async def counted(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
            nonlocal sent
            async for chunk in chunks:
                yield chunk
                sent += len(chunk)

        try:
            assert opened.chunks is not None
            headers = {
                **authorization_header(props),
                "content-type": opened.headers.get("content-type", "application/octet-stream"),
            }
            if "content-length" in opened.headers:
                headers["content-length"] = opened.headers["content-length"]
            status = await push_body(self.client, endpoint, counted(opened.chunks), headers=headers)
            complete = 200 <= status < 300
            reason = f"the destination answered HTTP {status}"
        except (SourceError, ConnectorError) as exc:
            reason = exc.message
        except Exception as exc:  # a push must always end in completion or termination
            log.exception("push failed", extra={"transfer": t.id})
            reason = f"{type(exc).__name__}: {exc}"
        finally:
            await opened.finish(sent, complete)
        if complete:
            await self.transfers.act(t.id, "complete")
        else:
            await self.transfers.terminate(t.id, code="push-failed", reason=reason)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
