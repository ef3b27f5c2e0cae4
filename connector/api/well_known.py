"""Unauthenticated discovery documents: the did:web DID document, the x5u chain and the DSP version metadata.

- ``GET /.well-known/did.json``: did:web method spec §3.2 (a DID without path resolves here).
- ``GET /.well-known/x5u/participant.chain.pem``: the PEM chain named by the key's ``x5u`` (RFC 7517 §4.6).
- ``GET /.well-known/dspace-version``: DSP 2025-1 §common "Exposure of Versions" (RFC 8615 location,
  unversioned and unauthenticated; each entry has ``version``, ``path``, ``binding``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from connector.identity.participant import X5U_PATH, ParticipantIdentity
from self_descriptions.did import ServiceEndpoint

DSP_VERSION = "2025-1"
DSP_PATH = "/dsp/2025-1"


def service_entries(identity: ParticipantIdentity) -> list[ServiceEndpoint]:
    """The DID document's ``service`` entries (DSP 2025-1 §common DID service; DCP 1.0 CredentialService)."""
    return [
        ServiceEndpoint("dsp-catalog", "CatalogService", identity.base_url + DSP_PATH + "/catalog"),
        ServiceEndpoint("dsp", "DataService", identity.base_url + "/.well-known/dspace-version"),
        ServiceEndpoint("credential-service", "CredentialService", identity.base_url + "/credentials"),
    ]


def version_response(identity: ParticipantIdentity) -> dict[str, Any]:
    return {
        "protocolVersions": [
            {
                "version": DSP_VERSION,
                "path": DSP_PATH,
                "binding": "HTTPS",
                "identifierType": "did:web",
                "serviceId": f"{identity.did}#dsp",
                "auth": {"protocol": "DCP", "version": "1.0"},
            }
        ]
    }


def router(identity: ParticipantIdentity, terms: bytes | None = None) -> APIRouter:
    r = APIRouter(tags=["discovery"])

    if terms is not None:

        @r.get(
            "/terms",
            summary="Service terms and conditions (hashed into every Gaia-X service offering)",
            response_class=Response,
        )
        async def service_terms() -> Response:
            return Response(terms, media_type="text/plain; charset=utf-8")

    @r.get(
        "/.well-known/did.json",
        summary="did:web DID document",
        response_description="The participant's DID document (JsonWebKey2020 keys with alg and x5u).",
    )
    async def did_document(request: Request) -> JSONResponse:
        return JSONResponse(identity.did_document(service_entries(identity)), media_type="application/did+json")

    @r.get(X5U_PATH, summary="x5u certificate chain (PEM, leaf first)", response_class=Response)
    async def certificate_chain() -> Response:
        return Response(identity.chain_pem, media_type="application/x-pem-file")

    @r.get(
        "/.well-known/dspace-version",
        summary="DSP version metadata",
        responses={
            200: {
                "content": {
                    "application/json": {
                        "example": {
                            "protocolVersions": [{"version": DSP_VERSION, "path": DSP_PATH, "binding": "HTTPS"}]
                        }
                    }
                }
            }
        },
    )
    async def dspace_version() -> dict[str, Any]:
        return version_response(identity)

    return r
