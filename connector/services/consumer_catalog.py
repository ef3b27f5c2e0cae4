"""Consumer side of the catalog protocol: fetch a peer's catalog (DSP 2025-1 §catalog) and find offers in it.

The peer's DSP base is discovered through its ``/.well-known/dspace-version`` (dsp.md §21 item 3: users should
not have to paste version-suffixed addresses); its DID, when not given, is the did:web of its root URL.

:class:`PeerOffers` reuses a peer's catalog for :data:`OFFER_REUSE` to find the offer a negotiation names: a burst of
negotiations with one provider then costs one catalog request, not one each (the whole catalog, token and policy
evaluation on both sides: about a tenth of both connectors' CPU per negotiation, bench/negotiation.py). The provider
stays the judge: an offer id carries a digest of its policy, so an offer the provider changed meanwhile is refused
(``outdated-offer``), and the provider evaluates access and contract policy on every request. An offer id not in the
reused catalog is looked up in a fresh one, and an explicit catalog request always fetches (and refreshes the reuse).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from connector.dsp import Catalog, CatalogRequestMessage, encode_message, parse_message, paths
from connector.dsp.errors import DspError
from connector.dsp.pagination import parse_link_header
from connector.errors import ConnectorError
from connector.services.runtime import Runtime
from self_descriptions.did import DidError, did_web_from_url

MAX_PAGES = 100
#: How long a peer's catalog is reused to find offers for new negotiations (see the module docstring).
OFFER_REUSE = dt.timedelta(seconds=30)
CACHE_SIZE = 1_000


class PeerCatalogError(ConnectorError):
    code = "peer-catalog-error"


@dataclass(frozen=True)
class PeerCatalog:
    dsp_base: str
    participant_id: str
    catalog: dict[str, Any]

    def datasets(self) -> list[dict[str, Any]]:
        value = self.catalog.get("dataset") or []
        return [d for d in (value if isinstance(value, list) else [value]) if isinstance(d, dict)]

    def find_offer(self, offer_id: str) -> tuple[str, dict[str, Any]]:
        """(dataset id, offer) for ``offer_id``; raises when the peer does not offer it (to us)."""
        for dataset in self.datasets():
            offers = dataset.get("hasPolicy") or []
            for offer in offers if isinstance(offers, list) else [offers]:
                if isinstance(offer, dict) and offer.get("@id") == offer_id:
                    return str(dataset.get("@id")), offer
        raise PeerCatalogError(f"the peer's catalog has no offer {offer_id!r} (for us)")


async def fetch_catalog(rt: Runtime, address: str, counter_party_id: str | None = None) -> PeerCatalog:
    """All pages of the peer's catalog as seen by us."""
    dsp_base = await rt.peers.dsp_base(address)
    root = address.rstrip("/")
    try:
        audience = counter_party_id or did_web_from_url(root)
    except DidError as exc:
        raise PeerCatalogError(f"cannot tell the peer's DID from {address}; pass its counterPartyId") from exc
    url: str | None = paths.join(dsp_base, paths.CATALOG_REQUEST)
    body = encode_message(CatalogRequestMessage())
    merged: dict[str, Any] | None = None
    for _ in range(MAX_PAGES):
        if url is None:
            break
        answer = await rt.peers.send("POST", url, audience=audience, body=body)
        if not answer.ok:
            raise PeerCatalogError(
                f"the peer answered the catalog request with HTTP {answer.status}: {_reason(answer.body)}"
            )
        try:
            page = parse_message(answer.body, Catalog)
        except DspError as exc:
            raise PeerCatalogError(f"the peer's catalog is not valid DSP 2025-1: {'; '.join(exc.reason)}") from exc
        wire = page.to_wire()
        if merged is None:
            merged = wire
        else:
            merged.setdefault("dataset", [])
            merged["dataset"] = list(merged["dataset"] or []) + list(wire.get("dataset") or [])
        link = answer.headers.get("link")
        url = parse_link_header(link).get("next") if link else None
    assert merged is not None
    participant = str(merged.get("participantId") or audience)
    return PeerCatalog(dsp_base=dsp_base, participant_id=participant, catalog=merged)


def _reason(body: Any) -> str:
    if isinstance(body, Mapping):
        reason = body.get("reason")
        if isinstance(reason, list):
            return "; ".join(str(r) for r in reason)
        return str(body.get("code") or body)
    return "no error body"


class PeerOffers:
    """Peers' catalogs as seen by us, reused for :data:`OFFER_REUSE` to find offers (see the module docstring)."""

    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self._catalogs: dict[tuple[str, str | None], tuple[dt.datetime, PeerCatalog]] = {}

    async def fetch(self, address: str, counter_party_id: str | None = None) -> PeerCatalog:
        """The peer's catalog, always fetched (and remembered for offer look-ups)."""
        peer = await fetch_catalog(self.rt, address, counter_party_id)
        if len(self._catalogs) >= CACHE_SIZE:
            self._catalogs.clear()
        self._catalogs[(address.rstrip("/"), counter_party_id)] = (self.rt.now() + OFFER_REUSE, peer)
        return peer

    async def find(
        self, address: str, counter_party_id: str | None, offer_id: str
    ) -> tuple[PeerCatalog, str, dict[str, Any]]:
        """(catalog, dataset id, offer) for ``offer_id`` from a catalog of at most :data:`OFFER_REUSE` ago, or from a
        fresh one when the reused catalog does not have it; raises :class:`PeerCatalogError` when the peer does not
        offer it (to us)."""
        cached = self._catalogs.get((address.rstrip("/"), counter_party_id))
        if cached is not None and self.rt.now() < cached[0]:
            try:
                return cached[1], *cached[1].find_offer(offer_id)
            except PeerCatalogError:
                pass
        peer = await self.fetch(address, counter_party_id)
        return peer, *peer.find_offer(offer_id)
