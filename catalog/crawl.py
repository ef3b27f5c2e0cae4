"""Crawling the DSP catalogs of admitted members (DSP 2025-1 §common "Exposure of Versions", §catalog binding).

For each member: the DSP root comes from its DID document (a ``DataService`` whose endpoint is the
``/.well-known/dspace-version`` URL, as this project's connector publishes it) or, failing that, from the did:web
location. ``GET <root>/.well-known/dspace-version`` gives the 2025-1 ``path``; ``POST <root><path>/catalog/request``
with a ``CatalogRequestMessage`` and ``Authorization: <self-issued ID token>`` (DCP 1.0, the catalogue's own
did:web identity, audience = the member's DID) returns a ``Catalog``; ``Link: rel="next"`` pages are followed up
to ``max_pages``. Every request goes through the SSRF-guarded client. Failures are recorded per member.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin

from catalog import extract
from catalog.errors import UpstreamError
from catalog.model import DatasetRecord
from connector.dsp import Catalog, CatalogRequestMessage, DspError, encode_message, parse_message
from connector.dsp.pagination import parse_link_header
from connector.dsp.paths import CATALOG_REQUEST, WELL_KNOWN_VERSION
from connector.dsp.version import DSP_VERSION
from connector.errors import ConnectorError
from connector.identity.participant import ParticipantIdentity
from connector.identity.tokens import issue_token
from connector.peer.egress import GuardedClient
from self_descriptions.did import DidError, DidResolver, did_web_to_url

MAX_RESPONSE_BYTES = 8 * 1024 * 1024


class Crawler:
    def __init__(
        self,
        identity: ParticipantIdentity,
        client: GuardedClient,
        resolver: DidResolver,
        *,
        clock: Callable[[], dt.datetime],
        max_pages: int = 20,
        did_web_scheme: str = "https",
    ) -> None:
        self.identity = identity
        self.client = client
        self.resolver = resolver
        self.clock = clock
        self.max_pages = max_pages
        self.did_web_scheme = did_web_scheme

    async def root(self, did: str) -> str:
        """The member's DSP root URL (where ``/.well-known/dspace-version`` lives)."""
        try:
            document = await self.resolver.resolve(did)
        except DidError as exc:
            raise UpstreamError(f"cannot resolve {did}: {exc.message}", code="crawl-did") from exc
        services = document.raw.get("service", [])
        for service in services if isinstance(services, list) else []:
            endpoint = service.get("serviceEndpoint") if isinstance(service, dict) else None
            if isinstance(endpoint, str) and endpoint.endswith(WELL_KNOWN_VERSION):
                return endpoint[: -len(WELL_KNOWN_VERSION)]
        try:
            return (
                did_web_to_url(did, scheme=self.did_web_scheme)
                .rsplit("/.well-known/did.json", 1)[0]
                .rsplit("/did.json", 1)[0]
            )
        except DidError as exc:
            raise UpstreamError(f"{did} names no DSP endpoint: {exc.message}", code="crawl-no-endpoint") from exc

    async def crawl(self, did: str, *, provider_name: str | None) -> tuple[str, list[DatasetRecord]]:
        """All datasets of the member's DSP catalog; raises :class:`UpstreamError` with the reason."""
        root = await self.root(did)
        versions = await self._json("GET", root + WELL_KNOWN_VERSION, did=None)
        base = None
        for entry in versions.get("protocolVersions", []) if isinstance(versions, dict) else []:
            if isinstance(entry, dict) and entry.get("version") == DSP_VERSION and isinstance(entry.get("path"), str):
                base = root + "/" + entry["path"].strip("/")
        if base is None:
            raise UpstreamError(f"{root} does not offer DSP {DSP_VERSION}", code="crawl-no-version")
        url: str | None = base + CATALOG_REQUEST
        body = json.dumps(encode_message(CatalogRequestMessage())).encode()
        records: dict[str, DatasetRecord] = {}
        pages = 0
        while url is not None and pages < self.max_pages:
            pages += 1
            data, links = await self._post_catalog(url, body, did)
            try:
                parse_message(json.dumps(data).encode(), Catalog)
            except DspError as exc:
                raise UpstreamError(f"{url} answered an invalid DSP Catalog: {exc}", code="crawl-invalid") from exc
            for record in extract.from_dsp_catalog(
                did, data, provider_name=provider_name, endpoint=base, origin="dsp-crawl"
            ):
                records[record.dataset_id] = record
            nxt = links.get("next")
            url = urljoin(url, nxt) if nxt else None
        return base, list(records.values())

    async def _post_catalog(self, url: str, body: bytes, did: str) -> tuple[Any, dict[str, str]]:
        token = issue_token(self.identity, did, now=self.clock())
        headers = {"Authorization": token, "Content-Type": "application/json", "Accept": "application/json"}
        return await self._request("POST", url, headers, body)

    async def _json(self, method: str, url: str, *, did: str | None) -> Any:
        data, _ = await self._request(method, url, {"Accept": "application/json"}, None)
        return data

    async def _request(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None
    ) -> tuple[Any, dict[str, str]]:
        try:
            response = await self.client.request(method, url, headers=headers, content=body, stream=True)
            try:
                if response.status_code != 200:
                    raise UpstreamError(f"{url} answered HTTP {response.status_code}", code="crawl-http")
                raw = bytearray()
                async for chunk in response.aiter_bytes():
                    raw.extend(chunk)
                    if len(raw) > MAX_RESPONSE_BYTES:
                        raise UpstreamError(f"{url} answered more than {MAX_RESPONSE_BYTES} bytes", code="crawl-size")
                links = parse_link_header(response.headers.get_list("link"))
            finally:
                await response.aclose()
        except ConnectorError as exc:
            raise UpstreamError(f"{url}: {exc.message}", code="crawl-egress") from exc
        except UpstreamError:
            raise
        except Exception as exc:  # httpx transport errors of every kind: recorded per member, never fatal
            raise UpstreamError(f"cannot reach {url}: {type(exc).__name__}: {exc}", code="crawl-unreachable") from exc
        try:
            return json.loads(raw), links
        except ValueError as exc:
            raise UpstreamError(f"{url} did not answer JSON", code="crawl-invalid") from exc
