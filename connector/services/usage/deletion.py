"""Delete-after duties (issue 6 §5; ODRL ``delete``): the consumer attests a deletion, the provider verifies it.

Consumer (``POST /api/management/v1/transfers/{id}/data/deletion``, ``gxc transfer delete``): the data received under a
transfer is deleted (a push transfer's inbox file by the connector itself; pulled data by the operator, who says so
by calling), the deletion is recorded as a performed ``delete`` (ledger record ``performed``) and a **deletion
attestation** is signed: a compact JWS (``typ`` ``gxc-deletion+jwt``, ``kid`` of our DID document) over
``{iss, aud, agreementId, transferId (the provider's pid), consumerPid, digest, deletedAt, iat, jti}``, where
``digest`` is the SHA-256 of the data received (from our ``receipt`` records). It is sent to the provider at
``{provider}/public/attestations/deletion`` with our DCP self-issued token; the answer is recorded
(``attestation-sent``).

Provider: the caller's token is verified (DCP), the attestation's signature is checked with the caller's key from
its DID document, and it must be by the agreement's consumer, for us, about a transfer of that agreement. It is
then stored in our ledger (``attestation``) and performs the agreement's ``delete`` duties (``performed``).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jwcrypto import jws
from jwcrypto.common import JWException

from connector.dsp.states import Role
from connector.errors import ConnectorError
from connector.identity.tokens import AuthenticationError, verify_token
from connector.peer.client import PeerUnreachable
from connector.services.runtime import Runtime
from connector.services.usage.ledger import UsageLedger
from connector.services.usage.obligations import Obligations
from connector.services.usage.push import endpoint_properties
from self_descriptions.did import DidError
from self_descriptions.errors import SelfDescriptionError
from self_descriptions.keys import check_alg, public_key_from_jwk

ATTESTATION_PATH = "/public/attestations/deletion"
ATTESTATION_TYPE = "gxc-deletion+jwt"
#: How far in the future a ``deletedAt`` may lie (clock skew between the parties).
SKEW = dt.timedelta(minutes=5)


class AttestationRefused(ConnectorError):
    """A deletion attestation did not verify or is not for us; the message says why."""

    code = "attestation-refused"


class Deletions:
    def __init__(
        self, runtime: Runtime, ledger: UsageLedger, obligations: Obligations, inbox_path: Callable[[str], Path]
    ) -> None:
        self.rt = runtime
        self.ledger = ledger
        self.obligations = obligations
        self.inbox_path = inbox_path

    # -- consumer ------------------------------------------------------------------------------------------------

    async def attest(self, transfer_id: str, *, note: str | None = None) -> dict[str, Any]:
        """Record the deletion of a transfer's data, sign the attestation and send it to the provider."""
        now = self.rt.now()
        async with self.rt.store.transaction() as tx:
            t = await tx.transfers.get(transfer_id)
        if t.role is not Role.CONSUMER:
            raise ConnectorError("only the consumer of a transfer attests a deletion", code="not-consumer")
        received = self.inbox_path(t.id)
        removed = received.is_file()
        if removed:
            received.unlink()
        digest = await self._received_digest(t.consumer_pid, t.id)
        claims = {
            "iss": self.rt.identity.did,
            "aud": t.counter_party_id,
            "agreementId": t.agreement_id,
            "transferId": t.provider_pid,
            "consumerPid": t.consumer_pid,
            "digest": digest,
            "deletedAt": now.isoformat(),
            "iat": int(now.timestamp()),
            "jti": str(uuid.uuid4()),
        }
        token = jws.JWS(json.dumps(claims, separators=(",", ":")).encode())
        key = self.rt.identity.key
        token.add_signature(key.jwk, None, {"alg": key.alg, "typ": ATTESTATION_TYPE, "kid": self.rt.identity.kid})
        attestation = str(token.serialize(compact=True))
        record = await self.obligations.perform(
            t.agreement_id,
            "delete",
            transfer_id=t.id,
            details={"attestation": attestation, "digest": digest, "inboxFileRemoved": removed, "note": note},
        )
        url = self._provider_url(t.data_address, t.counter_party_address)
        delivery = await self._deliver(t.counter_party_id, url, attestation)
        async with self.rt.store.transaction() as tx:
            await self.ledger.append(
                tx,
                "attestation-sent",
                agreement_id=t.agreement_id,
                transfer_id=t.id,
                counterparty=t.counter_party_id,
                data={"kind": "deletion", "jti": claims["jti"], **delivery},
            )
        return {"attestation": attestation, "claims": claims, "performed": record, "delivery": delivery}

    async def _received_digest(self, *transfer_ids: str | None) -> str | None:
        digest: str | None = None
        for tid in transfer_ids:
            if tid is None:
                continue
            for rec in await self.ledger.records(transfer_id=tid, limit=1000):
                if rec.kind == "receipt" and isinstance(rec.data.get("digest"), str):
                    digest = rec.data["digest"]
        return digest

    @staticmethod
    def _provider_url(address: dict[str, Any] | None, dsp_address: str) -> str:
        endpoint, _ = endpoint_properties(address)
        if "/public/" in endpoint:
            return endpoint.split("/public/", 1)[0] + ATTESTATION_PATH
        parts = urlsplit(dsp_address)
        return f"{parts.scheme}://{parts.netloc}{ATTESTATION_PATH}"

    async def _deliver(self, provider: str, url: str, attestation: str) -> dict[str, Any]:
        try:
            answer = await self.rt.peers.send("POST", url, audience=provider, body={"attestation": attestation})
        except (PeerUnreachable, ConnectorError) as exc:
            return {"url": url, "delivered": False, "reason": str(exc)[:300]}
        return {"url": url, "delivered": answer.ok, "status": answer.status}

    # -- provider ------------------------------------------------------------------------------------------------

    async def receive(self, authorization: str | None, body: Any) -> dict[str, Any]:
        """Verify a consumer's deletion attestation, store it and perform the agreement's ``delete`` duties."""
        now = self.rt.now()
        try:
            caller = await verify_token(
                authorization or "",
                audience=self.rt.identity.did,
                resolver=self.rt.resolver,
                jti_store=self.rt.store,
                now=now,
            )
        except AuthenticationError as exc:
            raise AttestationRefused(exc.message, code="unauthenticated") from exc
        attestation = body.get("attestation") if isinstance(body, dict) else None
        if not isinstance(attestation, str):
            raise AttestationRefused("send {'attestation': '<compact JWS>'}")
        claims = await self._verified(attestation, caller.did)
        if claims.get("iss") != caller.did or claims.get("aud") != self.rt.identity.did:
            raise AttestationRefused("the attestation is not by the caller or not for this connector")
        deleted = _time(claims.get("deletedAt"))
        if deleted is None or deleted > now + SKEW:
            raise AttestationRefused("deletedAt is missing or in the future")
        agreement_id = str(claims.get("agreementId"))
        async with self.rt.store.transaction() as tx:
            t = await tx.transfers.find_by_provider_pid(Role.PROVIDER, str(claims.get("transferId")))
            agreement = await tx.agreements.get(agreement_id) if t is not None else None
        if t is None or agreement is None or t.agreement_id != agreement_id or agreement.consumer_id != caller.did:
            raise AttestationRefused("no transfer of yours under this agreement has this id", code="not-found")
        async with self.rt.store.transaction() as tx:
            stored = await self.ledger.append(
                tx,
                "attestation",
                agreement_id=agreement_id,
                transfer_id=t.provider_pid,
                counterparty=caller.did,
                data={"kind": "deletion", "attestation": attestation, "claims": claims},
            )
        performed = await self.obligations.perform(
            agreement_id,
            "delete",
            transfer_id=t.provider_pid,
            party=caller.did,
            details={"attestationSeq": stored.seq, "digest": claims.get("digest"), "deletedAt": deleted.isoformat()},
        )
        return {"accepted": True, "ledgerSeq": stored.seq, "performed": performed["data"]}

    async def _verified(self, attestation: str, did: str) -> dict[str, Any]:
        try:
            parsed = jws.JWS()
            parsed.deserialize(attestation)
            header = parsed.jose_header
            kid, alg = header.get("kid"), header.get("alg")
            if header.get("typ") != ATTESTATION_TYPE or not isinstance(kid, str) or not isinstance(alg, str):
                raise AttestationRefused(f"not a deletion attestation (typ {ATTESTATION_TYPE}, kid and alg needed)")
            document = await self.rt.resolver.resolve(did)
            key = public_key_from_jwk(dict(document.public_jwk(kid, relationship="assertionMethod")))
            check_alg(str(key["kty"]), alg)
            parsed.verify(key, alg=alg)
            claims = json.loads(parsed.payload)
        except (DidError, SelfDescriptionError) as exc:
            raise AttestationRefused(f"the attestation's key: {exc.message}") from exc
        except (JWException, ValueError) as exc:
            raise AttestationRefused("the attestation's signature does not verify with the consumer's key") from exc
        if not isinstance(claims, dict):
            raise AttestationRefused("the attestation's payload is not a JSON object")
        return claims


def _time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
