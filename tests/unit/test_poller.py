"""The poller against a scripted fetcher and a real SQLite registry: dedup, updates, health, schedule, ownership,
full text. The broker is a list (what `produce` was called with); Kafka itself is the integration tests' job."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest

from connectors.rss.fetch import FetchResult
from connectors.rss.poller import FeedPoller
from connectors.rss.registry import FeedRegistry, feed_partition
from connectors.rss.schedule import SchedulePolicy
from streams.records import Article

POLICY = SchedulePolicy(start_interval_s=300, min_interval_s=60, max_interval_s=3600, jitter=0.0)


def item(link: str | None, *, guid: str | None = None, title: str = "Title", summary: str = "Summary.",
         content: str | None = None) -> str:
    parts = [f"<title>{escape(title)}</title>", f"<description>{escape(summary)}</description>"]
    if link:
        parts.append(f"<link>{escape(link)}</link>")
    if guid:
        parts.append(f'<guid isPermaLink="false">{escape(guid)}</guid>')
    if content:
        parts.append(f"<content:encoded><![CDATA[{content}]]></content:encoded>")
    return f"<item>{''.join(parts)}</item>"


def rss(*items: str, ttl_min: int | None = None) -> bytes:
    ttl = f"<ttl>{ttl_min}</ttl>" if ttl_min else ""
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
            f'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>Test feed</title>'
            f'<link>https://news.example.org/</link><description>d</description>{ttl}{"".join(items)}'
            f'</channel></rss>').encode()


class ScriptedFetcher:
    """Answers each URL from a script: bytes (a 200 with that body), a FetchResult, or an exception."""

    def __init__(self) -> None:
        self.script: dict[str, Any] = {}
        self.requests: list[tuple[str, str | None]] = []
        self.closed = False

    async def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        self.requests.append((url, etag))
        answer = self.script[url]
        if callable(answer):
            answer = answer(etag)
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, FetchResult):
            return answer
        return FetchResult(url, status=200, body=answer, headers={"content-type": "application/rss+xml"},
                           etag=f'"{hash(answer)}"')

    async def aclose(self) -> None:
        self.closed = True


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Harness:
    def __init__(self, path: Path, **kwargs: Any) -> None:
        self.path = path
        self.registry = FeedRegistry(path)
        self.fetcher = ScriptedFetcher()
        self.produced: list[Article] = []
        self.clock = Clock()
        self.fail_produce: Callable[[Article], bool] = lambda article: False
        kwargs.setdefault("policy", POLICY)
        self.poller = self._poller(**kwargs)

    def _poller(self, **kwargs: Any) -> FeedPoller:
        async def produce(article: Article) -> None:
            if self.fail_produce(article):
                raise ConnectionError("broker unavailable")
            self.produced.append(article)

        kwargs.setdefault("rand", lambda: 0.5)
        return FeedPoller(self.registry, self.fetcher, produce, clock=self.clock,  # type: ignore[arg-type]
                          **kwargs)

    def restart(self, **kwargs: Any) -> None:
        """A new process: fresh registry connection and poller on the same file."""
        self.registry.close()
        self.registry = FeedRegistry(self.path)
        kwargs.setdefault("policy", POLICY)
        self.poller = self._poller(**kwargs)

    def serve(self, url: str, answer: Any) -> None:
        self.fetcher.script[url] = answer
        self.registry.add([url])

    def poll(self, *, advance_s: float = 4000) -> int:
        """Move the clock past every feed's next poll, then poll what is due."""
        self.clock.now += advance_s
        return asyncio.run(self.poller.run_once())

    def ids(self) -> list[str]:
        return [a.id for a in self.produced]


@pytest.fixture
def h(tmp_path: Path) -> Harness:
    return Harness(tmp_path / "registry.sqlite3")


FEED = "https://feeds.example.org/world.xml"
OTHER = "https://other.example.com/rss"


# -- dedup -----------------------------------------------------------------------------------------------------

def test_repeated_guids_within_and_across_polls_produce_once(h: Harness) -> None:
    body = rss(item("https://news.example.org/a", guid="g-a"), item("https://news.example.org/a", guid="g-a"),
               item("https://news.example.org/b", guid="g-b"))
    h.serve(FEED, body)
    assert h.poll() == 2
    assert h.poll() == 0
    assert h.poll() == 0
    assert len(h.ids()) == len(set(h.ids())) == 2
    feed = h.registry.get(FEED)
    assert feed and feed.items_seen == 2 and feed.last_success_at


def test_a_guid_that_changes_while_the_url_stays_produces_once(h: Harness) -> None:
    h.serve(FEED, rss(item("https://news.example.org/story", guid="v1")))
    h.poll()
    h.fetcher.script[FEED] = rss(item("https://news.example.org/story", guid="v2-regenerated"))
    h.poll()
    assert len(h.produced) == 1 and h.produced[0].guid == "v1"


def test_the_same_url_in_several_feeds_produces_once_whatever_each_feed_says(h: Harness) -> None:
    h.serve(FEED, rss(item("https://news.example.org/story", summary="Long summary from the first feed.")))
    h.serve(OTHER, rss(item("https://news.example.org/story", guid="other-guid", summary="Short.")))
    h.serve("https://third.example.net/feed", rss(item("https://news.example.org/story")))
    for _ in range(3):
        h.poll()
    assert len(h.produced) == 1


def test_feeds_polled_at_the_same_moment_produce_a_shared_article_once(tmp_path: Path) -> None:
    h = Harness(tmp_path / "r.sqlite3")
    urls = [f"https://feed{i}.example.org/rss" for i in range(5)]
    for i, url in enumerate(urls):
        h.serve(url, rss(item("https://news.example.org/shared", summary=f"Feed {i}'s words."),
                         item(f"https://news.example.org/own-{i}")))

    async def slow_produce(article: Article) -> None:
        await asyncio.sleep(0.02)  # the broker's acknowledgement takes a while
        h.produced.append(article)

    h.poller.produce = slow_produce
    h.poll()
    assert sorted(a.url or "" for a in h.produced) == sorted(["https://news.example.org/shared"] +
                                                             [f"https://news.example.org/own-{i}" for i in range(5)])
    h.poll()
    assert len(h.produced) == 6
    assert h.registry.dedup_size() == (6, 10)  # every feed remembers that it showed the shared article


def test_tracking_parameter_variants_produce_once(h: Harness) -> None:
    h.serve(FEED, rss(item("https://news.example.org/story?utm_source=rss&utm_medium=feed", guid="a"),
                      item("https://News.Example.org:443/story#comments", guid="b")))
    h.serve(OTHER, rss(item("https://news.example.org/story?fbclid=XYZ&utm_campaign=x", guid="c")))
    h.poll()
    h.poll()
    assert len(h.produced) == 1
    assert h.produced[0].url == "https://news.example.org/story"


def test_an_edited_article_is_produced_again_as_an_update_with_a_higher_version(h: Harness) -> None:
    h.serve(FEED, rss(item("https://news.example.org/story", title="First headline")))
    h.poll()
    h.fetcher.script[FEED] = rss(item("https://news.example.org/story", title="Corrected headline"))
    h.poll(advance_s=0)  # not due yet: nothing fetched
    assert len(h.fetcher.requests) == 1
    h.poll()
    h.poll()  # the edit is produced once, not at every poll
    first, update = h.produced
    assert update.id == first.id and update.title == "Corrected headline"
    assert update.version > first.version
    assert update.content_hash != first.content_hash


def test_an_update_gets_a_strictly_higher_version_even_if_the_clock_went_back(h: Harness) -> None:
    h.serve(FEED, rss(item("https://news.example.org/story", title="One")))
    h.poll()
    h.fetcher.script[FEED] = rss(item("https://news.example.org/story", title="Two"))
    with h.registry._tx() as db:  # pretend the last produce carried a version from the future
        db.execute("UPDATE seen SET version = ?", (h.produced[0].version + 10**9,))
    h.poll()
    assert h.produced[1].version == h.produced[0].version + 10**9 + 1


def test_a_second_feeds_different_rendering_is_not_an_update_but_its_own_edit_is(h: Harness) -> None:
    h.serve(FEED, rss(item("https://news.example.org/story", summary="Feed one's text.")))
    h.poll()
    h.serve(OTHER, rss(item("https://news.example.org/story", summary="Feed two's shorter text.")))
    h.poll()
    h.poll()
    assert len(h.produced) == 1
    h.fetcher.script[OTHER] = rss(item("https://news.example.org/story", summary="Feed two, corrected."))
    h.poll()
    h.poll()
    assert [a.summary for a in h.produced] == ["Feed one's text.", "Feed two, corrected."]


def test_dedup_memory_survives_a_restart(h: Harness) -> None:
    h.serve(FEED, rss(item("https://news.example.org/a"), item("https://news.example.org/b")))
    h.poll()
    h.restart()
    h.poll()
    assert len(h.produced) == 2


def test_dedup_memory_is_bounded_by_the_ttl_setting(h: Harness) -> None:
    h.restart(dedup_ttl_s=10 * 86400)
    h.serve(FEED, rss(*(item(f"https://news.example.org/{i}") for i in range(5))))
    h.poll()
    assert h.registry.dedup_size() == (5, 5)
    # items still in the feed stay remembered however long: they are seen again at every poll
    for _ in range(30):
        h.poll(advance_s=86400)
    assert h.registry.dedup_size() == (5, 5) and len(h.produced) == 5
    # items that left every feed are forgotten once the ttl has passed
    h.fetcher.script[FEED] = rss(item("https://news.example.org/new"))
    h.poll(advance_s=86400)
    assert h.registry.dedup_size() == (6, 6)
    for _ in range(11):
        h.poll(advance_s=86400)
    assert h.registry.dedup_size() == (1, 1)
    assert len(h.produced) == 6


def test_an_unchanged_feed_answering_304_keeps_its_articles_remembered(h: Harness) -> None:
    h.restart(dedup_ttl_s=10 * 86400)

    def answer(etag: str | None) -> FetchResult:
        if etag:
            return FetchResult(FEED, status=304)
        return FetchResult(FEED, status=200, body=rss(item("https://news.example.org/a"),
                                                      item("https://news.example.org/b")), etag='"v1"')

    h.serve(FEED, answer)
    h.poll()
    for _ in range(40):  # 40 days of 304s
        h.poll(advance_s=86400)
    assert h.registry.dedup_size() == (2, 2)
    h.fetcher.script[FEED] = rss(item("https://news.example.org/a"), item("https://news.example.org/b"),
                                 item("https://news.example.org/c"))  # the feed changes at last
    h.poll()
    assert [a.url for a in h.produced] == ["https://news.example.org/a", "https://news.example.org/b",
                                           "https://news.example.org/c"]


def test_forget_older_than_drops_both_tables(h: Harness) -> None:
    h.registry.record_items(FEED, produced={"a": ("h", 1)}, shown={"a": "h", "b": "h"}, now=1000.0)
    with h.registry._tx() as db:
        db.execute("INSERT INTO seen (article_id, content_hash, produced_at, last_seen_at) VALUES ('b', 'h', 0, 2000)")
    assert h.registry.forget_older_than(500, now=2100.0) == 1
    assert h.registry.dedup_size() == (1, 0)


def test_an_article_is_remembered_only_after_the_broker_acknowledged_it(h: Harness) -> None:
    h.serve(FEED, rss(item("https://news.example.org/a"), item("https://news.example.org/b"),
                      item("https://news.example.org/c")))
    h.fail_produce = lambda article: article.url == "https://news.example.org/b"
    h.poll()
    assert [a.url for a in h.produced] == ["https://news.example.org/a"]
    feed = h.registry.get(FEED)
    # the broker's trouble is not the feed's: no failure counted, validators kept, retried soon
    assert feed and feed.consecutive_failures == 0 and "broker unavailable" in (feed.last_error or "")
    assert feed.etag is None and feed.next_poll_at == pytest.approx(h.clock.now + POLICY.min_interval_s)
    h.fail_produce = lambda article: False
    h.poll(advance_s=POLICY.min_interval_s)
    assert [a.url for a in h.produced] == ["https://news.example.org/a", "https://news.example.org/b",
                                           "https://news.example.org/c"]


def test_a_registry_from_before_the_dedup_changes_is_migrated_without_reproducing(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.executescript("""
        CREATE TABLE feeds (url TEXT PRIMARY KEY, added_at REAL NOT NULL, enabled INTEGER NOT NULL DEFAULT 1,
            etag TEXT, last_modified TEXT, last_polled_at REAL, last_success_at REAL, last_error TEXT,
            consecutive_failures INTEGER NOT NULL DEFAULT 0, items_seen INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE seen (article_id TEXT PRIMARY KEY, content_hash TEXT NOT NULL, produced_at REAL NOT NULL);
    """)
    old.execute("INSERT INTO feeds (url, added_at, last_polled_at, items_seen) VALUES (?, 1, 2, 7)", (FEED,))
    old.commit()
    old.close()
    h = Harness(path)
    h.fetcher.script[FEED] = rss(item("https://news.example.org/a"))
    # what the old poller remembered for this article
    from connectors.rss.parse import parse_feed
    [article] = parse_feed(h.fetcher.script[FEED], feed_url=FEED).articles
    with h.registry._tx() as db:
        db.execute("INSERT INTO seen (article_id, content_hash, produced_at) VALUES (?, ?, 5)",
                   (article.id, article.content_hash))
    h.poll()
    assert h.produced == []
    feed = h.registry.get(FEED)
    assert feed and feed.items_seen == 7 and feed.enabled and feed.tags == []


# -- health and schedule ---------------------------------------------------------------------------------------

def test_failures_are_counted_backed_off_and_the_feed_disabled_after_the_threshold(h: Harness) -> None:
    h.restart(disable_after_failures=3)
    h.serve(FEED, FetchResult(FEED, status=500, error="HTTP 500"))
    h.serve(OTHER, rss(item("https://news.example.org/a")))
    h.poll()
    feed = h.registry.get(FEED)
    assert feed and feed.consecutive_failures == 1 and feed.last_error == "HTTP 500" and feed.last_error_at
    assert feed.schedule_reason == "backoff" and feed.next_poll_at
    first_delay = feed.next_poll_at - h.clock.now
    h.poll(advance_s=first_delay + 1)
    feed = h.registry.get(FEED)
    assert feed and feed.consecutive_failures == 2 and feed.next_poll_at - h.clock.now >= 2 * first_delay / 1.5
    h.poll(advance_s=4000)
    feed = h.registry.get(FEED)
    assert feed and not feed.enabled and feed.consecutive_failures == 3
    assert feed.disabled_reason == "disabled after 3 consecutive failures; last: HTTP 500"
    requests = len(h.fetcher.requests)
    h.poll()
    assert [u for u, _ in h.fetcher.requests[requests:]] == [OTHER]  # a disabled feed is not polled
    # the other feed was never affected; enabling starts afresh and polls at once
    assert h.registry.get(OTHER).consecutive_failures == 0  # type: ignore[union-attr]
    h.fetcher.script[FEED] = rss(item("https://news.example.org/b"))
    assert h.registry.enable(FEED)
    h.poll(advance_s=0)
    feed = h.registry.get(FEED)
    assert feed and feed.enabled and feed.consecutive_failures == 0 and feed.disabled_reason is None
    assert feed.last_error is None and feed.last_success_at


def test_a_success_resets_the_failure_streak(h: Harness) -> None:
    h.serve(FEED, FetchResult(FEED, error="ConnectError: refused"))
    h.poll()
    h.poll()
    h.fetcher.script[FEED] = rss(item("https://news.example.org/a"))
    h.poll()
    feed = h.registry.get(FEED)
    assert feed and feed.consecutive_failures == 0 and feed.last_error is None and feed.enabled


def test_410_gone_disables_at_once(h: Harness) -> None:
    h.serve(FEED, FetchResult(FEED, status=410, error="HTTP 410"))
    h.poll()
    feed = h.registry.get(FEED)
    assert feed and not feed.enabled and "HTTP 410" in (feed.disabled_reason or "")


def test_not_a_feed_is_a_failure_and_an_empty_feed_a_success(h: Harness) -> None:
    h.serve(FEED, b"<html><body>Hello</body></html>")
    h.serve(OTHER, rss())
    h.poll()
    assert "not a feed" in (h.registry.get(FEED).last_error or "")  # type: ignore[union-attr]
    assert h.registry.get(OTHER).last_success_at  # type: ignore[union-attr]


def test_an_unexpected_exception_is_recorded_and_the_others_go_on(h: Harness) -> None:
    h.serve(FEED, RuntimeError("boom"))
    h.serve(OTHER, rss(item("https://news.example.org/a")))
    assert h.poll() == 1
    assert "boom" in (h.registry.get(FEED).last_error or "")  # type: ignore[union-attr]


def test_retry_after_and_max_age_and_ttl_push_the_next_poll_back(h: Harness) -> None:
    limited = FetchResult(FEED, status=429, error="HTTP 429")
    limited.retry_after_s = 3000  # helper-owned field; set as an attribute so the test runs with either version
    h.serve(FEED, limited)
    cached = FetchResult(OTHER, status=304)
    cached.max_age_s = 2400
    h.serve(OTHER, cached)
    ttl = "https://ttl.example.org/feed"
    h.serve(ttl, rss(item("https://news.example.org/a"), ttl_min=50))
    h.poll()
    now = h.clock.now
    by_url = {f.url: f for f in h.registry.list()}
    assert by_url[FEED].next_poll_at == pytest.approx(now + 3000) and by_url[FEED].schedule_reason == "retry-after"
    assert by_url[OTHER].next_poll_at == pytest.approx(now + 2400) and by_url[OTHER].schedule_reason == "max-age"
    from connectors.rss.parse import ParsedFeed
    if "ttl_s" in ParsedFeed.__dataclass_fields__:
        assert by_url[ttl].next_poll_at == pytest.approx(now + 3000) and by_url[ttl].schedule_reason == "ttl"
        assert by_url[ttl].feed_ttl_s == 3000


def test_not_modified_keeps_the_validators_and_grows_the_interval(h: Harness) -> None:
    def answer(etag: str | None) -> FetchResult | bytes:
        if etag == '"v1"':
            return FetchResult(FEED, status=304)
        return FetchResult(FEED, status=200, body=rss(item("https://news.example.org/a")), etag='"v1"')

    h.serve(FEED, answer)
    h.poll()
    intervals = []
    for _ in range(3):
        h.poll()
        feed = h.registry.get(FEED)
        assert feed and feed.etag == '"v1"'
        intervals.append(feed.adaptive_interval_s)
    assert [etag for _, etag in h.fetcher.requests] == [None, '"v1"', '"v1"', '"v1"']
    assert intervals == [450, 675, 1012.5]
    assert len(h.produced) == 1


def test_busy_feeds_are_polled_more_often(h: Harness) -> None:
    counter = iter(range(10**6))
    h.serve(FEED, lambda etag: rss(*(item(f"https://news.example.org/{next(counter)}") for _ in range(20))))
    h.poll()
    h.poll(advance_s=300)
    feed = h.registry.get(FEED)
    assert feed and feed.adaptive_interval_s == POLICY.min_interval_s and feed.schedule_reason == "adaptive"


def test_the_schedule_survives_a_restart_and_new_feeds_are_due_at_once(h: Harness) -> None:
    h.serve(FEED, rss(item("https://news.example.org/a")))
    h.poll()
    next_poll = h.registry.get(FEED).next_poll_at  # type: ignore[union-attr]
    assert next_poll and next_poll > h.clock.now
    h.restart()
    assert h.poll(advance_s=0) == 0 and len(h.fetcher.requests) == 1  # not due: not fetched again
    h.serve(OTHER, rss(item("https://news.example.org/b")))
    assert h.poll(advance_s=0) == 1 and [u for u, _ in h.fetcher.requests] == [FEED, OTHER]


def test_a_per_feed_interval_overrides_the_adaptive_one(h: Harness) -> None:
    h.serve(FEED, rss(item("https://news.example.org/a")))
    h.registry.configure(FEED, interval_s=120)
    h.poll()
    feed = h.registry.get(FEED)
    assert feed and feed.next_poll_at == pytest.approx(h.clock.now + 120) and feed.schedule_reason == "override"


def test_the_language_hint_overrides_the_feed_and_the_title_is_learnt(h: Harness) -> None:
    h.serve(FEED, rss(item("https://news.example.org/a")))
    h.registry.configure(FEED, language="it")
    h.poll()
    assert h.produced[0].feed_language == "it"
    assert h.registry.get(FEED).title == "Test feed"  # type: ignore[union-attr]


# -- ownership (scale out) -------------------------------------------------------------------------------------

def test_feed_partition_is_stable_and_spreads() -> None:
    assert feed_partition("https://feeds.example.org/world.xml", 4) == feed_partition(
        "https://feeds.example.org/world.xml", 4)
    assert feed_partition("https://feeds.example.org/world.xml", 1) == 0
    counts = [0] * 4
    for i in range(1000):
        counts[feed_partition(f"https://feeds.example.org/{i}.xml", 4)] += 1
    assert min(counts) > 200


def test_a_poller_polls_only_the_feeds_it_owns(h: Harness) -> None:
    urls = [f"https://feeds.example.org/{i}.xml" for i in range(20)]
    for url in urls:
        h.serve(url, rss())
    mine = {0, 2}
    h.clock.now += 1
    asyncio.run(h.poller.run_once(owns=lambda url: feed_partition(url, 4) in mine))
    polled = {u for u, _ in h.fetcher.requests}
    assert polled == {u for u in urls if feed_partition(u, 4) in mine} and polled


def test_two_pollers_sharing_a_registry_never_poll_a_feed_twice(tmp_path: Path) -> None:
    """Even when both think they own every feed (the moment of a rebalance), the claim decides."""
    path = tmp_path / "shared.sqlite3"
    one, two = Harness(path), Harness(path)
    urls = [f"https://feeds.example.org/{i}.xml" for i in range(30)]
    for url in urls:
        one.serve(url, rss(item(url + "/story")))
        two.fetcher.script[url] = one.fetcher.script[url]
    two.clock = one.clock
    two.poller.clock = one.clock

    async def both() -> None:
        await asyncio.gather(one.poller.run_once(), two.poller.run_once())

    one.clock.now += 1
    asyncio.run(both())
    polled = [u for u, _ in one.fetcher.requests] + [u for u, _ in two.fetcher.requests]
    assert sorted(polled) == sorted(urls)


def test_a_crashed_pollers_claims_come_back_after_the_lease(h: Harness) -> None:
    h.serve(FEED, rss(item("https://news.example.org/a")))
    h.clock.now += 1
    assert h.registry.claim([FEED], now=h.clock.now, lease_s=600) == [FEED]  # then "crashes"
    assert h.poll(advance_s=300) == 0 and h.fetcher.requests == []
    assert h.poll(advance_s=301) == 1


def test_start_due_polls_in_the_background_and_aclose_hands_unfinished_feeds_back(h: Harness) -> None:
    release = asyncio.Event

    async def scenario() -> None:
        gate = release()

        class SlowFetcher(ScriptedFetcher):
            async def fetch(self, url: str, **kwargs: Any) -> FetchResult:
                if url == OTHER:
                    await gate.wait()
                return await super().fetch(url, **kwargs)

        slow = SlowFetcher()
        slow.script = {FEED: rss(item("https://news.example.org/a")), OTHER: rss()}
        h.poller.fetcher = slow  # type: ignore[assignment]
        h.registry.add([FEED, OTHER])
        h.clock.now += 1
        assert h.poller.start_due() == 2
        assert h.poller.start_due() == 0  # in flight: not started twice
        await asyncio.sleep(0.05)
        assert len(h.produced) == 1 and set(h.poller.in_flight) == {OTHER}
        await h.poller.aclose(timeout_s=0.05)
        assert slow.closed and not h.poller.in_flight

    asyncio.run(scenario())
    other = h.registry.get(OTHER)
    assert other and other.next_poll_at == pytest.approx(h.clock.now) and other.last_polled_at is None


# -- full text -------------------------------------------------------------------------------------------------

SUMMARY_ONLY = item("https://news.example.org/story", summary="Only a teaser.")
PAGE_TEXT = "The whole article, as extracted from its page.\n\n" + "More text. " * 60


def full_text_harness(tmp_path: Path, answer: Callable[[str], Any]) -> tuple[Harness, list[str]]:
    calls: list[str] = []

    async def fetch_full_text(fetcher: Any, url: str) -> str | None:
        calls.append(url)
        result = answer(url)
        if isinstance(result, Exception):
            raise result
        return result

    h = Harness(tmp_path / "r.sqlite3", full_text=fetch_full_text)
    return h, calls


def test_full_text_replaces_a_summary_when_the_feed_asks_for_it(tmp_path: Path) -> None:
    h, calls = full_text_harness(tmp_path, lambda url: PAGE_TEXT)
    h.serve(FEED, rss(SUMMARY_ONLY, item("https://news.example.org/long", content="<p>" + "Body. " * 200 + "</p>")))
    h.registry.configure(FEED, full_text=True)
    h.serve(OTHER, rss(item("https://news.example.org/other", summary="Teaser.")))  # full text off
    h.poll()
    by_url = {a.url: a for a in h.produced}
    assert calls == ["https://news.example.org/story"]  # only the summary-only item of the full-text feed
    assert by_url["https://news.example.org/story"].text == PAGE_TEXT.strip()
    assert by_url["https://news.example.org/story"].summary == "Only a teaser."
    assert by_url["https://news.example.org/other"].text == "Teaser."
    if "text_source" in Article.model_fields:
        story = by_url["https://news.example.org/story"].model_dump()
        assert story["text_source"] == "fulltext"
        assert story["content_html"].startswith("<p>The whole article, as extracted from its page.</p><p>More")
        assert by_url["https://news.example.org/other"].model_dump()["text_source"] == "summary"
    h.poll()
    assert calls == ["https://news.example.org/story"]  # not fetched again for an unchanged item


@pytest.mark.parametrize("answer", [ConnectionError("page down"), None, "short"])
def test_a_full_text_failure_keeps_the_summary_and_the_feed_healthy(tmp_path: Path, answer: Any) -> None:
    h, calls = full_text_harness(tmp_path, lambda url: answer)
    h.serve(FEED, rss(SUMMARY_ONLY))
    h.registry.configure(FEED, full_text=True)
    h.poll()
    [article] = h.produced
    assert calls and article.text == "Only a teaser."
    feed = h.registry.get(FEED)
    assert feed and feed.consecutive_failures == 0 and feed.last_error is None


def test_full_text_end_to_end_with_the_real_fetcher_and_extractor(tmp_path: Path) -> None:
    """A loopback server: a summary-only feed and its article page; the real FeedFetcher and fetch_full_text."""
    from connectors.rss.fetch import FeedFetcher
    from tests.loopback import QuietHandler, serve

    paragraphs = [f"Paragraph {i} of the council's long report on the harbour, the ferry line and the budget "
                  f"that the city approved after a debate lasting well into the night." for i in range(8)]
    page = ("<html><head><title>Harbour</title></head><body><nav>Home | World | Sport</nav><article>"
            "<h1>Council approves the harbour budget</h1>" + "".join(f"<p>{p}</p>" for p in paragraphs)
            + "</article><footer>Copyright</footer></body></html>").encode()
    served: dict[str, tuple[str, bytes]] = {}

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            content_type, body = served.get(self.path, ("text/plain", b""))
            self.send_body(200 if self.path in served else 404, content_type, body)

    server, base = serve(Handler)
    served["/feed.xml"] = ("application/rss+xml", rss(item(f"{base}/story", title="Council approves the harbour "
                                                            "budget", summary="The council said yes."),
                                                       item(f"{base}/missing", summary="Gone page.")))
    served["/story"] = ("text/html; charset=utf-8", page)
    try:
        registry = FeedRegistry(tmp_path / "r.sqlite3")
        registry.add([f"{base}/feed.xml"], full_text=True)
        produced: list[Article] = []

        async def produce(article: Article) -> None:
            produced.append(article)

        async def run() -> None:
            fetcher = FeedFetcher(user_agent="newsdesk-test", timeout_s=10, max_bytes=1 << 20,
                                  allow_private_addresses=True)
            poller = FeedPoller(registry, fetcher, produce, policy=POLICY)
            await poller.run_once()
            await poller.aclose()

        asyncio.run(run())
    finally:
        server.shutdown()
    by_link = {a.link: a.model_dump() for a in produced}
    story, missing = by_link[f"{base}/story"], by_link[f"{base}/missing"]
    assert story["text"].split("\n\n") == paragraphs and story["summary"] == "The council said yes."
    assert "Home | World" not in story["text"] and "Copyright" not in story["text"]
    assert missing["text"] == "Gone page."  # the page 404s: the summary stays
    if "text_source" in Article.model_fields:
        assert (story["text_source"], missing["text_source"]) == ("fulltext", "summary")
    feed = registry.get(f"{base}/feed.xml")
    assert feed and feed.last_error is None and feed.consecutive_failures == 0


def _count_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the feed URL of every parse_feed call the poller makes (the real parser still runs)."""
    from connectors.rss import poller as poller_module

    calls: list[str] = []
    real = poller_module.parse_feed

    def counting(data: bytes, **kwargs: Any) -> Any:
        calls.append(kwargs["feed_url"])
        return real(data, **kwargs)

    monkeypatch.setattr(poller_module, "parse_feed", counting)
    return calls


def _no_validators(body: bytes) -> FetchResult:
    """A 200 from a server that sends neither ETag nor Last-Modified, so every poll gets the whole body."""
    return FetchResult(FEED, status=200, body=body, headers={"content-type": "application/rss+xml"})


def test_an_identical_body_is_handled_like_a_304_and_a_changed_one_is_parsed(
        h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    parses = _count_parses(monkeypatch)
    a, b, c = (item(f"https://news.example.org/{x}") for x in "abc")
    h.serve(FEED, _no_validators(rss(a, b)))
    h.poll()
    h.poll()
    assert parses == [FEED] and len(h.produced) == 2
    feed = h.registry.get(FEED)
    assert feed and feed.last_success_at == h.clock.now and feed.consecutive_failures == 0
    h.fetcher.script[FEED] = _no_validators(rss(a, b, c))
    h.poll()
    assert parses == [FEED, FEED]
    assert [x.url for x in h.produced] == [f"https://news.example.org/{x}" for x in "abc"]


def test_an_identical_body_is_processed_again_after_a_failure_and_after_the_touch_period(
        h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    parses = _count_parses(monkeypatch)
    body = rss(item("https://news.example.org/a"), item("https://news.example.org/b"))
    h.serve(FEED, _no_validators(body))
    h.fail_produce = lambda article: article.url == "https://news.example.org/b"
    h.poll()
    h.fail_produce = lambda article: False
    h.poll(advance_s=POLICY.min_interval_s)  # same bytes: b was never acknowledged, so they are processed again
    assert len(parses) == 2
    assert [x.url for x in h.produced] == ["https://news.example.org/a", "https://news.example.org/b"]
    h.poll(advance_s=h.poller.touch_after_s + 1)  # past the touch period: parsed so its items stay remembered
    assert len(parses) == 3 and len(h.produced) == 2

    h.serve(OTHER, b"<html><body>Not a feed</body></html>")
    for _ in range(3):  # the same broken body is a failure every time, never a cached success
        h.poll()
    other = h.registry.get(OTHER)
    assert other and other.consecutive_failures == 3 and parses.count(OTHER) == 3
