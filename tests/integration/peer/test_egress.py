"""The egress guard against a real local server: loopback refused unless allowed, redirects re-checked."""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from connector.peer.egress import EgressDenied, EgressPolicy, GuardedClient

pytestmark = pytest.mark.integration


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", self.path.split("to=", 1)[1])
            self.end_headers()
            return
        body = f"host={self.headers['Host']}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "::1",
        "fe80::1",
        "100.64.0.1",
        "0.0.0.0",
    ],
)
def test_default_policy_refuses_non_public_addresses(address: str) -> None:
    assert not EgressPolicy().address_allowed(ipaddress.ip_address(address))


def test_public_addresses_allowed() -> None:
    assert EgressPolicy().address_allowed(ipaddress.ip_address("93.184.216.34"))


async def test_loopback_refused_by_default(server: str) -> None:
    async with httpx.AsyncClient() as client:
        guarded = GuardedClient(client, EgressPolicy())
        with pytest.raises(EgressDenied, match="loopback/private"):
            await guarded.request("GET", server + "/x")


async def test_localhost_name_is_resolved_and_refused(server: str) -> None:
    async with httpx.AsyncClient() as client:
        with pytest.raises(EgressDenied, match="resolves to"):
            await GuardedClient(client, EgressPolicy()).request("GET", server.replace("127.0.0.1", "localhost"))


async def test_allowed_network_and_host_header_kept(server: str) -> None:
    policy = EgressPolicy.from_strings(allow_private=False, networks=["127.0.0.0/8"])
    async with httpx.AsyncClient() as client:
        response = await GuardedClient(client, policy).request("GET", server + "/x")
    assert response.status_code == 200
    assert response.text == "host=" + server.removeprefix("http://")


async def test_redirect_target_is_rechecked(server: str) -> None:
    policy = EgressPolicy.from_strings(allow_private=False, networks=["127.0.0.1/32"])
    async with httpx.AsyncClient() as client:
        guarded = GuardedClient(client, policy)
        ok = await guarded.request("GET", f"{server}/redirect?to={server}/final")
        assert ok.status_code == 200
        with pytest.raises(EgressDenied, match=r"169\.254\.169\.254"):
            await guarded.request("GET", f"{server}/redirect?to=http://169.254.169.254/latest/meta-data")


async def test_scheme_refused() -> None:
    async with httpx.AsyncClient() as client:
        with pytest.raises(EgressDenied, match="scheme 'file'"):
            await GuardedClient(client, EgressPolicy()).request("GET", "file:///etc/passwd")
