"""Everything the services need, built once per process by ``create_app`` and passed explicitly (no globals).

Time, keys, transports and the store are injected here (house rule 5) so tests can run two connectors in one
process, swap the clock, or point the peer client at an ASGI transport.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from connector.identity.claims import ClaimsResolver
from connector.identity.participant import ParticipantIdentity
from connector.identity.wallet import Wallet
from connector.peer.client import PeerClient
from connector.services.dispatch import Dispatcher, OutboxSignal
from connector.services.events import EventBus
from connector.services.policy_engine import PolicyEngine
from connector.store.protocols import Store
from self_descriptions.did import DidResolver

Clock = Callable[[], dt.datetime]

#: Our ``callbackAddress`` is ``<DSP base>`` + this prefix (see ``connector.api.dsp``).
CALLBACK_PREFIX = "/callback"


def system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Behaviour:
    """How this connector progresses processes on its own (vs. waiting for an operator: ``pending``)."""

    auto_agree: bool = True
    auto_accept_offers: bool = False
    auto_start_transfers: bool = True
    #: Provider: send FINALIZED as soon as the consumer verified (else VERIFIED waits, ``pending``, for an operator).
    auto_finalize: bool = True
    #: Consumer: verify a received agreement at once (else AGREED waits, ``pending``, for an operator).
    auto_verify: bool = True
    #: Accept an offer id whose policy digest differs when the policy itself is equivalent (TCK seeds such as
    #: ``CD123:ACN0101:456``); the offer is still checked for definition, asset and semantic equality.
    lenient_offer_ids: bool = False
    #: Public base URL of the data plane (the pull endpoint advertised in TransferStartMessage).
    dataplane_url: str = ""
    #: Lifetime of data-plane access tokens.
    access_token_ttl: dt.timedelta = dt.timedelta(minutes=10)


@dataclass
class Runtime:
    """The connector's wiring: identity, store, peers, claims, policy engine, events, clock."""

    identity: ParticipantIdentity
    store: Store
    peers: PeerClient
    resolver: DidResolver
    claims: ClaimsResolver
    wallet: Wallet
    policies: PolicyEngine
    events: EventBus
    clock: Clock = system_clock
    behaviour: Behaviour = field(default_factory=Behaviour)
    #: DSP base path of this connector (root + path from the version document), used for callback addresses.
    dsp_base_url: str = ""
    #: Set whenever an outbound message may have become claimable: wakes the outbox worker at once (event-driven
    #: latency). A handed-over message rings it instead (``services.dispatch``).
    outbox_ready: OutboxSignal = field(default_factory=OutboxSignal)
    #: The running outbox worker, to which services hand a message that can go at once (``services.dispatch``).
    dispatcher: Dispatcher | None = None

    def now(self) -> dt.datetime:
        return self.clock()

    @property
    def callback_address(self) -> str:
        """The ``callbackAddress`` we send in requests: where providers reach our consumer callbacks."""
        return self.dsp_base_url + CALLBACK_PREFIX
