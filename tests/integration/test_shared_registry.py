"""Several hosts share the feed registry through Kafka (NEWSDESK_REGISTRY=kafka); no SQLite is shared.

Host A is `newsdesk up` (embedded noida-db + worker), host B a `newsdesk worker` with its own data directory.
Feeds added with the CLI go to the compacted `newsdesk.feeds` topic; each feed is polled by the one worker that
owns its partition; the polling state (ETag, next poll, health) travels through `newsdesk.feed-state`, so the
worker that takes a feed over (after a stop, or a restart on an empty data directory) asks with the ETag the
other one got; and one article in two feeds owned by different hosts reaches articles.raw once.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, TopicPartition

from connectors.rss.registry import feed_partition
from tests.integration.conftest import Engines, Pipeline, stop_all, wait_until
from tests.integration.test_scale_out import ownership
from tests.loopback import QuietHandler, serve

pytestmark = pytest.mark.integration

FEEDS = 12
PARTITIONS = 4
INTERVAL_S = 2.0
UA_A, UA_B = "newsdesk-test/host-A", "newsdesk-test/host-B"
SHARED_STORY = "https://news.example.org/world/shared-story"
ITEM = ("<item><title>{title}</title><link>{link}</link><guid>{guid}</guid>"
        "<description>{text}</description></item>")


class Feeds:
    """/feed/N.xml: one story of its own; /shared/N.xml: the same story (another GUID and summary per feed).
    Every answer carries an ETag and a matching If-None-Match gets a 304. Records (time, path, UA, sent ETag)."""

    def __init__(self) -> None:
        self.requests: list[tuple[float, str, str, str | None]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                sent = self.headers.get("If-None-Match")
                with outer.lock:
                    outer.requests.append((time.monotonic(), self.path, self.headers.get("User-Agent", ""), sent))
                etag = f'"{self.path}-v1"'
                if sent == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                number = re.sub(r"\D", "", self.path) or "0"
                if self.path.startswith("/shared/"):
                    item = ITEM.format(title="One story, two feeds", link=SHARED_STORY, guid=f"shared-{number}",
                                       text=f"As told by feed {number}.")
                else:
                    item = ITEM.format(title=f"Story {number}", link=f"https://news.example.org/own/{number}",
                                       guid=f"own-{number}", text=f"Only in feed {number}.")
                body = (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {number}</title>'
                        f"<link>https://news.example.org/</link><description>d</description>{item}"
                        f"</channel></rss>").encode()
                self.send_body(200, "application/rss+xml", body, {"ETag": etag})

        self.server, self.base = serve(Handler)

    @property
    def urls(self) -> list[str]:
        return [f"{self.base}/feed/{i}.xml" for i in range(FEEDS)]

    def since(self, start: float) -> list[tuple[float, str, str, str | None]]:
        with self.lock:
            return [(at, self.base + path, agent, etag) for at, path, agent, etag in self.requests if at >= start]


@pytest.fixture
def feeds() -> Iterator[Feeds]:
    server = Feeds()
    yield server
    server.server.shutdown()


def start_worker(pipeline: Pipeline, data_dir: Path, log_path: Path) -> subprocess.Popen[bytes]:
    """Another host: the same Kafka, its own data directory (its registry copy and Faust state)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        return subprocess.Popen([sys.executable, "-m", "newsdesk.cli", "worker", "--loglevel", "info"],
                                env={**pipeline.env, "NEWSDESK_DATA_DIR": str(data_dir), "NEWSDESK_USER_AGENT": UA_B},
                                stdout=log, stderr=subprocess.STDOUT)


def split(a_log: str, b_log: str, b_pid: int) -> tuple[set[int], set[int]] | None:
    a = [s for pid, s in ownership(a_log).items() if pid != b_pid]
    b = ownership(b_log).get(b_pid)
    if a and b and not a[-1] & b and a[-1] | b == set(range(PARTITIONS)):
        return a[-1], b
    return None


def raw_messages(pipeline: Pipeline, topic: str) -> list[dict[str, Any]]:
    consumer = KafkaConsumer(bootstrap_servers=pipeline.bootstrap, group_id=None,
                             enable_auto_commit=False, receive_message_max_bytes=64 * 1024 * 1024)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        values = []
        while any(consumer.position(tp) < end for tp, end in ends.items()):
            for records in consumer.poll(timeout_ms=500).values():
                values += [json.loads(r.value) for r in records]
        return values
    finally:
        consumer.close()


def first_requests(requests: list[tuple[float, str, str, str | None]], urls: set[str]) -> dict[str, tuple[str, Any]]:
    """{url: (user agent, If-None-Match)} of the first request to each of `urls`."""
    first: dict[str, tuple[str, Any]] = {}
    for _, url, agent, etag in requests:
        if url in urls and url not in first:
            first[url] = (agent, etag)
    return first


def test_hosts_share_feeds_state_and_dedup_through_kafka(
        engines: Engines, tmp_path: Path, feeds: Feeds) -> None:
    pipeline = Pipeline(tmp_path / "host-a", engines)
    pipeline.env.update({
        "NEWSDESK_REGISTRY": "kafka",
        "NEWSDESK_USER_AGENT": UA_A,
        "NEWSDESK_TOPIC_PARTITIONS": str(PARTITIONS),
        "NEWSDESK_POLL_INTERVAL_S": str(INTERVAL_S),
        "NEWSDESK_POLL_MAX_INTERVAL_S": str(INTERVAL_S),
        "NEWSDESK_NLP_WORKERS": "1",
        "NEWSDESK_NLP_MODELS": json.dumps({"*": "newsdesk:it_gazetteer"}),  # loads in no time; NER is not tested here
    })
    worker_b: subprocess.Popen[bytes] | None = None
    try:
        pipeline.start()
        pipeline.wait_ready(90)
        assert "added:" in pipeline.cli("feeds", "add", *feeds.urls, "--tag", "shared").stdout
        wait_until(lambda: {url for _, url, _, _ in feeds.since(0)} == set(feeds.urls), 60, "A to poll every feed")
        assert not (tmp_path / "host-a" / "newsdesk.sqlite3").exists(), "the kafka registry keeps no shared SQLite"
        # the stories indexed: no batch in flight when B joins (noida lets a rebalance hang when a member is
        # slow to give its partitions back)
        wait_until(lambda: pipeline.count() == FEEDS, 90, "A to index one story per feed")

        b_log = tmp_path / "host-b.log"
        worker_b = start_worker(pipeline, tmp_path / "host-b", b_log)
        b_pid = worker_b.pid
        parts_a, parts_b = wait_until(lambda: split(pipeline.log(), b_log.read_text(errors="replace"), b_pid), 150,
                                      "the partitions to be split between hosts A and B")
        owned_by_b = {url for url in feeds.urls if feed_partition(url, PARTITIONS) in parts_b}
        assert owned_by_b and len(owned_by_b) < FEEDS

        # one story in two feeds, one owned by each host
        candidates = [f"{feeds.base}/shared/{k}.xml" for k in range(64)]
        shared_a = next(u for u in candidates if feed_partition(u, PARTITIONS) in parts_a)
        shared_b = next(u for u in candidates if feed_partition(u, PARTITIONS) in parts_b)
        pipeline.cli("feeds", "add", shared_a, shared_b)

        time.sleep(2 * INTERVAL_S)  # polls started before the split have finished
        start = time.monotonic()
        time.sleep(6 * INTERVAL_S)
        window = feeds.since(start)
        assert split(pipeline.log(), b_log.read_text(errors="replace"), b_pid) == (parts_a, parts_b)
        agents: dict[str, set[str]] = {}
        for _, url, agent, _ in window:
            agents.setdefault(url, set()).add(agent)
        assert set(agents) == {*feeds.urls, shared_a, shared_b}, "every feed is polled"
        assert all(len(a) == 1 for a in agents.values()), f"polled by both hosts: {agents}"
        assert {url for url, a in agents.items() if a == {UA_B}} == owned_by_b | {shared_b}
        assert all(etag for _, url, _, etag in window if url in feeds.urls), "an unconditional GET of a known feed"

        stories = [m for m in raw_messages(pipeline, pipeline.topic("articles.raw")) if m["url"] == SHARED_STORY]
        offered = [m for m in raw_messages(pipeline, pipeline.topic("articles.candidates")) if m["url"] == SHARED_STORY]
        print(f"A {sorted(parts_a)} B {sorted(parts_b)}; B polls {len(owned_by_b)} of {FEEDS} feeds; shared story: "
              f"offered by {sorted(m['feed_url'] for m in offered)}, produced {len(stories)}x")
        assert {m["feed_url"] for m in offered} == {shared_a, shared_b}, "each host offered the story"
        assert len(stories) == 1, "the story in two feeds of two hosts is produced once"

        # B stops: A takes its feeds over and asks with the ETags B got (from newsdesk.feed-state)
        worker_b.send_signal(signal.SIGTERM)
        assert worker_b.wait(90) == 0
        wait_until(lambda: list(ownership(pipeline.log()).values())[-1] == set(range(PARTITIONS)), 150,
                   "A to own every partition")
        start = time.monotonic()
        wait_until(lambda: set(first_requests(feeds.since(start), owned_by_b)) == owned_by_b, 30, "A to poll B's feeds")
        assert all(agent == UA_A and etag for agent, etag in first_requests(feeds.since(start), owned_by_b).values())

        # B comes back as a new host (empty data directory): its copy is read from Kafka, ETags included
        worker_b = start_worker(pipeline, tmp_path / "host-b-new", b_log)
        b_pid = worker_b.pid
        parts_a, parts_b = wait_until(lambda: split(pipeline.log(), b_log.read_text(errors="replace"), b_pid), 150,
                                      "the partitions to be split again")
        owned_by_b = {url for url in feeds.urls if feed_partition(url, PARTITIONS) in parts_b}
        start = time.monotonic()
        wait_until(lambda: {u for u, (agent, _) in first_requests(
            [r for r in feeds.since(start) if r[2] == UA_B], owned_by_b).items()} == owned_by_b, 30,
            "the new B to poll its feeds")
        first_b = first_requests([r for r in feeds.since(start) if r[2] == UA_B], owned_by_b)
        assert all(etag for _, etag in first_b.values()), f"the new host fetched without the ETag: {first_b}"

        # health in `feeds list` comes from the shared state
        listed = [json.loads(line) for line in pipeline.cli("feeds", "list", "--json").stdout.splitlines()]
        assert {f["url"] for f in listed} == {*feeds.urls, shared_a, shared_b}
        assert all(f["last_success_at"] and f["etag"] and f["tags"] == ["shared"] for f in listed
                   if f["url"] in feeds.urls)
        assert len([m for m in raw_messages(pipeline, pipeline.topic("articles.raw")) if m["url"] == SHARED_STORY]) == 1
    finally:
        stop_all(pipeline, worker_b)
