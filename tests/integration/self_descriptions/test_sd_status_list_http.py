"""The HTTP status list fetcher on a real socket: the verified list decides, the SSRF guard and size limit hold,
answers are cached for the fetcher's TTL or the list's shorter ``ttl`` (Bitstring Status List v1.0 §2.2, §6.3)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from connector.identity.resolver import GuardedFetcher
from connector.identity.status_lists import HttpStatusListFetcher
from connector.peer.egress import EgressPolicy
from self_descriptions.proofs.vc_jwt import format_datetime, sign_vc_jwt
from self_descriptions.status_list import (
    Bitstring,
    StatusError,
    StatusRetrievalError,
    build_status_list_credential,
    check_status,
    status_entry,
)
from self_descriptions.verify import VerificationContext, make_context
from tests.fixtures.self_descriptions.world import World

pytestmark = pytest.mark.integration


@dataclass
class Published:
    """What the test server answers: path -> (content type, body); and the paths asked for."""

    base: str = ""
    bodies: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)


@pytest.fixture
def published() -> Iterator[Published]:
    state = Published()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.hits.append(self.path)
            if self.path == "/redirect-private":
                self.send_response(302)
                self.send_header("Location", "http://10.0.0.1/status")
                self.end_headers()
                return
            found = state.bodies.get(self.path)
            if found is None:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", found[0])
            self.send_header("Content-Length", str(len(found[1])))
            self.end_headers()
            self.wfile.write(found[1])

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()


def publish(world: World, published: Published, path: str, *revoked: int, ttl: dt.timedelta | None = None) -> str:
    url = published.base + path
    bits = Bitstring.zeros()
    for index in revoked:
        bits.set(index)
    vc = build_status_list_credential(
        url=url,
        issuer=world.notary.did,
        purpose="revocation",
        bits=bits,
        valid_from=world.now - dt.timedelta(hours=1),
        ttl=ttl,
    )
    published.bodies[path] = ("application/vc+jwt", sign_vc_jwt(vc, world.notary.key, kid=world.notary.kid).encode())
    return url


def credential(world: World, url: str, index: int) -> dict[str, object]:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential", "MembershipCredential"],
        "issuer": world.notary.did,
        "validFrom": format_datetime(world.now - dt.timedelta(days=1)),
        "credentialSubject": {"id": world.participant.did},
        "credentialStatus": status_entry(url, index, "revocation"),
    }


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def context(world: World, fetcher: HttpStatusListFetcher) -> VerificationContext:
    ctx = make_context(
        resolver=world.resolver(), trust_anchors=world.anchors, now=world.now, x5u_fetcher=world.fetcher()
    )
    return dataclasses.replace(ctx, status_lists=fetcher)


def local_fetcher(clock: Clock, ttl: float = 10.0, **kw: object) -> HttpStatusListFetcher:
    # loopback only (the test server), like egress_allowed_networks = ["127.0.0.1/32"]
    policy = EgressPolicy.from_strings(allow_private=False, networks=["127.0.0.1/32"])
    guarded = GuardedFetcher(policy=policy, allowed_schemes=("http",), **kw)  # type: ignore[arg-type]
    return HttpStatusListFetcher(guarded, ttl=ttl, clock=clock)


async def test_revocation_over_http_and_the_cache(world: World, published: Published) -> None:
    url = publish(world, published, "/status/1", 7)
    clock = Clock()
    fetcher = local_fetcher(clock)
    ctx = context(world, fetcher)
    assert (await check_status(credential(world, url, 7), fetcher, ctx)).status == "revoked"
    assert (await check_status(credential(world, url, 8), fetcher, ctx)).status == "valid"
    assert published.hits == ["/status/1"], "the second check used the cached list"
    publish(world, published, "/status/1", 7, 8)  # the issuer revokes 8 too
    clock.now += 9.9
    assert (await check_status(credential(world, url, 8), fetcher, ctx)).status == "valid"
    clock.now += 0.2  # past the fetcher's ttl: fetched again
    assert (await check_status(credential(world, url, 8), fetcher, ctx)).status == "revoked"
    assert published.hits == ["/status/1", "/status/1"]
    await fetcher.fetcher.aclose()


async def test_the_lists_own_shorter_ttl_is_honoured(world: World, published: Published) -> None:
    url = publish(world, published, "/status/short", ttl=dt.timedelta(seconds=2))
    clock = Clock()
    fetcher = local_fetcher(clock, ttl=60)
    await fetcher.fetch(url)
    clock.now += 1
    await fetcher.fetch(url)
    clock.now += 1.5
    await fetcher.fetch(url)
    assert published.hits == ["/status/short", "/status/short"]
    await fetcher.fetcher.aclose()


async def test_retrieval_failures_are_status_retrieval_errors(world: World, published: Published) -> None:
    url = publish(world, published, "/status/2")
    guarded_default = GuardedFetcher(allowed_schemes=("http",))  # the production egress policy: no private hosts
    strict = HttpStatusListFetcher(guarded_default, clock=Clock())
    with pytest.raises(StatusRetrievalError, match="non-public address"):
        await strict.fetch(url)
    await guarded_default.aclose()
    clock = Clock()
    fetcher = local_fetcher(clock, max_bytes=1000)
    for path, reason in (
        ("/missing", "HTTP 404"),
        ("/redirect-private", "non-public address"),
        ("/big", "larger than 1000 bytes"),
        ("/garbage", "neither a VC-JWT nor a JSON credential"),
    ):
        published.bodies["/big"] = ("application/vc+jwt", b"a" * 2000)
        published.bodies["/garbage"] = ("text/plain", b"hello world")
        with pytest.raises(StatusRetrievalError, match=reason):
            await fetcher.fetch(published.base + path)
    # through check_status: the credential's status cannot be established (fail closed)
    ctx = context(world, fetcher)
    with pytest.raises(StatusError) as info:
        await check_status(credential(world, published.base + "/missing", 1), fetcher, ctx)
    assert info.value.code == "status-retrieval-error"
    await fetcher.fetcher.aclose()
