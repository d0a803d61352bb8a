"""WebFetcher port on httpx, with an SSRF guard.

Why the guard: a source URL comes from a user, and the fetch runs inside the deployment (next to
the instance metadata service at 169.254.169.254, the VPC's private addresses, the local
PostgreSQL). So before every hop — the first request and each redirect — the host is resolved and
every address it resolves to must be public; the request is then sent to that checked address
(the Host header and TLS server name keep the original name), so a DNS answer that changes
between the check and the connection (rebinding) cannot slip a private address in.

``allow_private=True`` (``chorus ingest --allow-private``, ``CHORUS_SOURCES_ALLOW_PRIVATE=1``)
turns the address check off for local use (an intranet wiki, a test server). ``allowed_networks``
admits a few networks explicitly while the guard stays on.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable, Sequence
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from ..core.sources import (
    USER_AGENT,
    FetchedPage,
    FetchLimits,
    SourceError,
    Validators,
    normalize_url,
)

Resolver = Callable[[str, int], list[str]]

_REDIRECTS = (301, 302, 303, 307, 308)


def resolve_host(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (A and AAAA)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def refused_reason(address: str) -> str | None:
    """Why an address is not one a source may be fetched from; None when it is public."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for label, flag in (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("private", ip.is_private),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("unspecified", ip.is_unspecified),
    ):
        if flag:
            return label
    if not ip.is_global:
        return "not globally routable"
    return None


class AddressGuard:
    """Resolves a host and refuses non-public addresses (unless allowed)."""

    def __init__(
        self,
        *,
        allow_private: bool = False,
        allowed_networks: Sequence[str] = (),
        resolver: Resolver = resolve_host,
    ) -> None:
        self.allow_private = allow_private
        self.allowed = [ipaddress.ip_network(n) for n in allowed_networks]
        self.resolver = resolver

    def check(self, host: str, port: int) -> str:
        """The checked address to connect to; ``SourceError(address_refused)`` otherwise."""
        try:
            literal = ipaddress.ip_address(host.strip("[]"))
            addresses = [str(literal)]
        except ValueError:
            try:
                addresses = self.resolver(host, port)
            except (OSError, UnicodeError) as exc:
                raise SourceError(f"cannot resolve {host}: {exc}", code="unreachable") from None
        if not addresses:
            raise SourceError(f"{host} resolves to no address", code="unreachable")
        if not self.allow_private:
            for address in addresses:
                reason = refused_reason(address)
                if reason and not any(ipaddress.ip_address(address) in n for n in self.allowed):
                    raise SourceError(
                        f"{host} resolves to {address}, a {reason} address; sources are fetched "
                        "from public addresses only (locally, --allow-private / "
                        "CHORUS_SOURCES_ALLOW_PRIVATE=1 allows it)",
                        code="address_refused",
                    )
        return addresses[0]


class HttpFetcher:
    """GET with the guard on every hop, manual redirects, timeouts and a body size cap.

    Parameters
    ----------
    limits:
        ``timeout_s`` bounds connect, each read and the whole body; ``max_page_bytes`` the body;
        ``max_redirects`` the hops.
    guard:
        The address policy (default: public addresses only).
    transport:
        An httpx transport (tests may pass one; the default opens real connections).
    """

    def __init__(
        self,
        limits: FetchLimits | None = None,
        guard: AddressGuard | None = None,
        *,
        user_agent: str = USER_AGENT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.limits = limits or FetchLimits()
        self.guard = guard or AddressGuard()
        self.client = httpx.Client(
            timeout=httpx.Timeout(self.limits.timeout_s),
            follow_redirects=False,
            headers={"User-Agent": user_agent, "Accept-Encoding": "identity"},
            transport=transport,
            trust_env=False,  # no proxy from the environment may bypass the guard
        )

    def close(self) -> None:
        self.client.close()

    def fetch(self, url: str, *, validators: Validators | None = None) -> FetchedPage:
        current = normalize_url(url)
        for _hop in range(self.limits.max_redirects + 1):
            response = self._get(current, validators)
            status, headers, body = response
            if status in _REDIRECTS and headers.get("location"):
                current = normalize_url(urljoin(current, headers["location"]))
                continue
            if status == 304:
                return FetchedPage(current, 304, "", b"", validators or Validators())
            if not 200 <= status < 300:
                raise SourceError(f"{current} answered HTTP {status}", code="http_error")
            return FetchedPage(
                current,
                status,
                headers.get("content-type", ""),
                body,
                Validators(headers.get("etag"), headers.get("last-modified")),
            )
        raise SourceError(
            f"{url} redirected more than {self.limits.max_redirects} times",
            code="too_many_redirects",
        )

    def _get(self, url: str, validators: Validators | None) -> tuple[int, httpx.Headers, bytes]:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = self.guard.check(host, port)
        shown = f"[{address}]" if ":" in address else address
        pinned = urlunsplit((parts.scheme, f"{shown}:{port}", parts.path, parts.query, ""))
        headers = {"Host": parts.netloc}
        if validators and validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators and validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
        limit = self.limits.max_page_bytes
        deadline = time.monotonic() + self.limits.timeout_s
        try:
            request = self.client.build_request(
                "GET", pinned, headers=headers, extensions=extensions
            )
            response = self.client.send(request, stream=True)
            try:
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > limit:
                    raise SourceError(
                        f"{url} is {int(declared):,} bytes; the page limit is {limit:,}",
                        code="too_large",
                    )
                body = bytearray()
                if response.status_code not in _REDIRECTS and response.status_code != 304:
                    for piece in response.iter_bytes():  # decoded: a gzip bomb counts in full
                        body += piece
                        if len(body) > limit:
                            raise SourceError(
                                f"{url} is larger than the page limit of {limit:,} bytes",
                                code="too_large",
                            )
                        if time.monotonic() > deadline:
                            raise SourceError(
                                f"{url} took longer than {self.limits.timeout_s}s to send",
                                code="timeout",
                            )
                return response.status_code, response.headers, bytes(body)
            finally:
                response.close()
        except httpx.TimeoutException:
            raise SourceError(
                f"{url} did not answer within {self.limits.timeout_s}s", code="timeout"
            ) from None
        except httpx.HTTPError as exc:
            raise SourceError(f"cannot fetch {url}: {exc}", code="unreachable") from None
