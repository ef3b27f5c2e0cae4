"""TCK mode: the seeds and scripted behaviour the Dataspace Protocol TCK (eclipse-dataspacetck/dsp-tck v1.0.1)
expects from a connector under test, so the real TCK runs against ``gxc connector serve --tck`` unchanged.

The TCK plays the counter-party and drives each test case through ids from its sample configuration
(``config/tck/sample.tck.properties``): dataset ids ``ACN0101``..``ACN0304`` (provider negotiations, offer ids
``CD123:<dataset>:456``), ``ACNC0101``..``ACNC0306`` (consumer negotiations), agreement ids ``ATP0101``..``ATP0306``
(provider transfers) and ``ATPC0101``..``ATPC0306`` (consumer transfers), ``CAT0101``/``CAT0102`` (catalog). The
connector must react per id: offer then wait, agree directly, terminate, stay pending ... (the same table as
EDC's TCK extension, ``system-tests/tck/tck-extension`` ``DataSeed`` and ``GuardAssembly``).

How it works here: TCK mode turns the automatic steps off (:func:`tck_behaviour`: requests, acceptances,
verifications and transfer requests wait, ``pending``), and :class:`TckDirector` listens to the process events
and takes the scripted next step through the same operator actions the management API offers. Every reaction is
delayed (``reaction_delay``, >= 100 ms; EDC uses 500 ms) because the TCK updates its own state only after it has
processed the answer to its message (dsp.md, "The TCK's race windows"); deliveries refused with 404/409/5xx or I/O
errors are retried by the outbox worker anyway.

The TCK authenticates with a static ``Authorization`` header (:class:`StaticAuthorization`), and for the consumer
tests (``CN_C``, ``TP_C``) posts to two trigger endpoints (DSP TCK README §2.4/§2.5), handled by
:meth:`TckDirector.start_negotiation` and :meth:`TckDirector.start_transfer`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import logging
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from connector.domain import (
    Agreement,
    Asset,
    ContractDefinition,
    HttpDataAddress,
    Negotiation,
    PolicyDefinition,
    TransferProcess,
)
from connector.dsp.states import NegotiationState, Role
from connector.errors import ConnectorError
from connector.identity.claims import CallerClaims
from connector.identity.tokens import VerifiedCaller
from connector.services.caller import Caller
from connector.services.events import Event
from connector.services.negotiations import Negotiations
from connector.services.runtime import Behaviour, Runtime
from connector.services.transfers import Transfers
from connector.store.errors import NotFound

log = logging.getLogger(__name__)

#: The TCK's own participant id (``DspConstants.TCK_PARTICIPANT_ID``).
TCK_PARTICIPANT = "TCK_PARTICIPANT"
POLICY_ID = "P123"
CONTRACT_DEFINITION_ID = "CD123"
#: The TCK's offer ids: ``CD123:<dataset>:456`` (accepted with ``lenient_offer_ids``).
OFFER_SUFFIX = "456"

PROVIDER_NEGOTIATION_DATASETS = (
    *(f"ACN01{n:02d}" for n in range(1, 5)),
    *(f"ACN02{n:02d}" for n in range(1, 8)),
    *(f"ACN03{n:02d}" for n in range(1, 5)),
)
CONSUMER_NEGOTIATION_DATASETS = (
    *(f"ACNC01{n:02d}" for n in range(1, 5)),
    *(f"ACNC02{n:02d}" for n in range(1, 7)),
    *(f"ACNC03{n:02d}" for n in range(1, 7)),
)
CATALOG_DATASETS = ("CAT0101", "CAT0102")
#: Not seeded on purpose: CAT:01-03 asks for an unknown dataset.
UNKNOWN_DATASET = "CAT0103"
#: The asset every seeded agreement is about (as in EDC's DataSeed).
AGREEMENT_ASSET = "ATP0101"
PROVIDER_AGREEMENTS = (
    *(f"ATP01{n:02d}" for n in range(1, 6)),
    *(f"ATP02{n:02d}" for n in range(1, 6)),
    *(f"ATP03{n:02d}" for n in range(1, 7)),
)
CONSUMER_AGREEMENTS = (
    *(f"ATPC01{n:02d}" for n in range(1, 6)),
    *(f"ATPC02{n:02d}" for n in range(1, 6)),
    *(f"ATPC03{n:02d}" for n in range(1, 7)),
)
TRANSFER_FORMAT = "HttpData-PULL"


@dataclass(frozen=True)
class Step:
    """When the process reaches ``state`` (and is ready: pending, or the peer's pid is known), do ``action``."""

    state: str
    action: str


def _steps(*spec: str) -> tuple[Step, ...]:
    return tuple(Step(*item.split(":")) for item in spec)


# Per-seed scripts, step by step (EDC GuardAssembly; the TCK test that uses each seed in the comment).
PROVIDER_NEGOTIATION_SCRIPTS: dict[str, tuple[Step, ...]] = {
    "ACN0101": _steps("REQUESTED:offer"),  # CN:01-01 offer, TCK terminates
    "ACN0102": _steps("REQUESTED:offer", "REQUESTED:terminate"),  # CN:01-02 counter-request -> we terminate
    "ACN0103": _steps("REQUESTED:offer", "ACCEPTED:agree", "VERIFIED:finalize"),  # CN:01-03
    "ACN0104": _steps("REQUESTED:agree", "VERIFIED:finalize"),  # CN:01-04
    "ACN0201": _steps("REQUESTED:terminate"),  # CN:02-01
    "ACN0202": (),  # CN:02-02 the TCK terminates in REQUESTED
    "ACN0203": _steps("REQUESTED:agree"),  # CN:02-03 the TCK terminates in AGREED
    "ACN0204": _steps("REQUESTED:offer"),  # CN:02-04 the TCK terminates in OFFERED
    "ACN0205": _steps("REQUESTED:offer", "OFFERED:terminate"),  # CN:02-05
    "ACN0206": _steps("REQUESTED:offer", "ACCEPTED:terminate"),  # CN:02-06
    "ACN0207": _steps("REQUESTED:agree", "VERIFIED:terminate"),  # CN:02-07
    "ACN0301": _steps("REQUESTED:agree", "VERIFIED:finalize"),  # CN:03-01 termination after FINALIZED -> 400
    "ACN0302": _steps("REQUESTED:offer"),  # CN:03-02 verification in OFFERED -> 400
    "ACN0303": _steps("REQUESTED:offer"),  # CN:03-03 ACCEPTED stays pending; verification -> 400
    "ACN0304": _steps("REQUESTED:offer"),  # CN:03-04 second counter-request -> 400
}
CONSUMER_NEGOTIATION_SCRIPTS: dict[str, tuple[Step, ...]] = {
    "ACNC0101": _steps("OFFERED:accept", "AGREED:verify"),
    "ACNC0102": _steps("OFFERED:counter"),
    "ACNC0103": _steps("OFFERED:terminate"),
    "ACNC0104": _steps("AGREED:verify"),
    "ACNC0201": (),
    "ACNC0202": _steps("REQUESTED:terminate"),
    "ACNC0203": _steps("AGREED:terminate"),
    "ACNC0204": (),
    "ACNC0205": _steps("OFFERED:accept"),
    "ACNC0206": _steps("AGREED:verify"),
    "ACNC0301": (),
    "ACNC0302": (),
    "ACNC0303": (),
    "ACNC0304": _steps("OFFERED:accept"),
    "ACNC0305": _steps("OFFERED:accept"),
    "ACNC0306": _steps("OFFERED:accept"),  # AGREED then stays pending (FINALIZED before VERIFIED -> 400)
}
_START = _steps("REQUESTED:start")
PROVIDER_TRANSFER_SCRIPTS: dict[str, tuple[Step, ...]] = {
    "ATP0101": _steps("REQUESTED:start", "STARTED:terminate"),
    "ATP0102": _steps("REQUESTED:start", "STARTED:complete"),
    "ATP0103": _steps("REQUESTED:start", "STARTED:suspend", "SUSPENDED:terminate"),
    "ATP0104": _steps("REQUESTED:start", "STARTED:suspend", "SUSPENDED:resume", "STARTED:complete"),
    "ATP0105": _steps("REQUESTED:terminate"),
    **{a: _START for a in ("ATP0201", "ATP0202", "ATP0203", "ATP0204", "ATP0303", "ATP0304", "ATP0305", "ATP0306")},
    "ATP0205": (),  # the TCK terminates in REQUESTED
    "ATP0301": (),  # completion in REQUESTED -> 400
    "ATP0302": (),  # suspension in REQUESTED -> 400
}
CONSUMER_TRANSFER_SCRIPTS: dict[str, tuple[Step, ...]] = {
    **{a: () for a in CONSUMER_AGREEMENTS},
    "ATPC0201": _steps("STARTED:terminate"),
    "ATPC0202": _steps("STARTED:complete"),
    "ATPC0203": _steps("STARTED:suspend", "SUSPENDED:terminate"),
    "ATPC0204": _steps("STARTED:suspend", "SUSPENDED:resume", "STARTED:complete"),
    "ATPC0205": _steps("REQUESTED:terminate"),
}
#: What happens to processes that are not about a seed: the normal automatic behaviour.
DEFAULTS: dict[tuple[str, Role], dict[str, str]] = {
    ("negotiation", Role.PROVIDER): {"REQUESTED": "agree", "ACCEPTED": "agree", "VERIFIED": "finalize"},
    ("negotiation", Role.CONSUMER): {"AGREED": "verify"},
    ("transfer", Role.PROVIDER): {"REQUESTED": "start"},
    ("transfer", Role.CONSUMER): {},
}


def tck_behaviour(behaviour: Behaviour) -> Behaviour:
    """Every automatic step waits (``pending``) for the director; TCK offer ids are accepted."""
    return dataclasses.replace(
        behaviour,
        auto_agree=False,
        auto_finalize=False,
        auto_verify=False,
        auto_accept_offers=False,
        auto_start_transfers=False,
        lenient_offer_ids=True,
    )


def _normalise_header(value: str) -> Any:
    text = value.strip()
    if text.lower().startswith("bearer "):
        text = text[7:].strip()
    # Java .properties keep the quotes of the sample's "{\"region\": ...}": the header arrives quoted.
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1].replace('\\"', '"')
    try:
        return json.loads(text)
    except ValueError:
        return text


class StaticAuthorization:
    """The TCK's static ``Authorization`` header (``dataspacetck.dsp.connector.http.headers.authorization``),
    compared as JSON, identifies the TCK participant; anything else goes through DCP as usual."""

    def __init__(self, expected: str, *, participant: str = TCK_PARTICIPANT) -> None:
        self.expected = _normalise_header(expected)
        self.caller = Caller(
            VerifiedCaller(did=participant, jti="tck", expires_at=dt.datetime.max.replace(tzinfo=dt.UTC)),
            CallerClaims({"participant": participant}),
        )

    def __call__(self, header: str | None) -> Caller | None:
        if header is None or _normalise_header(header) != self.expected:
            return None
        return self.caller


def _pid(name: str, side: str) -> str:
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'gxc-tck:{name}:{side}')}"


class TckDirector:
    """Seeds the TCK's ids and takes each scripted step when the process is ready for it."""

    def __init__(
        self,
        runtime: Runtime,
        negotiations: Negotiations,
        transfers: Transfers,
        *,
        reaction_delay: float = 0.5,
    ) -> None:
        self.rt = runtime
        self.negotiations = negotiations
        self.transfers = transfers
        self.reaction_delay = reaction_delay
        self._scripts: dict[str, deque[Step] | None] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._subscribed = asyncio.Event()

    # -- seeds ---------------------------------------------------------------------------------------------

    async def seed(self) -> None:
        """Create (once) the TCK's assets, policy P123, contract definition CD123 and FINALIZED agreements."""
        now = self.rt.now()
        did = self.rt.identity.did
        offered = (*PROVIDER_NEGOTIATION_DATASETS, *CATALOG_DATASETS, AGREEMENT_ASSET)
        policy = {
            "@context": "http://www.w3.org/ns/odrl.jsonld",
            "@type": "Set",
            "uid": f"urn:gxc:tck:policy:{POLICY_ID}",
            "permission": [{"action": "use"}],
        }
        async with self.rt.store.transaction() as tx:
            for asset_id in offered:
                try:
                    await tx.assets.get(asset_id)
                except NotFound:
                    await tx.assets.add(
                        Asset(
                            id=asset_id,
                            title=f"TCK dataset {asset_id}",
                            data_address=HttpDataAddress(base_url=f"https://tck.invalid/{asset_id}"),
                            created_at=now,
                        )
                    )
            try:
                await tx.policies.get(POLICY_ID)
            except NotFound:
                await tx.policies.add(PolicyDefinition(id=POLICY_ID, policy=policy, created_at=now))
            try:
                await tx.contract_definitions.get(CONTRACT_DEFINITION_ID)
            except NotFound:
                await tx.contract_definitions.add(
                    ContractDefinition(
                        id=CONTRACT_DEFINITION_ID,
                        access_policy_id=POLICY_ID,
                        contract_policy_id=POLICY_ID,
                        asset_ids=offered,
                        created_at=now,
                    )
                )
            for agreement_id in (*PROVIDER_AGREEMENTS, *CONSUMER_AGREEMENTS):
                if await tx.agreements.find(agreement_id) is not None:
                    continue
                provider_side = agreement_id in PROVIDER_AGREEMENTS
                provider, consumer = (did, TCK_PARTICIPANT) if provider_side else (TCK_PARTICIPANT, did)
                body = {
                    "@id": agreement_id,
                    "@type": "Agreement",
                    "target": AGREEMENT_ASSET,
                    "assigner": provider,
                    "assignee": consumer,
                    "timestamp": now.isoformat().replace("+00:00", "Z"),
                    "permission": [{"action": "use"}],
                }
                negotiation = Negotiation(
                    id=_pid(agreement_id, "negotiation"),
                    role=Role.PROVIDER if provider_side else Role.CONSUMER,
                    consumer_pid=_pid(agreement_id, "consumer"),
                    provider_pid=_pid(agreement_id, "provider"),
                    counter_party_id=TCK_PARTICIPANT,
                    # Consumer side: replaced by the trigger's connectorAddress before a transfer is requested.
                    counter_party_address="http://tck.invalid/dsp",
                    state=NegotiationState.FINALIZED,
                    offers=(),
                    agreement=body,
                    agreement_id=agreement_id,
                    asset_id=AGREEMENT_ASSET,
                    created_at=now,
                    updated_at=now,
                )
                await tx.negotiations.add(negotiation)
                await tx.agreements.add(
                    Agreement(
                        id=agreement_id,
                        negotiation_id=negotiation.id,
                        asset_id=AGREEMENT_ASSET,
                        provider_id=provider,
                        consumer_id=consumer,
                        policy=body,
                        signed_at=now,
                    )
                )

    # -- triggers (consumer-side tests) ------------------------------------------------------------------------

    async def start_negotiation(
        self, *, dataset_id: str, offer_id: str, provider_id: str, connector_address: str
    ) -> Negotiation:
        """``POST /tck/negotiations/requests``: request ``offer_id`` on ``dataset_id`` from the TCK."""
        offer = {"@id": offer_id, "@type": "Offer", "permission": [{"action": "use"}]}
        return await self.negotiations.start(
            provider_address=connector_address.rstrip("/"), provider_did=provider_id, offer=offer, asset_id=dataset_id
        )

    async def start_transfer(
        self, *, agreement_id: str, format: str, provider_id: str, connector_address: str
    ) -> TransferProcess:
        """``POST /tck/transfers/requests``: request a transfer under a (seeded) agreement from the TCK."""
        async with self.rt.store.transaction() as tx:
            agreement = await tx.agreements.get(agreement_id)
            n = await tx.negotiations.get(agreement.negotiation_id)
            await tx.negotiations.update(
                n.evolve(counter_party_address=connector_address.rstrip("/"), counter_party_id=provider_id)
            )
        return await self.transfers.start(agreement_id=agreement_id, format=format)

    # -- scripted reactions -------------------------------------------------------------------------------------

    async def run(self) -> None:
        """React to process events until cancelled."""
        async with self.rt.events.subscribe() as queue:
            self._subscribed.set()
            try:
                while True:
                    self.on_event(await queue.get())
            finally:
                for task in list(self._tasks):
                    task.cancel()

    async def ready(self) -> None:
        """Wait until the director listens (so no event of a test is missed)."""
        await self._subscribed.wait()

    def on_event(self, event: Event) -> None:
        data = event.data
        role = Role(data.get("role", "provider"))
        if not _ready(event.kind, role, event.state, data):
            return
        action = self._next_action(event, role)
        if action is None:
            return
        log.info(
            "TCK step",
            extra={"kind": event.kind, "process": event.process_id, "state": event.state, "action": action},
        )
        task = asyncio.create_task(self._react(event.kind, event.process_id, action))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _next_action(self, event: Event, role: Role) -> str | None:
        key = event.process_id
        if key not in self._scripts:
            self._scripts[key] = _script_for(event.kind, role, event.data)
        script = self._scripts[key]
        if script is None:
            return DEFAULTS[(event.kind, role)].get(event.state)
        if script and script[0].state == event.state:
            return script.popleft().action
        return None

    async def _react(self, kind: str, process_id: str, action: str) -> None:
        await asyncio.sleep(self.reaction_delay)
        try:
            if kind == "negotiation":
                await self._negotiation_step(process_id, action)
            else:
                await self._transfer_step(process_id, action)
        except ConnectorError as exc:
            log.warning("TCK step %s on %s failed: %s", action, process_id, exc.message)

    async def _negotiation_step(self, negotiation_id: str, action: str) -> None:
        if action == "terminate":
            await self.negotiations.terminate(negotiation_id, "terminated by the TCK scenario script")
        elif action in ("offer", "counter"):
            async with self.rt.store.transaction() as tx:
                n = await tx.negotiations.get(negotiation_id)
            await self.negotiations.counter(negotiation_id, self._offer(n))
        else:  # agree, finalize, accept, verify: the operator's "next step"
            await self.negotiations.accept(negotiation_id)

    def _offer(self, n: Negotiation) -> dict[str, Any]:
        last: Mapping[str, Any] = n.offers[-1] if n.offers else {}
        offer: dict[str, Any] = {
            "@id": str(last.get("@id") or f"{CONTRACT_DEFINITION_ID}:{n.asset_id}:{OFFER_SUFFIX}"),
            "@type": "Offer",
            "target": n.asset_id,
            "permission": [{"action": "use"}],
        }
        if n.role is Role.PROVIDER:
            offer["assigner"] = self.rt.identity.did
        return offer

    async def _transfer_step(self, transfer_id: str, action: str) -> None:
        if action == "start":
            action = "resume"  # a provider's start of a pending request is the same message as a resume
        reason = f"{action} by the TCK scenario script" if action in ("terminate", "suspend") else None
        await self.transfers.act(transfer_id, action, reason)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._tasks, return_exceptions=True)


def _ready(kind: str, role: Role, state: str, data: Mapping[str, Any]) -> bool:
    """Is the process waiting for our step (not merely re-published while a message of ours is in flight)?"""
    waiting = bool(data.get("pending"))
    if kind == "negotiation":
        if role is Role.PROVIDER:
            return state == "OFFERED" or waiting
        if state == "REQUESTED":
            return data.get("providerPid") is not None
        return waiting
    if state == "REQUESTED":
        return waiting if role is Role.PROVIDER else data.get("providerPid") is not None
    return state in ("STARTED", "SUSPENDED")


def _script_for(kind: str, role: Role, data: Mapping[str, Any]) -> deque[Step] | None:
    if kind == "negotiation":
        table = PROVIDER_NEGOTIATION_SCRIPTS if role is Role.PROVIDER else CONSUMER_NEGOTIATION_SCRIPTS
        key = data.get("assetId")
    else:
        table = PROVIDER_TRANSFER_SCRIPTS if role is Role.PROVIDER else CONSUMER_TRANSFER_SCRIPTS
        key = data.get("agreementId")
    steps = table.get(str(key))
    return deque(steps) if steps is not None else None


# -- the TCK's configuration -------------------------------------------------------------------------------------


def tck_properties(
    *,
    agent_id: str,
    base_url: str,
    dsp_base_url: str,
    authorization: str,
    tck_host: str = "localhost",
    tck_port: int = 8083,
    default_wait_ms: int = 10_000,
) -> str:
    """The complete ``.properties`` file for the DSP TCK v1.0.1 against a connector in TCK mode.

    Keys and per-test seeds as in the TCK's ``config/tck/sample.tck.properties`` (README §2.1-§2.5).
    """
    lines = [
        "# DSP TCK v1.0.1 configuration for `gxc connector serve --tck` (written by `gxc connector tck-properties`)",
        "dataspacetck.debug=true",
        "dataspacetck.dsp.local.connector=false",
        f"dataspacetck.host={tck_host}",
        f"dataspacetck.port={tck_port}",
        f"dataspacetck.callback.address=http://{tck_host}:{tck_port}",
        f"dataspacetck.dsp.connector.agent.id={agent_id}",
        f"dataspacetck.dsp.connector.http.url={dsp_base_url}",
        f"dataspacetck.dsp.connector.http.base.url={base_url}",
        f"dataspacetck.dsp.connector.http.headers.authorization={authorization}",
        f"dataspacetck.dsp.connector.negotiation.initiate.url={base_url}/tck/negotiations/requests",
        f"dataspacetck.dsp.connector.transfer.initiate.url={base_url}/tck/transfers/requests",
        f"dataspacetck.dsp.default.wait={default_wait_ms}",
        "## contract negotiation provider",
    ]
    for dataset in PROVIDER_NEGOTIATION_DATASETS:
        key = f"CN_{dataset[3:5]}_{dataset[5:7]}"
        lines += [
            f"{key}_DATASETID={dataset}",
            f"{key}_OFFERID={CONTRACT_DEFINITION_ID}:{dataset}:{OFFER_SUFFIX}",
        ]
    lines.append("## contract negotiation consumer")
    lines += [f"CN_C_{d[4:6]}_{d[6:8]}_DATASETID={d}" for d in CONSUMER_NEGOTIATION_DATASETS]
    lines.append("## transfer process provider")
    for agreement in PROVIDER_AGREEMENTS:
        key = f"TP_{agreement[3:5]}_{agreement[5:7]}"
        lines += [f"{key}_AGREEMENTID={agreement}", f"{key}_FORMAT={TRANSFER_FORMAT}"]
    lines.append("## transfer process consumer")
    for agreement in CONSUMER_AGREEMENTS:
        key = f"TP_C_{agreement[4:6]}_{agreement[6:8]}"
        lines += [f"{key}_AGREEMENTID={agreement}", f"{key}_FORMAT={TRANSFER_FORMAT}"]
    lines.append("## catalog request")
    lines += [f"CAT_01_0{n}_DATASETID={d}" for n, d in enumerate((*CATALOG_DATASETS, UNKNOWN_DATASET), start=1)]
    return "\n".join(lines) + "\n"
