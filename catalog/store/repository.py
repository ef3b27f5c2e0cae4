"""Queries of the catalogue store; each public method is one transaction (house rule 6: queries live here).

Writes that belong together happen atomically: a submission, the participant's new status, its self-description
datasets, the verification record and the feed event are one transaction, so a crash never leaves a participant
admitted without its feed entry (peers would never learn of it) or datasets without an admitted participant.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from catalog.model import DatasetRecord, FeedEvent, Participant, Peer, Status, Submission
from catalog.store.engine import create_engine
from catalog.store.migration import migrate
from catalog.store.tables import DatasetRow, FeedEventRow, ParticipantRow, PeerRow, SubmissionRow, VerificationRow

SELF_DESCRIPTION_SOURCE = "self-description"


class CatalogueStore:
    """The SQL source of truth (SQLite or PostgreSQL); one catalogue process owns a database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    @classmethod
    async def open(cls, url: str, *, upgrade: bool = True) -> CatalogueStore:
        if upgrade:
            await migrate(url)
        return cls(create_engine(url))

    async def close(self) -> None:
        await self.engine.dispose()

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session, session.begin():
            yield session

    # --- participants ------------------------------------------------------------------------------------------

    async def participant(self, did: str) -> Participant | None:
        async with self._tx() as s:
            row = await s.get(ParticipantRow, did)
            return _participant(row) if row else None

    async def participants(self, status: Status | None = None) -> list[Participant]:
        async with self._tx() as s:
            query = select(ParticipantRow).order_by(ParticipantRow.did)
            if status is not None:
                query = query.where(ParticipantRow.status == status.value)
            return [_participant(r) for r in (await s.scalars(query)).all()]

    async def submissions(self, did: str) -> list[Submission]:
        async with self._tx() as s:
            rows = await s.scalars(
                select(SubmissionRow).where(SubmissionRow.participant == did).order_by(SubmissionRow.version)
            )
            return [_submission(r) for r in rows.all()]

    async def submission(self, submission_id: int) -> Submission | None:
        async with self._tx() as s:
            row = await s.get(SubmissionRow, submission_id)
            return _submission(row) if row else None

    async def current_submissions(self) -> list[Submission]:
        async with self._tx() as s:
            rows = await s.scalars(
                select(SubmissionRow)
                .join(ParticipantRow, ParticipantRow.current_submission == SubmissionRow.id)
                .order_by(SubmissionRow.id)
            )
            return [_submission(r) for r in rows.all()]

    async def verifications(self, submission_id: int) -> list[dict[str, Any]]:
        async with self._tx() as s:
            rows = await s.scalars(
                select(VerificationRow)
                .where(VerificationRow.submission_id == submission_id)
                .order_by(VerificationRow.id)
            )
            return [
                {
                    "checkedAt": r.checked_at.isoformat().replace("+00:00", "Z"),
                    "reason": r.reason,
                    "compliant": r.compliant,
                    "trust": r.trust,
                    "failures": r.failures,
                }
                for r in rows.all()
            ]

    async def record_submission(
        self,
        *,
        participant: str,
        name: str | None,
        digest: str,
        format: str,
        presentation: str,
        origin: str,
        compliant: bool,
        report: dict[str, Any],
        trust: dict[str, Any],
        expires_at: dt.datetime | None,
        compliance_credential: str | None,
        status: Status,
        reason: str | None,
        datasets: Sequence[DatasetRecord],
        now: dt.datetime,
    ) -> Submission:
        """Store a new version; when it becomes the current one (compliant), update status, datasets and feed.

        A rejected re-submission of an admitted participant is kept in the history but does not replace the
        admitted version (a bad upload must not take a member offline); a first rejected submission records the
        participant as ``rejected`` so operators can see why.
        """
        async with self._tx() as s:
            current = await s.get(ParticipantRow, participant, with_for_update=True)
            version = (
                await s.scalar(select(func.max(SubmissionRow.version)).where(SubmissionRow.participant == participant))
                or 0
            ) + 1
            row = SubmissionRow(
                participant=participant,
                version=version,
                digest=digest,
                format=format,
                presentation=presentation,
                submitted_at=now,
                origin=origin,
                compliant=compliant,
                report=report,
                checked_at=now,
                expires_at=expires_at,
                compliance_credential=compliance_credential,
            )
            s.add(row)
            await s.flush()
            s.add(
                VerificationRow(
                    submission_id=row.id,
                    checked_at=now,
                    reason="submission",
                    compliant=compliant,
                    trust=trust,
                    failures=[c for c in report.get("checks", []) if not c.get("passed")],
                )
            )
            replaces = compliant or current is None or current.status != Status.ADMITTED.value
            if replaces:
                if current is None:
                    current = ParticipantRow(did=participant, crawl_failures=0)
                    s.add(current)
                current.status = status.value
                current.reason = reason
                current.name = name or current.name
                current.current_submission = row.id
                current.expires_at = expires_at
                current.origin = origin
                current.updated_at = now
                await s.execute(
                    delete(DatasetRow).where(
                        DatasetRow.participant == participant, DatasetRow.source == SELF_DESCRIPTION_SOURCE
                    )
                )
                for record in datasets:
                    s.add(_dataset_row(record, now))
                if status is Status.ADMITTED:
                    s.add(_event("admitted", participant, digest, presentation, origin, now))
            return _submission(row)

    async def set_status(
        self, did: str, status: Status, *, reason: str | None, now: dt.datetime, event: str | None = None
    ) -> Participant:
        """Change a participant's status (operator decision, revocation, expiry), with a feed event if given."""
        async with self._tx() as s:
            row = await s.get(ParticipantRow, did, with_for_update=True)
            if row is None:
                raise LookupError(did)
            row.status = status.value
            row.reason = reason
            row.updated_at = now
            if event is not None:
                digest = None
                presentation = None
                if row.current_submission is not None:
                    sub = await s.get(SubmissionRow, row.current_submission)
                    if sub is not None:
                        digest = sub.digest
                        presentation = sub.presentation if event == "admitted" else None
                s.add(_event(event, did, digest, presentation, row.origin, now))
            return _participant(row)

    async def record_verification(
        self,
        submission_id: int,
        *,
        compliant: bool,
        report: dict[str, Any],
        trust: dict[str, Any],
        expires_at: dt.datetime | None,
        reason: str,
        new_status: Status | None,
        status_reason: str | None,
        now: dt.datetime,
        keep_verdict: bool = False,
    ) -> None:
        """Store a re-verification result; optionally move the participant (e.g. admitted -> rejected).

        ``keep_verdict`` records the attempt in the history only: the submission keeps its report, verdict and
        expiry (a status list outage must not overwrite what was established). Leaving ``admitted`` publishes a
        ``revoked`` feed event and returning to it an ``admitted`` one, so peers follow both ways."""
        async with self._tx() as s:
            row = await s.get(SubmissionRow, submission_id, with_for_update=True)
            if row is None:
                raise LookupError(submission_id)
            if not keep_verdict:
                row.compliant = compliant
                row.report = report
                row.checked_at = now
                row.expires_at = expires_at
            s.add(
                VerificationRow(
                    submission_id=submission_id,
                    checked_at=now,
                    reason=reason,
                    compliant=compliant,
                    trust=trust,
                    failures=[c for c in report.get("checks", []) if not c.get("passed")],
                )
            )
            participant = await s.get(ParticipantRow, row.participant, with_for_update=True)
            if participant is not None and participant.current_submission == submission_id:
                participant.expires_at = row.expires_at
                if new_status is not None:
                    was_admitted = participant.status == Status.ADMITTED.value
                    participant.status = new_status.value
                    participant.reason = status_reason
                    participant.updated_at = now
                    if was_admitted and new_status is not Status.ADMITTED:
                        s.add(_event("revoked", row.participant, row.digest, None, participant.origin, now))
                    elif not was_admitted and new_status is Status.ADMITTED:
                        s.add(
                            _event("admitted", row.participant, row.digest, row.presentation, participant.origin, now)
                        )

    # --- datasets and crawling ---------------------------------------------------------------------------------

    async def datasets(self) -> list[DatasetRecord]:
        async with self._tx() as s:
            rows = await s.scalars(select(DatasetRow))
            return [DatasetRecord(r.participant, r.source, r.dataset_id, r.data) for r in rows.all()]

    async def participant_datasets(self, did: str) -> list[DatasetRecord]:
        async with self._tx() as s:
            rows = await s.scalars(select(DatasetRow).where(DatasetRow.participant == did))
            return [DatasetRecord(r.participant, r.source, r.dataset_id, r.data) for r in rows.all()]

    async def record_crawl(
        self,
        did: str,
        *,
        endpoint: str | None,
        datasets: Sequence[DatasetRecord] | None,
        error: str | None,
        now: dt.datetime,
        source: str = "dsp",
    ) -> None:
        """A crawl result: replace the member's crawled datasets on success, count the failure otherwise."""
        async with self._tx() as s:
            row = await s.get(ParticipantRow, did, with_for_update=True)
            if row is None:
                return
            row.crawl_endpoint = endpoint or row.crawl_endpoint
            row.crawled_at = now
            row.crawl_error = error
            row.crawl_failures = 0 if error is None else row.crawl_failures + 1
            if datasets is not None:
                await s.execute(delete(DatasetRow).where(DatasetRow.participant == did, DatasetRow.source == source))
                for record in datasets:
                    s.add(_dataset_row(record, now))

    # --- federation -------------------------------------------------------------------------------------------

    async def feed(self, after: int, limit: int) -> list[FeedEvent]:
        async with self._tx() as s:
            rows = await s.scalars(
                select(FeedEventRow).where(FeedEventRow.seq > after).order_by(FeedEventRow.seq).limit(limit)
            )
            return [_feed_event(r) for r in rows.all()]

    async def append_event(
        self, kind: str, participant: str, digest: str | None, presentation: str | None, origin: str, now: dt.datetime
    ) -> None:
        """Append a raw feed event (tests use it to inject hostile entries into a peer's feed)."""
        async with self._tx() as s:
            s.add(_event(kind, participant, digest, presentation, origin, now))

    async def peer(self, url: str, did: str) -> Peer:
        async with self._tx() as s:
            row = await s.get(PeerRow, url, with_for_update=True)
            if row is None:
                row = PeerRow(url=url, did=did, cursor=0, failures=0)
                s.add(row)
            return _peer(row)

    async def peers(self) -> list[Peer]:
        async with self._tx() as s:
            return [_peer(r) for r in (await s.scalars(select(PeerRow).order_by(PeerRow.url))).all()]

    async def record_sync(self, url: str, *, cursor: int | None, error: str | None, now: dt.datetime) -> None:
        """Save a peer's cursor after a page was applied (resumable), or count the failure."""
        async with self._tx() as s:
            row = await s.get(PeerRow, url, with_for_update=True)
            if row is None:
                return
            if cursor is not None:
                row.cursor = max(row.cursor, cursor)
            row.synced_at = now
            row.error = error
            row.failures = 0 if error is None else row.failures + 1


def _event(
    kind: str, participant: str, digest: str | None, presentation: str | None, origin: str, now: dt.datetime
) -> FeedEventRow:
    return FeedEventRow(
        kind=kind, participant=participant, digest=digest, presentation=presentation, origin=origin, at=now
    )


def _dataset_row(record: DatasetRecord, now: dt.datetime) -> DatasetRow:
    return DatasetRow(
        participant=record.participant,
        source=record.source,
        dataset_id=record.dataset_id,
        data=record.data,
        updated_at=now,
    )


def _participant(row: ParticipantRow) -> Participant:
    return Participant(
        did=row.did,
        status=Status(row.status),
        reason=row.reason,
        name=row.name,
        current_submission=row.current_submission,
        expires_at=row.expires_at,
        origin=row.origin,
        updated_at=row.updated_at,
        crawl_endpoint=row.crawl_endpoint,
        crawled_at=row.crawled_at,
        crawl_error=row.crawl_error,
        crawl_failures=row.crawl_failures or 0,
    )


def _submission(row: SubmissionRow) -> Submission:
    return Submission(
        id=row.id,
        participant=row.participant,
        version=row.version,
        digest=row.digest,
        format=row.format,
        presentation=row.presentation,
        submitted_at=row.submitted_at,
        origin=row.origin,
        compliant=row.compliant,
        report=row.report,
        checked_at=row.checked_at,
        expires_at=row.expires_at,
        compliance_credential=row.compliance_credential,
    )


def _feed_event(row: FeedEventRow) -> FeedEvent:
    return FeedEvent(row.seq, row.kind, row.participant, row.digest, row.presentation, row.origin, row.at)


def _peer(row: PeerRow) -> Peer:
    return Peer(row.url, row.did, row.cursor or 0, row.synced_at, row.error, row.failures or 0)
