"""End to end on real services: `newsdesk up` on the session's Kafka and OpenSearch, a real Faust worker, real sockets.

The tests run in file order against one pipeline (starting one takes ~15 s); each says what it relies on.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import psutil
from kafka import KafkaConsumer, KafkaProducer

from streams.records import AnnotatedArticle, Annotation, Article, DeadLetter, Entity
from tests.gold import gold_problems
from tests.integration.conftest import Pipeline, free_port, wait_until

SEED_QUERY = "cooperazione militare"


def test_seed_article_is_searchable_within_30s(pipeline: Pipeline, feed_server: str) -> None:
    started = time.monotonic()
    pipeline.start()
    pipeline.cli("feeds", "add", f"{feed_server}/seed-article.rss.xml")
    hits = wait_until(lambda: pipeline.search(SEED_QUERY), 30, f"search {SEED_QUERY!r} to find the seed article")
    elapsed = time.monotonic() - started
    assert len(hits) == 1, hits
    [hit] = hits
    assert hit["language"] == "it"
    assert hit["url"] == "https://news.example.it/mondo/2022/12/30/putin-xi-jinping-colloquio-cooperazione-militare"
    assert "Vladimir Putin" in hit["persons"] and "Pechino" in hit["locations"]
    print(f"seed article searchable {elapsed:.1f}s after `newsdesk up` started")


def test_seed_search_examples(pipeline: Pipeline, seed_gold: dict) -> None:
    for example in seed_gold["search_examples"]:
        ids = [h["url"] for h in pipeline.search(example["query"])]
        expected = [seed_gold["canonical_url"]] if example["must_match"] else []
        assert ids == expected, example


def test_seed_annotation_by_the_running_pipeline_meets_the_gold(pipeline: Pipeline, seed_gold: dict) -> None:
    """What the annotate agent emitted on articles.annotated (after the Kafka -> pool -> Kafka round trip)."""
    consumer = KafkaConsumer(pipeline.topic("articles.annotated"), bootstrap_servers=pipeline.bootstrap,
                             auto_offset_reset="earliest", consumer_timeout_ms=5000, group_id=None)
    items = [AnnotatedArticle.model_validate_json(m.value) for m in consumer]
    consumer.close()
    [seed] = [item for item in items if item.article.url == seed_gold["canonical_url"]]
    assert gold_problems(seed.annotation, seed_gold) == []


def test_english_article_has_person_and_place(pipeline: Pipeline, feed_server: str) -> None:
    pipeline.cli("feeds", "add", f"{feed_server}/english-sample.rss.xml")
    [hit] = wait_until(lambda: pipeline.search("harbour Lisbon"), 30, "the English sample article")
    assert hit["language"] == "en"
    assert hit["persons"] and hit["locations"], hit
    assert "Lisbon" in hit["locations"]
    # the same through the CLI's entity filter, case- and accent-insensitively
    assert len(pipeline.search("harbour", "--entity", "javier ORTEGA", "--lang", "en")) == 1
    assert pipeline.search("harbour", "--lang", "it") == []


def test_bad_feeds_are_logged_and_the_others_go_on(pipeline: Pipeline, feed_server: str) -> None:
    refused = f"http://127.0.0.1:{free_port()}/feed.xml"  # nothing listens there
    missing = f"{feed_server}/status/404"
    html = f"{feed_server}/not-a-feed.html"
    salvage = f"{feed_server}/malformed-salvageable.xml"
    pipeline.cli("feeds", "add", refused, missing, html, salvage)
    wait_until(lambda: pipeline.search("survives"), 30, "the salvaged entries of the malformed feed")
    assert len(pipeline.search("survives")) == 2

    def feeds() -> dict[str, dict]:
        return {f["url"]: f for f in map(json.loads, pipeline.cli("feeds", "list", "--json").stdout.splitlines())}

    wait_until(lambda: all(feeds()[u]["last_error"] for u in (refused, missing, html)), 30, "errors recorded")
    state = feeds()
    assert "ConnectError" in state[refused]["last_error"]
    assert state[missing]["last_error"].startswith("HTTP 404")
    assert "not a feed" in state[html]["last_error"]
    log = pipeline.log()
    for url in (refused, missing, html):
        assert f"feed {url}:" in log  # the log names the feed and the reason
    assert pipeline.process is not None and pipeline.process.poll() is None  # nothing crashed


def test_rejected_document_is_dead_lettered_and_the_sink_goes_on(pipeline: Pipeline) -> None:
    now = datetime.now(UTC)

    def annotated(article_id: str, mentions: int) -> AnnotatedArticle:
        article = Article(id=article_id, title=f"Dead letter test {article_id}", text="Testo.", fetched_at=now,
                          feed_url="test://dlq", content_hash="x")
        entity = Entity(key="LOC:roma", name="Roma", type="LOC", mentions=mentions, first_offset=0)
        return AnnotatedArticle(article=article, annotation=Annotation(id=article_id, language="it",
                                language_score=1.0, entities=[entity]), annotated_at=now)

    producer = KafkaProducer(bootstrap_servers=pipeline.bootstrap, acks="all")
    poison = annotated("dlq-poison", 2**40)  # larger than the mapping's integer: Elasticsearch rejects it
    producer.send(pipeline.topic("articles.annotated"), key=b"dlq-poison", value=poison.to_bytes())
    producer.send(pipeline.topic("articles.raw"), key=b"dlq-bad-json", value=b"{not json")
    producer.send(pipeline.topic("articles.annotated"), key=b"dlq-good", value=annotated("dlq-good", 1).to_bytes())
    producer.flush()
    producer.close()
    wait_until(lambda: pipeline.count(ids={"values": ["dlq-good"]}) == 1, 30, "the good article after the poison")
    assert pipeline.count(ids={"values": ["dlq-poison"]}) == 0

    consumer = KafkaConsumer(pipeline.topic("articles.dead"), bootstrap_servers=pipeline.bootstrap,
                             auto_offset_reset="earliest", consumer_timeout_ms=5000, group_id=None)
    letters = {}
    wait_until(lambda: letters.update({m.key: DeadLetter.model_validate_json(m.value) for m in consumer}) or
               {b"dlq-poison", b"dlq-bad-json"} <= set(letters), 30, "both dead letters")
    consumer.close()
    assert letters[b"dlq-poison"].stage == "index" and "rejected" in letters[b"dlq-poison"].error
    assert AnnotatedArticle.model_validate_json(letters[b"dlq-poison"].payload).article.id == "dlq-poison"
    assert letters[b"dlq-bad-json"].stage == "annotate" and letters[b"dlq-bad-json"].payload == "{not json"


def test_restart_and_duplicate_feed_keep_one_document(pipeline: Pipeline, feed_server: str) -> None:
    seed = f"{feed_server}/seed-article.rss.xml"
    assert "already present" in pipeline.cli("feeds", "add", seed).stdout
    copy = f"{seed}?copy=2"  # a second feed URL serving the same article
    pipeline.cli("feeds", "add", copy)
    code, children = pipeline.stop()
    assert code == 0
    assert children and not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    pipeline.start("--samples")  # --samples serves the seed a third time, from the bundled copy
    pipeline.wait_ready()

    def polled_since_restart() -> bool:
        feeds = [json.loads(line) for line in pipeline.cli("feeds", "list", "--json").stdout.splitlines()]
        sample = f"http://127.0.0.1:{pipeline.samples_port}/seed-article.rss.xml"
        by_url = {f["url"]: f for f in feeds}
        return bool(by_url.get(copy, {}).get("last_success_at") and by_url.get(sample, {}).get("last_success_at"))

    wait_until(polled_since_restart, 30, "the duplicate feeds to be polled")
    time.sleep(5)  # time for a wrongly produced duplicate to travel through the pipeline
    assert len(pipeline.search(SEED_QUERY)) == 1
    assert pipeline.count(match={"title": "Putin Xi Jinping"}) == 1


def test_sigterm_loses_no_accepted_article(pipeline: Pipeline) -> None:
    now = datetime.now(UTC)
    articles = [Article(id=f"sigterm-{i:03d}", title=f"Stop test article {i}", text=f"Body number {i} about Rome.",
                        fetched_at=now, feed_url="test://sigterm", content_hash=str(i)) for i in range(40)]
    producer = KafkaProducer(bootstrap_servers=pipeline.bootstrap, acks="all")
    for article in articles:
        producer.send(pipeline.topic("articles.raw"), key=article.id.encode(), value=article.to_bytes())
    producer.flush()
    producer.close()
    code, children = pipeline.stop()  # right away: most articles are still in flight
    assert code == 0
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    pipeline.start()
    ids = [a.id for a in articles]
    wait_until(lambda: pipeline.count(ids={"values": ids}) == len(ids), 60, "all accepted articles indexed")
    code, _ = pipeline.stop()
    assert code == 0
