"""Polls the registered feeds and hands each new or changed article to a `produce` callback.

It knows nothing of Kafka: the stream app passes a callback that returns once the broker acknowledged the
article. Only then is the article marked as seen, so a crash between the two re-produces (harmless: the
index is keyed by article id) instead of losing it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from connectors.rss.fetch import FeedFetcher
from connectors.rss.parse import parse_feed
from connectors.rss.registry import Feed, FeedRegistry
from streams.records import Article

log = logging.getLogger(__name__)

Produce = Callable[[Article], Awaitable[None]]


class FeedPoller:
    def __init__(self, registry: FeedRegistry, fetcher: FeedFetcher, produce: Produce, *,
                 interval_s: float, concurrency: int = 16, seen_ttl_s: float | None = None) -> None:
        self.registry = registry
        self.fetcher = fetcher
        self.produce = produce
        self.interval_s = interval_s
        self.semaphore = asyncio.Semaphore(concurrency)
        self.seen_ttl_s = seen_ttl_s

    def due(self, now: float | None = None) -> list[Feed]:
        now = now or time.time()
        return [f for f in self.registry.list()
                if f.enabled and (f.last_polled_at is None or now - f.last_polled_at >= self.interval_s)]

    async def run_once(self) -> int:
        """Poll every feed that is due; returns how many articles were produced."""
        feeds = self.due()
        counts = await asyncio.gather(*(self._guarded(feed) for feed in feeds))
        if self.seen_ttl_s:
            self.registry.forget_older_than(self.seen_ttl_s)
        return sum(counts)

    async def _guarded(self, feed: Feed) -> int:
        async with self.semaphore:
            try:
                return await self.poll(feed)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # one feed's surprise must not stop the others
                log.exception("feed %s: unexpected error", feed.url)
                self.registry.record_failure(feed.url, f"unexpected error: {exc!r}")
                return 0

    async def poll(self, feed: Feed) -> int:
        result = await self.fetcher.fetch(feed.url, etag=feed.etag, last_modified=feed.last_modified)
        if result.error:
            log.warning("feed %s: fetch failed: %s", feed.url, result.error)
            self.registry.record_failure(feed.url, result.error)
            return 0
        if result.not_modified:
            self.registry.record_success(feed.url, etag=feed.etag, last_modified=feed.last_modified, new_items=0)
            return 0
        parsed = await asyncio.to_thread(parse_feed, result.body, feed_url=feed.url, headers=result.headers)
        if not parsed.articles:
            reason = parsed.problem or "feed has no entries"
            if parsed.problem:
                log.warning("feed %s: %s", feed.url, reason)
                self.registry.record_failure(feed.url, reason)
            else:
                self.registry.record_success(feed.url, etag=result.etag, last_modified=result.last_modified,
                                             new_items=0)
            return 0
        if parsed.problem:
            log.info("feed %s: salvaged %d entries from a malformed feed (%s)",
                     feed.url, len(parsed.articles), parsed.problem)
        for reason in parsed.rejected:
            log.warning("feed %s: rejected %s", feed.url, reason)
        hashes = {a.id: a.content_hash for a in parsed.articles}
        fresh = self.registry.unseen(hashes)
        produced = 0
        for article in parsed.articles:
            if article.id in fresh:
                await self.produce(article)
                fresh.discard(article.id)  # the same id twice in one feed is produced once
                produced += 1
        self.registry.mark_seen(hashes)
        self.registry.record_success(feed.url, etag=result.etag, last_modified=result.last_modified,
                                     new_items=produced)
        if produced:
            log.info("feed %s: produced %d new or updated articles", feed.url, produced)
        return produced
