"""Egress control for every outbound request the connector makes on someone else's say-so (SSRF guard).

DID documents, x5u chains, peer callback addresses, push destinations and HTTP data sources are URLs that other
parties choose. Without a guard, a peer could make the connector fetch ``http://169.254.169.254/`` (cloud metadata)
or a service on the operator's private network. The rule (OWASP SSRF Prevention Cheat Sheet): resolve the host,
refuse loopback, private, link-local, shared, reserved, multicast and unspecified addresses unless the operator
allowed them, connect to exactly the address that was checked (no second DNS lookup for a rebinding attacker to
answer differently), and re-check every redirect target.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import httpx

from connector.errors import ConnectorError
from connector.peer.bulk import BulkError, BulkResponse, Timeouts, open_response

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Redirects followed at most (each re-checked).
MAX_REDIRECTS = 3


class EgressDenied(ConnectorError):
    """An outbound URL points somewhere the egress policy forbids; the message names the address and the fix."""

    code = "egress-denied"


@dataclass(frozen=True)
class EgressPolicy:
    """Where outbound requests may go. Development setups on one machine set ``allow_private=True``."""

    allow_private: bool = False
    allowed_networks: tuple[IpNetwork, ...] = ()
    allowed_schemes: frozenset[str] = field(default_factory=lambda: frozenset({"https", "http"}))

    @classmethod
    def from_strings(cls, *, allow_private: bool, networks: Iterable[str] = ()) -> EgressPolicy:
        return cls(allow_private=allow_private, allowed_networks=tuple(ipaddress.ip_network(n) for n in networks))

    def address_allowed(self, address: IpAddress) -> bool:
        if any(address in net for net in self.allowed_networks):
            return True
        if self.allow_private:
            return not address.is_multicast and not address.is_unspecified
        return address.is_global and not address.is_multicast

    async def resolve(self, url: str) -> tuple[str, IpAddress]:
        """Check ``url`` and return its host with the first permitted address; raise :class:`EgressDenied`."""
        parts = urlsplit(url)
        if parts.scheme not in self.allowed_schemes:
            raise EgressDenied(f"{url}: scheme {parts.scheme!r} is not allowed for outbound requests")
        host = parts.hostname
        if not host:
            raise EgressDenied(f"{url}: no host")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            addresses = await lookup(host, port)
        except OSError as exc:
            raise EgressDenied(f"{url}: cannot resolve host {host!r} ({exc.strerror or exc})") from exc
        denied = [a for a in addresses if not self.address_allowed(a)]
        if denied:
            # Refuse when ANY address is forbidden: an attacker controls which one a client would pick.
            raise EgressDenied(
                f"{url}: {host} resolves to {denied[0]}, a loopback/private/link-local or reserved address; "
                f'allow it with egress_allow_private = true or egress_allowed_networks = ["{denied[0]}/32"]'
            )
        return host, addresses[0]


async def lookup(host: str, port: int) -> list[IpAddress]:
    """Every address ``host`` resolves to (a literal address is itself); raises ``OSError`` when it does not."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def pinned_request(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    address: IpAddress,
    *,
    headers: Mapping[str, str] | None = None,
    content: bytes | AsyncIterator[bytes] | None = None,
    request_timeout: float | None = None,
) -> httpx.Request:
    """A request for ``url`` that connects to ``address`` (the one that was checked) and no other.

    The URL's host is replaced by the address, the original authority travels in ``Host`` and, for HTTPS, in the
    TLS SNI (httpcore's ``sni_hostname`` extension), so certificate checks still use the name. No second DNS
    lookup happens, so a rebinding DNS server cannot swap in a private address after the check.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{address}]" if address.version == 6 else str(address)
    if parts.port:
        netloc += f":{parts.port}"
    pinned = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    merged = {**(headers or {}), "Host": parts.netloc.rsplit("@", 1)[-1]}
    extensions: dict[str, object] = {"sni_hostname": host} if parts.scheme == "https" else {}
    if request_timeout is not None:
        extensions["timeout"] = httpx.Timeout(request_timeout).as_dict()
    return client.build_request(method, pinned, headers=merged, content=content, extensions=extensions)


class GuardedClient:
    """An httpx client wrapper that applies an :class:`EgressPolicy` to every request and every redirect; bulk
    bodies (:meth:`stream`) go through the lean client of :mod:`connector.peer.bulk` under the same policy."""

    def __init__(
        self, client: httpx.AsyncClient, policy: EgressPolicy, *, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self.client = client
        self.policy = policy
        self.ssl_context = ssl_context

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | AsyncIterator[bytes] | None = None,
        stream: bool = False,
        request_timeout: float | None = None,
    ) -> httpx.Response:
        """Send one request (following up to :data:`MAX_REDIRECTS` redirects, each re-checked)."""
        for _ in range(MAX_REDIRECTS + 1):
            request = await self._pinned_request(
                method, url, headers=headers, content=content, request_timeout=request_timeout
            )
            response = await self.client.send(request, stream=stream, follow_redirects=False)
            if not response.is_redirect:
                return response
            location = response.headers.get("location", "")
            await response.aclose()
            url = str(httpx.URL(url).join(location))
            if response.status_code in (301, 302, 303) and method not in ("GET", "HEAD"):
                method, content = "GET", None
        raise EgressDenied(f"{url}: more than {MAX_REDIRECTS} redirects")

    async def stream(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | AsyncIterator[bytes] | None = None,
        request_timeout: float | None = None,
    ) -> BulkResponse:
        """Send one request for a bulk body and return the answer with its body unread (close it when done).

        Like :meth:`request`: the address is checked and pinned, up to :data:`MAX_REDIRECTS` redirects are followed
        and each target is checked again. Raises :class:`EgressDenied` or :class:`~connector.peer.bulk.BulkError`."""
        timeouts = Timeouts() if request_timeout is None else Timeouts(request_timeout, request_timeout)
        for _ in range(MAX_REDIRECTS + 1):
            _, address = await self.policy.resolve(url)
            response = await open_response(
                method,
                url,
                str(address),
                headers=headers,
                content=content,
                timeouts=timeouts,
                ssl_context=self.ssl_context,
            )
            if not response.is_redirect:
                return response
            await response.aclose()
            url = str(httpx.URL(url).join(response.header("location") or ""))
            if response.status in (301, 302, 303) and method not in ("GET", "HEAD"):
                method, content = "GET", None
            elif content is not None and not isinstance(content, bytes):
                raise BulkError("the request body was streamed and cannot be sent again to where the answer redirects")
        raise EgressDenied(f"{url}: more than {MAX_REDIRECTS} redirects")

    async def _pinned_request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None,
        content: bytes | AsyncIterator[bytes] | None,
        request_timeout: float | None,
    ) -> httpx.Request:
        _, address = await self.policy.resolve(url)
        return pinned_request(
            self.client, method, url, address, headers=headers, content=content, request_timeout=request_timeout
        )
