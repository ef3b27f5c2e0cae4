"""HTTP API of the development trust anchor (see the package docstring). OpenAPI at ``/docs``."""

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


def _problem(status: int, code: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": f"urn:gxc:error:{code}", "title": code, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def create_trust_app(trust: TrustAnchor, *, clock: Clock = lambda: dt.datetime.now(dt.UTC)) -> FastAPI:
    fetcher = GuardedFetcher(allow_private=True, allowed_schemes=("http", "https"))
    resolver = HttpDidResolver(fetcher, scheme="http")
    x5u = HttpX5uFetcher(fetcher)

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
        try:
            vc = build_registration_number(
                profile, profile.registration_numbers[0], notary_did=notary.did, validity=Validity.starting(now)
            )
        except SelfDescriptionError as exc:
            return _problem(422, exc.code, exc.message)
        token = sign_vc_jwt(vc, notary.key, kid=notary.kid, issued_at=now)
        return JSONResponse({"credential": token}, status_code=201)

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
        token = issue_compliance_credential(verdict, key=issuer.key, kid=issuer.kid, now=now)
        return JSONResponse({"credential": token, "verdict": verdict.as_dict()}, status_code=201)

    @app.post(
        "/federation/memberships",
        tags=["federation"],
        status_code=201,
        summary="Issue a MembershipCredential (operator key required)",
    )
    async def membership(body: MembershipIn, x_api_key: str | None = Header(None)) -> JSONResponse:
        if x_api_key is None or not hmac.compare_digest(x_api_key.encode(), trust.operator_key.encode()):
            return _problem(401, "unauthorized", "missing or wrong X-Api-Key (the operator_key in trust.toml)")
        now = clock()
        federation = trust.issuers["federation"]
        vc = {
            "@context": LOIRE_CONTEXT,
            "type": ["VerifiableCredential", "MembershipCredential"],
            "id": f"urn:uuid:{uuid.uuid4()}",
            "issuer": federation.did,
            "validFrom": format_datetime(now),
            "validUntil": format_datetime(now + dt.timedelta(days=body.days)),
            "credentialSubject": {"id": body.participant, "memberOf": trust.dataspace},
        }
        token = sign_vc_jwt(vc, federation.key, kid=federation.kid, issued_at=now)
        return JSONResponse({"credential": token}, status_code=201)

    return app
