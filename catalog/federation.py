"""Federation between catalogues: a signed, cursor-paged change feed and a follower that re-verifies everything.

Feed (served by every catalogue, ``GET /api/v1/federation/feed?after=SEQ&limit=N``): a compact JWS (``typ: JWT``,
signed with the catalogue's did:web key, ``kid`` in its DID document) over ``{"iss": DID, "after": SEQ,
"next": SEQ', "items": [{seq, kind, participant, digest, presentation, origin, at}], "iat"}``. ``kind`` is
``admitted`` (carries the participant's presentation) or ``revoked``. ``seq`` only grows, so a follower resumes
from the last cursor it stored.

Following (``peers`` in the settings): the follower verifies the feed signature with the peer's DID document
(``iss`` must be the configured peer DID, ``after`` the cursor it asked for), then for each item: ``admitted`` goes
through the full admission pipeline here (never trusting the peer's verdict), recorded with ``origin`` = the peer
URL; ``revoked`` revokes a participant only if this catalogue learnt it from that same peer. The cursor is stored
after each page; items are idempotent (an unchanged presentation is a no-op), so a restart mid-sync, a partition or
two catalogues following each other all converge without loops.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from catalog.errors import AdmissionRejected, CatalogueError, UpstreamError
from catalog.model import LOCAL_ORIGIN, FeedEvent, Status
from catalog.service import Catalogue
from catalog.settings import PeerCatalogue
from connector.errors import ConnectorError
from connector.identity.participant import ParticipantIdentity
from connector.peer.egress import GuardedClient
from self_descriptions.did import DidResolver, did_web_from_url
from self_descriptions.errors import SelfDescriptionError
from self_descriptions.proofs.jose import decode_json_payload, parse_compact, sign_compact, verify_signature

FEED_PATH = "/api/v1/federation/feed"
MAX_FEED_BYTES = 32 * 1024 * 1024
MAX_PAGES_PER_SYNC = 1000


def sign_feed(identity: ParticipantIdentity, events: list[FeedEvent], *, after: int, now: dt.datetime) -> str:
    payload = {
        "iss": identity.did,
        "after": after,
        "next": events[-1].seq if events else after,
        "items": [e.as_dict() for e in events],
        "iat": int(now.timestamp()),
    }
    header = {"alg": identity.key.alg, "kid": identity.kid, "typ": "JWT"}
    return sign_compact(header, json.dumps(payload, separators=(",", ":")).encode(), identity.key)


async def verify_feed(token: str, *, peer_did: str, after: int, resolver: DidResolver) -> dict[str, Any]:
    """The feed payload, after checking signature, issuer and cursor; raise :class:`UpstreamError` otherwise."""
    try:
        jws = parse_compact(token.strip())
        kid = jws.header.get("kid")
        if not isinstance(kid, str) or kid.split("#", 1)[0] != peer_did:
            raise UpstreamError(f"feed key {kid!r} does not belong to {peer_did}", code="feed-untrusted")
        document = await resolver.resolve(peer_did)
        verify_signature(jws, document.public_jwk(kid))
        payload = decode_json_payload(jws)
    except SelfDescriptionError as exc:
        raise UpstreamError(f"the feed of {peer_did} does not verify: {exc.message}", code="feed-signature") from exc
    if payload.get("iss") != peer_did:
        raise UpstreamError(f"feed issuer {payload.get('iss')!r} is not {peer_did}", code="feed-untrusted")
    if payload.get("after") != after or not isinstance(payload.get("items"), list):
        raise UpstreamError("the feed page does not answer the requested cursor", code="feed-cursor")
    return payload


@dataclass
class SyncReport:
    peer: str
    applied: int = 0
    unchanged: int = 0
    refused: list[dict[str, Any]] = field(default_factory=list)
    cursor: int = 0
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "peer": self.peer,
            "applied": self.applied,
            "unchanged": self.unchanged,
            "refused": self.refused,
            "cursor": self.cursor,
            "error": self.error,
        }


class Follower:
    def __init__(
        self,
        catalogue: Catalogue,
        client: GuardedClient,
        resolver: DidResolver,
        *,
        clock: Callable[[], dt.datetime],
        page_size: int = 100,
    ) -> None:
        self.catalogue = catalogue
        self.client = client
        self.resolver = resolver
        self.clock = clock
        self.page_size = page_size

    async def sync(self, peer: PeerCatalogue, *, max_pages: int = MAX_PAGES_PER_SYNC) -> SyncReport:
        did = peer.did or did_web_from_url(peer.url)
        state = await self.catalogue.store.peer(peer.url, did)
        report = SyncReport(peer.url, cursor=state.cursor)
        try:
            for _ in range(max_pages):
                payload = await self._page(peer.url, did, report.cursor)
                items = [i for i in payload["items"] if isinstance(i, Mapping)]
                for item in items:
                    await self._apply(peer.url, item, report)
                nxt = payload.get("next")
                if isinstance(nxt, int) and nxt > report.cursor:
                    report.cursor = nxt
                await self.catalogue.store.record_sync(peer.url, cursor=report.cursor, error=None, now=self.clock())
                if len(items) < self.page_size:
                    break
        except CatalogueError as exc:
            report.error = exc.message
            await self.catalogue.store.record_sync(peer.url, cursor=None, error=exc.message, now=self.clock())
        return report

    async def _page(self, url: str, did: str, after: int) -> dict[str, Any]:
        target = f"{url}{FEED_PATH}?after={after}&limit={self.page_size}"
        try:
            response = await self.client.request("GET", target, headers={"Accept": "application/jwt"})
        except ConnectorError as exc:
            raise UpstreamError(f"{target}: {exc.message}", code="feed-egress") from exc
        except Exception as exc:  # transport errors: a partition is recorded and retried, never fatal
            raise UpstreamError(f"cannot reach {target}: {type(exc).__name__}", code="feed-unreachable") from exc
        if response.status_code != 200:
            raise UpstreamError(f"{target} answered HTTP {response.status_code}", code="feed-http")
        if len(response.content) > MAX_FEED_BYTES:
            raise UpstreamError(f"{target} answered more than {MAX_FEED_BYTES} bytes", code="feed-size")
        return await verify_feed(response.text, peer_did=did, after=after, resolver=self.resolver)

    async def _apply(self, peer_url: str, item: Mapping[str, Any], report: SyncReport) -> None:
        participant = item.get("participant")
        kind = item.get("kind")
        if not isinstance(participant, str):
            return
        known = self.catalogue.participants.get(participant)
        if kind == "revoked":
            if known is not None and known.origin == peer_url and known.status in (Status.ADMITTED, Status.PENDING):
                await self.catalogue.revoke(participant, reason=f"revoked at {peer_url}", by="federation")
                report.applied += 1
            else:
                report.unchanged += 1
            return
        presentation = item.get("presentation")
        if kind != "admitted" or not isinstance(presentation, str):
            return
        if known is not None and known.origin == LOCAL_ORIGIN and known.status is Status.ADMITTED:
            report.unchanged += 1  # a direct submission to this catalogue wins over a relayed copy
            return
        try:
            outcome = await self.catalogue.submit(presentation, origin=peer_url, presentation_window=False)
        except AdmissionRejected as exc:
            report.refused.append({"participant": participant, "seq": item.get("seq"), "checks": exc.checks})
            return
        except CatalogueError as exc:
            report.refused.append({"participant": participant, "seq": item.get("seq"), "error": exc.message})
            return
        if outcome.created:
            report.applied += 1
        else:
            report.unchanged += 1
