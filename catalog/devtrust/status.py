"""Credential status at the development trust anchor: what it issued, what it revoked or suspended, and the W3C
Bitstring Status List v1.0 credentials it publishes for that (``gxc trust revoke | suspend | unsuspend``).

Every credential an issuer role (notary, compliance, federation) issues is recorded with one random index (§2.1:
"Implementations SHOULD assign indexes randomly", so an index says nothing about when a credential was issued or
how many there are) and carries two ``BitstringStatusListEntry`` objects with that index: one into the role's
``revocation`` list and one into its ``suspension`` list, at ``<issuer base>/status/<purpose>``. A role signs its own
lists, because a verifier accepts a status list only from the credential's issuer
(:mod:`self_descriptions.status_list`).

The record is ``status.db`` (SQLite) in the state folder: it survives restarts and is shared between ``gxc trust
serve`` and the ``gxc trust`` commands an operator runs next to it (SQLite serialises the writers). Revocation is
final (§2.1: "This status is not reversible"); suspension is not. The served list is the bitstring derived from
the records at request time: when a bit changed since the last request, a new status list credential is built and
signed (§3.1), otherwise the signed one is served again (valid for :data:`LIST_VALIDITY`, re-signed before it ends).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from connector.errors import ConnectorError
from self_descriptions.keys import KeyPair
from self_descriptions.proofs.vc_jwt import sign_vc_jwt
from self_descriptions.status_list import MIN_ENTRIES, Bitstring, build_status_list_credential, status_entry

PURPOSES = ("revocation", "suspension")
Purpose = Literal["revocation", "suspension"]
DATABASE = "status.db"
#: Entries per list: the §3.2 minimum, so every issued credential hides among 131,072 positions (§6.1).
LIST_LENGTH = MIN_ENTRIES
#: Validity of a signed status list credential (§7.2: the issuer's choice); it is re-signed before it ends.
LIST_VALIDITY = dt.timedelta(days=1)
#: §2.2 ``ttl`` of the lists, aligned with ``Cache-Control: max-age`` on the HTTP answer (§2.2 asks for both to
#: agree): verifiers refresh within seconds, so a revocation reaches them quickly.
LIST_TTL = dt.timedelta(seconds=10)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS credentials (
    id TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    type TEXT NOT NULL,
    subject TEXT NOT NULL,
    status_index INTEGER NOT NULL,
    issued_at TEXT NOT NULL,
    valid_until TEXT,
    revoked_at TEXT,
    suspended_at TEXT,
    reason TEXT,
    UNIQUE (role, status_index)
)
"""


class StatusChangeError(ConnectorError):
    """A status change cannot be made (unknown credential, revoked credential, full list)."""

    code = "status-change-error"


@dataclass(frozen=True)
class IssuedCredential:
    """One credential the trust anchor issued, with its status index and state."""

    id: str
    role: str
    type: str
    subject: str
    index: int
    issued_at: dt.datetime
    valid_until: dt.datetime | None
    revoked_at: dt.datetime | None = None
    suspended_at: dt.datetime | None = None
    reason: str | None = None

    @property
    def status(self) -> Literal["revoked", "suspended", "valid"]:
        if self.revoked_at is not None:
            return "revoked"
        return "suspended" if self.suspended_at is not None else "valid"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "issuer": self.role,
            "type": self.type,
            "subject": self.subject,
            "statusListIndex": str(self.index),
            "status": self.status,
            "issuedAt": _iso(self.issued_at),
            "validUntil": _iso(self.valid_until),
            "revokedAt": _iso(self.revoked_at),
            "suspendedAt": _iso(self.suspended_at),
            "reason": self.reason,
        }


class StatusRegistry:
    """The issued credentials and their status, in ``status.db`` of the trust anchor's state folder."""

    def __init__(self, path: Path, *, randbelow: Callable[[int], int] = secrets.randbelow) -> None:
        self.path = path
        self._randbelow = randbelow
        with self._connect() as db:
            db.execute(_SCHEMA)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=10)
        try:
            with db:  # one transaction: committed on success, rolled back on an exception
                yield db
        finally:
            db.close()

    def register(
        self,
        *,
        credential_id: str,
        role: str,
        type_: str,
        subject: str,
        issued_at: dt.datetime,
        valid_until: dt.datetime | None,
    ) -> int:
        """Record a credential about to be issued; returns its random status index (§2.1).

        A credential issued again under the same id (registration numbers have stable ids) keeps its index and
        status, so a copy issued earlier is revoked or suspended with it; a revoked id is not issued again.
        """
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")  # no other writer between choosing a free index and taking it
            known = db.execute(
                "SELECT status_index, revoked_at FROM credentials WHERE id = ? AND role = ?", (credential_id, role)
            ).fetchone()
            if known is not None:
                if known[1] is not None:
                    raise StatusChangeError(
                        f"credential {credential_id} was revoked; it is not issued again", code="revoked-credential"
                    )
                return int(known[0])
            used = db.execute("SELECT COUNT(*) FROM credentials WHERE role = ?", (role,)).fetchone()[0]
            if used >= LIST_LENGTH // 2:
                raise StatusChangeError(f"the {role} status lists are half full; start a new trust anchor")
            while True:
                index = self._randbelow(LIST_LENGTH)
                taken = db.execute(
                    "SELECT 1 FROM credentials WHERE role = ? AND status_index = ?", (role, index)
                ).fetchone()
                if taken is None:
                    break
            db.execute(
                "INSERT INTO credentials (id, role, type, subject, status_index, issued_at, valid_until) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (credential_id, role, type_, subject, index, _iso(issued_at), _iso(valid_until)),
            )
        return index

    def get(self, credential_id: str) -> IssuedCredential:
        with self._connect() as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM credentials WHERE id = ?", (credential_id,)).fetchone()  # noqa: S608 - constant column list
        if row is None:
            raise StatusChangeError(
                f"no credential {credential_id!r} was issued here (list them with `gxc trust credentials`)",
                code="unknown-credential",
            )
        return _record(row)

    def find(self, *, subject: str | None = None, type_: str | None = None) -> list[IssuedCredential]:
        """Issued credentials, newest first, optionally only those about ``subject`` and/or of type ``type_``."""
        query = f"SELECT {_COLUMNS} FROM credentials WHERE (? IS NULL OR subject = ?) AND (? IS NULL OR type = ?)"  # noqa: S608 - constant column list
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY issued_at DESC", (subject, subject, type_, type_)).fetchall()
        return [_record(r) for r in rows]

    def revoke(self, credential_id: str, *, now: dt.datetime, reason: str | None = None) -> IssuedCredential:
        """Set the revocation bit (final; revoking twice changes nothing)."""
        self.get(credential_id)
        with self._connect() as db:
            db.execute(
                "UPDATE credentials SET revoked_at = ?, reason = COALESCE(?, reason) "
                "WHERE id = ? AND revoked_at IS NULL",
                (_iso(now), reason, credential_id),
            )
        return self.get(credential_id)

    def suspend(self, credential_id: str, *, now: dt.datetime, reason: str | None = None) -> IssuedCredential:
        """Set the suspension bit (reversible with :meth:`unsuspend`)."""
        if self.get(credential_id).revoked_at is not None:
            raise StatusChangeError(f"credential {credential_id} is revoked; suspending it changes nothing")
        with self._connect() as db:
            db.execute(
                "UPDATE credentials SET suspended_at = ?, reason = COALESCE(?, reason) "
                "WHERE id = ? AND suspended_at IS NULL",
                (_iso(now), reason, credential_id),
            )
        return self.get(credential_id)

    def unsuspend(self, credential_id: str) -> IssuedCredential:
        """Clear the suspension bit (a revoked credential stays revoked)."""
        if self.get(credential_id).revoked_at is not None:
            raise StatusChangeError(f"credential {credential_id} is revoked, which is final (it cannot be reinstated)")
        with self._connect() as db:
            db.execute("UPDATE credentials SET suspended_at = NULL WHERE id = ?", (credential_id,))
        return self.get(credential_id)

    def set_indexes(self, role: str, purpose: Purpose) -> frozenset[int]:
        """The indexes whose ``purpose`` bit is set in ``role``'s list."""
        column = {"revocation": "revoked_at", "suspension": "suspended_at"}[purpose]
        with self._connect() as db:
            rows = db.execute(
                f"SELECT status_index FROM credentials WHERE role = ? AND {column} IS NOT NULL",  # noqa: S608 - constant column
                (role,),
            ).fetchall()
        return frozenset(int(r[0]) for r in rows)


_COLUMNS = "id, role, type, subject, status_index, issued_at, valid_until, revoked_at, suspended_at, reason"


def _record(row: tuple[Any, ...]) -> IssuedCredential:
    return IssuedCredential(
        id=row[0],
        role=row[1],
        type=row[2],
        subject=row[3],
        index=int(row[4]),
        issued_at=_parse(row[5]) or dt.datetime.min.replace(tzinfo=dt.UTC),
        valid_until=_parse(row[6]),
        revoked_at=_parse(row[7]),
        suspended_at=_parse(row[8]),
        reason=row[9],
    )


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.UTC).isoformat()


def _parse(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


@dataclass(frozen=True)
class _Signed:
    bits: frozenset[int]
    token: str
    renew_after: dt.datetime


class StatusLists:
    """The signed status list credential of each (issuer role, purpose), re-signed when a bit changed (§3.1)."""

    def __init__(self, registry: StatusRegistry, issuers: dict[str, tuple[str, str, KeyPair, str]]) -> None:
        """``issuers``: role -> (base URL, DID, key, kid) of the role that signs its lists."""
        self.registry = registry
        self.issuers = issuers
        self._signed: dict[tuple[str, str], _Signed] = {}

    def url(self, role: str, purpose: str) -> str:
        return f"{self.issuers[role][0]}/status/{purpose}"

    def entries(self, role: str, index: int) -> list[dict[str, Any]]:
        """The ``credentialStatus`` of a credential with status ``index`` issued by ``role`` (§2.1)."""
        return [status_entry(self.url(role, purpose), index, purpose) for purpose in PURPOSES]

    def credential(self, role: str, purpose: Purpose, *, now: dt.datetime) -> str:
        """The current status list credential (VC-JWT) of ``role`` for ``purpose``."""
        bits = self.registry.set_indexes(role, purpose)
        signed = self._signed.get((role, purpose))
        if signed is not None and signed.bits == bits and now < signed.renew_after:
            return signed.token
        bitstring = Bitstring.zeros(LIST_LENGTH)
        for index in bits:
            bitstring.set(index)
        _, did, key, kid = self.issuers[role]
        vc = build_status_list_credential(
            url=self.url(role, purpose),
            issuer=did,
            purpose=purpose,
            bits=bitstring,
            valid_from=now,
            valid_until=now + LIST_VALIDITY,
            ttl=LIST_TTL,
        )
        token = sign_vc_jwt(vc, key, kid=kid, issued_at=now)
        self._signed[(role, purpose)] = _Signed(bits, token, now + LIST_VALIDITY / 2)
        return token
