"""HTTP API of the development trust anchor (see the package docstring). OpenAPI at ``/docs``.

Every credential it issues carries a W3C Bitstring Status List v1.0 ``credentialStatus`` (a ``revocation`` and a
``suspension`` entry) into lists its issuer role serves at ``/<role>/status/<purpose>`` (:mod:`.status`); the
operator changes a credential's status with ``gxc trust revoke | suspend | unsuspend`` or the ``/credentials``
endpoints (``X-Api-Key``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, Header, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from catalog.devtrust.state import ROLES, TrustAnchor
from catalog.devtrust.status import LIST_TTL, Purpose, StatusChangeError
from connector.identity.participant import X5U_PATH
from connector.identity.resolver import GuardedFetcher, HttpDidResolver, HttpX5uFetcher
from self_descriptions.build import (
    Address,
    ParticipantProfile,
    RegistrationNumber,
    Validity,
    build_registration_number,
)
from self_descriptions.canonical_worker import default_pool, warm_up
from self_descriptions.compliance import check_compliance, issue_compliance_credential
from self_descriptions.errors import SelfDescriptionError
from self_descriptions.proofs.vc_jwt import format_datetime, sign_vc_jwt
from self_descriptions.shacl import preload

Clock = Callable[[], dt.datetime]
MAX_VP_BYTES = 2 * 1024 * 1024
COMPLIANCE_VALIDITY = dt.timedelta(days=90)
LOIRE_CONTEXT = ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/gaia-x/development#"]


class Camel(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")


class RegistrationIn(Camel):
    participant: str = Field(examples=["did:web:provider.example.com"])
    base_url: str = Field(alias="baseUrl", examples=["https://provider.example.com"])
    kind: Literal["vatID", "leiCode", "EORI", "taxID", "EUID", "local"] = Field("vatID", alias="type")
    value: str = Field(examples=["DE123456789"])
    country_code: str | None = Field(None, alias="countryCode", examples=["DE"])


class MembershipIn(Camel):
    participant: str = Field(examples=["did:web:consumer.example.com"])
    days: int = Field(365, ge=1, le=3650)


class StatusChangeIn(Camel):
    id: str = Field(examples=["urn:uuid:3f1c2a9e-8b7d-4c61-9a55-0d7e6b1f2c34"])
    reason: str | None = Field(None, max_length=500, examples=["membership ended"])


def _problem(status: int, code: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": f"urn:gxc:error:{code}", "title": code, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def create_trust_app(trust: TrustAnchor, *, clock: Clock = lambda: dt.datetime.now(dt.UTC)) -> FastAPI:
    fetcher = GuardedFetcher(allow_private=True, allowed_schemes=("http", "https"))
    resolver = HttpDidResolver(fetcher, scheme="http")
    x5u = HttpX5uFetcher(fetcher)
    registry = trust.status_registry()
    lists = trust.status_lists(registry)

    def with_status(
        vc: dict[str, Any], role: str, *, subject: str, now: dt.datetime, valid_until: dt.datetime | None
    ) -> dict[str, Any]:
        """Record ``vc`` as issued by ``role`` and give it its status entries (Bitstring Status List v1.0 §2.1)."""
        kind = next((t for t in reversed(vc["type"]) if t != "VerifiableCredential"), "VerifiableCredential")
        index = registry.register(
            credential_id=str(vc["id"]),
            role=role,
            type_=kind,
            subject=subject,
            issued_at=now,
            valid_until=valid_until,
        )
        return {**vc, "credentialStatus": lists.entries(role, index)}

    def operator(key: str | None) -> JSONResponse | None:
        if key is None or not hmac.compare_digest(key.encode(), trust.operator_key.encode()):
            return _problem(401, "unauthorized", "missing or wrong X-Api-Key (the operator_key in trust.toml)")
        return None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Start the canonicalization workers of the compliance checks and compile the 25.11 shapes (~4 s) now
        # rather than during the first compliance check.
        warming = asyncio.create_task(warm_up(default_pool()))
        await asyncio.to_thread(preload, "25.11")
        await warming
        yield
        await fetcher.aclose()

    app = FastAPI(
        title="gxc development trust anchor",
        description="Development CA, notary, compliance service and federation membership issuer. Not for production.",
        lifespan=lifespan,
    )

    def identity_routes(role: str) -> APIRouter:
        identity = trust.issuers[role]
        r = APIRouter(prefix=f"/{role}", tags=[role])

        @r.get("/did.json", summary=f"did:web document of the {role}")
        async def did_document() -> JSONResponse:
            return JSONResponse(identity.did_document(), media_type="application/did+json")

        @r.get(X5U_PATH, summary="x5u certificate chain", response_class=Response)
        async def chain() -> Response:
            return Response(identity.chain_pem, media_type="application/x-pem-file")

        @r.get(
            "/status/{purpose}",
            summary=f"Status list of the {role} (BitstringStatusListCredential, VC-JWT)",
            response_class=Response,
        )
        async def status_list(purpose: Purpose) -> Response:
            token = lists.credential(role, purpose, now=clock())
            # §2.2: HTTP caching aligned with the list's ttl
            headers = {"Cache-Control": f"max-age={int(LIST_TTL.total_seconds())}"}
            return Response(token, media_type="application/vc+jwt", headers=headers)

        return r

    for role in ROLES:
        app.include_router(identity_routes(role))

    @app.get("/health", tags=["operations"])
    async def health() -> dict[str, Any]:
        return {"status": "ok", "issuers": {role: trust.did(role) for role in ROLES}, "dataspace": trust.dataspace}

    @app.get("/pki/root-ca.pem", tags=["pki"], response_class=Response, summary="The data space root certificate")
    async def root() -> Response:
        return Response(trust.root_pem, media_type="application/x-pem-file")

    @app.post(
        "/notary/registration-numbers",
        tags=["notary"],
        status_code=201,
        summary="Issue a registration-number credential (format-checked)",
    )
    async def registration(body: RegistrationIn) -> JSONResponse:
        now = clock()
        notary = trust.issuers["notary"]
        profile = ParticipantProfile(
            did=body.participant,
            base_url=body.base_url,
            legal_name=body.participant,
            legal_address=Address(body.country_code or "DE"),
            registration_numbers=(RegistrationNumber(body.kind, body.value, body.country_code),),
        )
        validity = Validity.starting(now)
        try:
            vc = build_registration_number(
                profile, profile.registration_numbers[0], notary_did=notary.did, validity=validity
            )
            vc = with_status(vc, "notary", subject=body.participant, now=now, valid_until=validity.valid_until)
        except SelfDescriptionError as exc:
            return _problem(422, exc.code, exc.message)
        except StatusChangeError as exc:
            return _problem(409, exc.code, exc.message)
        token = sign_vc_jwt(vc, notary.key, kid=notary.kid, issued_at=now)
        return JSONResponse({"credential": token, "id": vc["id"]}, status_code=201)

    @app.post(
        "/compliance/credential-offers",
        tags=["compliance"],
        status_code=201,
        summary="Check a participant VP-JWT as GXDCH does; issue a compliance (label) credential",
    )
    async def compliance(request: Request) -> JSONResponse:
        raw = await request.body()
        if len(raw) > MAX_VP_BYTES:
            return _problem(413, "too-large", f"the presentation is larger than {MAX_VP_BYTES} bytes")
        text = raw.decode("utf-8", errors="replace").strip()
        if text.startswith("{"):
            try:
                text = json.loads(text).get("vp", "")
            except (ValueError, AttributeError):
                return _problem(400, "malformed", 'send the VP-JWT as text/plain or as {"vp": "..."}')
        now = clock()
        verdict = await check_compliance(
            text,
            resolver=resolver,
            trust_anchors=[trust.pki.root],
            trusted_notaries=[trust.did("notary")],
            now=now,
            x5u_fetcher=x5u,
        )
        if not verdict.compliant:
            return _problem(422, "not-compliant", "the presentation is not compliant", verdict=verdict.as_dict())
        issuer = trust.issuers["compliance"]
        credential_id = f"urn:uuid:{uuid.uuid4()}"
        index = registry.register(
            credential_id=credential_id,
            role="compliance",
            type_="gx:LabelCredential",
            subject=verdict.holder or "",
            issued_at=now,
            valid_until=now + COMPLIANCE_VALIDITY,
        )
        token = issue_compliance_credential(
            verdict,
            key=issuer.key,
            kid=issuer.kid,
            now=now,
            credential_id=credential_id,
            validity=COMPLIANCE_VALIDITY,
            credential_status=lists.entries("compliance", index),
        )
        return JSONResponse({"credential": token, "id": credential_id, "verdict": verdict.as_dict()}, status_code=201)

    @app.post(
        "/federation/memberships",
        tags=["federation"],
        status_code=201,
        summary="Issue a MembershipCredential (operator key required)",
    )
    async def membership(body: MembershipIn, x_api_key: str | None = Header(None)) -> JSONResponse:
        if (denied := operator(x_api_key)) is not None:
            return denied
        now = clock()
        federation = trust.issuers["federation"]
        valid_until = now + dt.timedelta(days=body.days)
        vc: dict[str, Any] = {
            "@context": LOIRE_CONTEXT,
            "type": ["VerifiableCredential", "MembershipCredential"],
            "id": f"urn:uuid:{uuid.uuid4()}",
            "issuer": federation.did,
            "validFrom": format_datetime(now),
            "validUntil": format_datetime(valid_until),
            "credentialSubject": {"id": body.participant, "memberOf": trust.dataspace},
        }
        vc = with_status(vc, "federation", subject=body.participant, now=now, valid_until=valid_until)
        token = sign_vc_jwt(vc, federation.key, kid=federation.kid, issued_at=now)
        return JSONResponse({"credential": token, "id": vc["id"]}, status_code=201)

    @app.get("/credentials", tags=["status"], summary="Credentials issued here and their status (operator key)")
    async def credentials(participant: str | None = None, x_api_key: str | None = Header(None)) -> JSONResponse:
        if (denied := operator(x_api_key)) is not None:
            return denied
        return JSONResponse({"items": [c.as_dict() for c in registry.find(subject=participant)]})

    @app.post(
        "/credentials/{action}",
        tags=["status"],
        summary="Revoke (final), suspend or unsuspend a credential; its status list changes at once (operator key)",
    )
    async def change_status(
        action: Literal["revoke", "suspend", "unsuspend"], body: StatusChangeIn, x_api_key: str | None = Header(None)
    ) -> JSONResponse:
        if (denied := operator(x_api_key)) is not None:
            return denied
        try:
            if action == "revoke":
                changed = registry.revoke(body.id, now=clock(), reason=body.reason)
            elif action == "suspend":
                changed = registry.suspend(body.id, now=clock(), reason=body.reason)
            else:
                changed = registry.unsuspend(body.id)
        except StatusChangeError as exc:
            return _problem(404 if exc.code == "unknown-credential" else 409, exc.code, exc.message)
        return JSONResponse(changed.as_dict())

    return app
