"""The usage-control services of one connector, built once from its runtime (see :mod:`connector.services.usage`)."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from pathlib import Path

from connector.dataplane.streams import HttpRequester
from connector.services.runtime import Runtime
from connector.services.transfers import Transfers
from connector.services.usage.access import AccessControl
from connector.services.usage.deletion import Deletions
from connector.services.usage.grants import Grants
from connector.services.usage.inbox import Inbox
from connector.services.usage.ledger import UsageLedger
from connector.services.usage.monitor import PolicyMonitor
from connector.services.usage.obligations import Obligations
from connector.services.usage.push import Pusher
from connector.services.usage.receipts import Receipts

#: How often the policy monitor re-evaluates running transfers (seconds).
MONITOR_INTERVAL = 5.0


class UsageControl:
    def __init__(
        self,
        runtime: Runtime,
        transfers: Transfers,
        client: HttpRequester | None = None,
        *,
        monitor_interval: float = MONITOR_INTERVAL,
        inbox_folder: Path | None = None,
    ) -> None:
        http: HttpRequester = client if client is not None else runtime.peers.http
        self.ledger = UsageLedger(runtime)
        self.grants = Grants()
        self.obligations = Obligations(runtime, self.ledger, http)
        self.access = AccessControl(runtime, self.ledger, self.obligations, http, self.grants)
        self.push = Pusher(runtime, self.access, transfers, http)
        self.monitor = PolicyMonitor(runtime, self.ledger, self.obligations, transfers, self.grants)
        self.receipts = Receipts(runtime, self.ledger, http)
        self.inbox = Inbox(runtime, self.ledger, inbox_folder or Path(tempfile.gettempdir()) / "gxc-inbox")
        self.deletions = Deletions(runtime, self.ledger, self.obligations, self.inbox.path)
        self.monitor_interval = monitor_interval
        self._monitor: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the policy monitor (in the running event loop)."""
        if self._monitor is None:
            self._monitor = asyncio.create_task(self.monitor.run(self.monitor_interval), name="usage-monitor")

    async def aclose(self) -> None:
        if self._monitor is not None:
            self._monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._monitor
            self._monitor = None
        await self.push.aclose()
