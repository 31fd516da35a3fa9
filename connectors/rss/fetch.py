"""HTTP for feeds: conditional GET, polite, bounded, and refusing to reach into private networks.

- One total deadline per fetch (all redirect hops, headers and body), not a per-read timeout: a server
  trickling one byte a second is cut off at `timeout_s`. Waiting for a per-host slot is not counted.
- At most `max_bytes` are ever buffered, counted after decompression. The body is decompressed here, with
  zlib's `max_length`, not by httpx: httpx inflates each network chunk in one call, so a 64 KiB chunk of a
  gzip bomb becomes ~64 MiB in memory before any limit could look at it (measured; see the tests).
- Redirects are followed here, hop by hop, so a loop and a too-long chain get clear errors, and each hop's
  host gets its own per-host slot. Only http and https URLs are fetched.
- Every connection goes through `GuardedBackend` (connectors/rss/addresses.py): the address actually
  connected to must be public unless `allow_private_addresses` is set or the exact `host:port` is in
  `allowed_hosts`. Environment proxies are ignored (a proxy would resolve names out of our sight).
- `retry_after_s` (429/503 Retry-After, seconds or HTTP-date) and `max_age_s` (Cache-Control max-age) are
  reported for the scheduler; nothing is retried here.
"""

from __future__ import annotations

import asyncio
import ssl
import time
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from connectors.net.http import GuardedTransport
from connectors.rss.addresses import BlockedAddressError, GuardedBackend, Resolver
from connectors.rss.redact import scrub

ACCEPT = ("application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, "
          "text/xml;q=0.8, */*;q=0.5")
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


@dataclass
class FetchResult:
    url: str
    status: int | None = None
    body: bytes = b""
    headers: dict[str, str] | None = None
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None
    retry_after_s: float | None = None  # 429/503 Retry-After, in seconds from now (an HTTP-date is converted)
    max_age_s: float | None = None  # Cache-Control max-age of the final response
    final_url: str | None = None  # the URL that answered, after redirects
    redirects: list[str] = field(default_factory=list)  # the URLs redirected to, in order

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class FetchError(Exception):
    """A fetch problem with a message meant for the feed's `last_error`."""


def build_user_agent(user_agent: str, contact: str | None) -> str:
    """`newsdesk/0.1 (+https://x)` + contact -> `newsdesk/0.1 (+https://x; contact: ops@example.org)`."""
    contact = (contact or "").strip()
    if not contact or "contact:" in user_agent:
        return user_agent
    if user_agent.endswith(")"):
        return f"{user_agent[:-1]}; contact: {contact})"
    return f"{user_agent} (contact: {contact})"


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds from now: delay-seconds or an HTTP-date (a date in the past gives 0)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def parse_max_age(cache_control: str | None) -> float | None:
    if not cache_control:
        return None
    for directive in cache_control.split(","):
        name, _, value = directive.strip().partition("=")
        if name.strip().lower() == "max-age":
            try:
                return max(0.0, float(value.strip().strip('"')))
            except ValueError:
                return None
    return None


class _BoundedInflater:
    """gzip/deflate decoding that never produces more than `limit` bytes in total, whatever the ratio."""

    def __init__(self, encoding: str, limit: int) -> None:
        self.gzip = encoding in ("gzip", "x-gzip")
        self.limit = limit
        self.produced = 0
        self.started = False
        self.decompressor = self._new(raw=False)

    def _new(self, *, raw: bool) -> zlib._Decompress:
        return zlib.decompressobj(16 + zlib.MAX_WBITS if self.gzip else (-zlib.MAX_WBITS if raw else zlib.MAX_WBITS))

    def feed(self, data: bytes) -> list[bytes]:
        out: list[bytes] = []
        try:
            while data:
                if self.decompressor.eof:  # end of one gzip member: another may follow, or trailing garbage
                    if not (self.gzip and data[:2] == b"\x1f\x8b"):
                        break
                    self.decompressor = self._new(raw=False)
                try:
                    piece = self.decompressor.decompress(data, self.limit - self.produced + 1)
                except zlib.error:
                    if self.gzip or self.started:
                        raise
                    self.decompressor = self._new(raw=True)  # "deflate" sent without its zlib wrapper
                    piece = self.decompressor.decompress(data, self.limit - self.produced + 1)
                self.started = True
                self.produced += len(piece)
                if self.produced > self.limit:
                    raise FetchError(f"response larger than {self.limit} bytes after decompression")
                if piece:
                    out.append(piece)
                rest = self.decompressor.unconsumed_tail or (self.decompressor.unused_data
                                                             if self.decompressor.eof else b"")
                if not piece and rest == data:
                    break
                data = rest
        except zlib.error as exc:
            raise FetchError(f"corrupt {'gzip' if self.gzip else 'deflate'} body: {exc}") from exc
        return out


class FeedFetcher:
    def __init__(self, *, user_agent: str, timeout_s: float, max_bytes: int, contact: str | None = None,
                 allow_private_addresses: bool = False, allowed_hosts: set[str] | list[str] | tuple[str, ...] = (),
                 max_redirects: int = 5, max_per_host: int = 2, max_connections: int = 100,
                 resolver: Resolver | None = None, ssl_context: ssl.SSLContext | None = None) -> None:
        """`allowed_hosts`: exact `host:port` pairs fetched even when they resolve to a private address.
        `resolver` replaces DNS (tests map a name to an address with it); `ssl_context` replaces the default
        certificate verification (certifi's CAs), e.g. for an internal CA."""
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.max_per_host = max_per_host
        self.user_agent = build_user_agent(user_agent, contact)
        self.backend = GuardedBackend(allow_private=allow_private_addresses, allowed_hosts=allowed_hosts,
                                      resolver=resolver)
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=min(20, max_connections))
        self.client = httpx.AsyncClient(
            headers={"User-Agent": self.user_agent, "Accept": ACCEPT, "Accept-Encoding": "gzip, deflate"},
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=False,
            transport=GuardedTransport(self.backend, limits=limits, ssl_context=ssl_context),
            trust_env=False,
        )
        self._hosts: dict[str, tuple[asyncio.Semaphore, list[int]]] = {}

    async def aclose(self) -> None:
        await self.client.aclose()

    @asynccontextmanager
    async def _host_slot(self, host: str) -> AsyncIterator[None]:
        """At most `max_per_host` requests in flight per host; idle hosts are forgotten (no unbounded dict)."""
        slot = self._hosts.get(host)
        if slot is None:
            slot = self._hosts[host] = (asyncio.Semaphore(self.max_per_host), [0])
        slot[1][0] += 1
        try:
            async with slot[0]:
                yield
        finally:
            slot[1][0] -= 1
            if slot[1][0] == 0 and self._hosts.get(host) is slot:
                del self._hosts[host]

    async def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        """Never raises for network or server problems: they come back as `error`."""
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        result = FetchResult(url)
        try:
            await self._follow(result, headers)
        except FetchError as exc:
            result.error = str(exc)
        except BlockedAddressError as exc:
            result.error = str(exc)
        except (TimeoutError, httpx.TimeoutException):
            result.error = (f"deadline exceeded: no complete response within {self.timeout_s:g}s "
                            "(one deadline for all redirects, headers and body)")
        except httpx.HTTPError as exc:
            result.error = f"{type(exc).__name__}: {exc or 'no detail'}"
        if result.error:
            result.error = scrub(result.error)  # it may quote the URL; shown by `feeds list` and logged
            result.body = b""
        return result

    async def _follow(self, result: FetchResult, headers: dict[str, str]) -> None:
        current = result.url
        visited = [current]
        budget = self.timeout_s
        # Credentials in the feed URL (`http://user:secret@host/feed.xml`) go as basic auth, to that origin only,
        # and never in the URL given to httpx, which logs it (`HTTP Request: GET <url>`) and may quote it in errors.
        credentials: tuple[tuple[str, str | None, int | None], httpx.BasicAuth] | None = None
        for hop in range(self.max_redirects + 1):
            target = _checked_url(current, redirected=hop > 0)
            if target.userinfo:
                credentials = ((target.scheme, target.host, target.port),
                               httpx.BasicAuth(target.username, target.password))
                target = target.copy_with(userinfo=b"")
            auth = credentials[1] if credentials and credentials[0] == (target.scheme, target.host,
                                                                       target.port) else None
            if budget <= 0:
                raise TimeoutError
            async with self._host_slot(target.host):
                started = time.monotonic()
                try:
                    async with asyncio.timeout(budget):
                        location = await self._exchange(result, target, headers, auth)
                finally:
                    budget -= time.monotonic() - started
            if location is None:
                return
            result.redirects.append(location)
            if location in visited:
                raise FetchError(f"redirect loop: {_chain(visited + [location])}")
            visited.append(location)
            current = location
        raise FetchError(f"too many redirects (more than {self.max_redirects}): {_chain(visited)}")

    async def _exchange(self, result: FetchResult, url: httpx.URL, headers: dict[str, str],
                        auth: httpx.BasicAuth | None = None) -> str | None:
        """One request; returns the next URL for a redirect, else fills `result` and returns None."""
        response = await self.client.send(self.client.build_request("GET", url, headers=headers), stream=True,
                                          auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT)
        try:
            status = response.status_code
            location = response.headers.get("location")
            if status in REDIRECT_STATUSES and location:
                try:
                    return str(url.join(location.strip()))
                except httpx.InvalidURL as exc:
                    raise FetchError(f"HTTP {status} redirect to an invalid URL {location!r}: {exc}") from exc
            result.status = status
            result.final_url = str(url)
            result.headers = dict(response.headers)
            result.etag = response.headers.get("etag")
            result.last_modified = response.headers.get("last-modified")
            result.max_age_s = parse_max_age(response.headers.get("cache-control"))
            if status in (429, 503):
                result.retry_after_s = parse_retry_after(response.headers.get("retry-after"))
            if status == 304:
                return None
            if status >= 300:
                reason = f" {response.reason_phrase}" if response.reason_phrase else ""
                missing = " without a Location" if status in REDIRECT_STATUSES else ""
                result.error = f"HTTP {status}{reason}{missing}"
                return None
            result.body = await self._read_body(response)
            if not result.body:
                result.error = f"empty response body (HTTP {status})"
            return None
        finally:
            await response.aclose()

    async def _read_body(self, response: httpx.Response) -> bytes:
        encodings = [e.strip().lower() for e in response.headers.get("content-encoding", "").split(",")]
        encodings = [e for e in encodings if e and e != "identity"]
        if len(encodings) > 1 or (encodings and encodings[0] not in ("gzip", "x-gzip", "deflate")):
            raise FetchError(f"unsupported Content-Encoding {response.headers['content-encoding']!r}")
        declared = response.headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchError(f"response larger than {self.max_bytes} bytes (Content-Length: {declared}); not read")
        inflater = _BoundedInflater(encodings[0], self.max_bytes) if encodings else None
        chunks: list[bytes] = []
        raw_size = size = 0
        async for raw in response.aiter_raw():
            raw_size += len(raw)
            if raw_size > self.max_bytes:
                raise FetchError(f"response larger than {self.max_bytes} bytes; stopped reading")
            for chunk in inflater.feed(raw) if inflater else (raw,):
                size += len(chunk)
                if size > self.max_bytes:
                    raise FetchError(f"response larger than {self.max_bytes} bytes; stopped reading")
                chunks.append(chunk)
        return b"".join(chunks)


def _checked_url(url: str, *, redirected: bool) -> httpx.URL:
    where = "redirect to" if redirected else "URL"
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise FetchError(f"invalid {where} {url!r}: {exc}") from exc
    if parsed.scheme not in ("http", "https"):
        raise FetchError(f"refused: {where} {url!r} is not http or https")
    if not parsed.host:
        raise FetchError(f"invalid {where} {url!r}: no host")
    return parsed


def _chain(urls: list[str], limit: int = 600) -> str:
    text = " -> ".join(urls)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(urls)} URLs)"
