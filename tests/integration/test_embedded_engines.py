"""`newsdesk up` on a fresh data dir runs real Kafka and OpenSearch JVMs of its own, and survives their kill -9.

One `up` for the module (its JVMs take 15-30 s to start on two cores). In file order: a feed of 3,000 items
ends with all 3,000 searchable through the API; then the Kafka JVM, then the OpenSearch JVM, is killed with
SIGKILL while articles flow, `up` restarts it, and every article is indexed exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psutil
import pytest
from kafka import KafkaProducer

from streams.records import Article
from tests.integration.conftest import count_documents, engine_env, free_port, ids_indexed, wait_until
from tests.loopback import QuietHandler, serve

ITEMS = 3000
FLOW = 600  # articles in flight while an engine is killed


def big_feed(items: int) -> bytes:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    entries = "".join(
        f"<item><title>Notizia numero {i} da Milano</title><link>https://news.example.org/a/{i}</link>"
        f"<guid>https://news.example.org/a/{i}</guid>"
        f"<pubDate>{(start + timedelta(minutes=i)).strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>"
        f"<description>Il sindaco di Milano ha incontrato i rappresentanti della regione Lombardia "
        f"per la notizia {i}.</description></item>" for i in range(items))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Big feed</title>'
            f"<link>https://news.example.org/</link><description>{items} items</description><language>it</language>"
            f"{entries}</channel></rss>").encode()


class Up:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.api_port = free_port()
        self.env = {**os.environ, **engine_env(data_dir), "NEWSDESK_API_PORT": str(self.api_port),
                    "NEWSDESK_METRICS_PORT": str(free_port()),
                    "NEWSDESK_REGISTRY_REFRESH_S": "1", "NEWSDESK_POLL_INTERVAL_S": "3",
                    "NEWSDESK_POLL_MIN_INTERVAL_S": "1", "NEWSDESK_POLL_MAX_INTERVAL_S": "3",
                    "NEWSDESK_ALLOW_PRIVATE_ADDRESSES": "1", "NEWSDESK_SAMPLES_PORT": "0"}
        for name in ("NEWSDESK_KAFKA_BOOTSTRAP", "NEWSDESK_ELASTICSEARCH_URL", "NEWSDESK_SEARCH_ENGINE",
                     "NEWSDESK_TOPIC_PREFIX", "NEWSDESK_INDEX_ALIAS", "NEWSDESK_APP_ID"):
            self.env.pop(name, None)
        self.bootstrap = f"127.0.0.1:{self.env['NEWSDESK_EMBEDDED_KAFKA_PORT']}"
        self.search_url = f"http://127.0.0.1:{self.env['NEWSDESK_EMBEDDED_OPENSEARCH_PORT']}"
        self.log_path = data_dir / "up.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "newsdesk.cli", "up"], env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "newsdesk.cli", *args], env=self.env, capture_output=True,
                              text=True, check=True, timeout=120)

    def jvm(self, main: str) -> psutil.Process:
        assert self.process is not None
        [jvm] = [p for p in psutil.Process(self.process.pid).children(recursive=True)
                 if p.name() == "java" and main in " ".join(p.cmdline())]
        return jvm

    def api_total(self) -> int:
        answer = httpx.get(f"http://127.0.0.1:{self.api_port}/search", params={"limit": 1}, timeout=30)
        answer.raise_for_status()
        return int(answer.json()["total"])


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    running = Up(tmp_path_factory.mktemp("up") / "fresh")
    yield running
    if running.process and running.process.poll() is None:
        running.process.send_signal(signal.SIGTERM)
        running.process.wait(180)


def produce(bootstrap: str, ids: list[str]) -> None:
    now = datetime.now(UTC)
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", retries=10)
    for article_id in ids:
        article = Article(id=article_id, title=f"Crash test {article_id}", text="Notizie da Torino e da Genova.",
                          fetched_at=now, feed_url="test://crash", content_hash=article_id)
        producer.send("articles.raw", key=article_id.encode(), value=article.to_bytes())
    producer.flush()
    producer.close()


def exactly_once(up: Up, ids: list[str]) -> None:
    indexed = Counter(ids_indexed(up.search_url, "articles"))
    assert [i for i in ids if indexed[i] != 1] == []
    assert [i for i, n in indexed.items() if n > 1] == []


def test_fresh_up_runs_both_jvms_and_a_3000_item_feed_ends_searchable(up: Up) -> None:
    feed = big_feed(ITEMS)

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            self.send_body(200, "application/rss+xml", feed)

    server, base = serve(Handler)
    try:
        up.start()
        wait_until(lambda: "[^Worker]: Ready" in up.log(), 300, "`newsdesk up` to start its engines and worker")
        assert "kafka ready on " + up.bootstrap in up.log()
        assert "opensearch ready on " + up.search_url in up.log()
        assert up.jvm("kafka.Kafka") and up.jvm("OpenSearchNode.java")
        up.cli("feeds", "add", f"{base}/big.xml")
        wait_until(lambda: up.api_total() == ITEMS, 600, f"all {ITEMS} items searchable", interval_s=3)
        assert count_documents(up.search_url, "articles") == ITEMS
    finally:
        server.shutdown()


@pytest.mark.parametrize(("main", "name"), [("kafka.Kafka", "kafka"), ("OpenSearchNode.java", "opensearch")])
def test_kill_9_of_an_engine_mid_flow_loses_nothing_and_duplicates_nothing(up: Up, main: str, name: str) -> None:
    assert up.process is not None and up.process.poll() is None, "needs the running `up` of the first test"
    before = up.log().count(f"{name} restarted")
    ids = [f"kill-{name}-{i:04d}" for i in range(FLOW)]
    produce(up.bootstrap, ids)
    wait_until(lambda: count_documents(up.search_url, "articles", {"ids": {"values": ids}}) > 0, 120,
               "the flow to reach the index")
    up.jvm(main).send_signal(signal.SIGKILL)
    wait_until(lambda: up.log().count(f"{name} restarted") > before, 240, f"`up` to restart {name}")
    wait_until(lambda: count_documents(up.search_url, "articles", {"ids": {"values": ids}}) == FLOW, 400,
               f"all {FLOW} articles indexed after the {name} restart", interval_s=3)
    exactly_once(up, ids)
    assert up.process.poll() is None
