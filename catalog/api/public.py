"""Public endpoints: admission (what ``gxc sd publish`` calls), self-revocation, discovery, SPARQL, feed, did:web.

No API key: discovery is public, admission is authenticated by the presentation's own signatures, self-revocation by
the participant's DCP self-issued ID token (audience = the catalogue's DID, ``sub`` = the participant).
"""

from __future__ import annotations

import copy
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, Response

from catalog.api.problems import PROBLEM_RESPONSE
from catalog.api.runtime import Runtime
from catalog.errors import Forbidden, QueryRefused, SubmissionRefused, Unauthorized
from catalog.federation import FEED_PATH, sign_feed
from catalog.model import Participant
from catalog.search import FACETS
from connector.dsp.pagination import Page, link_header
from connector.errors import ConnectorError
from connector.identity.participant import X5U_PATH
from connector.identity.tokens import verify_token
from self_descriptions.did import ServiceEndpoint

DSP_CONTEXT = "https://w3id.org/dspace/2025/1/context.jsonld"
JWT_TYPES = ("application/vp+jwt", "application/jwt", "text/plain", "application/vc+jwt")
MAX_PAGE = 500
#: Offsets and sequence numbers reach SQL as 64-bit integers; larger ones are refused (422), not a driver error.
MAX_SQL_INT = 2**62

_SUBMISSION_EXAMPLES = {
    "application/vp+jwt": {"schema": {"type": "string"}, "example": "eyJhbGciOiJFUzI1NiIsInR5cCI6InZwK2p3dCJ9...."},
    "application/ld+json": {
        "schema": {"type": "object"},
        "example": {
            "@context": ["https://www.w3.org/2018/credentials/v1"],
            "type": "VerifiablePresentation",
            "verifiableCredential": ["..."],
            "proof": {"type": "JsonWebSignature2020", "jws": "..."},
        },
    },
}
_OUTCOME_EXAMPLE = {
    "participant": "did:web:provider.example",
    "status": "admitted",
    "version": 1,
    "digest": "9c1185a5c5e9fc54612808977ee8f548b2258d31...",
    "expiresAt": "2026-05-30T12:00:00Z",
    "complianceCredential": "eyJhbGciOiJFUzI1NiIsInR5cCI6InZjK2p3dCJ9....",
    "report": {"compliant": True, "checks": [{"name": "signature", "passed": True, "message": "..."}]},
}


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused as soon as it exceeds ``limit`` (before any parsing: nothing is stored)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise SubmissionRefused(f"the submission is larger than {limit} bytes", code="submission-too-large", status=413)
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise SubmissionRefused(
                f"the submission is larger than {limit} bytes", code="submission-too-large", status=413
            )
    return bytes(body)


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/health", tags=["service"], summary="Liveness and counts")
    async def health(request: Request) -> dict[str, Any]:
        c = _runtime(request).catalogue
        return {"status": "ok", "participants": len(c.participants), "datasets": len(c.index)}

    @r.get("/.well-known/did.json", tags=["service"], summary="The catalogue's did:web DID document")
    async def did_document(request: Request) -> JSONResponse:
        rt = _runtime(request)
        services = [ServiceEndpoint("catalogue", "FederatedCatalogue", rt.identity.base_url + "/api/v1")]
        doc = rt.identity.did_document(services)
        # The catalogue's key also signs DCP self-issued ID tokens (capabilityInvocation) and its feed.
        key_ids = doc.get("assertionMethod", [])
        doc.setdefault("capabilityInvocation", key_ids)
        doc.setdefault("authentication", key_ids)
        return JSONResponse(doc, media_type="application/did+json")

    @r.get(X5U_PATH, tags=["service"], summary="x5u certificate chain (PEM, leaf first)", response_class=Response)
    async def chain(request: Request) -> Response:
        return Response(_runtime(request).identity.chain_pem, media_type="application/x-pem-file")

    @r.post(
        "/api/v1/self-descriptions",
        tags=["admission"],
        summary="Submit a participant's verifiable presentation for admission",
        description=(
            "Body: a VP-JWT (Loire; `Content-Type: application/vp+jwt`, also `application/jwt` or `text/plain`) or a "
            "JSON-LD VP (Tagus; `application/ld+json` or `application/json`), at most `max_submission_bytes`. The "
            "catalogue runs the full compliance check (signatures, did:web, x5u chain to the federation's anchors, "
            "SHACL, notary, T&C, validity). 201: admitted (or `pending` in manual mode) with the verification report "
            "and a compliance credential signed by the catalogue; 200: the same presentation was already admitted; "
            "422: rejected, `checks` lists every failed check; 413: too large; 400: not a presentation."
        ),
        status_code=201,
        openapi_extra={"requestBody": {"required": True, "content": _SUBMISSION_EXAMPLES}},
        responses={
            201: {"content": {"application/json": {"example": _OUTCOME_EXAMPLE}}},
            200: {"description": "Already admitted (same presentation)"},
            400: PROBLEM_RESPONSE,
            413: PROBLEM_RESPONSE,
            422: PROBLEM_RESPONSE,
        },
    )
    async def submit(request: Request) -> JSONResponse:
        rt = _runtime(request)
        body = await read_body(request, rt.settings.max_submission_bytes)
        media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media in JWT_TYPES and body.lstrip().startswith((b"{", b"[")):
            raise SubmissionRefused(f"Content-Type {media} but the body is JSON", code="content-type-mismatch")
        outcome = await rt.catalogue.submit(body)
        if outcome.created and rt.settings.crawl_interval_seconds > 0 and outcome.status.value == "admitted":
            rt.spawn(lambda: rt.crawl(outcome.participant), f"crawl {outcome.participant}")
        location = f"/api/v1/participants/{quote(outcome.participant, safe='')}"
        return JSONResponse(
            outcome.as_dict(), status_code=201 if outcome.created else 200, headers={"Location": location}
        )

    @r.get(
        "/api/v1/participants/{did}",
        tags=["admission"],
        summary="Public status of a participant (percent-encode the DID)",
        responses={404: PROBLEM_RESPONSE},
    )
    async def participant_status(request: Request, did: str) -> dict[str, Any]:
        rt = _runtime(request)
        participant = rt.catalogue.participant(did)
        return _public(participant, rt)

    @r.post(
        "/api/v1/participants/{did}/revoke",
        tags=["admission"],
        summary="A participant revokes its own admission",
        description="`Authorization`: a DCP self-issued ID token of the participant (`sub` = the DID, `aud` = the "
        "catalogue's DID). The participant disappears from discovery at once; peers learn it from the feed.",
        responses={401: PROBLEM_RESPONSE, 403: PROBLEM_RESPONSE, 404: PROBLEM_RESPONSE},
    )
    async def self_revoke(
        request: Request, did: str, authorization: Annotated[str | None, Header()] = None
    ) -> dict[str, Any]:
        rt = _runtime(request)
        rt.catalogue.participant(did)
        try:
            caller = await verify_token(
                authorization, audience=rt.identity.did, resolver=rt.resolver, jti_store=rt.jti, now=rt.clock()
            )
        except ConnectorError as exc:
            raise Unauthorized(exc.message, code="invalid-token") from exc
        if caller.did != did:
            raise Forbidden(f"{caller.did} may not revoke {did}", code="not-the-participant")
        participant = await rt.catalogue.revoke(did, reason="revoked by the participant", by="participant")
        return _public(participant, rt)

    @r.get(
        "/api/v1/datasets",
        tags=["discovery"],
        summary="Search datasets and offers (keyword full-text, facets, pagination)",
        description="All query words must match (title, description, keywords, provider name, id). Facet filters "
        "combine with AND; repeated values of one facet with OR. Only admitted, unexpired participants are searched. "
        "`Link` carries rel=next/previous.",
        responses={
            200: {
                "content": {
                    "application/json": {
                        "example": {
                            "total": 1,
                            "offset": 0,
                            "limit": 20,
                            "items": [
                                {
                                    "id": "https://provider.example/credentials/service-offering-weather.json#cs",
                                    "participant": "did:web:provider.example",
                                    "title": "Weather observations",
                                    "type": ["ServiceOffering"],
                                    "keywords": ["weather"],
                                    "purposes": ["research"],
                                }
                            ],
                            "facets": {"provider": {"did:web:provider.example": 1}},
                        }
                    }
                }
            },
            400: PROBLEM_RESPONSE,
        },
    )
    async def datasets(
        request: Request,
        q: Annotated[str, Query(max_length=500, description="Keywords", examples=["weather"])] = "",
        provider: Annotated[list[str] | None, Query(description="Participant DID")] = None,
        type: Annotated[list[str] | None, Query(description="ServiceOffering, VirtualResource, Dataset")] = None,
        format: Annotated[list[str] | None, Query(description="Distribution format")] = None,
        keyword: Annotated[list[str] | None, Query()] = None,
        purpose: Annotated[list[str] | None, Query(description="ODRL purpose constraint value")] = None,
        membership: Annotated[list[str] | None, Query(description="required | not-required")] = None,
        source: Annotated[list[str] | None, Query(description="self-description | dsp")] = None,
        offset: Annotated[int, Query(ge=0, le=MAX_SQL_INT)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
    ) -> JSONResponse:
        rt = _runtime(request)
        filters = {
            "provider": provider or [],
            "type": type or [],
            "format": format or [],
            "keyword": keyword or [],
            "purpose": purpose or [],
            "membership": membership or [],
            "source": source or [],
        }
        assert set(filters) == set(FACETS)
        result = rt.catalogue.search(q, filters, offset=offset, limit=limit)
        headers = {}
        link = link_header(str(request.url), Page(offset, limit), result.total)
        if link:
            headers["Link"] = link
        body = {"total": result.total, "offset": offset, "limit": limit, "items": result.items, "facets": result.facets}
        return JSONResponse(body, headers=headers)

    @r.get(
        "/api/v1/catalog",
        tags=["discovery"],
        summary="DSP/DCAT Catalog of catalogs (one Catalog per admitted participant)",
        description="DSP 2025-1 compact JSON-LD: the root Catalog nests one Catalog per participant with its "
        "datasets (offers in `hasPolicy`, `distribution` formats). Paged over participants with `Link`.",
    )
    async def catalog_of_catalogs(
        request: Request,
        offset: Annotated[int, Query(ge=0, le=MAX_SQL_INT)] = 0,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> JSONResponse:
        rt = _runtime(request)
        participants = sorted(rt.catalogue.visible_participants(), key=lambda p: p.did)
        page = participants[offset : offset + limit]
        visible = rt.catalogue.visible_keys()
        base = rt.identity.base_url
        nested = [_participant_catalog(p, rt, visible) for p in page]
        body: dict[str, Any] = {
            "@context": [DSP_CONTEXT],
            "@id": f"{base}/api/v1/catalog",
            "@type": "Catalog",
            "participantId": rt.identity.did,
            "title": rt.settings.name,
            "service": [{"@id": f"{base}/api/v1", "@type": "DataService", "endpointURL": f"{base}/api/v1"}],
        }
        if nested:
            body["catalog"] = nested
        headers = {}
        link = link_header(str(request.url), Page(offset, limit), len(participants))
        if link:
            headers["Link"] = link
        return JSONResponse(body, headers=headers, media_type="application/ld+json")

    @r.get(
        "/api/v1/sparql",
        operation_id="sparql_get",
        tags=["discovery"],
        summary="Read-only SPARQL 1.1 query endpoint (GET ?query=)",
        description="Same as POST /api/v1/sparql.",
        responses={400: PROBLEM_RESPONSE, 403: PROBLEM_RESPONSE},
    )
    @r.post(
        "/api/v1/sparql",
        operation_id="sparql_post",
        tags=["discovery"],
        summary="Read-only SPARQL 1.1 query endpoint",
        description="`GET ?query=` or `POST` with `application/sparql-query` or a form field `query`. One named graph "
        "per admitted participant (the default graph is their union). Updates and SERVICE are refused (403); "
        "queries are stopped after `sparql_timeout_seconds` (400 `sparql-timeout`); results are cut at "
        "`sparql_max_results` (header `X-Results-Truncated: true`). SELECT/ASK answer "
        "`application/sparql-results+json`, CONSTRUCT/DESCRIBE `application/n-triples`.",
        openapi_extra={
            "requestBody": {
                "content": {
                    "application/sparql-query": {
                        "schema": {"type": "string"},
                        "example": "PREFIX dcat: <http://www.w3.org/ns/dcat#>\nSELECT ?d WHERE { ?d dcat:keyword "
                        '"weather" } LIMIT 10',
                    }
                }
            }
        },
        responses={400: PROBLEM_RESPONSE, 403: PROBLEM_RESPONSE},
    )
    async def sparql(request: Request, query: Annotated[str | None, Query(max_length=20_000)] = None) -> Response:
        rt = _runtime(request)
        text = query
        if request.method == "POST":
            raw = await read_body(request, 64 * 1024)
            media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
            if media == "application/x-www-form-urlencoded":
                form = dict(_form_pairs(raw))
                text = form.get("query")
                if "update" in form:
                    raise QueryRefused(
                        "SPARQL Update is not allowed: this endpoint is read-only",
                        code="sparql-update-refused",
                        status=403,
                    )
            else:
                text = raw.decode("utf-8", errors="replace")
        if not text:
            raise QueryRefused("give a SPARQL query (?query=... or a POST body)", code="sparql-missing")
        result = await rt.catalogue.sparql_query(text)
        headers = {"X-Results-Truncated": "true" if result.truncated else "false"}
        return Response(result.body, media_type=result.media_type, headers=headers)

    @r.get(
        FEED_PATH,
        tags=["federation"],
        summary="Signed change feed for peer catalogues (compact JWS, resumable from a cursor)",
        response_class=Response,
    )
    async def feed(
        request: Request,
        after: Annotated[int, Query(ge=0, le=MAX_SQL_INT)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> Response:
        rt = _runtime(request)
        events = await rt.catalogue.store.feed(after, limit)
        return Response(sign_feed(rt.identity, events, after=after, now=rt.clock()), media_type="application/jwt")

    return r


def _form_pairs(raw: bytes) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    return parse_qsl(raw.decode("utf-8", errors="replace"), keep_blank_values=True)


def _public(participant: Participant, rt: Runtime) -> dict[str, Any]:
    data = participant.as_dict(rt.clock())
    data.pop("crawl", None)
    return data


def _participant_catalog(participant: Participant, rt: Runtime, visible: set[str]) -> dict[str, Any]:
    index = rt.catalogue.index
    records = sorted((index.records[k] for k in index.keys_of(participant.did) if k in visible), key=lambda r: r.key)
    service_id = f"{participant.did}#dsp"
    endpoint = participant.crawl_endpoint
    datasets = []
    for record in records:
        data = record.data
        offers = []
        for n, policy in enumerate(data.get("policies", [])):
            offer = {k: copy.deepcopy(v) for k, v in policy.items() if k not in ("@context", "target")}
            offer.setdefault("@id", f"{data['id']}#offer-{n}")
            offer["@type"] = "Offer"
            offers.append(offer)
        entry: dict[str, Any] = {"@id": data["id"], "@type": "Dataset"}
        for key in ("title", "description", "license"):
            if data.get(key):
                entry[key] = data[key]
        if data.get("keywords"):
            entry["keyword"] = data["keywords"]
        if offers:
            entry["hasPolicy"] = offers
        entry["distribution"] = [
            {"@type": "Distribution", "format": f, "accessService": service_id} for f in (data.get("formats") or [])
        ] or None
        if entry["distribution"] is None:
            del entry["distribution"]
        datasets.append(entry)
    nested: dict[str, Any] = {
        "@id": f"{rt.identity.base_url}/api/v1/catalog#{quote(participant.did, safe='')}",
        "@type": "Catalog",
        "participantId": participant.did,
    }
    if participant.name:
        nested["title"] = participant.name
    if endpoint:
        nested["service"] = [{"@id": service_id, "@type": "DataService", "endpointURL": endpoint}]
    if datasets:
        nested["dataset"] = datasets
    return nested
