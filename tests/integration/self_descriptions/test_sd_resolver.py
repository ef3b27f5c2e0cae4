"""The HTTP did:web resolver and x5u fetcher: SSRF guard, redirects re-checked, size limit, cache, real sockets."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from connector.identity.resolver import GuardedFetcher, HttpDidResolver, HttpX5uFetcher
from self_descriptions.did import DidError
from self_descriptions.errors import CertificateError
from tests.fixtures.self_descriptions.world import World

pytestmark = pytest.mark.integration


@pytest.fixture
def server(world: World) -> Iterator[tuple[str, list[str]]]:
    hits: list[str] = []
    host_did = None

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            if self.path == "/.well-known/did.json":
                doc = dict(world.participant.document) | {"id": host_did}
                body = json.dumps(doc).encode()
            elif self.path == "/redirect-private":
                self.send_response(302)
                self.send_header("Location", "http://10.0.0.1/x")
                self.end_headers()
                return
            elif self.path == "/big":
                body = b"x" * 400_000
            elif self.path == "/chain.pem":
                body = world.participant.chain_pem
            else:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = httpd.server_address[1]
    host_did = f"did:web:127.0.0.1%3A{port}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{port}", hits
    finally:
        httpd.shutdown()
        httpd.server_close()


async def test_loopback_is_refused_by_default(server: tuple[str, list[str]]) -> None:
    host, hits = server
    resolver = HttpDidResolver(GuardedFetcher(allowed_schemes=("http",)), scheme="http")
    with pytest.raises(DidError, match="non-public address"):
        await resolver.resolve(f"did:web:{host.replace(':', '%3A')}")
    assert hits == []


async def test_resolves_and_caches_when_private_targets_are_allowed(server: tuple[str, list[str]]) -> None:
    host, hits = server
    fetcher = GuardedFetcher(allow_private=True, allowed_schemes=("http",))
    clock = [0.0]
    resolver = HttpDidResolver(fetcher, scheme="http", ttl=60, clock=lambda: clock[0])
    did = f"did:web:{host.replace(':', '%3A')}"
    first = await resolver.resolve(did)
    await resolver.resolve(did)
    assert first.id == did
    assert hits == ["/.well-known/did.json"]
    clock[0] = 61
    await resolver.resolve(did)
    assert len(hits) == 2
    await fetcher.aclose()


async def test_size_limit_and_x5u_fetch(server: tuple[str, list[str]], world: World) -> None:
    host, _ = server
    fetcher = GuardedFetcher(allow_private=True, allowed_schemes=("http",), max_bytes=256 * 1024)
    x5u = HttpX5uFetcher(fetcher)
    assert await x5u.fetch(f"http://{host}/chain.pem") == world.participant.chain_pem
    with pytest.raises(CertificateError, match="larger than"):
        await x5u.fetch(f"http://{host}/big")
    await fetcher.aclose()


async def test_redirects_are_checked_again() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "public.example":
            return httpx.Response(302, headers={"Location": "https://127.0.0.1/.well-known/did.json"})
        raise AssertionError("the private target must never be contacted")

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    fetcher = GuardedFetcher(client)

    async def public_check(url: str) -> None:  # public.example does not resolve offline: treat it as public
        if "public.example" not in url:
            await GuardedFetcher.check_target(fetcher, url)

    fetcher.check_target = public_check  # type: ignore[method-assign]
    with pytest.raises(DidError, match="non-public address"):
        await HttpDidResolver(fetcher).resolve("did:web:public.example")
    await client.aclose()


async def test_plain_http_is_refused() -> None:
    with pytest.raises(DidError, match="scheme"):
        await HttpDidResolver(GuardedFetcher(), scheme="http").resolve("did:web:example.org")
