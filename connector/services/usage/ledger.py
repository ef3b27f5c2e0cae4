"""This participant's usage ledger as a service: append inside the caller's transaction, list, verify.

Format (:mod:`connector.dataplane.ledger`): each record is ``{seq, kind, at, agreementId, transferId, counterparty,
data, prev}`` hashed with SHA-256 over its JCS form (``digest``) and signed with the participant key (detached JWS,
``signature``). Kinds written here: ``access`` (every decision: permit/deny with the reason), ``use-completed`` /
``use-aborted`` (bytes and digest), ``token-refreshed``, ``push-completed`` / ``push-failed``, ``monitor``
(termination by the policy monitor), ``duty`` (a duty's state changed), ``performed`` (an action performed for a
duty, e.g. a deletion attestation), ``receipt`` (consumer: bytes received and their digest).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connector.dataplane.ledger import (
    GENESIS,
    LedgerEntry,
    LedgerRecord,
    LedgerVerification,
    from_store,
    seal,
    stored,
    verify_records,
)
from connector.services.runtime import Runtime
from connector.store.protocols import Transaction

PAGE = 1000


class UsageLedger:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    async def append(
        self,
        tx: Transaction,
        kind: str,
        *,
        agreement_id: str | None = None,
        transfer_id: str | None = None,
        counterparty: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> LedgerRecord:
        """Chain one record after the head; the lock taken here is held until ``tx`` commits."""
        head = await tx.ledger.lock_head()
        seq, prev = (0, GENESIS) if head is None else (head.seq, head.digest)
        entry = LedgerEntry(
            kind=kind,
            at=self.rt.now(),
            agreement_id=agreement_id,
            transfer_id=transfer_id,
            counterparty=counterparty,
            data=dict(data or {}),
        )
        record = seal(entry, seq=seq + 1, prev=prev, key=self.rt.identity.key)
        await tx.ledger.append(stored(record))
        return record

    async def records(
        self, *, after_seq: int = 0, limit: int = 100, transfer_id: str | None = None
    ) -> list[LedgerRecord]:
        async with self.rt.store.transaction() as tx:
            found = await tx.ledger.list(after_seq=after_seq, limit=limit, transfer_id=transfer_id)
        return [from_store(e) for e in found]

    async def verify(self) -> LedgerVerification:
        """Verify the whole chain page by page; raises ``LedgerError`` naming the first bad record."""
        result = LedgerVerification(records=0, head_seq=0, head_digest=GENESIS)
        while True:
            page = await self.records(after_seq=result.head_seq, limit=PAGE)
            if not page:
                return result
            result = verify_records(page, self.rt.identity.key.jwk, after=result)
