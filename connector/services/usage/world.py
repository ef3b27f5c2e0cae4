"""The live state of the world of an agreement, for the ``access`` and ``monitor`` scopes (odrl.md §4).

- ``count``: uses of the agreement so far: reserved (in flight, or left by a crash), completed and interrupted
  (data left before the client hung up), never aborted (nothing was sent);
  ``at_most_uses(n)`` is ``count lt n``, so the n+1-th use is denied while n are reserved or done;
- ``elapsedTime``: time since the agreement was signed (``xsd:duration`` in seconds);
- ``dateTime``: the runtime's clock (``World.now``);
- claims: the consumer's verified claims as last seen (at the transfer request, or fresher on a pull that carried
  its identity);
- performed: actions recorded as performed for the agreement's duties (fulfilled obligations).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from connector.domain import Agreement
from connector.store.protocols import Transaction
from policies import PerformedAction, World


def elapsed(since: dt.datetime, now: dt.datetime) -> str:
    return f"PT{max(0, int((now - since).total_seconds()))}S"


async def usage_world(
    tx: Transaction, agreement: Agreement, *, now: dt.datetime, claims: dict[str, Any], uses: int | None = None
) -> World:
    count = await tx.usage.count(agreement.id) if uses is None else uses
    fulfilled = await tx.obligations.list(agreement_id=agreement.id, state="fulfilled", limit=1000)
    performed = tuple(
        PerformedAction(
            action=o.action,
            time=o.updated_at,
            party=o.details.get("party"),
            target=o.details.get("target") if isinstance(o.details.get("target"), str) else None,
        )
        for o in fulfilled.items
    )
    return World(
        now=now,
        counters={"use": count},
        measures={"elapsedTime": elapsed(agreement.signed_at, now)},
        claims=claims,
        performed=performed,
    )
