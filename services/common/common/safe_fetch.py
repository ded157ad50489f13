"""Downloading a URL a user gave us without letting it reach our own network.

Users hand us URLs (batch transcription `contentUrls`, a dataset's `contentUrl`, webhook
targets later). A server that fetches them blindly can be pointed at loopback, the
cluster's private addresses or the cloud metadata service (server-side request forgery).
Every service downloads such URLs with `fetch_to_file`, which

- accepts only http(s) URLs with a host and no userinfo,
- resolves the host once and refuses it if any of its addresses is not public,
- connects only to the addresses it checked, so a DNS answer that changes between the check
  and the connect (rebinding) cannot move us; Host, SNI and certificate checks still use
  the name,
- checks every redirect target the same way, and
- streams the body to a file under a byte limit and a deadline.

`allow_private=True` (an operator setting for tests and on-premises installs) skips only the
address check.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import ipaddress
import os
import re
import socket
import ssl
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit

from common.errors import AttuneError, InvalidArgument, ResourceExhausted

MAX_REDIRECTS = 5
CHUNK_SIZE = 64 * 1024
USER_AGENT = "attune-fetch/1"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# (host, port) -> the host's addresses as strings. Injectable so tests need no DNS.
Resolver = Callable[[str, int], Awaitable[list[str]]]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_METADATA = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")})
_PRIVATE = tuple(ipaddress.ip_network(net) for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"))
_CARRIER_GRADE_NAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# What inet_aton (and so getaddrinfo, curl and browsers) reads as an IPv4 address besides
# the dotted quad: one to four parts, each decimal, octal (leading 0) or hex (0x), e.g.
# 2130706433 or 0177.1. Such a host must be judged as the address it means.
_LOOSE_IPV4 = re.compile(r"(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}")


@dataclass(frozen=True)
class ParsedTarget:
    url: str
    scheme: str
    host: str  # as written (IDNA-encoded); sent as Host and SNI
    port: int
    request_target: str  # path and query, for the request line
    addresses: tuple[str, ...]  # the checked addresses: the only ones we connect to

    @property
    def display(self) -> str:
        """The URL without its query, for messages: presigned URLs carry credentials there."""
        netloc = f"[{self.host}]" if ":" in self.host else self.host
        if self.port != _DEFAULT_PORTS[self.scheme]:
            netloc = f"{netloc}:{self.port}"
        return f"{self.scheme}://{netloc}{self.request_target.split('?', 1)[0]}"


@dataclass(frozen=True)
class FetchResult:
    size: int
    content_type: str | None
    final_url: str


async def resolve_host(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to, in the system resolver's order of preference."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def why_not_public(ip: IPAddress) -> str | None:
    """Why a user's URL may not reach `ip`, or None when it is a public address."""
    if isinstance(ip, ipaddress.IPv6Address):
        # IPv4 wrapped in IPv6 reaches the IPv4 address: judge that one.
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None and (why := why_not_public(embedded)) is not None:
            return f"{why} wrapped in IPv6"
    if ip in _METADATA:
        return "the cloud metadata address"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if any(ip in net for net in _PRIVATE):
        return "a private address"
    if ip in _CARRIER_GRADE_NAT:
        return "a carrier-grade NAT address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_reserved:
        return "a reserved address"
    if not ip.is_global or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local):
        return "a special-purpose, non-public address"
    return None


async def check_url(url: str, *, allow_private: bool = False, resolve: Resolver = resolve_host) -> ParsedTarget:
    """Parses `url` and resolves its host; raises InvalidArgument if it may not be fetched."""
    scheme, host, port, request_target = _parse(url)
    name = host.removesuffix(".")
    literal = _literal_address(name)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        if not allow_private and (name == "localhost" or name.endswith(".localhost")):
            raise InvalidArgument(f"URL host {host!r} is a loopback name")
        try:
            addresses = [ipaddress.ip_address(address) for address in await resolve(host, port)]
        except (OSError, UnicodeError) as exc:
            raise InvalidArgument(f"URL host {host!r} could not be resolved ({exc})") from None
        if not addresses:
            raise InvalidArgument(f"URL host {host!r} has no addresses")
    if not allow_private:
        for address in addresses:
            if (why := why_not_public(address)) is not None:
                if literal is None:
                    raise InvalidArgument(f"URL host {host!r} resolves to {address}, {why}")
                spelled = "" if str(address) == name else f"{address}, "
                raise InvalidArgument(f"URL host {host!r} is {spelled}{why}")
    return ParsedTarget(url, scheme, host, port, request_target, tuple(str(a) for a in addresses))


async def fetch_to_file(
    url: str,
    path: str,
    *,
    max_bytes: int,
    timeout_s: float,
    allow_private: bool = False,
    resolve: Resolver = resolve_host,
) -> FetchResult:
    """Downloads `url` to `path`, following up to MAX_REDIRECTS redirects, each checked.

    `timeout_s` is the deadline for the whole fetch, redirects included. `path` is written
    only once a 2xx body starts, and a download that then fails leaves no partial file.
    """
    deadline = time.monotonic() + timeout_s
    # The download runs in a thread, which a cancelled task cannot stop; this flag does.
    abandoned = threading.Event()
    for _ in range(MAX_REDIRECTS + 1):
        try:
            async with asyncio.timeout(deadline - time.monotonic()):
                target = await check_url(url, allow_private=allow_private, resolve=resolve)
        except TimeoutError:
            raise InvalidArgument(f"could not fetch {url.split('?', 1)[0]}: timed out resolving its host") from None
        try:
            outcome = await asyncio.to_thread(_fetch_once, target, path, max_bytes, timeout_s, deadline, abandoned)
        except asyncio.CancelledError:
            abandoned.set()
            raise
        if isinstance(outcome, FetchResult):
            return outcome
        url = outcome
    raise InvalidArgument(f"could not fetch {target.display}: more than {MAX_REDIRECTS} redirects")


def _parse(url: str) -> tuple[str, str, int, str]:
    if any(char.isspace() or not char.isprintable() for char in url):
        raise InvalidArgument("URL contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidArgument(f"URL is not valid ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise InvalidArgument(f"URL scheme {parts.scheme!r} is not allowed; use http or https")
    if "@" in parts.netloc:
        raise InvalidArgument("URL may not carry a user name or password")
    if not parts.hostname:
        raise InvalidArgument("URL has no host")
    if port == 0:
        raise InvalidArgument("URL port 0 is not valid")
    try:
        host = parts.hostname if parts.hostname.isascii() else parts.hostname.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidArgument(f"URL host {parts.hostname!r} is not a valid name") from None
    # Percent-encode what may not appear on a request line; existing escapes stay as they are.
    request_target = quote(parts.path or "/", safe="/%:@!$&'()*+,;=~")
    if parts.query:
        request_target += "?" + quote(parts.query, safe="/%:@!$&'()*+,;=~?")
    return scheme, host, port or _DEFAULT_PORTS[scheme], request_target


def _literal_address(host: str) -> IPAddress | None:
    """The address `host` spells, in any form a resolver would read as one, else None."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _LOOSE_IPV4.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            raise InvalidArgument(f"URL host {host!r} is not a valid IP address") from None
    return None


def _connect(target: ParsedTarget, timeout: float | None) -> socket.socket:
    error: OSError = OSError(f"no address to connect to for {target.host}")
    for address in target.addresses:
        try:
            return socket.create_connection((address, target.port), timeout)
        except OSError as exc:
            error = exc
    raise error


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the checked addresses instead of resolving `host` again."""

    def __init__(self, target: ParsedTarget, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._target = target

    def connect(self) -> None:
        self.sock = _connect(self._target, self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """Connects to the checked addresses; SNI and certificate checks use the URL's host."""

    def __init__(self, target: ParsedTarget, timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(target.host, target.port, timeout=timeout, context=self._tls)
        self._target = target

    def connect(self) -> None:
        self.sock = self._tls.wrap_socket(_connect(self._target, self.timeout), server_hostname=self.host)


def _fetch_once(
    target: ParsedTarget, path: str, max_bytes: int, timeout_s: float, deadline: float, abandoned: threading.Event
) -> FetchResult | str:
    """One GET. Returns the redirect's absolute target, or the result once the body is saved."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise InvalidArgument(f"could not fetch {target.display}: timed out after {timeout_s:g} s")
    pinned = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    # The socket timeout bounds each wait; the deadline is checked between chunks.
    connection = pinned(target, timeout=remaining)
    try:
        connection.request("GET", target.request_target, headers={"User-Agent": USER_AGENT})
        response = connection.getresponse()
        if response.status in _REDIRECT_STATUSES:
            location = response.getheader("Location")
            if not location:
                raise InvalidArgument(f"could not fetch {target.display}: HTTP {response.status} without a Location")
            return urljoin(target.url, location)
        if not 200 <= response.status < 300:
            raise InvalidArgument(f"could not fetch {target.display}: HTTP {response.status} {response.reason}")
        declared = response.getheader("Content-Length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise _too_large(target, max_bytes)
        size = _save_body(response, path, target, max_bytes, deadline, abandoned)
        return FetchResult(size, response.getheader("Content-Type"), target.url)
    except AttuneError:
        raise
    except TimeoutError:
        raise InvalidArgument(f"could not fetch {target.display}: timed out after {timeout_s:g} s") from None
    except ConnectionRefusedError:
        raise InvalidArgument(f"could not fetch {target.display}: connection refused") from None
    except ssl.SSLCertVerificationError as exc:
        raise InvalidArgument(
            f"could not fetch {target.display}: TLS certificate not valid ({exc.verify_message})"
        ) from None
    except ssl.SSLError as exc:
        raise InvalidArgument(f"could not fetch {target.display}: TLS failed ({exc.reason})") from None
    except http.client.HTTPException as exc:
        raise InvalidArgument(f"could not fetch {target.display}: bad HTTP response ({type(exc).__name__})") from None
    except OSError as exc:
        raise InvalidArgument(f"could not fetch {target.display}: {exc.strerror or exc}") from None
    finally:
        connection.close()


def _save_body(
    response: http.client.HTTPResponse,
    path: str,
    target: ParsedTarget,
    max_bytes: int,
    deadline: float,
    abandoned: threading.Event,
) -> int:
    size = 0
    try:
        with open(path, "wb") as out:
            # read1 returns after one receive, so the deadline is checked at least that often.
            while chunk := response.read1(CHUNK_SIZE):
                size += len(chunk)
                if size > max_bytes:
                    raise _too_large(target, max_bytes)
                out.write(chunk)
                if abandoned.is_set() or time.monotonic() > deadline:
                    raise TimeoutError
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
        raise
    return size


def _too_large(target: ParsedTarget, max_bytes: int) -> ResourceExhausted:
    return ResourceExhausted(f"{target.display} is larger than the limit of {max_bytes} bytes")
