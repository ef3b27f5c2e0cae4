"""Everything a running catalogue app holds (built in the lifespan, reached through ``app.state.runtime``)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from catalog.crawl import Crawler
from catalog.errors import CatalogueError
from catalog.federation import Follower, SyncReport
from catalog.service import Catalogue
from catalog.settings import CatalogueSettings
from connector.identity.participant import ParticipantIdentity
from self_descriptions.did import DidResolver

log = logging.getLogger("gxc.catalog")


class MemoryJtiStore:
    """Replay protection for participants' self-issued ID tokens (one catalogue process; bounded by expiry)."""

    def __init__(self) -> None:
        self._seen: dict[str, dt.datetime] = {}

    async def remember_jti(self, jti: str, expires_at: dt.datetime, now: dt.datetime) -> bool:
        if len(self._seen) > 10_000:
            self._seen = {k: v for k, v in self._seen.items() if v > now}
        seen = self._seen.get(jti)
        if seen is not None and seen > now:
            return False
        self._seen[jti] = expires_at
        return True


@dataclass
class Runtime:
    settings: CatalogueSettings
    identity: ParticipantIdentity
    catalogue: Catalogue
    crawler: Crawler
    follower: Follower
    resolver: DidResolver
    clock: Callable[[], dt.datetime]
    jti: MemoryJtiStore = field(default_factory=MemoryJtiStore)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def crawl(self, did: str) -> dict[str, object]:
        """Crawl one member now; the outcome (datasets or the failure) is recorded either way."""
        participant = self.catalogue.participant(did)
        try:
            endpoint, records = await self.crawler.crawl(did, provider_name=participant.name)
        except CatalogueError as exc:
            await self.catalogue.record_crawl(did, endpoint=None, datasets=None, error=exc.message)
            return {"participant": did, "ok": False, "error": exc.message, "code": exc.code}
        await self.catalogue.record_crawl(did, endpoint=endpoint, datasets=records, error=None)
        return {"participant": did, "ok": True, "endpoint": endpoint, "datasets": len(records)}

    async def reverify(self) -> dict[str, int]:
        """The scheduled re-verification of every stored presentation (as ``gxc catalog reverify``)."""
        counts = await self.catalogue.reverify_all(reason="scheduled")
        if counts["failed"]:
            log.info("scheduled re-verification: %s", counts)
        return counts

    async def crawl_all(self) -> list[dict[str, object]]:
        return [await self.crawl(p.did) for p in self.catalogue.visible_participants()]

    async def sync_all(self) -> list[SyncReport]:
        return [await self.follower.sync(peer) for peer in self.settings.peers]

    def spawn(self, coro_factory: Callable[[], object], name: str) -> None:
        task: asyncio.Task[None] = asyncio.create_task(_guard(coro_factory, name), name=name)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def start_schedules(self) -> None:
        s = self.settings
        if s.expiry_sweep_seconds > 0:
            self.spawn(lambda: _every(s.expiry_sweep_seconds, self.catalogue.sweep_expired), "expiry-sweep")
        if s.reverify_interval_seconds > 0:
            # Revocation and suspension are only seen by asking the issuers' status lists again (W3C Bitstring
            # Status List v1.0 §3.2; catalogues must apply them, gaiax.md §9.3).
            self.spawn(lambda: _every(s.reverify_interval_seconds, self.reverify), "reverify")
        if s.crawl_interval_seconds > 0:
            self.spawn(lambda: _every(s.crawl_interval_seconds, self.crawl_all), "crawl")
        if s.federation_interval_seconds > 0 and s.peers:
            self.spawn(lambda: _every(s.federation_interval_seconds, self.sync_all, first=0.0), "federation")

    async def stop(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def _every(seconds: float, job: Callable[[], object], *, first: float | None = None) -> None:
    await asyncio.sleep(seconds if first is None else first)
    while True:
        try:
            result = job()
            if asyncio.iscoroutine(result):
                await result
        except CatalogueError as exc:
            log.warning("scheduled job failed: %s", exc.message)
        await asyncio.sleep(seconds)


async def _guard(factory: Callable[[], object], name: str) -> None:
    try:
        result = factory()
        if asyncio.iscoroutine(result):
            await result
    except asyncio.CancelledError:
        raise
    except Exception:  # a background job must never take the service down; it is logged with its traceback
        log.exception("background task %s failed", name)
