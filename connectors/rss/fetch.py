"""HTTP for feeds: conditional GET, a size limit enforced while reading, and one total deadline."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx


@dataclass
class FetchResult:
    url: str
    status: int | None = None
    body: bytes = b""
    headers: dict[str, str] | None = None
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class FeedFetcher:
    def __init__(self, *, user_agent: str, timeout_s: float, max_bytes: int) -> None:
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
        self.client = httpx.AsyncClient(
            headers={"User-Agent": user_agent,
                     "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, "
                               "text/xml;q=0.8, */*;q=0.5"},
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=True,
            max_redirects=5,
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    async def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            return await asyncio.wait_for(self._fetch(url, headers), timeout=self.timeout_s)
        except TimeoutError:
            return FetchResult(url, error=f"timed out after {self.timeout_s:.0f}s")
        except httpx.HTTPError as exc:
            return FetchResult(url, error=f"{type(exc).__name__}: {exc or 'no detail'}")

    async def _fetch(self, url: str, headers: dict[str, str]) -> FetchResult:
        async with self.client.stream("GET", url, headers=headers) as response:
            result = FetchResult(url, status=response.status_code, headers=dict(response.headers),
                                 etag=response.headers.get("etag"),
                                 last_modified=response.headers.get("last-modified"))
            if response.status_code == 304:
                return result
            if response.status_code >= 400:
                result.error = f"HTTP {response.status_code}"
                return result
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self.max_bytes:
                    result.error = f"response larger than {self.max_bytes} bytes"
                    return result
                chunks.append(chunk)
            result.body = b"".join(chunks)
            return result
