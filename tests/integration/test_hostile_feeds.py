"""Hostile and broken feed servers, for real, on 127.0.0.1: the fetcher must bound memory and time, and say why.

Each test starts its own server (aiohttp, or raw asyncio sockets where the server must misbehave below HTTP)
inside the test's event loop. The fetcher runs with `allow_private_addresses=True` because the servers are on
loopback; the address guard itself is tested in tests/unit/test_fetch_safety.py.
"""

from __future__ import annotations

import asyncio
import gzip
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from aiohttp import web

from connectors.rss.fetch import FeedFetcher, FetchResult
from connectors.rss.parse import parse_feed

MiB = 1 << 20
FEED = (b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>Hostile tests</title>'
        b'<item><title>First</title><link>https://news.example.org/a</link><description>One</description></item>'
        b'<item><title>Second</title><link>https://news.example.org/b</link><description>Two</description></item>'
        b'</channel></rss>')


def fetcher(**kwargs: object) -> FeedFetcher:
    options: dict = {"user_agent": "newsdesk-tests/0.1 (+https://example.org)", "timeout_s": 10.0,
                     "max_bytes": MiB, "allow_private_addresses": True}
    options.update(kwargs)
    return FeedFetcher(**options)


async def fetch_once(url: str, **kwargs: object) -> FetchResult:
    client = fetcher(**kwargs)
    try:
        return await client.fetch(url)
    finally:
        await client.aclose()


async def fetch_tracing_memory(url: str, **options: Any) -> tuple[FetchResult, int]:
    """One fetch, and the peak of Python memory allocated while it ran."""
    tracemalloc.start()
    try:
        result = await fetch_once(url, **options)
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@asynccontextmanager
async def serve(routes: dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]]) -> AsyncIterator[str]:
    app = web.Application()
    for path, handler in routes.items():
        app.router.add_get(path, handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


RawHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def serve_raw(handler: RawHandler) -> AsyncIterator[str]:
    """A TCP server that reads the request head and then lets `handler` write whatever bytes it likes."""
    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            await handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(connection, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()


def gzip_bomb(decompressed_mib: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = b"\0" * MiB
    return b"".join([compressor.compress(zeros) for _ in range(decompressed_mib)] + [compressor.flush()])


# -- too big -----------------------------------------------------------------------------------------------

def test_endless_body_stops_reading_at_the_limit() -> None:
    sent = [0]

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})  # chunked, no length
        await response.prepare(request)
        chunk = b"<!-- padding -->" * 4096
        try:
            while True:
                await response.write(chunk)
                sent[0] += len(chunk)
        except (ConnectionError, RuntimeError):
            return response

    async def main() -> tuple[FetchResult, float, int]:
        async with serve({"/feed": endless}) as base:
            result, peak = await fetch_tracing_memory(f"{base}/feed", max_bytes=MiB)
            return result, peak, sent[0]

    result, peak, sent_when_done = asyncio.run(main())
    assert result.error == f"response larger than {MiB} bytes; stopped reading"
    assert result.body == b""
    assert sent_when_done < 64 * MiB  # the client hung up; only socket buffers' worth got past the limit
    assert peak < 8 * MiB, f"peak traced memory {peak / MiB:.1f} MiB"


def test_declared_content_length_over_the_limit_is_not_read() -> None:
    async def huge(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * (3 * MiB), content_type="application/rss+xml")

    async def main() -> FetchResult:
        async with serve({"/feed": huge}) as base:
            return await fetch_once(f"{base}/feed", max_bytes=MiB)

    result = asyncio.run(main())
    assert result.status == 200
    assert result.error == f"response larger than {MiB} bytes (Content-Length: {3 * MiB}); not read"


def test_gzip_bomb_is_limited_after_decompression_without_inflating_it() -> None:
    bomb = gzip_bomb(200)  # 200 MiB of zeros in ~200 KB: below the limit on the wire, 200x over it inflated
    assert len(bomb) < MiB

    async def bombing(request: web.Request) -> web.Response:
        return web.Response(body=bomb, headers={"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"})

    async def honest(request: web.Request) -> web.Response:
        return web.Response(body=gzip.compress(FEED), headers={"Content-Type": "application/rss+xml",
                                                               "Content-Encoding": "gzip"})

    async def main() -> tuple[FetchResult, FetchResult, int]:
        async with serve({"/bomb": bombing, "/feed": honest}) as base:
            bombed, peak = await fetch_tracing_memory(f"{base}/bomb", max_bytes=MiB)
            return bombed, await fetch_once(f"{base}/feed"), peak

    bombed, honest_result, peak = asyncio.run(main())
    assert bombed.error == f"response larger than {MiB} bytes after decompression"
    # httpx's own decoding would inflate each 64 KiB network chunk whole (~64 MiB at once); ours stays near the limit
    assert peak < 8 * MiB, f"peak traced memory {peak / MiB:.1f} MiB"
    assert honest_result.error is None and honest_result.body == FEED  # gzip itself works
    assert len(parse_feed(honest_result.body, feed_url="x", headers=honest_result.headers).articles) == 2


# -- too slow ----------------------------------------------------------------------------------------------

def test_server_sending_one_byte_a_second_hits_the_total_deadline() -> None:
    response = b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: %d\r\n\r\n%s" % (
        len(FEED), FEED)

    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for byte in response:  # each read succeeds within any per-read timeout; only a total deadline stops it
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(1.0)

    async def main() -> tuple[FetchResult, float]:
        async with serve_raw(trickle) as base:
            started = time.monotonic()
            result = await fetch_once(f"{base}/feed", timeout_s=2.5)
            return result, time.monotonic() - started

    result, elapsed = asyncio.run(main())
    assert result.error is not None and result.error.startswith("deadline exceeded: no complete response within 2.5s")
    assert 2.4 < elapsed < 4.0


# -- redirects ---------------------------------------------------------------------------------------------

def redirect_routes() -> dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]]:
    async def loop_a(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop/b")

    async def loop_b(request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently("/loop/a")

    async def chain(request: web.Request) -> web.Response:
        step = int(request.match_info["n"])
        if step == 0:
            return web.Response(body=FEED, content_type="application/rss+xml")
        raise web.HTTPTemporaryRedirect(f"/chain/{step - 1}")

    async def to_file(request: web.Request) -> web.Response:
        raise web.HTTPFound("file:///etc/passwd")

    return {"/loop/a": loop_a, "/loop/b": loop_b, "/chain/{n}": chain, "/to-file": to_file}


def test_redirect_loop_is_a_clear_error() -> None:
    async def main() -> FetchResult:
        async with serve(redirect_routes()) as base:
            return await fetch_once(f"{base}/loop/a")

    result = asyncio.run(main())
    assert result.error is not None and result.error.startswith("redirect loop: ")
    assert result.error.endswith("/loop/a -> http://" + result.error.split("http://")[1].split("/")[0] + "/loop/b -> "
                                 + result.url)
    assert result.redirects == [result.url.replace("/loop/a", "/loop/b"), result.url]


def test_too_long_redirect_chain_is_a_clear_error_and_a_short_one_is_followed() -> None:
    async def main() -> tuple[FetchResult, FetchResult]:
        async with serve(redirect_routes()) as base:
            return (await fetch_once(f"{base}/chain/6", max_redirects=5),
                    await fetch_once(f"{base}/chain/5", max_redirects=5))

    too_long, fine = asyncio.run(main())
    assert too_long.error is not None and too_long.error.startswith("too many redirects (more than 5): ")
    assert too_long.error.count(" -> ") == 6  # six redirects seen, the sixth not followed
    assert fine.error is None and fine.body == FEED and len(fine.redirects) == 5
    assert fine.final_url is not None and fine.final_url.endswith("/chain/0")


def test_redirect_to_a_non_http_scheme_is_refused() -> None:
    async def main() -> FetchResult:
        async with serve(redirect_routes()) as base:
            return await fetch_once(f"{base}/to-file")

    result = asyncio.run(main())
    assert result.error is not None
    assert result.error.startswith("refused: redirect to 'file:") and result.error.endswith("is not http or https")


# -- wrong labels, wrong content ---------------------------------------------------------------------------

@pytest.mark.parametrize("content_type", [None, "text/html", "text/plain; charset=utf-8", "application/octet-stream",
                                          "image/png"])
def test_wrong_or_missing_content_type_is_still_parsed(content_type: str | None) -> None:
    head = f"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: {len(FEED)}\r\n"
    if content_type:
        head += f"Content-Type: {content_type}\r\n"

    async def respond(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(head.encode() + b"\r\n" + FEED)
        await writer.drain()

    async def main() -> FetchResult:
        async with serve_raw(respond) as base:
            return await fetch_once(f"{base}/feed")

    result = asyncio.run(main())
    assert result.error is None and result.body == FEED
    assert (result.headers or {}).get("content-type") == content_type
    parsed = parse_feed(result.body, feed_url=result.url, headers=result.headers)
    assert [a.title for a in parsed.articles] == ["First", "Second"]


def test_non_utf8_body_labelled_utf8_is_salvaged() -> None:
    text = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Caffè déjà vu</title>'
            '<item><title>Été “chaud” à Milano</title><link>https://news.example.org/ete</link>'
            '<description>Naïve café</description></item></channel></rss>')
    body = text.encode("cp1252")  # bytes that are not valid UTF-8, under a UTF-8 label in header and prolog

    async def mislabelled(request: web.Request) -> web.Response:
        return web.Response(body=body, headers={"Content-Type": "application/rss+xml; charset=utf-8"})

    async def main() -> FetchResult:
        async with serve({"/feed": mislabelled}) as base:
            return await fetch_once(f"{base}/feed")

    result = asyncio.run(main())
    assert result.error is None and result.body == body  # bytes handed on untouched; feedparser decides
    parsed = parse_feed(result.body, feed_url=result.url, headers=result.headers)
    [article] = parsed.articles
    assert article.title == "Été “chaud” à Milano" and article.summary == "Naïve café"
    assert parsed.title == "Caffè déjà vu"
    assert parsed.problem is not None and parsed.problem.startswith("CharacterEncodingOverride")


def test_html_instead_of_a_feed_is_reported_as_not_a_feed() -> None:
    page = b"<!doctype html><html><head><title>Welcome</title></head><body><p>Our news</p></body></html>"

    async def html(request: web.Request) -> web.Response:
        return web.Response(body=page, content_type="text/html")

    async def main() -> FetchResult:
        async with serve({"/feed": html}) as base:
            return await fetch_once(f"{base}/feed")

    result = asyncio.run(main())
    assert result.error is None and result.body == page  # a transport success ...
    parsed = parse_feed(result.body, feed_url=result.url, headers=result.headers)
    assert parsed.articles == []  # ... that the parse step reports (the poller records it as the feed's failure)
    assert parsed.problem is not None and parsed.problem.startswith("not a feed: no RSS/Atom structure found")


def test_empty_200_is_an_error() -> None:
    async def empty(request: web.Request) -> web.Response:
        return web.Response(body=b"", content_type="application/rss+xml")

    async def main() -> FetchResult:
        async with serve({"/feed": empty}) as base:
            return await fetch_once(f"{base}/feed")

    result = asyncio.run(main())
    assert result.status == 200
    assert result.error == "empty response body (HTTP 200)"


# -- XML entity expansion ----------------------------------------------------------------------------------

LAUGHS = "\n".join(
    ['<?xml version="1.0"?>', "<!DOCTYPE rss [", '<!ENTITY lol0 "lol">']
    + [f'<!ENTITY lol{n} "{"".join(f"&lol{n - 1};" for _ in range(10))}">' for n in range(1, 10)]
    + ["]>", '<rss version="2.0"><channel><title>&lol9;</title><item><title>Laughs &lol9;</title>',
       "<link>https://news.example.org/lol</link><description>&lol9;&lol9;</description></item></channel></rss>"]
).encode()  # fully expanded: 3 x 10^9 characters per &lol9;
QUADRATIC = (f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY big "{"B" * 100_000}">]>'
             f'<rss version="2.0"><channel><title>q</title><item><title>Quadratic</title>'
             f'<link>https://news.example.org/q</link><description>{"&big;" * 20_000}</description></item>'
             f'</channel></rss>').encode()  # 2 GB if expanded
EXTERNAL = (b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
            b'<rss version="2.0"><channel><title>x</title><item><title>XXE &secret;</title>'
            b'<link>https://news.example.org/x</link></item></channel></rss>')


@pytest.mark.parametrize("name,body", [("billion laughs", LAUGHS), ("quadratic blowup", QUADRATIC),
                                       ("external entity", EXTERNAL)])
def test_entity_expansion_bomb_is_not_expanded(name: str, body: bytes) -> None:
    async def bomb(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/rss+xml")

    async def main() -> FetchResult:
        async with serve({"/feed": bomb}) as base:
            return await fetch_once(f"{base}/feed", max_bytes=4 * MiB)

    result = asyncio.run(main())
    assert result.error is None
    tracemalloc.start()
    cpu = time.process_time()
    try:
        parsed = parse_feed(result.body, feed_url=result.url, headers=result.headers)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    cpu = time.process_time() - cpu
    assert cpu < 5.0, f"{name}: parsing took {cpu:.1f} CPU-s"
    assert peak < 64 * MiB, f"{name}: parsing peaked at {peak / MiB:.0f} MiB"
    for article in parsed.articles:  # whatever is salvaged carries no expansion and no file contents
        salvaged = article.title + article.summary + article.text
        assert len(salvaged) <= 2 * len(body)
        assert "lollollol" not in salvaged and "B" * 200_000 not in salvaged and "root:" not in salvaged


def test_this_pythons_expat_refuses_entity_amplification() -> None:
    """feedparser strips DOCTYPE entity declarations itself; expat >= 2.4 is the second line of defence."""
    import pyexpat
    import xml.parsers.expat

    version = tuple(int(part) for part in pyexpat.EXPAT_VERSION.split("_")[1].split("."))
    assert version >= (2, 4, 0), pyexpat.EXPAT_VERSION
    parser = xml.parsers.expat.ParserCreate()
    with pytest.raises(xml.parsers.expat.ExpatError, match="amplification"):
        parser.Parse(LAUGHS, True)


# -- politeness and cache hints ----------------------------------------------------------------------------

def test_conditional_get_cache_hints_and_retry_after() -> None:
    retry_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=120)

    async def feed(request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304, headers={"ETag": '"v1"', "Cache-Control": "public, max-age=900"})
        return web.Response(body=FEED, content_type="application/rss+xml",
                            headers={"ETag": '"v1"', "Last-Modified": "Mon, 01 Jan 2024 00:00:00 GMT",
                                     "Cache-Control": "max-age=600"})

    async def busy(request: web.Request) -> web.Response:
        return web.Response(status=429, headers={"Retry-After": "30"})

    async def down(request: web.Request) -> web.Response:
        return web.Response(status=503, headers={"Retry-After": format_datetime(retry_at, usegmt=True)})

    async def main() -> list[FetchResult]:
        async with serve({"/feed": feed, "/busy": busy, "/down": down}) as base:
            client = fetcher()
            try:
                first = await client.fetch(f"{base}/feed")
                second = await client.fetch(f"{base}/feed", etag=first.etag, last_modified=first.last_modified)
                return [first, second, await client.fetch(f"{base}/busy"), await client.fetch(f"{base}/down")]
            finally:
                await client.aclose()

    first, second, busy_result, down_result = asyncio.run(main())
    assert first.status == 200 and first.etag == '"v1"' and first.max_age_s == 600 and first.retry_after_s is None
    assert second.not_modified and second.error is None and second.max_age_s == 900
    assert busy_result.error == "HTTP 429 Too Many Requests" and busy_result.retry_after_s == 30
    assert down_result.error == "HTTP 503 Service Unavailable"
    assert down_result.retry_after_s is not None and 100 < down_result.retry_after_s <= 120


def test_per_host_limit_and_user_agent_with_contact() -> None:
    in_flight = [0, 0]  # now, most seen
    agents: set[str] = set()

    async def slow(request: web.Request) -> web.Response:
        agents.add(request.headers.get("User-Agent", ""))
        in_flight[0] += 1
        in_flight[1] = max(in_flight[1], in_flight[0])
        await asyncio.sleep(0.2)
        in_flight[0] -= 1
        return web.Response(body=FEED, content_type="application/rss+xml")

    async def main() -> list[FetchResult]:
        async with serve({"/feed/{n}": slow}) as base:
            client = fetcher(max_per_host=2, contact="ops@example.org")
            try:
                return await asyncio.gather(*(client.fetch(f"{base}/feed/{n}") for n in range(8)))
            finally:
                await client.aclose()

    results = asyncio.run(main())
    assert all(r.error is None for r in results)
    assert in_flight[1] == 2
    assert agents == {"newsdesk-tests/0.1 (+https://example.org; contact: ops@example.org)"}
