"""The catalogue's operations: admission, lifecycle, discovery; the only place combining store, index and graph.

The SQL store is the source of truth; the search index and the SPARQL graphs are derived from it (rebuilt at start,
refreshed after every write for the participant concerned). Every query computes visibility at its own time:
admitted and ``now < expires_at``; so revocation (a status write) and expiry (time passing) both take effect in
the very next query, before the periodic sweep records ``expired`` in the store.

Re-verification (scheduled, ``gxc catalog reverify``, or a changed trust framework) re-runs admission on each stored
presentation. A participant that no longer passes leaves ``admitted`` for ``rejected`` (peers get a ``revoked``
feed event), e.g. when an issuer revoked or suspended one of its credentials (W3C Bitstring Status List v1.0
§3.2; catalogues must apply revocation lists, ``gaiax.md`` §9.3), and returns when it passes again (a lifted
suspension). A status list that cannot be retrieved (§3.5 ``STATUS_RETRIEVAL_ERROR``) is an outage, not a
revocation: the last verdict stands, and the failed attempt is recorded in the verification history and, for an
admitted participant, in its ``reason`` until a later re-verification succeeds. A new admission fails closed.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from catalog import extract
from catalog.admission import Admission, Assessment, normalise_submission
from catalog.errors import AdmissionRejected, Conflict, NotFound
from catalog.graph import iri, participant_ntriples
from catalog.model import LOCAL_ORIGIN, DatasetRecord, Participant, Status, Submission
from catalog.search import SearchIndex, SearchResult
from catalog.settings import CatalogueSettings
from catalog.sparql import SparqlEngine, SparqlResult
from catalog.store import CatalogueStore
from connector.identity.participant import ParticipantIdentity

log = logging.getLogger("gxc.catalog")

OPERATOR = "operator"
LABEL_VALIDITY = dt.timedelta(days=90)
#: Start of the ``reason`` of an admitted participant whose last re-verification could not establish a status.
STATUS_UNKNOWN = "status unknown"


@dataclass(frozen=True)
class Outcome:
    """The answer to an accepted submission."""

    participant: str
    status: Status
    version: int
    digest: str
    expires_at: dt.datetime | None
    compliance_credential: str | None
    report: dict[str, Any]
    created: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "participant": self.participant,
            "status": self.status.value,
            "version": self.version,
            "digest": self.digest,
            "expiresAt": self.report.get("expiresAt"),
            "complianceCredential": self.compliance_credential,
            "report": self.report,
        }


class Catalogue:
    def __init__(
        self,
        settings: CatalogueSettings,
        store: CatalogueStore,
        identity: ParticipantIdentity,
        admission: Admission,
        sparql: SparqlEngine,
        *,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.settings = settings
        self.store = store
        self.identity = identity
        self.admission = admission
        self.sparql = sparql
        self.clock = clock
        self.index = SearchIndex()
        self.participants: dict[str, Participant] = {}
        self._visible: tuple[int, set[str], dt.datetime | None] | None = None
        self._generation = 0
        #: Graph IRIs loaded in the SPARQL worker: exactly the visible participants' (synchronised before a query).
        self._loaded: set[str] = set()

    # --- start-up ---------------------------------------------------------------------------------------------

    async def load(self) -> None:
        """Rebuild index and graphs from the store; re-verify what was checked under another trust framework."""
        self.participants = {p.did: p for p in await self.store.participants()}
        by_participant: dict[str, list[DatasetRecord]] = {}
        for record in await self.store.datasets():
            by_participant.setdefault(record.participant, []).append(record)
        for did, records in by_participant.items():
            self.index.replace(did, records)
        await self.sparql.load(await self.graphs())
        self._changed()
        stale = [
            s
            for s in await self.store.current_submissions()
            if s.report.get("trustFingerprint") != self.admission.trust.fingerprint
        ]
        if stale:
            log.info("re-verifying %d participants: trust anchors, notaries or shapes changed", len(stale))
            await self._reverify(stale, reason="trust framework changed")

    async def graphs(self) -> list[tuple[str, bytes]]:
        """The visible participants' named graphs (also the SPARQL worker's reload after a killed query)."""
        graphs = [self._graph(p.did) for p in self.visible_participants()]
        self._loaded = {name for name, _ in graphs}
        return graphs

    def _graph(self, did: str) -> tuple[str, bytes]:
        participant = self.participants.get(did)
        records = [self.index.records[k] for k in self.index.keys_of(did)]
        return iri(did, "participant").value, participant_ntriples(
            did, participant.name if participant else None, records
        )

    async def _refresh(self, did: str) -> None:
        participant = await self.store.participant(did)
        if participant is None:
            return
        self.participants[did] = participant
        self.index.replace(did, await self.store.participant_datasets(did))
        self._changed()
        name, data = self._graph(did)
        if participant.visible(self.clock()):
            await self.sparql.load([(name, data)])
            self._loaded.add(name)
        elif name in self._loaded:
            await self.sparql.drop([name])
            self._loaded.discard(name)

    def _changed(self) -> None:
        self._generation += 1
        self._visible = None

    # --- admission --------------------------------------------------------------------------------------------

    async def submit(
        self, body: bytes | str | Mapping[str, Any], *, origin: str = LOCAL_ORIGIN, presentation_window: bool = True
    ) -> Outcome:
        """Assess and record a presentation; raise :class:`AdmissionRejected` (with every failed check) if it fails."""
        value, text = normalise_submission(body, max_bytes=self.settings.max_submission_bytes)
        now = self.clock()
        assessment = await self.admission.assess(value, text, now=now, presentation_window=presentation_window)
        did = assessment.participant
        if did is None:
            raise AdmissionRejected(
                _summary(assessment), checks=assessment.failures, participant=None
            )  # nobody to record it for
        existing = self.participants.get(did)
        if existing is not None and existing.current_submission is not None and assessment.compliant:
            current = await self.store.submission(existing.current_submission)
            if (
                current is not None
                and current.digest == assessment.digest
                and existing.status
                in (
                    Status.ADMITTED,
                    Status.PENDING,
                )
            ):
                return self._outcome(existing, current, created=False)
        if assessment.compliant:
            operator_revoked = (
                existing is not None
                and existing.status in (Status.REVOKED, Status.REJECTED)
                and (existing.reason or "").startswith(OPERATOR)
            )
            manual = self.settings.admission_mode == "manual" or operator_revoked
            status = Status.PENDING if manual else Status.ADMITTED
            reason = "waiting for an operator decision" if manual else None
            label = (
                self.admission.issue_label(
                    assessment, key=self.identity.key, kid=self.identity.kid, now=now, validity=LABEL_VALIDITY
                )
                if presentation_window
                else None
            )
            records = extract.from_credentials(did, assessment.documents, provider_name=assessment.name, origin=origin)
        else:
            status, reason, label, records = Status.REJECTED, _summary(assessment), None, []
        submission = await self.store.record_submission(
            participant=did,
            name=assessment.name,
            digest=assessment.digest,
            format=assessment.format,
            presentation=assessment.text,
            origin=origin,
            compliant=assessment.compliant,
            report=assessment.report,
            trust=self.admission.trust.as_dict(),
            expires_at=assessment.expires_at,
            compliance_credential=label,
            status=status,
            reason=reason,
            datasets=records,
            now=now,
        )
        await self._refresh(did)
        if not assessment.compliant:
            raise AdmissionRejected(_summary(assessment), checks=assessment.failures, participant=did)
        return self._outcome(self.participants[did], submission, created=True)

    def _outcome(self, participant: Participant, submission: Submission, *, created: bool) -> Outcome:
        return Outcome(
            participant=participant.did,
            status=participant.effective_status(self.clock()),
            version=submission.version,
            digest=submission.digest,
            expires_at=submission.expires_at,
            compliance_credential=submission.compliance_credential,
            report=submission.report,
            created=created,
        )

    # --- lifecycle --------------------------------------------------------------------------------------------

    def participant(self, did: str) -> Participant:
        participant = self.participants.get(did)
        if participant is None:
            raise NotFound(f"participant {did} is not known to this catalogue", code="unknown-participant")
        return participant

    async def revoke(self, did: str, *, reason: str, by: str) -> Participant:
        """Revoke (by the participant itself or the operator): gone from discovery at once; peers are told."""
        participant = self.participant(did)
        if participant.status is Status.REVOKED:
            return participant
        event = "revoked" if participant.status is Status.ADMITTED else None
        await self.store.set_status(did, Status.REVOKED, reason=f"{by}: {reason}", now=self.clock(), event=event)
        await self._refresh(did)
        return self.participants[did]

    async def admit(self, did: str) -> Participant:
        """Operator admission of a pending participant: re-verified now, refused if no longer compliant."""
        participant = self.participant(did)
        if participant.status is Status.ADMITTED:
            return participant
        if participant.status not in (Status.PENDING, Status.REVOKED, Status.REJECTED, Status.EXPIRED):
            raise Conflict(f"participant {did} is {participant.status.value}")
        submission = await self._current(participant)
        assessment = await self._recheck(submission, reason="operator admission")
        if not assessment.compliant:
            raise AdmissionRejected(
                f"cannot admit {did}: {_summary(assessment)}", checks=assessment.failures, participant=did
            )
        await self.store.set_status(did, Status.ADMITTED, reason=None, now=self.clock(), event="admitted")
        await self._refresh(did)
        return self.participants[did]

    async def reject(self, did: str, *, reason: str) -> Participant:
        participant = self.participant(did)
        event = "revoked" if participant.status is Status.ADMITTED else None
        await self.store.set_status(did, Status.REJECTED, reason=f"{OPERATOR}: {reason}", now=self.clock(), event=event)
        await self._refresh(did)
        return self.participants[did]

    async def reverify_all(self, *, reason: str = "operator request") -> dict[str, int]:
        return await self._reverify(await self.store.current_submissions(), reason=reason)

    async def _reverify(self, submissions: Sequence[Submission], *, reason: str) -> dict[str, int]:
        """Re-verify ``submissions``; ``statusUnknown`` counts the failed ones whose last verdict was kept because
        only status lists could not be retrieved (they are also in ``failed``)."""
        counts = {"checked": 0, "compliant": 0, "failed": 0, "statusUnknown": 0}
        for submission in submissions:
            assessment = await self._recheck(submission, reason=reason)
            counts["checked"] += 1
            counts["compliant" if assessment.compliant else "failed"] += 1
            counts["statusUnknown"] += assessment.status_unknown
        return counts

    async def _recheck(self, submission: Submission, *, reason: str) -> Assessment:
        """Re-run every check on a stored presentation; move the participant if the outcome changed.

        A verdict that failed only because status lists could not be retrieved (:attr:`Assessment.status_unknown`)
        moves nobody: the stored verdict is kept and the attempt recorded (see the module docstring)."""
        now = self.clock()
        value, text = normalise_submission(
            submission.presentation,
            max_bytes=max(self.settings.max_submission_bytes, len(submission.presentation.encode())),
        )
        assessment = await self.admission.assess(value, text, now=now, presentation_window=False)
        participant = self.participants.get(submission.participant)
        new_status: Status | None = None
        status_reason: str | None = None
        keep_verdict = assessment.status_unknown
        if participant is not None and participant.current_submission == submission.id:
            if keep_verdict:
                if participant.status is Status.ADMITTED:  # say why its status is in doubt; it stays admitted
                    new_status, status_reason = (
                        Status.ADMITTED,
                        f"{STATUS_UNKNOWN} at re-verification ({reason}), last verdict kept: {_summary(assessment)}",
                    )
            elif not assessment.compliant and participant.status in (Status.ADMITTED, Status.PENDING):
                new_status, status_reason = (
                    Status.REJECTED,
                    f"re-verification ({reason}) failed: {_summary(assessment)}",
                )
            elif (
                assessment.compliant
                and participant.status is Status.REJECTED
                and (participant.reason or "").startswith("re-verification")
            ):
                new_status = Status.ADMITTED if self.settings.admission_mode == "automatic" else Status.PENDING
            elif (
                assessment.compliant
                and participant.status is Status.ADMITTED
                and (participant.reason or "").startswith(STATUS_UNKNOWN)
            ):
                new_status = Status.ADMITTED  # the status lists answered again: the doubt is cleared
        await self.store.record_verification(
            submission.id,
            compliant=assessment.compliant,
            report=assessment.report,
            trust=self.admission.trust.as_dict(),
            expires_at=assessment.expires_at,
            reason=f"{reason} ({STATUS_UNKNOWN}: last verdict kept)" if keep_verdict else reason,
            new_status=new_status,
            status_reason=status_reason,
            now=now,
            keep_verdict=keep_verdict,
        )
        await self._refresh(submission.participant)
        return assessment

    async def sweep_expired(self) -> list[str]:
        """Record ``expired`` for admitted participants past their expiry (discovery already hides them)."""
        now = self.clock()
        expired = [p.did for p in self.participants.values() if p.status is Status.ADMITTED and not p.visible(now)]
        for did in expired:
            participant = self.participants[did]
            await self.store.set_status(
                did, Status.EXPIRED, reason=f"expired at {participant.expires_at}", now=now, event=None
            )
            await self._refresh(did)
        return expired

    async def _current(self, participant: Participant) -> Submission:
        if participant.current_submission is None:
            raise NotFound(f"participant {participant.did} has no submission", code="no-submission")
        submission = await self.store.submission(participant.current_submission)
        if submission is None:
            raise NotFound(f"participant {participant.did} has no submission", code="no-submission")
        return submission

    async def history(self, did: str) -> list[Submission]:
        self.participant(did)
        return await self.store.submissions(did)

    async def report(self, did: str) -> dict[str, Any]:
        """The auditor's view: the current verification report plus every check ever run on the current version."""
        participant = self.participant(did)
        submission = await self._current(participant)
        return {
            "participant": participant.as_dict(self.clock()),
            "submission": submission.summary(),
            "report": submission.report,
            "verifications": await self.store.verifications(submission.id),
            "history": [s.summary() for s in await self.store.submissions(did)],
        }

    # --- discovery --------------------------------------------------------------------------------------------

    def visible_keys(self) -> set[str]:
        now = self.clock()
        cached = self._visible
        if cached is not None and cached[0] == self._generation and (cached[2] is None or now < cached[2]):
            return cached[1]
        keys: set[str] = set()
        until: dt.datetime | None = None
        for participant in self.participants.values():
            if participant.visible(now):
                keys |= self.index.keys_of(participant.did)
                if participant.expires_at is not None and (until is None or participant.expires_at < until):
                    until = participant.expires_at
        self._visible = (self._generation, keys, until)
        return keys

    def visible_participants(self) -> list[Participant]:
        now = self.clock()
        return [p for p in self.participants.values() if p.visible(now)]

    def search(self, query: str, filters: Mapping[str, Sequence[str]], *, offset: int, limit: int) -> SearchResult:
        return self.index.search(query, filters, visible=self.visible_keys(), offset=offset, limit=limit)

    async def sparql_query(self, text: str, *, max_results: int | None = None) -> SparqlResult:
        visible = {iri(p.did, "participant"): p.did for p in self.visible_participants()}
        names = {node.value: did for node, did in visible.items()}
        stale = sorted(self._loaded - set(names))
        if stale:  # expired since the last query: expiry needs no write, so the graph goes now
            await self.sparql.drop(stale)
            self._loaded -= set(stale)
        missing = [self._graph(names[n]) for n in sorted(set(names) - self._loaded)]
        if missing:
            await self.sparql.load(missing)
            self._loaded |= {n for n, _ in missing}
        return await self.sparql.query(text, None, max_results=max_results)

    async def record_crawl(
        self, did: str, *, endpoint: str | None, datasets: list[DatasetRecord] | None, error: str | None
    ) -> None:
        await self.store.record_crawl(did, endpoint=endpoint, datasets=datasets, error=error, now=self.clock())
        await self._refresh(did)


def _summary(assessment: Assessment) -> str:
    failures = assessment.failures
    head = "; ".join(f"{c['name']}: {c['message']}" for c in failures[:3])
    more = f" (+{len(failures) - 3} more)" if len(failures) > 3 else ""
    return f"{len(failures)} check(s) failed: {head}{more}" if failures else "not compliant"
