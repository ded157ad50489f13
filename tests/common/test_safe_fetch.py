"""safe_fetch refuses URLs that reach our own network, before any connection is made, and
downloads the rest to a file within its limits. Network tests stay on loopback."""

from __future__ import annotations

import contextlib
import http.server
import re
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from common import safe_fetch
from common.errors import InvalidArgument, ResourceExhausted

BODY = bytes(range(256)) * 1200  # 300 KiB: several chunks
PUBLIC_IP = "93.184.215.14"  # a public address; tests route it to the loopback server
REDIRECTS = {
    "/to-data": "/data",
    "/to-metadata": "http://169.254.169.254/latest/meta-data/",
    "/to-internal-name": "http://metadata.internal/latest/meta-data/",
    "/to-file": "file:///etc/passwd",
    "/loop": "/loop",
}


class _Handler(http.server.BaseHTTPRequestHandler):
    # HTTP/1.0: a body without Content-Length ends when the connection closes.
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        self.server.requests.append((self.path, self.headers["Host"]))  # type: ignore[attr-defined]
        if self.path in REDIRECTS:
            self.send_response(302)
            self.send_header("Location", REDIRECTS[self.path])
            self.end_headers()
        elif self.path in ("/data", "/stream"):
            self.send_response(200)
            self.send_header("Content-Type", "audio/wav")
            if self.path == "/data":
                self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            for start in range(0, len(BODY), 10_000):
                self.wfile.write(BODY[start : start + 10_000])
        else:
            self.send_error(404)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[http.server.ThreadingHTTPServer]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


@pytest.fixture
def base(server: http.server.ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every address safe_fetch connects to; PUBLIC_IP is routed to 127.0.0.1."""
    made: list[tuple[str, int]] = []
    real = socket.create_connection

    def create_connection(address: tuple[str, int], *args: object, **kwargs: object) -> socket.socket:
        made.append(address)
        host, port = address
        return real(("127.0.0.1" if host == PUBLIC_IP else host, port), *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(safe_fetch.socket, "create_connection", create_connection)
    return made


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A loopback port nothing accepts on: a connection attempt would wait in its backlog."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    try:
        yield sock
    finally:
        sock.close()


def fake_resolver(table: dict[str, list[str]], calls: list[str] | None = None) -> safe_fetch.Resolver:
    async def resolve(host: str, port: int) -> list[str]:
        if calls is not None:
            calls.append(host)
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]

    return resolve


async def no_resolve(host: str, port: int) -> list[str]:
    raise AssertionError(f"resolved {host} though the URL should be refused first")


REFUSED_HOSTS = [
    ("127.0.0.1", "'127.0.0.1' is a loopback address"),
    ("localhost", "loopback name"),
    ("LOCALHOST.", "loopback name"),
    ("api.localhost", "loopback name"),
    ("2130706433", "127.0.0.1, a loopback address"),
    ("0177.0.0.1", "127.0.0.1, a loopback address"),
    ("0x7f.1", "127.0.0.1, a loopback address"),
    ("127.1", "127.0.0.1, a loopback address"),
    ("[::1]", "'::1' is a loopback address"),
    ("[::ffff:127.0.0.1]", "a loopback address wrapped in IPv6"),
    ("[::ffff:7f00:1]", "a loopback address wrapped in IPv6"),
    ("0.0.0.0", "an unspecified address"),
    ("0", "0.0.0.0, an unspecified address"),
    ("[::]", "an unspecified address"),
    ("169.254.169.254", "the cloud metadata address"),
    ("[fd00:ec2::254]", "the cloud metadata address"),
    ("[::ffff:169.254.169.254]", "the cloud metadata address wrapped in IPv6"),
    ("[64:ff9b::a9fe:a9fe]", "the cloud metadata address wrapped in IPv6"),
    ("[2002:7f00:1::]", "a loopback address wrapped in IPv6"),
    ("169.254.1.1", "a link-local address"),
    ("[fe80::1]", "a link-local address"),
    ("10.1.2.3", "a private address"),
    ("172.16.0.1", "a private address"),
    ("192.168.0.1", "a private address"),
    ("[fc00::1]", "a private address"),
    ("[fd12:3456::1]", "a private address"),
    ("100.64.0.1", "a carrier-grade NAT address"),
    ("224.0.0.1", "a multicast address"),
    ("[ff02::1]", "a multicast address"),
    ("240.0.0.1", "a reserved address"),
    ("255.255.255.255", "a reserved address"),
    ("192.0.2.1", "non-public"),
    ("[fec0::1]", "non-public"),
    ("08.1.1.1", "not a valid IP address"),
]


@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize(("host", "reason"), REFUSED_HOSTS)
async def test_internal_addresses_are_refused_before_any_connection(
    scheme: str,
    host: str,
    reason: str,
    listener: socket.socket,
    connections: list[tuple[str, int]],
    tmp_path: Path,
) -> None:
    port = listener.getsockname()[1]
    url = f"{scheme}://{host}:{port}/audio.wav"
    with pytest.raises(InvalidArgument, match=re.escape(reason)) as refused:
        await safe_fetch.fetch_to_file(
            url, str(tmp_path / "out"), max_bytes=1000, timeout_s=10, resolve=fake_resolver({})
        )
    assert repr(host.strip("[]").lower()) in refused.value.message
    assert connections == []
    with pytest.raises(BlockingIOError):
        listener.accept()
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/a.wav",
        "gopher://example.com:70/_x",
        "javascript:alert(1)",
        "data:text/plain,hi",
        "example.com/a.wav",
        "//example.com/a.wav",
        "http:///a.wav",
        "",
        "http://user:pass@example.com/a.wav",
        "http://user@example.com/a.wav",
        "http://example.com\\@127.0.0.1/",
        "http://example.com:99999/",
        "http://example.com:0/",
        "http://exa mple.com/",
        "http://example.com/a\r\nHost: evil",
        "http://[::1/",
    ],
)
async def test_malformed_and_non_http_urls_are_refused_before_resolving(url: str) -> None:
    with pytest.raises(InvalidArgument):
        await safe_fetch.check_url(url, resolve=no_resolve)


async def test_a_name_is_refused_if_any_of_its_addresses_is_internal() -> None:
    resolve = fake_resolver({"media.example.com": [PUBLIC_IP, "10.0.0.5"]})
    with pytest.raises(InvalidArgument, match=re.escape("'media.example.com' resolves to 10.0.0.5, a private address")):
        await safe_fetch.check_url("https://media.example.com/a.wav", resolve=resolve)


async def test_a_name_resolving_to_mapped_metadata_is_refused() -> None:
    resolve = fake_resolver({"cdn.example.com": ["::ffff:169.254.169.254"]})
    with pytest.raises(InvalidArgument, match="the cloud metadata address wrapped in IPv6"):
        await safe_fetch.check_url("http://cdn.example.com/", resolve=resolve)


async def test_unresolvable_host_is_an_invalid_argument() -> None:
    with pytest.raises(InvalidArgument, match=re.escape("'nowhere.example' could not be resolved")):
        await safe_fetch.check_url("http://nowhere.example/", resolve=fake_resolver({}))


async def test_a_public_url_is_parsed() -> None:
    resolve = fake_resolver({"media.example.com": [PUBLIC_IP, "2606:2800:220:1::1"]})
    target = await safe_fetch.check_url("HTTPS://Media.Example.com/a%20b/\u00e9.wav?sig=secret#x", resolve=resolve)
    assert (target.scheme, target.host, target.port) == ("https", "media.example.com", 443)
    assert target.request_target == "/a%20b/%C3%A9.wav?sig=secret"
    assert target.addresses == (PUBLIC_IP, "2606:2800:220:1::1")
    assert target.display == "https://media.example.com/a%20b/%C3%A9.wav"


async def test_fetch_streams_the_exact_bytes_to_the_file(base: str, tmp_path: Path) -> None:
    out = tmp_path / "audio.wav"
    result = await safe_fetch.fetch_to_file(
        f"{base}/data", str(out), max_bytes=len(BODY), timeout_s=10, allow_private=True
    )
    assert out.read_bytes() == BODY
    assert result == safe_fetch.FetchResult(len(BODY), "audio/wav", f"{base}/data")


async def test_fetch_without_content_length_streams_too(base: str, tmp_path: Path) -> None:
    out = tmp_path / "audio.wav"
    result = await safe_fetch.fetch_to_file(
        f"{base}/stream", str(out), max_bytes=len(BODY), timeout_s=10, allow_private=True
    )
    assert out.read_bytes() == BODY
    assert result.size == len(BODY)


async def test_fetch_follows_a_redirect(base: str, tmp_path: Path) -> None:
    out = tmp_path / "audio.wav"
    result = await safe_fetch.fetch_to_file(
        f"{base}/to-data", str(out), max_bytes=len(BODY), timeout_s=10, allow_private=True
    )
    assert result.final_url == f"{base}/data"
    assert out.read_bytes() == BODY


@pytest.mark.parametrize("route", ["/data", "/stream"])
async def test_a_body_over_max_bytes_is_refused_and_no_file_is_left(base: str, route: str, tmp_path: Path) -> None:
    out = tmp_path / "audio.wav"
    with pytest.raises(ResourceExhausted, match=f"larger than the limit of {len(BODY) - 1} bytes"):
        await safe_fetch.fetch_to_file(
            f"{base}{route}", str(out), max_bytes=len(BODY) - 1, timeout_s=10, allow_private=True
        )
    assert not out.exists()


async def test_not_found_names_the_status(base: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="HTTP 404"):
        await safe_fetch.fetch_to_file(
            f"{base}/missing?sig=secret", str(tmp_path / "out"), max_bytes=1000, timeout_s=10, allow_private=True
        )
    assert not (tmp_path / "out").exists()


async def test_the_query_is_kept_out_of_error_messages(base: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument) as refused:
        await safe_fetch.fetch_to_file(
            f"{base}/missing?sig=secret", str(tmp_path / "out"), max_bytes=1000, timeout_s=10, allow_private=True
        )
    assert "secret" not in refused.value.message


async def test_too_many_redirects_are_refused(
    base: str, server: http.server.ThreadingHTTPServer, tmp_path: Path
) -> None:
    with pytest.raises(InvalidArgument, match="more than 5 redirects"):
        await safe_fetch.fetch_to_file(
            f"{base}/loop", str(tmp_path / "out"), max_bytes=1000, timeout_s=10, allow_private=True
        )
    assert len(server.requests) == 6  # type: ignore[attr-defined]


async def test_a_redirect_to_another_scheme_is_refused(base: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="scheme 'file' is not allowed"):
        await safe_fetch.fetch_to_file(
            f"{base}/to-file", str(tmp_path / "out"), max_bytes=1000, timeout_s=10, allow_private=True
        )


@pytest.mark.parametrize(
    ("route", "reason"),
    [
        ("/to-metadata", "'169.254.169.254' is the cloud metadata address"),
        ("/to-internal-name", "'metadata.internal' resolves to 169.254.169.254, the cloud metadata address"),
    ],
)
async def test_every_redirect_target_is_checked(
    route: str,
    reason: str,
    server: http.server.ThreadingHTTPServer,
    connections: list[tuple[str, int]],
    tmp_path: Path,
) -> None:
    port = server.server_address[1]
    resolve = fake_resolver({"media.example.com": [PUBLIC_IP], "metadata.internal": ["169.254.169.254"]})
    with pytest.raises(InvalidArgument, match=re.escape(reason)):
        await safe_fetch.fetch_to_file(
            f"http://media.example.com:{port}{route}",
            str(tmp_path / "out"),
            max_bytes=1000,
            timeout_s=10,
            resolve=resolve,
        )
    # Only the first hop connected, to the checked address, naming the host it asked for.
    assert connections == [(PUBLIC_IP, port)]
    assert server.requests == [(route, f"media.example.com:{port}")]  # type: ignore[attr-defined]


async def test_the_connection_is_pinned_to_the_checked_address(
    server: http.server.ThreadingHTTPServer, connections: list[tuple[str, int]], tmp_path: Path
) -> None:
    # A rebinding DNS server answers public first and loopback after; only one answer is asked for.
    port = server.server_address[1]
    calls: list[str] = []
    answers = iter([[PUBLIC_IP], ["127.0.0.1"]])

    async def rebinding(host: str, port: int) -> list[str]:
        calls.append(host)
        return next(answers)

    out = tmp_path / "audio.wav"
    await safe_fetch.fetch_to_file(
        f"http://media.example.com:{port}/data", str(out), max_bytes=len(BODY), timeout_s=10, resolve=rebinding
    )
    assert calls == ["media.example.com"]
    assert connections == [(PUBLIC_IP, port)]
    assert out.read_bytes() == BODY


async def test_a_closed_port_is_connection_refused(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(InvalidArgument, match="connection refused"):
        await safe_fetch.fetch_to_file(
            f"http://127.0.0.1:{port}/", str(tmp_path / "out"), max_bytes=1000, timeout_s=10, allow_private=True
        )


async def test_a_server_that_never_answers_times_out(listener: socket.socket, tmp_path: Path) -> None:
    port = listener.getsockname()[1]
    with pytest.raises(InvalidArgument, match="timed out"):
        await safe_fetch.fetch_to_file(
            f"http://127.0.0.1:{port}/", str(tmp_path / "out"), max_bytes=1000, timeout_s=0.2, allow_private=True
        )
    assert not (tmp_path / "out").exists()


async def test_allow_private_keeps_the_other_checks(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="user name or password"):
        await safe_fetch.fetch_to_file(
            "http://u:p@127.0.0.1/", str(tmp_path / "out"), max_bytes=1, timeout_s=1, allow_private=True
        )


@pytest.fixture
def tls_listener(tmp_path: Path) -> Iterator[tuple[int, list[str | None]]]:
    """A loopback TLS server with a self-signed certificate, recording the SNI it is sent."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subject = "/CN=media.example.com"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            subject,
            "-keyout",
            key,
            "-out",
            cert,
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    names: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda _sock, name, _ctx: names.append(name)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    sock.settimeout(10)

    def handshake_once() -> None:
        with contextlib.suppress(OSError), sock.accept()[0] as conn, context.wrap_socket(conn, server_side=True):
            pass

    thread = threading.Thread(target=handshake_once, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1], names
    finally:
        thread.join(timeout=10)
        sock.close()


async def test_https_sends_the_name_as_sni_to_the_pinned_address(
    tls_listener: tuple[int, list[str | None]], connections: list[tuple[str, int]], tmp_path: Path
) -> None:
    port, names = tls_listener
    resolve = fake_resolver({"media.example.com": [PUBLIC_IP]})
    with pytest.raises(InvalidArgument, match="TLS certificate not valid"):
        await safe_fetch.fetch_to_file(
            f"https://media.example.com:{port}/a.wav", str(tmp_path / "out"), max_bytes=1, timeout_s=10, resolve=resolve
        )
    assert connections == [(PUBLIC_IP, port)]
    assert names == ["media.example.com"]
