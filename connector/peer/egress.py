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
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx
import yarl
from aiohttp.abc import AbstractResolver, ResolveResult

from connector.errors import ConnectorError
from connector.peer.bulk import BulkError, BulkResponse, Timeouts, open_response
from connector.peer.session import Exchanged, PeerSession

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: A request body of any kind (bytes, a stream) carried to the next hop of a redirect.
C = TypeVar("C")
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Redirects followed at most (each re-checked).
MAX_REDIRECTS = 3
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
#: What aiohttp's resolver hands to the connection: numeric host and port, so nothing is looked up a second time.
_NUMERIC = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV


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

    def check_target(self, url: str, scheme: str, host: str | None) -> str:
        """The host of ``url`` (given as parsed by the caller's HTTP library) when its scheme is allowed and it has
        one; raise :class:`EgressDenied`."""
        if scheme not in self.allowed_schemes:
            raise EgressDenied(f"{url}: scheme {scheme!r} is not allowed for outbound requests")
        if not host:
            raise EgressDenied(f"{url}: no host")
        return host

    def check_addresses(self, url: str, host: str, addresses: Sequence[IpAddress]) -> None:
        """Raise :class:`EgressDenied` when ANY of the addresses ``host`` resolves to is forbidden: an attacker
        controls which one a client would pick."""
        for address in addresses:
            if not self.address_allowed(address):
                raise EgressDenied(
                    f"{url}: {host} resolves to {address}, a loopback/private/link-local or reserved address; "
                    f'allow it with egress_allow_private = true or egress_allowed_networks = ["{address}/32"]'
                )

    async def resolve(self, url: str) -> tuple[str, IpAddress]:
        """Check ``url`` and return its host with the first permitted address; raise :class:`EgressDenied`."""
        parts = urlsplit(url)
        host = self.check_target(url, parts.scheme, parts.hostname)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            addresses = await lookup(host, port)
        except OSError as exc:
            raise EgressDenied(f"{url}: cannot resolve host {host!r} ({exc.strerror or exc})") from exc
        self.check_addresses(url, host, addresses)
        return host, addresses[0]


async def lookup(host: str, port: int) -> list[IpAddress]:
    """Every address ``host`` resolves to (a literal address is itself); raises ``OSError`` when it does not."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


class HostRefused(EgressDenied):
    """Raised by :class:`EgressResolver`, which sees a host but not the URL; :meth:`GuardedClient.exchange` restates
    it with the URL (the message :meth:`EgressPolicy.resolve` gives)."""

    def __init__(self, host: str, addresses: Sequence[IpAddress]) -> None:
        super().__init__(f"{host} resolves to a forbidden address ({', '.join(map(str, addresses))})")
        self.host = host
        self.addresses = tuple(addresses)


class EgressResolver(AbstractResolver):
    """aiohttp's resolver under an :class:`EgressPolicy`: a host name resolves to all its addresses or, when any of
    them is forbidden, to :class:`HostRefused` (an ``OSError`` of the lookup is left to aiohttp, which reports it as a
    failed connection; any other exception comes out of the request unchanged). aiohttp connects to the addresses
    returned here and to no other, so the checked address is the one used. IP literals never get here."""

    def __init__(self, policy: EgressPolicy) -> None:
        self.policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = await lookup(host, port)
        if not all(self.policy.address_allowed(a) for a in addresses):
            raise HostRefused(host, addresses)
        results: list[ResolveResult] = []
        for address in addresses:
            found = socket.AF_INET6 if address.version == 6 else socket.AF_INET
            if family in (socket.AF_UNSPEC, found):
                results.append(
                    {
                        "hostname": host,
                        "host": str(address),
                        "port": port,
                        "family": found,
                        "proto": 0,
                        "flags": _NUMERIC,
                    }
                )
        if not results:
            raise OSError(f"{host} has no {family.name} address")
        return results

    async def close(self) -> None:
        pass


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


def after_redirect(status: int, method: str, content: C | None) -> tuple[str, C | None]:
    """The method and body for the next hop of a redirect: 301/302/303 after anything but GET/HEAD go on as a GET
    without a body, as browsers and httpx do (RFC 9110 §15.4.2-15.4.4); 307/308 repeat the request as it was."""
    if status in (301, 302, 303) and method not in ("GET", "HEAD"):
        return "GET", None
    return method, content


class GuardedClient:
    """An httpx client wrapper that applies an :class:`EgressPolicy` to every request and every redirect; bulk
    bodies (:meth:`stream`) go through the lean client of :mod:`connector.peer.bulk` and DSP messages
    (:meth:`exchange`) through the aiohttp session of :mod:`connector.peer.session`, under the same policy.

    :meth:`aclose` closes the aiohttp session; the httpx client belongs to whoever passed it in."""

    def __init__(
        self, client: httpx.AsyncClient, policy: EgressPolicy, *, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self.client = client
        self.policy = policy
        self.ssl_context = ssl_context
        self._session = PeerSession(EgressResolver(policy), ssl_context=ssl_context)

    async def aclose(self) -> None:
        await self._session.aclose()

    async def exchange(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        content: bytes | None,
        request_timeout: float,
        max_bytes: int,
    ) -> Exchanged:
        """Send one request and read its whole answer (at most ``max_bytes``), following up to
        :data:`MAX_REDIRECTS` redirects, each target checked again; ``request_timeout`` bounds each hop.

        Raises :class:`EgressDenied`, or :class:`~connector.peer.session.ExchangeFailed` (its subclass
        :class:`~connector.peer.session.StaleConnection` when the request may be sent once more)."""
        for _ in range(MAX_REDIRECTS + 1):
            self._check_literal(url)
            try:
                answer = await self._session.send(
                    method, url, headers=headers, content=content, request_timeout=request_timeout, max_bytes=max_bytes
                )
            except HostRefused as refused:
                self.policy.check_addresses(url, refused.host, refused.addresses)
                raise  # not reached: the resolver refused only what the policy forbids
            location = answer.headers.get("location")
            if answer.status not in REDIRECT_STATUSES or location is None:
                return answer
            url = urljoin(url, location)
            method, content = after_redirect(answer.status, method, content)
        raise EgressDenied(f"{url}: more than {MAX_REDIRECTS} redirects")

    def _check_literal(self, url: str) -> None:
        """Check the scheme and host of ``url`` as aiohttp will see them and, when aiohttp takes the host for an IP
        address (then it skips the resolver and connects straight to it), that address.

        aiohttp's test is loose (digits and dots, or any colon) and the operating system accepts forms like
        ``127.1``; anything that test catches must be a plain address, or it is refused."""
        parsed = yarl.URL(url)
        host = self.policy.check_target(url, parsed.scheme, parsed.raw_host)
        if ":" not in host and not host.replace(".", "").isdigit():
            return
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            raise EgressDenied(f"{url}: {host!r} is not a plain IP address") from None
        self.policy.check_addresses(url, host, [address])

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
            method, content = after_redirect(response.status_code, method, content)
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
            method, content = after_redirect(response.status, method, content)
            if content is not None and not isinstance(content, bytes):
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
