"""The catalogue's HTTP API (FastAPI): ``create_catalog_app(settings)``; OpenAPI docs at ``/docs``.

Public: admission ``POST /api/v1/self-descriptions``, status and self-revocation under ``/api/v1/participants``,
discovery ``GET /api/v1/datasets`` and ``GET /api/v1/catalog``, ``GET|POST /api/v1/sparql``, the signed federation
feed and the did:web documents. Operator (``X-Api-Key``): ``/api/v1/admin/...``. Errors: RFC 9457 problem+json.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from fastapi import FastAPI

from catalog.admission import Admission, TrustFramework
from catalog.api import operator, problems, public
from catalog.api.runtime import Runtime
from catalog.console import mount as mount_console
from catalog.crawl import Crawler
from catalog.federation import Follower
from catalog.service import Catalogue
from catalog.settings import CatalogueSettings
from catalog.sparql import SparqlEngine
from catalog.state import load_identity, load_trust_anchors
from catalog.store import CatalogueStore
from connector.identity.resolver import GuardedFetcher, HttpDidResolver, HttpX5uFetcher
from connector.identity.status_lists import HttpStatusListFetcher
from connector.peer.egress import EgressPolicy, GuardedClient
from self_descriptions.canonical_worker import WorkerPool, warm_up
from self_descriptions.did import DidResolver
from self_descriptions.loader import DocumentLoader
from self_descriptions.shacl import preload
from self_descriptions.status_list import StatusListFetcher
from self_descriptions.trust import X5uFetcher


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Overrides:
    """Injected collaborators (tests, offline demos): resolver, x5u fetcher, status lists, clock, HTTP transport."""

    resolver: DidResolver | None = None
    x5u_fetcher: X5uFetcher | None = None
    status_lists: StatusListFetcher | None = None
    clock: Callable[[], dt.datetime] | None = None
    transport: httpx.AsyncBaseTransport | None = None


def create_catalog_app(settings: CatalogueSettings, overrides: Overrides | None = None) -> FastAPI:
    """The catalogue app. Identity, anchors and the trust framework are checked here (one-line configuration
    errors before any socket); the store opens and the index is rebuilt in the lifespan."""
    extra = overrides or Overrides()
    clock = extra.clock or _utc_now
    identity = load_identity(settings, now=clock())
    trust = TrustFramework(
        anchors=tuple(load_trust_anchors(settings)),
        notaries=tuple(settings.trusted_notaries),
        compliance_issuers=tuple(settings.trusted_compliance_issuers),
        shapes_versions=tuple(settings.shapes_versions),
    )
    loader = DocumentLoader({url: settings.path(p) for url, p in settings.contexts.items()})
    schemes = ("http", "https") if settings.did_web_http else ("https",)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = httpx.AsyncClient(transport=extra.transport, timeout=10.0, follow_redirects=False)
        policy = EgressPolicy.from_strings(
            allow_private=settings.egress_allow_private, networks=settings.egress_allowed_networks
        )
        fetcher = GuardedFetcher(client, policy=policy, allowed_schemes=schemes)
        resolver = extra.resolver or HttpDidResolver(fetcher, scheme="http" if settings.did_web_http else "https")
        x5u = extra.x5u_fetcher or HttpX5uFetcher(fetcher)
        # Catalogues must apply the issuers' revocation lists (gaiax.md §9.3, §12.17; Bitstring Status List v1.0
        # §3.2 step 4 dereferences them). Their URLs are chosen by credential issuers, so they get the same guard as
        # did:web: private targets only where the settings allow them for DIDs. The cache runs on the catalogue's
        # clock and is short (§2.2 ``ttl`` may shorten it further): a re-verification sees a list changed since.
        status_lists = extra.status_lists or HttpStatusListFetcher(
            fetcher, ttl=settings.status_list_cache_seconds, clock=lambda: clock().timestamp()
        )
        egress = GuardedClient(client, policy)
        store = await CatalogueStore.open(settings.sqlalchemy_url)
        catalogue_ref: list[Catalogue] = []

        async def reload() -> list[tuple[str, bytes]]:
            return await catalogue_ref[0].graphs()

        sparql = SparqlEngine(
            timeout=settings.sparql_timeout_seconds, max_results=settings.sparql_max_results, reload=reload
        )
        await sparql.start()
        # Submitted JSON-LD is canonicalized in worker processes with a hard timeout.
        canonicalizer = WorkerPool(
            workers=settings.canonicalization_workers, timeout=settings.canonicalization_timeout_seconds
        )
        admission = Admission(
            trust,
            resolver=resolver,
            x5u_fetcher=x5u,
            loader=loader,
            canonicalizer=canonicalizer,
            status_lists=status_lists,
        )
        catalogue = Catalogue(settings, store, identity, admission, sparql, clock=clock)
        catalogue_ref.append(catalogue)
        runtime = Runtime(
            settings=settings,
            identity=identity,
            catalogue=catalogue,
            crawler=Crawler(
                identity,
                egress,
                resolver,
                clock=clock,
                max_pages=settings.crawl_max_pages,
                did_web_scheme="http" if settings.did_web_http else "https",
            ),
            follower=Follower(catalogue, egress, resolver, clock=clock, page_size=settings.federation_page_size),
            resolver=resolver,
            clock=clock,
        )
        try:
            # Start the canonicalization workers and compile the shapes (~4 s for 25.11) before the first admission
            # instead of during it.
            warming = asyncio.create_task(warm_up(canonicalizer))
            for version in settings.shapes_versions:
                await asyncio.to_thread(preload, version)
            await warming
            await catalogue.load()
            app.state.runtime = runtime
            runtime.start_schedules()
            yield
        finally:
            await runtime.stop()
            await asyncio.to_thread(canonicalizer.close)
            await sparql.close()
            await store.close()
            await client.aclose()

    app = FastAPI(
        title=f"gxc federated catalogue - {settings.name}",
        version="1.0",
        description=__doc__,
        lifespan=lifespan,
    )
    problems.install(app)
    app.include_router(public.router())
    app.include_router(operator.router())
    mount_console(app, settings, clock)
    app.state.identity = identity
    return app


__all__ = ["Overrides", "create_catalog_app"]
