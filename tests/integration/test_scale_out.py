"""Scale out: two Faust workers share the feed list and each feed is polled by exactly one of them.

`newsdesk up` (the session's engines + worker A) and a second `newsdesk worker` (B) with the same environment and
data directory. Each worker polls only the feeds whose partition (a stable hash of the URL modulo the
partitions of articles.raw) it is assigned; the feed server tells them apart by User-Agent. When B stops, the
rebalance hands its partitions, and so its feeds, back to A.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.rss.registry import feed_partition
from tests.integration.conftest import Engines, Pipeline, stop_all, wait_until
from tests.loopback import QuietHandler, serve

FEEDS = 20
PARTITIONS = 4
INTERVAL_S = 2.0
UA_A, UA_B = "newsdesk-test/worker-A", "newsdesk-test/worker-B"
OWNERSHIP = re.compile(r"feed poller \(pid (\d+)\): polling the feeds of partitions \[([\d, ]*)\] of (\d+)")
EMPTY_FEED = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed %d</title>'
              b"<link>https://example.org/</link><description>empty</description></channel></rss>")


class CountingFeeds:
    """Serves /feed/N.xml (an empty RSS channel) and records (time, path, User-Agent) for every request."""

    def __init__(self) -> None:
        self.requests: list[tuple[float, str, str]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                with outer.lock:
                    outer.requests.append((time.monotonic(), self.path, self.headers.get("User-Agent", "")))
                number = int(re.sub(r"\D", "", self.path) or 0)
                body = EMPTY_FEED % number
                self.send_body(200, "application/rss+xml", body)

        self.server, self.base = serve(Handler)

    @property
    def urls(self) -> list[str]:
        return [f"{self.base}/feed/{i}.xml" for i in range(FEEDS)]

    def since(self, start: float, end: float | None = None) -> dict[str, dict[str, int]]:
        """{feed URL: {user agent: requests}} for requests in [start, end)."""
        counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        with self.lock:
            for at, path, agent in self.requests:
                if at >= start and (end is None or at < end):
                    counts[self.base + path][agent] += 1
        return counts


@pytest.fixture
def feeds() -> Iterator[CountingFeeds]:
    server = CountingFeeds()
    yield server
    server.server.shutdown()


def ownership(log: str) -> dict[int, set[int]]:
    """The latest partition set each worker process announced, by pid."""
    latest: dict[int, set[int]] = {}
    for pid, partitions, _count in OWNERSHIP.findall(log):
        latest[int(pid)] = {int(p) for p in partitions.split(",") if p.strip()}
    return latest


def test_two_workers_split_the_feeds_and_one_takes_over_when_the_other_stops(
        engines: Engines, tmp_path: Path, feeds: CountingFeeds) -> None:
    pipeline = Pipeline(tmp_path / "newsdesk", engines)
    pipeline.env.update({
        "NEWSDESK_USER_AGENT": UA_A,
        "NEWSDESK_TOPIC_PARTITIONS": str(PARTITIONS),
        "NEWSDESK_POLL_INTERVAL_S": str(INTERVAL_S),
        "NEWSDESK_POLL_MAX_INTERVAL_S": str(INTERVAL_S),
        "NEWSDESK_NLP_WORKERS": "1",
    })
    pipeline.cli("feeds", "add", *feeds.urls)
    worker_b: subprocess.Popen[bytes] | None = None
    b_log = tmp_path / "worker-b.log"
    try:
        pipeline.start()
        pipeline.wait_ready(90)
        wait_until(lambda: len(feeds.since(0)) == FEEDS, 60, "worker A alone to poll every feed")
        assert all(set(agents) == {UA_A} for agents in feeds.since(0).values())

        # a second worker process: same environment and data directory, its own User-Agent
        with open(b_log, "ab") as log:
            worker_b = subprocess.Popen([sys.executable, "-m", "newsdesk.cli", "worker", "--loglevel", "info"],
                                        env={**pipeline.env, "NEWSDESK_USER_AGENT": UA_B},
                                        stdout=log, stderr=subprocess.STDOUT)
        wait_until(lambda: "[^Worker]: Ready" in b_log.read_text(errors="replace"), 90, "worker B to be ready")

        def split() -> tuple[set[int], set[int]] | None:
            a = ownership(pipeline.log())
            b = ownership(b_log.read_text(errors="replace")).get(worker_b.pid) if worker_b else None
            a_sets = [s for pid, s in a.items() if worker_b is None or pid != worker_b.pid]
            if not a_sets or not b:
                return None
            mine_a = a_sets[-1]
            if mine_a and b and not mine_a & b and mine_a | b == set(range(PARTITIONS)):
                return mine_a, b
            return None

        parts_a, parts_b = wait_until(split, 120, "the partitions of articles.raw to be split between A and B")
        time.sleep(2 * INTERVAL_S)  # polls started before the rebalance have finished

        window_start = time.monotonic()
        time.sleep(6 * INTERVAL_S)
        window = feeds.since(window_start, time.monotonic())
        assert split() == (parts_a, parts_b), "a rebalance happened during the window"
        assert set(window) == set(feeds.urls), "every feed is polled"
        both = [url for url, agents in window.items() if len(agents) > 1]
        assert not both, f"polled by both workers: {both}"
        by_b = {url for url, agents in window.items() if UA_B in agents}
        assert by_b == {url for url in feeds.urls if feed_partition(url, PARTITIONS) in parts_b}
        assert by_b and len(by_b) < FEEDS
        most = max(sum(agents.values()) for agents in window.values())
        print(f"partitions A {sorted(parts_a)}, B {sorted(parts_b)}; feeds polled by B {len(by_b)} of {FEEDS}; "
              f"polls per feed in {6 * INTERVAL_S:.0f}s: {sorted(sum(a.values()) for a in window.values())}")
        assert most <= 6 * INTERVAL_S / (INTERVAL_S * 0.9) + 1, f"a feed was polled {most} times in the window"

        # stop B: its partitions, and so its feeds, go back to A
        worker_b.send_signal(signal.SIGTERM)
        assert worker_b.wait(90) == 0
        wait_until(lambda: ownership(pipeline.log()) and list(ownership(pipeline.log()).values())[-1]
                   == set(range(PARTITIONS)), 120, "worker A to own every partition again")
        time.sleep(INTERVAL_S)
        window_start = time.monotonic()
        wait_until(lambda: set(feeds.since(window_start)) == set(feeds.urls), 30, "worker A to poll every feed")
        assert all(set(agents) == {UA_A} for agents in feeds.since(window_start).values())
        code, _ = pipeline.stop()
        assert code == 0
    finally:
        stop_all(pipeline, worker_b)
