"""Builds a connector's services from its settings: the composition root below the HTTP layer.

Everything with a lifetime (store, HTTP clients) is opened here and closed by :meth:`Connector.aclose`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

from connector.errors import ConnectorError
from connector.identity.claims import STATUS_LIST_TTL, ClaimsResolver
from connector.identity.participant import ParticipantIdentity
from connector.identity.resolver import GuardedFetcher, HttpDidResolver, HttpX5uFetcher
from connector.identity.status_lists import HttpStatusListFetcher
from connector.identity.wallet import Wallet, issue_access_token
from connector.peer.client import PeerClient
from connector.peer.egress import EgressPolicy, GuardedClient
from connector.peer.http import http_client
from connector.services.consumer_catalog import PeerOffers
from connector.services.delivery import Delivery
from connector.services.events import EventBus
from connector.services.negotiations import Negotiations
from connector.services.policy_engine import PolicyEngine
from connector.services.provider_catalog import ProviderCatalog
from connector.services.runtime import Behaviour, Clock, Runtime, system_clock
from connector.services.self_description import Profile, Publication, build_and_sign, publish
from connector.services.transfers import Transfers
from connector.settings import ConnectorSettings
from connector.store.opening import open_store
from self_descriptions.certificates import load_pem_certificates
from self_descriptions.loader import DocumentLoader

DSP_PATH = "/dsp/2025-1"
TERMS_PATH = "/terms"
DEFAULT_TERMS = """Service terms and conditions (development default of a gxc connector).

Data offered by this participant may only be used as agreed in the ODRL agreement of a Dataspace Protocol
negotiation. Replace this text with your own terms: set terms_file in gxc.toml.
"""


def terms_text(settings: ConnectorSettings) -> bytes:
    """The terms served at ``/terms`` (whose SHA-256 every service offering carries)."""
    if settings.terms_file is not None:
        return settings.path(settings.terms_file).read_bytes()
    return DEFAULT_TERMS.encode()


@dataclass
class Connector:
    """The running services of one connector."""

    runtime: Runtime
    catalog: ProviderCatalog
    negotiations: Negotiations
    transfers: Transfers
    delivery: Delivery
    _http: object
    #: Peers' catalogs reused to find the offers negotiations name (consumer side).
    offers: PeerOffers
    profile: Profile | None = None
    catalog_urls: tuple[str, ...] = ()
    publication: Publication | None = None

    async def publish_self_description(self) -> Publication:
        """Build, certify and publish the self-description to every configured catalogue; kept as the latest."""
        if self.profile is None:
            raise ConnectorError("no participant profile configured", code="no-profile")
        built = await build_and_sign(self.runtime, self.profile)
        self.publication = await publish(self.runtime, built, list(self.catalog_urls))
        return self.publication

    async def aclose(self) -> None:
        await self.runtime.store.close()
        await self.runtime.peers.http.aclose()  # the DSP session (aiohttp) of PeerClient
        await self._http.aclose()  # type: ignore[attr-defined]


async def assemble(
    settings: ConnectorSettings, identity: ParticipantIdentity, *, clock: Clock = system_clock
) -> Connector:
    store = await open_store(settings.sqlalchemy_url)
    http = http_client()
    policy = EgressPolicy.from_strings(
        allow_private=settings.egress_allow_private, networks=settings.egress_allowed_networks
    )
    guarded = GuardedClient(http, policy)
    # Plain-HTTP did:web only in development: when private targets are allowed or we serve plain HTTP ourselves
    # (then peers' DIDs are http too; egress_allowed_networks still bounds where they may point).
    local = settings.egress_allow_private or settings.base_url.startswith("http://")
    fetcher = GuardedFetcher(http, policy=policy, allowed_schemes=("https", "http") if local else ("https",))
    resolver = HttpDidResolver(fetcher, scheme="http" if settings.base_url.startswith("http://") else "https")
    anchors = [c for p in settings.trust_anchor_files for c in load_pem_certificates(settings.path(p).read_bytes())]
    wallet = Wallet.from_folder(settings.path(settings.credentials_dir))

    def grant(audience: str) -> tuple[str, list[str]]:
        scopes = wallet.scopes()
        return issue_access_token(identity, audience, scopes, now=clock()), scopes

    peers = PeerClient(identity, guarded, clock=clock, credentials=grant)
    claims = ClaimsResolver(
        peers,
        resolver,
        trusted_issuers=settings.trusted_issuers,
        trust_anchors=anchors,
        x5u_fetcher=HttpX5uFetcher(fetcher),
        clock=clock,
        # Revocation (Bitstring Status List v1.0): the status-list cache runs on the runtime clock, like validity.
        status_lists=HttpStatusListFetcher(
            fetcher, ttl=STATUS_LIST_TTL.total_seconds(), clock=lambda: clock().timestamp()
        ),
        status_list_ttl=STATUS_LIST_TTL,
    )
    runtime = Runtime(
        identity=identity,
        store=store,
        peers=peers,
        resolver=resolver,
        claims=claims,
        wallet=wallet,
        policies=PolicyEngine(DocumentLoader(settings.contexts)),
        events=EventBus(),
        clock=clock,
        behaviour=Behaviour(
            auto_agree=settings.auto_agree,
            auto_accept_offers=settings.auto_accept_offers,
            auto_start_transfers=settings.auto_start_transfers,
            dataplane_url=settings.dataplane_url,
            access_token_ttl=dt.timedelta(minutes=10),
        ),
        dsp_base_url=settings.base_url + DSP_PATH,
    )
    return Connector(
        runtime=runtime,
        catalog=ProviderCatalog(runtime),
        negotiations=Negotiations(runtime),
        transfers=Transfers(runtime),
        delivery=Delivery(runtime),
        _http=http,
        offers=PeerOffers(runtime),
        profile=Profile(
            legal_name=settings.participant_name,
            country_code=settings.country_code,
            vat_id=settings.vat_id,
            notary_url=settings.notary_url,
            compliance_url=settings.compliance_url,
            terms_url=settings.base_url + TERMS_PATH,
            terms_hash=hashlib.sha256(terms_text(settings)).hexdigest(),
        ),
        catalog_urls=tuple(settings.catalog_urls),
    )


def credentials_folder(settings: ConnectorSettings) -> Path:
    return settings.path(settings.credentials_dir)
