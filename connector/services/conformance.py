"""Protocol-level conformance probes against any DSP 2025-1 peer: what an operator runs to see why two connectors
do not talk (``gxc conformance PEER_URL``).

Each probe sends real requests as this participant (DCP self-issued tokens) and reports a :class:`Check`: the
spec section it is about, ``pass``/``warn``/``fail``/``skip`` and what deviated, in words. The probes are safe
to run against production peers: they read (version, catalog, datasets), ask for processes that do not exist, and
send one message that every conforming peer must refuse. The negotiation check (request -> agreement or
termination) is driven by the CLI through our own connector's management API, so our callbacks receive the peer's
answers as in real use.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

from connector.dsp import DSP_CONTEXT_URL
from connector.dsp.validation import schema_errors
from connector.peer.client import PeerClient, PeerResponse, PeerUnreachable
from connector.peer.egress import EgressDenied
from self_descriptions.did import did_web_from_url

Status = Literal["pass", "warn", "fail", "skip"]


@dataclass(frozen=True)
class Check:
    """One finding: ``id`` is stable (for scripts), ``spec`` names the DSP 2025-1 section."""

    id: str
    title: str
    status: Status
    detail: str
    spec: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Findings:
    """What the probes learned about the peer (used by later probes and the negotiation check)."""

    root: str
    dsp_base: str | None = None
    participant_id: str | None = None
    dataset_id: str | None = None
    offer_id: str | None = None


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _why(response: PeerResponse) -> str:
    body = response.body
    if isinstance(body, Mapping) and body.get("reason"):
        return f"HTTP {response.status}: {'; '.join(str(r) for r in _list(body['reason']))}"
    return f"HTTP {response.status}: {response.text[:160]}"


class ConformanceProbe:
    """Runs the probes against the peer whose root URL (where ``/.well-known/dspace-version`` lives) is given."""

    def __init__(self, peers: PeerClient, root: str, *, peer_id: str | None = None) -> None:
        self.peers = peers
        self.findings = Findings(root=root.rstrip("/"))
        self.audience = peer_id or did_web_from_url(self.findings.root)
        self.checks: list[Check] = []

    def _add(self, id: str, title: str, status: Status, detail: str, spec: str) -> None:
        self.checks.append(Check(id, title, status, detail, spec))

    async def _send(self, method: str, url: str, body: Mapping[str, Any] | None = None) -> PeerResponse | str:
        try:
            return await self.peers.send(method, url, audience=self.audience, body=body)
        except (PeerUnreachable, EgressDenied) as exc:
            return exc.message

    async def run(self) -> list[Check]:
        await self.version()
        if self.findings.dsp_base is None:
            return self.checks
        await self.catalog()
        await self.dataset()
        await self.unknown_dataset()
        await self.unknown_negotiation()
        await self.invalid_request()
        await self.unknown_transfer()
        return self.checks

    async def version(self) -> None:
        """``GET <root>/.well-known/dspace-version``: unauthenticated, plain JSON, a 2025-1 HTTPS entry."""
        spec = "common §Exposure of Versions"
        url = self.findings.root + "/.well-known/dspace-version"
        try:
            answer = await self.peers.send("GET", url, audience=None)
        except (PeerUnreachable, EgressDenied) as exc:
            self._add("version", "version endpoint", "fail", f"cannot reach {url}: {exc.message}", spec)
            return
        if answer.status != 200 or not isinstance(answer.body, Mapping):
            self._add(
                "version", "version endpoint", "fail", f"{url} answered {_why(answer)} (must be 200 + JSON)", spec
            )
            # Maybe the URL given already is the DSP base: go on with it so the other probes still say something.
            self.findings.dsp_base = self.findings.root
            return
        problems = schema_errors(answer.body, "VersionResponse")
        entries = [e for e in _list(answer.body.get("protocolVersions")) if isinstance(e, Mapping)]
        ours = [e for e in entries if e.get("version") == "2025-1"]
        if not ours:
            found = ", ".join(str(e.get("version")) for e in entries) or "none"
            self._add("version", "version endpoint", "fail", f"no 2025-1 entry (versions: {found})", spec)
            self.findings.dsp_base = self.findings.root
            return
        path = str(ours[0].get("path", ""))
        if path.startswith(("http://", "https://")):
            self.findings.dsp_base = path.rstrip("/")
        else:
            self.findings.dsp_base = self.findings.root + ("/" + path.strip("/") if path.strip("/") else "")
        if problems:
            self._add("version", "version endpoint", "fail", "; ".join(problems), spec)
        elif ours[0].get("binding") != "HTTPS":
            self._add("version", "version endpoint", "fail", f"binding {ours[0].get('binding')!r} is not HTTPS", spec)
        else:
            self._add("version", "version endpoint", "pass", f"2025-1 at {self.findings.dsp_base}", spec)

    async def catalog(self) -> None:
        spec = "catalog §CatalogRequestMessage, §HTTPS binding"
        body = {"@context": [DSP_CONTEXT_URL], "@type": "CatalogRequestMessage"}
        answer = await self._send("POST", f"{self.findings.dsp_base}/catalog/request", body)
        if isinstance(answer, str):
            self._add("catalog", "catalog request", "fail", answer, spec)
            return
        if answer.status != 200 or not isinstance(answer.body, Mapping):
            hint = (
                " (404: the peer does not accept our identity or has no such endpoint)" if answer.status == 404 else ""
            )
            self._add("catalog", "catalog request", "fail", f"{_why(answer)}{hint}", spec)
            return
        catalog = answer.body
        problems: list[str] = []
        datasets = [d for d in _list(catalog.get("dataset")) if isinstance(d, Mapping)]
        self.findings.participant_id = str(catalog.get("participantId") or "") or None
        for dataset in datasets:
            for offer in _list(dataset.get("hasPolicy")):
                if isinstance(offer, Mapping) and "target" in offer:
                    problems.append(f"offer {offer.get('@id')!r} in a catalog must not carry 'target'")
                if isinstance(offer, Mapping) and self.findings.offer_id is None and offer.get("@id"):
                    self.findings.dataset_id = str(dataset.get("@id"))
                    self.findings.offer_id = str(offer["@id"])
        # What operators trip over first, then the schema's own words (without repeats).
        problems = list(dict.fromkeys([*problems, *schema_errors(catalog, "Catalog")]))
        if problems:
            self._add("catalog", "catalog request", "fail", "; ".join(problems[:5]), spec)
        else:
            self._add("catalog", "catalog request", "pass", f"schema-valid Catalog, {len(datasets)} dataset(s)", spec)
        if not datasets:
            self._add("catalog-offers", "something to negotiate", "warn", "the catalog holds no dataset for us", spec)

    async def dataset(self) -> None:
        spec = "catalog §DatasetRequestMessage"
        if self.findings.dataset_id is None:
            self._add("dataset", "dataset request", "skip", "no dataset in the catalog", spec)
            return
        answer = await self._send("GET", f"{self.findings.dsp_base}/catalog/datasets/{self.findings.dataset_id}")
        if isinstance(answer, str) or answer.status != 200 or not isinstance(answer.body, Mapping):
            detail = answer if isinstance(answer, str) else _why(answer)
            self._add("dataset", "dataset request", "fail", detail, spec)
            return
        problems = schema_errors(answer.body, "Dataset")
        status: Status = "fail" if problems else "pass"
        self._add("dataset", "dataset request", status, "; ".join(problems[:5]) or "schema-valid Dataset", spec)

    async def unknown_dataset(self) -> None:
        spec = "catalog §HTTPS binding (CatalogError)"
        answer = await self._send("GET", f"{self.findings.dsp_base}/catalog/datasets/urn:uuid:{uuid.uuid4()}")
        self._expect_error(answer, "unknown-dataset", "unknown dataset", (404, 400), "CatalogError", spec)

    async def unknown_negotiation(self) -> None:
        spec = "negotiation §HTTPS binding: unknown process -> 404"
        answer = await self._send("GET", f"{self.findings.dsp_base}/negotiations/urn:uuid:{uuid.uuid4()}")
        self._expect_error(
            answer, "unknown-negotiation", "unknown negotiation", (404,), "ContractNegotiationError", spec
        )

    async def unknown_transfer(self) -> None:
        spec = "transfer §HTTPS binding: unknown process -> 404"
        answer = await self._send("GET", f"{self.findings.dsp_base}/transfers/urn:uuid:{uuid.uuid4()}")
        self._expect_error(answer, "unknown-transfer", "unknown transfer", (404,), "TransferError", spec)

    async def invalid_request(self) -> None:
        """A ContractRequestMessage without ``consumerPid`` must be refused with 400 (never created, never 5xx)."""
        spec = "negotiation §HTTPS binding: schema violation -> 400"
        body = {
            "@context": [DSP_CONTEXT_URL],
            "@type": "ContractRequestMessage",
            "offer": {"@id": self.findings.offer_id or "urn:uuid:none", "@type": "Offer"},
            "callbackAddress": "https://conformance.invalid/callback",
        }
        answer = await self._send("POST", f"{self.findings.dsp_base}/negotiations/request", body)
        self._expect_error(
            answer, "invalid-message", "schema violation refused", (400,), "ContractNegotiationError", spec
        )

    def _expect_error(
        self, answer: PeerResponse | str, id: str, title: str, statuses: tuple[int, ...], error_type: str, spec: str
    ) -> None:
        if isinstance(answer, str):
            self._add(id, title, "fail", answer, spec)
            return
        if answer.status not in statuses:
            expected = " or ".join(str(s) for s in statuses)
            self._add(id, title, "fail", f"answered HTTP {answer.status}, expected {expected}", spec)
            return
        body = answer.body
        if not isinstance(body, Mapping) or body.get("@type") != error_type:
            self._add(id, title, "warn", f"HTTP {answer.status} without a {error_type} body", spec)
            return
        problems = schema_errors(body, error_type)
        if problems:
            self._add(id, title, "warn", "; ".join(problems[:3]), spec)
        else:
            self._add(id, title, "pass", f"HTTP {answer.status} + {error_type}", spec)
