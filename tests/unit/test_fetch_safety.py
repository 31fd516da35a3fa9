"""The fetcher must not be a way into the internal network (SSRF), and its small parsers must be exact.

Address classification is a table. The guard is then exercised with real sockets on 127.0.0.1: a direct fetch
is refused; a "public" name (mapped to a public-looking address by an injected resolver, and routed to a local
server by a test network backend) that redirects to 127.0.0.1 is refused at the redirect; a name that
resolves to a public address first and to 127.0.0.1 later (DNS rebinding) is refused on the second connect.
"""

from __future__ import annotations

import asyncio
import ipaddress
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpcore
import pytest
from aiohttp import web

from connectors.rss.addresses import GuardedBackend, address_problem, normalise_allowed_host
from connectors.rss.fetch import FeedFetcher, FetchResult, build_user_agent, parse_max_age, parse_retry_after

FEED = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        b'<item><title>a</title><link>https://news.example.org/a</link></item></channel></rss>')
PUBLIC_IP = "93.184.215.14"  # a public address; the test backend routes it to the local server


@pytest.mark.parametrize("address,problem", [
    ("127.0.0.1", "loopback"), ("127.255.0.9", "loopback"), ("10.1.2.3", "private"), ("172.16.5.4", "private"),
    ("172.31.255.255", "private"), ("192.168.1.1", "private"), ("169.254.169.254", "link-local"),
    ("100.64.0.1", "shared (carrier-grade NAT)"), ("0.0.0.0", "unspecified"), ("0.1.2.3", "private"),
    ("224.0.0.1", "multicast"), ("239.255.255.250", "multicast"), ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"), ("192.0.2.10", "private"), ("198.18.0.1", "private"),
    ("192.0.0.8", "special-purpose"), ("192.0.0.9", "special-purpose"), ("3fff::1", "special-purpose"),
    ("::1", "loopback"), ("::", "unspecified"), ("fe80::1", "link-local"), ("fc00::1", "private"),
    ("fd12:3456::1", "private"), ("ff02::1", "multicast"), ("fec0::1", "site-local"), ("2001:db8::1", "private"),
    ("::ffff:127.0.0.1", "IPv4-mapped loopback"), ("::ffff:10.0.0.1", "IPv4-mapped private"),
    ("::ffff:169.254.169.254", "IPv4-mapped link-local"), ("64:ff9b::7f00:1", "NAT64 loopback"),
    ("64:ff9b::a9fe:a9fe", "NAT64 link-local"), ("64:ff9b:1::1", "local-use NAT64"),
    ("2002:7f00:1::1", "6to4 loopback"), ("2002:c0a8:101::", "6to4 private"), ("::127.0.0.1", "reserved"),
    ("fe80::1%eth0", "scoped (link-local)"),
    ("8.8.8.8", None), ("1.1.1.1", None), (PUBLIC_IP, None), ("2606:4700:4700::1111", None),
    ("2a00:1450:4001:80b::200e", None), ("::ffff:8.8.8.8", None), ("64:ff9b::808:808", None),
    ("2002:808:808::1", None),
])
def test_address_classification(address: str, problem: str | None) -> None:
    assert address_problem(ipaddress.ip_address(address)) == problem


def test_allowed_hosts_are_exact_host_port_pairs() -> None:
    assert normalise_allowed_host("LocalHost:8080") == "localhost:8080"
    assert normalise_allowed_host("[::1]:80") == "[::1]:80"
    for bad in ("127.0.0.1", "::1:80", "host:port", ":80"):
        with pytest.raises(ValueError):
            normalise_allowed_host(bad)


def test_user_agent_carries_the_contact() -> None:
    base = "newsdesk/0.1 (+https://github.com/newsdesk/newsdesk)"
    assert build_user_agent(base, "ops@example.org") == \
        "newsdesk/0.1 (+https://github.com/newsdesk/newsdesk; contact: ops@example.org)"
    assert build_user_agent("newsdesk/0.1", "https://example.org/about") == \
        "newsdesk/0.1 (contact: https://example.org/about)"
    assert build_user_agent(base, None) == build_user_agent(base, " ") == base


def test_retry_after_and_max_age() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120
    assert parse_retry_after("Thu, 01 Jan 2026 12:01:30 GMT", now) == 90
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now) == 0  # in the past: retry now
    assert parse_retry_after("-5", now) == 0
    assert parse_retry_after("soon", now) is None and parse_retry_after(None) is None
    assert parse_retry_after("nan") is None
    assert parse_max_age("public, max-age=600, must-revalidate") == 600
    assert parse_max_age('MAX-AGE="60"') == 60
    assert parse_max_age("no-cache") is None and parse_max_age(None) is None and parse_max_age("max-age=x") is None


def test_settings_default_refuses_and_env_allows(monkeypatch: pytest.MonkeyPatch) -> None:
    from newsdesk.settings import Settings

    monkeypatch.delenv("NEWSDESK_ALLOW_PRIVATE_ADDRESSES", raising=False)
    monkeypatch.delenv("NEWSDESK_CONFIG", raising=False)
    assert Settings().allow_private_addresses is False
    monkeypatch.setenv("NEWSDESK_ALLOW_PRIVATE_ADDRESSES", "1")
    monkeypatch.setenv("NEWSDESK_CONTACT", "ops@example.org")
    monkeypatch.setenv("NEWSDESK_FETCH_ALLOWED_HOSTS", '["127.0.0.1:8080"]')
    settings = Settings()
    assert settings.allow_private_addresses is True and settings.contact == "ops@example.org"
    assert settings.fetch_allowed_hosts == ["127.0.0.1:8080"] and settings.fetch_max_redirects == 5


# -- real sockets ------------------------------------------------------------------------------------------

class Server:
    """A local aiohttp server that records the Host header of every request it gets."""

    def __init__(self) -> None:
        self.hosts: list[str] = []
        self.port = 0

    def app(self) -> web.Application:
        async def feed(request: web.Request) -> web.Response:
            self.hosts.append(request.headers.get("Host", ""))
            return web.Response(body=FEED, content_type="application/rss+xml")

        async def once(request: web.Request) -> web.Response:  # no keep-alive: the next fetch connects anew
            self.hosts.append(request.headers.get("Host", ""))
            return web.Response(body=FEED, content_type="application/rss+xml", headers={"Connection": "close"})

        async def to_loopback(request: web.Request) -> web.Response:
            self.hosts.append(request.headers.get("Host", ""))
            raise web.HTTPFound(f"http://127.0.0.1:{self.port}/feed")

        async def to_metadata(request: web.Request) -> web.Response:
            self.hosts.append(request.headers.get("Host", ""))
            raise web.HTTPFound("http://169.254.169.254/latest/meta-data/")

        async def to_localhost(request: web.Request) -> web.Response:
            self.hosts.append(request.headers.get("Host", ""))
            raise web.HTTPFound(f"http://localhost:{self.port}/feed")

        app = web.Application()
        app.router.add_get("/feed", feed)
        app.router.add_get("/once", once)
        app.router.add_get("/to-loopback", to_loopback)
        app.router.add_get("/to-metadata", to_metadata)
        app.router.add_get("/to-localhost", to_localhost)
        return app


@asynccontextmanager
async def running(ssl_context: ssl.SSLContext | None = None) -> AsyncIterator[Server]:
    server = Server()
    runner = web.AppRunner(server.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    server.port = runner.addresses[0][1]
    try:
        yield server
    finally:
        await runner.cleanup()


class InternetSimulator(httpcore.AsyncNetworkBackend):
    """Stands in for the internet: a connection to PUBLIC_IP reaches the local server; records what was dialled."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.dialled: list[str] = []
        self.real = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        self.dialled.append(host)
        target = "127.0.0.1" if host == PUBLIC_IP else host
        return await self.real.connect_tcp(target, self.port if host == PUBLIC_IP else port, timeout=timeout)

    async def sleep(self, seconds: float) -> None:
        await self.real.sleep(seconds)


def guarded_fetcher(resolver: Any = None, **kwargs: Any) -> FeedFetcher:
    return FeedFetcher(user_agent="newsdesk-tests/0.1", timeout_s=10, max_bytes=1 << 20, resolver=resolver,
                       **kwargs)


async def fetch(client: FeedFetcher, url: str) -> FetchResult:
    return await client.fetch(url)


def test_fetch_to_loopback_is_refused_without_connecting() -> None:
    async def main() -> tuple[list[FetchResult], Server]:
        async with running() as server:
            client = guarded_fetcher()
            try:
                urls = [f"http://127.0.0.1:{server.port}/feed", f"http://localhost:{server.port}/feed",
                        f"http://127.1:{server.port}/feed", f"http://2130706433:{server.port}/feed",
                        f"http://[::1]:{server.port}/feed", f"http://[::ffff:127.0.0.1]:{server.port}/feed",
                        f"http://0.0.0.0:{server.port}/feed"]
                return [await client.fetch(url) for url in urls], server
            finally:
                await client.aclose()

    results, server = asyncio.run(main())
    for result in results:
        assert result.error is not None and result.error.startswith("refused: "), (result.url, result.error)
        assert result.status is None and result.body == b""
    assert results[0].error == ("refused: 127.0.0.1 is a loopback address, not a public one "
                                "(private addresses are not allowed for feeds)")
    assert "'localhost' resolves to" in (results[1].error or "")
    assert server.hosts == []  # nothing reached the server


def test_private_addresses_allowed_when_the_operator_says_so() -> None:
    async def main() -> tuple[FetchResult, FetchResult, FetchResult]:
        async with running() as server:
            allowed = guarded_fetcher(allow_private_addresses=True)
            exact = guarded_fetcher(allowed_hosts={f"127.0.0.1:{server.port}"})
            other_port = guarded_fetcher(allowed_hosts={f"127.0.0.1:{server.port + 1}"})
            try:
                url = f"http://127.0.0.1:{server.port}/feed"
                return await allowed.fetch(url), await exact.fetch(url), await other_port.fetch(url)
            finally:
                for client in (allowed, exact, other_port):
                    await client.aclose()

    allowed, exact, other_port = asyncio.run(main())
    assert allowed.error is None and allowed.body == FEED
    assert exact.error is None and exact.body == FEED
    assert other_port.error is not None and other_port.error.startswith("refused: ")


def test_redirect_from_a_public_host_to_private_addresses_is_refused() -> None:
    async def resolver(host: str, port: int) -> list[str]:
        return [PUBLIC_IP] if host == "feeds.example.org" else ["127.0.0.1"]

    async def main() -> tuple[list[FetchResult], Server, InternetSimulator]:
        async with running() as server:
            client = guarded_fetcher(resolver)
            internet = client.backend.backend = InternetSimulator(server.port)
            try:
                base = f"http://feeds.example.org:{server.port}"
                results = [await client.fetch(f"{base}/{path}") for path in
                           ("feed", "to-loopback", "to-metadata", "to-localhost")]
                return results, server, internet
            finally:
                await client.aclose()

    (direct, to_loopback, to_metadata, to_localhost), server, internet = asyncio.run(main())
    assert direct.error is None and direct.body == FEED  # the "public" host itself is fine
    assert to_loopback.redirects == [f"http://127.0.0.1:{server.port}/feed"]
    assert to_loopback.error is not None and to_loopback.error.startswith("refused: 127.0.0.1 is a loopback address")
    assert to_metadata.error is not None and to_metadata.error.startswith("refused: 169.254.169.254 is a link-local")
    assert to_localhost.error is not None
    assert to_localhost.error.startswith("refused: 'localhost' resolves to 127.0.0.1")
    # the guard dialled only the vetted IP (never the name, never a private address); Host kept the name
    assert set(internet.dialled) == {PUBLIC_IP}
    assert server.hosts == [f"feeds.example.org:{server.port}"] * 4


def test_dns_rebinding_is_refused_at_connect_time() -> None:
    answers = [[PUBLIC_IP], ["127.0.0.1"], [PUBLIC_IP, "10.0.0.7"]]

    async def rebinding(host: str, port: int) -> list[str]:
        return answers.pop(0)

    async def main() -> tuple[list[FetchResult], InternetSimulator]:
        async with running() as server:
            client = guarded_fetcher(rebinding)
            internet = client.backend.backend = InternetSimulator(server.port)
            try:
                url = f"http://rebind.example.org:{server.port}/once"
                return [await client.fetch(url) for _ in range(3)], internet
            finally:
                await client.aclose()

    (first, second, third), internet = asyncio.run(main())
    assert first.error is None and first.body == FEED
    assert second.error == ("refused: 'rebind.example.org' resolves to 127.0.0.1 is a loopback address, not a "
                            "public one (private addresses are not allowed for feeds)")
    assert third.error is not None and "resolves to 10.0.0.7 is a private address" in third.error  # any bad answer
    assert internet.dialled == [PUBLIC_IP]


def test_only_http_and_https_urls_are_fetched() -> None:
    async def main() -> list[FetchResult]:
        client = guarded_fetcher(allow_private_addresses=True)
        try:
            return [await client.fetch(url) for url in
                    ("file:///etc/passwd", "ftp://example.org/feed.xml", "gopher://127.0.0.1:70/", "http:///nohost")]
        finally:
            await client.aclose()

    results = asyncio.run(main())
    assert [r.error for r in results[:3]] == [
        "refused: URL 'file:///etc/passwd' is not http or https",
        "refused: URL 'ftp://example.org/feed.xml' is not http or https",
        "refused: URL 'gopher://127.0.0.1:70/' is not http or https",
    ]
    assert results[3].error is not None and results[3].error.startswith("invalid URL 'http:///nohost'")


def test_unix_sockets_are_refused() -> None:
    from connectors.rss.addresses import BlockedAddressError

    async def main() -> None:
        with pytest.raises(BlockedAddressError):
            await GuardedBackend(allow_private=True).connect_unix_socket("/var/run/docker.sock")

    asyncio.run(main())


def test_https_verifies_the_name_while_connecting_to_the_vetted_ip(tmp_path: Path) -> None:
    """SNI and certificate verification use the URL's name, though the socket goes to the vetted IP."""
    assert shutil.which("openssl"), "this test makes its certificate with the openssl command (Debian: openssl)"
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=feeds.example.org",
                    "-addext", "subjectAltName=DNS:feeds.example.org"], check=True, capture_output=True)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    client_tls = ssl.create_default_context(cafile=str(cert))

    async def resolver(host: str, port: int) -> list[str]:
        return [PUBLIC_IP]

    async def main() -> tuple[FetchResult, FetchResult, InternetSimulator]:
        async with running(server_tls) as server:
            client = guarded_fetcher(resolver, ssl_context=client_tls)
            internet = client.backend.backend = InternetSimulator(server.port)
            try:
                return (await client.fetch(f"https://feeds.example.org:{server.port}/feed"),
                        await client.fetch(f"https://other.example.org:{server.port}/feed"), internet)
            finally:
                await client.aclose()

    good, wrong_name, internet = asyncio.run(main())
    assert good.error is None and good.body == FEED
    assert wrong_name.error is not None and "CERTIFICATE_VERIFY_FAILED" in wrong_name.error
    assert set(internet.dialled) == {PUBLIC_IP}
