"""Elasticsearch goes away while articles flow, then comes back: every article indexed exactly once.

Kafka and Elasticsearch run as two separate noida-db processes so that only the search side can be stopped;
`newsdesk up` runs against them as against external clusters (it starts nothing of its own).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from kafka import KafkaProducer

from newsdesk.bootstrap import wait_for_port
from streams.records import Article
from tests.integration.conftest import Pipeline, free_port, wait_until
from tests.integration.test_elasticsearch import start_noida


def produce(bootstrap: str, ids: list[str]) -> None:
    now = datetime.now(UTC)
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for article_id in ids:
        article = Article(id=article_id, title=f"Outage test {article_id}", text="Notizie da Milano e Torino.",
                          fetched_at=now, feed_url="test://outage", content_hash=article_id)
        producer.send("articles.raw", key=article_id.encode(), value=article.to_bytes())
    producer.flush()
    producer.close()


def test_search_backend_outage_loses_nothing_and_duplicates_nothing(tmp_path: Path) -> None:
    kafka_side, kafka_settings = start_noida(tmp_path / "kafka")
    es_port = free_port()
    es_side, es_settings = start_noida(tmp_path / "es", es_port)
    pipeline = Pipeline(tmp_path / "newsdesk")
    pipeline.env.update(NEWSDESK_KAFKA_BOOTSTRAP=kafka_settings.bootstrap,
                        NEWSDESK_ELASTICSEARCH_URL=es_settings.es_url)
    pipeline.es_port = es_port
    try:
        pipeline.start()
        pipeline.wait_ready()
        first = [f"outage-a-{i:03d}" for i in range(40)]
        produce(kafka_settings.bootstrap, first)
        wait_until(lambda: pipeline.count(ids={"values": first}) >= 1, 60, "indexing to start")
        assert es_side.stop(60) == 0  # Elasticsearch goes away mid-stream
        second = [f"outage-b-{i:03d}" for i in range(40)]
        produce(kafka_settings.bootstrap, second)
        time.sleep(8)  # the indexer keeps retrying meanwhile; nothing may be acknowledged or skipped
        assert pipeline.process is not None and pipeline.process.poll() is None
        es_side, _ = start_noida(tmp_path / "es", es_port)
        wait_for_port("127.0.0.1", es_port, 30)
        everything = first + second
        wait_until(lambda: pipeline.count(ids={"values": everything}) == len(everything), 90,
                   "every article indexed after the outage")
        assert pipeline.count() == len(everything)  # and none twice
        assert "elasticsearch unavailable" in pipeline.log()
        code, _ = pipeline.stop()
        assert code == 0
    finally:
        if pipeline.process and pipeline.process.poll() is None:
            pipeline.stop()
        es_side.stop(60)
        kafka_side.stop(60)
