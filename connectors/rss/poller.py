"""Polls the registered feeds and hands each new or changed article to a `produce` callback.

It knows nothing of Kafka or Faust: the stream app passes a callback that returns once the broker acknowledged
the article, and an `owns(url)` predicate saying which feeds this process polls (its share of the partitions).
Only after the acknowledgement is an article remembered as seen, so a crash between the two re-produces it
(harmless: the index is keyed by article id and keeps the highest version) instead of losing it.

Per poll: take the feed (an atomic lease in the registry), conditional GET, parse, sort the items into new /
updated / known (`FeedRegistry.triage`), fetch the full text of the ones to produce when the feed asks for it,
produce, remember, then plan the next poll (`connectors.rss.schedule`) from what happened and record health.
A 200 whose body is byte-identical to the last one processed in full (servers without validators, or that
ignore them) is handled like a 304: nothing to parse or triage.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import html
import inspect
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from connectors.rss.fetch import FeedFetcher
from connectors.rss.parse import parse_feed
from connectors.rss.redact import redact_url, scrub
from connectors.rss.registry import Feed, FeedRegistry
from connectors.rss.schedule import PollOutcome, SchedulePolicy, plan
from streams.records import Article

log = logging.getLogger(__name__)

Produce = Callable[[Article], Awaitable[None]]
Owns = Callable[[str], bool]
FullTextFetch = Callable[[Any, str], Awaitable[str | None]]


@dataclass(frozen=True)
class PollReport:
    """What one poll did, for whoever counts (metrics): outcome "ok", "not_modified" (a 304, or the same body
    again) or "error" with its reason text (as recorded in the feed's last_error); articles produced, new and
    updated."""

    outcome: str
    error: str | None = None
    new: int = 0
    updated: int = 0


OnPoll = Callable[[PollReport], None]
GONE = 410


def _default_full_text() -> FullTextFetch | None:
    try:
        from connectors.rss.fulltext import fetch_full_text
    except ImportError:  # pragma: no cover - the extractor module ships with the connector
        return None
    return fetch_full_text


class ProduceError(Exception):
    """The broker did not take an article: not the feed's fault, so not counted against its health."""


def body_digest(body: bytes) -> str:
    """What tells an unchanged 200 from a changed one (BLAKE2b: ~80x cheaper than parsing, bench/parsing.py)."""
    return hashlib.blake2b(body, digest_size=16).hexdigest()


class FeedPoller:
    def __init__(self, registry: FeedRegistry, fetcher: FeedFetcher, produce: Produce, *,
                 policy: SchedulePolicy | None = None, interval_s: float | None = None, concurrency: int = 16,
                 dedup_ttl_s: float | None = None, seen_ttl_s: float | None = None,
                 disable_after_failures: int | None = 10, lease_s: float = 600.0,
                 full_text_min_chars: int = 500, full_text_concurrency: int = 4,
                 full_text: FullTextFetch | None = None, rand: Callable[[], float] | None = None,
                 clock: Callable[[], float] = time.time, on_poll: OnPoll | None = None) -> None:
        self.registry = registry
        self.on_poll = on_poll
        self.fetcher = fetcher
        self.produce = produce
        if policy is None:
            start = interval_s or SchedulePolicy.start_interval_s
            policy = SchedulePolicy(start_interval_s=start, min_interval_s=min(start, SchedulePolicy.min_interval_s))
        self.policy = policy
        self.semaphore = asyncio.Semaphore(concurrency)
        self.dedup_ttl_s = dedup_ttl_s if dedup_ttl_s is not None else seen_ttl_s
        self.disable_after_failures = disable_after_failures
        self.lease_s = lease_s
        self.full_text_min_chars = full_text_min_chars
        self.full_text_semaphore = asyncio.Semaphore(full_text_concurrency)
        self.full_text = full_text or _default_full_text()
        try:  # fetch_full_text(fetcher, url, *, title=None): the headline helps it drop a repeated title
            self._full_text_takes_title = self.full_text is not None and "title" in inspect.signature(
                self.full_text).parameters
        except (TypeError, ValueError):
            self._full_text_takes_title = False
        self.rand = rand or random.random
        self.clock = clock
        self.in_flight: dict[str, asyncio.Task[int]] = {}
        self._producing: dict[str, asyncio.Future[bool]] = {}  # article id -> done (True: produced)
        self._last_forget = 0.0
        # how often an unchanged item's sighting is written again: often enough that an id still in a feed is
        # never forgotten by the dedup ttl, rarely enough that a poll writes only what changed
        self.touch_after_s = min(86400.0, self.dedup_ttl_s / 4) if self.dedup_ttl_s else 86400.0
        # feed url -> (digest of the last body processed without error, when): an identical body within
        # touch_after_s is a 304 in all but name. In memory: after a restart or a rebalance one full poll.
        self._last_body: dict[str, tuple[str, float]] = {}

    # -- which feeds, when -----------------------------------------------------------------------------------

    def due(self, now: float | None = None, owns: Owns | None = None) -> list[Feed]:
        """Enabled feeds whose time has come, that this process owns and is not polling already."""
        now = self.clock() if now is None else now
        feeds = self.registry.due(now, max_ahead_s=self.policy.max_interval_s * 2)
        return [f for f in feeds if f.url not in self.in_flight and (owns is None or owns(f.url))]

    def _claim(self, owns: Owns | None) -> list[Feed]:
        now = self.clock()
        feeds = self.due(now, owns)
        if not feeds:
            return []
        claimed = set(self.registry.claim([f.url for f in feeds], now=now, lease_s=self.lease_s,
                                          max_ahead_s=self.policy.max_interval_s * 2))
        return [f for f in feeds if f.url in claimed]

    def start_due(self, owns: Owns | None = None) -> int:
        """Start polling every due feed this process owns, in the background; returns how many were started.

        A slow feed (up to the fetch deadline) never holds up the others or the caller's timer.
        """
        self._housekeeping()
        feeds = self._claim(owns)
        for feed in feeds:
            task = asyncio.create_task(self._guarded(feed), name=f"poll {redact_url(feed.url)}")
            self.in_flight[feed.url] = task
            task.add_done_callback(functools.partial(self._done, feed.url))
        return len(feeds)

    def _done(self, url: str, task: asyncio.Task[int]) -> None:
        self.in_flight.pop(url, None)
        if not task.cancelled() and task.exception() is not None:  # _guarded catches; this is a last resort
            log.error("feed %s: poll crashed: %r", redact_url(url), task.exception(),
                      extra={"feed_url": redact_url(url)})

    async def run_once(self, owns: Owns | None = None) -> int:
        """Poll every due feed this process owns and wait for all; returns how many articles were produced."""
        self._housekeeping()
        feeds = self._claim(owns)
        counts = await asyncio.gather(*(self._guarded(feed) for feed in feeds))
        return sum(counts)

    def _housekeeping(self) -> None:
        now = self.clock()
        if self.dedup_ttl_s and now - self._last_forget >= min(3600.0, self.dedup_ttl_s / 10):
            self._last_forget = now
            forgotten = self.registry.forget_older_than(self.dedup_ttl_s, now=now)
            if forgotten:
                log.info("dedup memory: forgot %d articles no feed has shown for %.0fh", forgotten,
                         self.dedup_ttl_s / 3600)

    async def aclose(self, timeout_s: float = 5.0) -> None:
        """Let in-flight polls finish for up to `timeout_s`, cancel the rest (their feeds become due again at
        once, for whichever process owns them next), then close the fetcher."""
        tasks = list(self.in_flight.items())
        if tasks:
            _, pending = await asyncio.wait([t for _, t in tasks], timeout=timeout_s)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
                self.registry.release([url for url, t in tasks if t in pending], now=self.clock())
        await self.fetcher.aclose()

    def _report(self, report: PollReport) -> None:
        if self.on_poll is not None:
            try:
                self.on_poll(report)
            except Exception:  # counting must never break a poll
                log.exception("on_poll callback failed")

    # -- one feed --------------------------------------------------------------------------------------------

    async def _guarded(self, feed: Feed) -> int:
        async with self.semaphore:
            try:
                return await self.poll(feed)
            except asyncio.CancelledError:
                raise
            except ProduceError as exc:
                # validators are not updated, so the next poll fetches the same items again and produces the rest
                delay = self.policy.min_interval_s
                self._report(PollReport("error", error=str(exc)))
                log.error("feed %s: %s; retrying in %.0fs", redact_url(feed.url), exc, delay,
                          extra={"feed_url": redact_url(feed.url)})
                try:
                    await asyncio.to_thread(self.registry.reschedule, feed.url, next_poll_at=self.clock() + delay,
                                            note=scrub(str(exc)))
                except Exception:
                    log.exception("feed %s: could not reschedule", redact_url(feed.url),
                                  extra={"feed_url": redact_url(feed.url)})
                return 0
            except Exception as exc:  # one feed's surprise must not stop the others
                log.exception("feed %s: unexpected error", redact_url(feed.url),
                              extra={"feed_url": redact_url(feed.url)})
                try:
                    await self._failed(feed, f"unexpected error: {exc!r}")
                except Exception:
                    log.exception("feed %s: could not record the failure", redact_url(feed.url),
                                  extra={"feed_url": redact_url(feed.url)})
                return 0

    def _elapsed(self, feed: Feed, now: float) -> float | None:
        return now - feed.last_polled_at if feed.last_polled_at else None

    async def _failed(self, feed: Feed, reason: str, *, retry_after_s: float | None = None,
                      max_age_s: float | None = None, gone: bool = False) -> None:
        now = self.clock()
        reason = scrub(reason)
        self._report(PollReport("error", error=reason))
        failures = feed.consecutive_failures + 1
        outcome = PollOutcome(ok=False, elapsed_s=self._elapsed(feed, now), retry_after_s=retry_after_s,
                              max_age_s=max_age_s, consecutive_failures=failures)
        schedule = plan(self.policy, current_interval_s=feed.adaptive_interval_s, outcome=outcome, rand=self.rand,
                        override_s=feed.interval_s)
        disabled = await asyncio.to_thread(
            self.registry.record_failure, feed.url, reason, next_poll_at=now + schedule.delay_s,
            schedule_reason=schedule.reason, disable_after=self.disable_after_failures, disable_now=gone, now=now)
        if disabled:
            log.warning("feed %s: disabled after %d consecutive failures (last: %s); `newsdesk feeds enable` "
                        "turns it back on", redact_url(feed.url), failures, reason,
                        extra={"feed_url": redact_url(feed.url)})
        else:
            log.warning("feed %s: %s (failure %d; next try in %.0fs)", redact_url(feed.url), reason, failures,
                        schedule.delay_s, extra={"feed_url": redact_url(feed.url)})

    async def _succeeded(self, feed: Feed, *, etag: str | None, last_modified: str | None, new_items: int,
                         produced: int, max_age_s: float | None, ttl_s: float | None, title: str | None = None,
                         items_checked: bool = True) -> None:
        now = self.clock()
        outcome = PollOutcome(ok=True, new_items=new_items, elapsed_s=self._elapsed(feed, now), max_age_s=max_age_s,
                              ttl_s=ttl_s if ttl_s is not None else feed.feed_ttl_s)
        schedule = plan(self.policy, current_interval_s=feed.adaptive_interval_s, outcome=outcome, rand=self.rand,
                        override_s=feed.interval_s)
        await asyncio.to_thread(
            self.registry.record_success, feed.url, etag=etag, last_modified=last_modified, new_items=produced,
            next_poll_at=now + schedule.delay_s, interval_s=schedule.interval_s, schedule_reason=schedule.reason,
            ttl_s=ttl_s, title=title, now=now, items_checked=items_checked, touch_after_s=self.touch_after_s)
        log.debug("feed %s: next poll in %.0fs (%s)", redact_url(feed.url), schedule.delay_s, schedule.reason,
                  extra={"feed_url": redact_url(feed.url)})

    async def poll(self, feed: Feed) -> int:
        """Poll one feed now (the caller has claimed it); returns how many articles were produced."""
        result = await self.fetcher.fetch(feed.url, etag=feed.etag, last_modified=feed.last_modified)
        retry_after = getattr(result, "retry_after_s", None)
        max_age = getattr(result, "max_age_s", None)
        if result.error:
            await self._failed(feed, result.error, retry_after_s=retry_after, max_age_s=max_age,
                         gone=result.status == GONE)
            return 0
        digest = "" if result.not_modified else body_digest(result.body or b"")
        if result.not_modified or self._same_body(feed.url, digest):
            await self._succeeded(feed, etag=result.etag or feed.etag,
                                  last_modified=result.last_modified or feed.last_modified, new_items=0, produced=0,
                                  max_age_s=max_age, ttl_s=None, items_checked=False)
            self._report(PollReport("not_modified"))
            return 0
        produced, ok = await self._process(feed, result, retry_after, max_age)
        if ok:
            self._last_body[feed.url] = (digest, self.clock())
        return produced

    def _same_body(self, url: str, digest: str) -> bool:
        """The body processed last time, within the touch period; any other body forgets the old digest until
        it is fully processed itself."""
        last = self._last_body.get(url)
        if last is not None and last[0] == digest and self.clock() - last[1] < self.touch_after_s:
            return True
        self._last_body.pop(url, None)
        return False

    async def _process(self, feed: Feed, result: Any, retry_after: float | None,
                       max_age: float | None) -> tuple[int, bool]:
        """Parse a 200, triage and produce its articles: (articles produced, whether the feed counted as a
        success). Raises if an article could not be produced."""
        # the articles' feed_url (and the base of relative links) never carry the feed's credentials; ids do not change:
        # they hash the canonical URL (which drops user info) or the GUID
        parsed = await asyncio.to_thread(parse_feed, result.body, feed_url=redact_url(feed.url),
                                         headers=result.headers)
        ttl = getattr(parsed, "ttl_s", None)
        if not parsed.articles:
            if parsed.problem:
                await self._failed(feed, parsed.problem, retry_after_s=retry_after, max_age_s=max_age)
                return 0, False
            await self._succeeded(feed, etag=result.etag, last_modified=result.last_modified, new_items=0,
                                  produced=0, max_age_s=max_age, ttl_s=ttl, title=parsed.title)
            self._report(PollReport("ok"))
            return 0, True
        if parsed.problem:
            log.info("feed %s: salvaged %d entries from a malformed feed (%s)",
                     redact_url(feed.url), len(parsed.articles), parsed.problem,
                     extra={"feed_url": redact_url(feed.url)})
        for reason in parsed.rejected:
            log.warning("feed %s: rejected %s", redact_url(feed.url), reason, extra={"feed_url": redact_url(feed.url)})

        articles: dict[str, Article] = {}
        for article in parsed.articles:  # the same id twice in one feed: the first occurrence counts
            articles.setdefault(article.id, article)
        hashes = {aid: a.content_hash for aid, a in articles.items()}
        triage = await asyncio.to_thread(self.registry.triage, feed.url, hashes, now=self.clock(),
                                         touch_after_s=self.touch_after_s)
        # Another poll of this process (another feed carrying the same article) may be producing an id right
        # now: it has the id reserved; this poll leaves the id to it and only notes that this feed shows it.
        loop = asyncio.get_running_loop()
        others = {aid: self._producing[aid] for aid in triage.to_produce if aid in self._producing}
        reserved = {aid: loop.create_future() for aid in triage.to_produce if aid not in others}
        self._producing.update(reserved)
        produced: dict[str, tuple[str, int]] = {}
        complete = True
        try:
            to_produce = [self._prepare(a, feed, triage.versions.get(aid)) for aid, a in articles.items()
                          if aid in reserved]
            if feed.full_text and to_produce:
                to_produce = list(await asyncio.gather(*(self._with_full_text(a) for a in to_produce)))
            try:
                for article in to_produce:
                    try:
                        await self.produce(article)  # returns once the broker acknowledged it
                    except asyncio.CancelledError:
                        raise
                    except Exception as exc:
                        raise ProduceError(f"could not produce {len(to_produce) - len(produced)} articles: "
                                           f"{exc!r}") from exc
                    produced[article.id] = (hashes[article.id], article.version)
            finally:
                # remember what was acknowledged, and the items there was nothing to produce for; an item whose
                # produce did not happen stays unremembered, so the next poll produces it
                shown = {aid: digest for aid, digest in hashes.items()
                         if aid in produced or (aid in triage.known and aid not in triage.fresh)}
                for aid, done in others.items():
                    if await asyncio.shield(done):  # produced by the other poll: shown by this feed too
                        shown[aid] = hashes[aid]
                    else:
                        complete = False  # nobody produced it: this feed's next poll must not skip its body
                if produced or shown:
                    await asyncio.to_thread(self.registry.record_items, feed.url, produced=produced, shown=shown,
                                            now=self.clock())
        finally:
            for aid, future in reserved.items():
                self._producing.pop(aid, None)
                if not future.done():
                    future.set_result(aid in produced)
        new_here = sum(1 for aid in triage.new if aid in produced)
        await self._succeeded(feed, etag=result.etag, last_modified=result.last_modified,
                              new_items=len(triage.first_in_feed), produced=len(produced), max_age_s=max_age,
                              ttl_s=ttl, title=parsed.title)
        self._report(PollReport("ok", new=new_here, updated=len(produced) - new_here))
        if produced:
            log.info("feed %s: produced %d new and %d updated articles", redact_url(feed.url), new_here,
                     len(produced) - new_here, extra={"feed_url": redact_url(feed.url)})
        return len(produced), complete

    def _prepare(self, article: Article, feed: Feed, last_version: int | None) -> Article:
        """Apply the feed's settings and make an update's version strictly higher than the last produced one."""
        changes: dict[str, Any] = {}
        if feed.language:
            changes["feed_language"] = feed.language
        if not article.feed_title and feed.title:
            changes["feed_title"] = feed.title
        if last_version is not None and article.version <= last_version:
            changes["version"] = last_version + 1
        return article.model_copy(update=changes) if changes else article

    def _needs_full_text(self, article: Article) -> bool:
        """Only a summary (or a title, or a short text) from the feed: the page probably has more."""
        text = article.text.strip()
        source = article.model_dump(include={"text_source"}).get("text_source")
        return bool(article.link) and (source in ("summary", "title") or not text or text == article.summary.strip()
                                       or len(text) < self.full_text_min_chars)

    async def _with_full_text(self, article: Article) -> Article:
        """The article with the page's extracted text when the feed gave only a summary; on any failure the
        article as it was (logged): full text is a bonus, never a reason to lose or delay the item."""
        if self.full_text is None or not self._needs_full_text(article):
            return article
        assert article.link is not None
        try:
            async with self.full_text_semaphore:
                if self._full_text_takes_title:
                    text = await self.full_text(self.fetcher, article.link, title=article.title)  # type: ignore[call-arg]
                else:
                    text = await self.full_text(self.fetcher, article.link)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("feed %s: full text of %s failed: %r; keeping the feed's text", redact_url(article.feed_url),
                        article.link, exc, extra={"feed_url": redact_url(article.feed_url), "article_id": article.id})
            return article
        if not text or len(text.strip()) <= len(article.text.strip()):
            log.info("feed %s: no better full text for %s; keeping the feed's text", redact_url(article.feed_url),
                     article.link, extra={"feed_url": redact_url(article.feed_url), "article_id": article.id})
            return article
        text = text.strip()
        changes: dict[str, Any] = {"text": text}
        if "text_source" in Article.model_fields:
            changes["text_source"] = "fulltext"
        if "content_html" in Article.model_fields:  # keep the HTML form in step with the text
            changes["content_html"] = "".join(f"<p>{html.escape(p, quote=False)}</p>"
                                              for p in text.split("\n\n") if p.strip())
        return article.model_copy(update=changes)
