"""SSRF and egress (issue 9 §5): did:web resolution, x5u fetches, HTTP data sources and push destinations refuse
loopback, link-local and private ranges unless the operator allowed them; redirects are re-checked; the checked
address is the one connected to (no second DNS lookup for a rebinding server to answer differently).

OWASP SSRF Prevention Cheat Sheet; ``connector.peer.egress`` is the one guard, ``connector.identity.resolver``
uses it.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from connector.identity import resolver as resolver_module
from connector.identity.resolver import GuardedFetcher, HttpDidResolver, HttpX5uFetcher, UnsafeTarget
from connector.peer.egress import EgressPolicy, IpAddress
from self_descriptions.did import DidError
from self_descriptions.errors import CertificateError
from tests.integration.connector.harness import dataspace_pki, make_participant
from tests.integration.dataplane.flow import Clock, agree, bearer, contract, endpoint, offer, running, start

pytestmark = pytest.mark.integration

FORBIDDEN = [
    "127.0.0.1",
    "10.0.0.7",
    "172.16.5.4",
    "192.168.0.1",
    "169.254.169.254",
    "100.64.0.1",
    "[::1]",
    "[fe80::1]",
]


@pytest.fixture
def hits() -> Iterator[tuple[str, list[str]]]:
    """A loopback server recording every request; /hop?to=URL redirects."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            if self.path.startswith("/hop?to="):
                self.send_response(302)
                self.send_header("Location", self.path.split("to=", 1)[1])
                self.end_headers()
                return
            body = b"ok"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_PUT(self) -> None:
            self.do_GET()

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{httpd.server_address[1]}", seen
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("host", FORBIDDEN)
async def test_did_web_and_x5u_refuse_private_targets_by_default(host: str) -> None:
    fetcher = GuardedFetcher(allowed_schemes=("http", "https"))
    did_host = host.replace(":", "%3A")
    with pytest.raises(DidError, match="non-public address"):
        await HttpDidResolver(fetcher, scheme="http").resolve(f"did:web:{did_host}")
    with pytest.raises(CertificateError, match="non-public address"):
        await HttpX5uFetcher(fetcher).fetch(f"https://{host}/.well-known/x5u/chain.pem")
    await fetcher.aclose()


async def test_resolver_uses_the_configured_allowed_networks(hits: tuple[str, list[str]]) -> None:
    host, seen = hits
    only_loopback = EgressPolicy.from_strings(allow_private=False, networks=["127.0.0.0/8"])
    fetcher = GuardedFetcher(policy=only_loopback, allowed_schemes=("http",))
    assert await fetcher.get(f"http://{host}/x", accept="*/*") == b"ok"
    # a redirect from the allowed network to another private range is refused before it is followed
    with pytest.raises(UnsafeTarget, match=r"10\.1\.2\.3"):
        await fetcher.get(f"http://{host}/hop?to=http://10.1.2.3/latest/meta-data", accept="*/*")
    # and to the link-local metadata address by name of a literal IPv6 loopback
    with pytest.raises(UnsafeTarget, match="::1"):
        await fetcher.get(f"http://{host}/hop?to=http://[::1]:{host.rsplit(':', 1)[1]}/x", accept="*/*")
    assert seen == [
        "/x",
        "/hop?to=http://10.1.2.3/latest/meta-data",
        f"/hop?to=http://[::1]:{host.rsplit(':', 1)[1]}/x",
    ]
    await fetcher.aclose()


async def test_did_web_connects_to_the_checked_address_not_a_rebound_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """A rebinding DNS server answers a public address for the check and 127.0.0.1 afterwards: the request must
    go to the checked address (the URL is pinned), with the name kept in Host and SNI."""
    answers = iter([[ipaddress.ip_address("93.184.216.34")], [ipaddress.ip_address("127.0.0.1")]])
    lookups: list[str] = []

    async def rebinding_lookup(host: str, port: int) -> list[IpAddress]:
        lookups.append(host)
        return next(answers)

    monkeypatch.setattr(resolver_module, "lookup", rebinding_lookup)
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(404)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        fetcher = GuardedFetcher(client)
        with pytest.raises(DidError, match="HTTP 404"):
            await HttpDidResolver(fetcher).resolve("did:web:rebind.example")
    assert lookups == ["rebind.example"]  # one lookup: nothing left for the rebinding answer to influence
    (request,) = sent
    assert request.url.host == "93.184.216.34"
    assert request.headers["host"] == "rebind.example"
    assert request.extensions["sni_hostname"] == "rebind.example"


async def test_data_sources_and_push_destinations_refuse_private_targets(
    tmp_path: Path, hits: tuple[str, list[str]]
) -> None:
    """The provider allows only 127.0.0.0/8 (so the two connectors can talk); HTTP data sources on 10.x, link-local
    or a redirect from an allowed source to the metadata address are refused with a reason and never contacted;
    a push destination on a private range is refused and the transfer says why."""
    host, seen = hits
    pki, clock = dataspace_pki(), Clock()
    loopback_only = {"egress_allow_private": False, "egress_allowed_networks": ["127.0.0.0/8"]}
    provider_dir = make_participant(tmp_path, "provider", pki, **loopback_only)
    consumer_dir = make_participant(tmp_path, "consumer", pki, **loopback_only)
    sources = {
        "private": "http://10.20.30.40/data",
        "metadata": "http://169.254.169.254/latest/meta-data/",
        "rebound": f"http://{host}/hop?to=http://169.254.169.254/latest/meta-data/",
        "fine": f"http://{host}/data",
    }
    async with running(provider_dir, clock) as provider, running(consumer_dir, clock) as consumer:
        for name, url in sources.items():
            await offer(provider, name, contract(f"urn:policy:{name}"), {"kind": "http", "baseUrl": url})
        async with httpx.AsyncClient(timeout=30) as http:
            for name in sources:
                transfer = await start(consumer, await agree(consumer, provider, name))
                url, props = endpoint(transfer)
                r = await http.get(url, headers=bearer(props))
                if name == "fine":
                    assert r.status_code == 200, r.text
                    continue
                assert r.status_code == 502, (name, r.status_code, r.text)
                problem = r.json()
                assert "egress policy" in problem["detail"], problem
                # the provider's backend address is not disclosed to the consumer
                assert "169.254" not in r.text, problem
                assert "10.20.30.40" not in r.text, problem
            # push to a private destination
            agreement = await agree(consumer, provider, "fine")
            r = await consumer.post(
                "/transfers",
                {
                    "agreementId": agreement,
                    "transferType": "HttpData-PUSH",
                    "dataDestination": {"endpoint": "http://10.9.8.7/upload"},
                },
                wait=20,
            )
            assert r.status_code in (201, 400, 422), r.text
            if r.status_code == 201:
                body = r.json()
                assert body["state"] != "COMPLETED", body
    assert all("169.254" not in path or path.startswith("/hop") for path in seen)
    assert "/data" in seen
