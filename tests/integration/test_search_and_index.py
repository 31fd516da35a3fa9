"""Index layout, versioned writes, rollover, per-language search, the HTTP API and reindex, on real noida-db."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from elasticsearch import AsyncElasticsearch, Elasticsearch
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from connectors.elasticsearch.document import to_document
from connectors.elasticsearch.index import ensure_index, rollover
from connectors.elasticsearch.sink import ElasticsearchSink, WriteResult
from newsdesk.processes import Child
from newsdesk.settings import Settings
from streams.records import AnnotatedArticle, Annotation, Article
from tests.integration.conftest import free_port, wait_until
from tests.integration.test_elasticsearch import start_noida


@dataclass
class Services:
    settings: Settings
    env: dict[str, str]

    def es(self) -> Elasticsearch:
        return Elasticsearch(self.settings.es_url, request_timeout=30)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "newsdesk.cli", *args], env=self.env, capture_output=True,
                              text=True, timeout=120)


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    child, settings = start_noida(tmp_path_factory.mktemp("noida"))
    external = Settings(data_dir=settings.data_dir, kafka_bootstrap=settings.bootstrap,
                        elasticsearch_url=settings.es_url)
    with Elasticsearch(settings.es_url) as es:
        ensure_index(es, "articles")
    env = {**os.environ, "NEWSDESK_DATA_DIR": str(settings.data_dir / "cli"),
           "NEWSDESK_KAFKA_BOOTSTRAP": settings.bootstrap, "NEWSDESK_ELASTICSEARCH_URL": settings.es_url,
           "NEWSDESK_API_PORT": str(free_port())}
    yield Services(external, env)
    child.stop(60)


def annotated(article_id: str, title: str, text: str, language: str, version: int = 1) -> AnnotatedArticle:
    now = datetime.now(UTC)
    article = Article(id=article_id, title=title, text=text, fetched_at=now, published_at=now, feed_url="test://",
                      content_hash=str(version), version=version)
    return AnnotatedArticle(article=article, annotation=Annotation(id=article_id, language=language,
                                                                   language_score=0.99), annotated_at=now)


def write(services: Services, *items: AnnotatedArticle) -> WriteResult:
    async def run() -> WriteResult:
        async with AsyncElasticsearch(services.settings.es_url) as es:
            return await ElasticsearchSink(es, "articles").write([to_document(i) for i in items])

    return asyncio.run(run())


def test_newest_version_wins_across_a_rollover(services: Services) -> None:
    assert write(services, annotated("v-1", "Prima versione", "testo", "it", version=10)).written == 1

    async def roll() -> str | None:
        async with AsyncElasticsearch(services.settings.es_url) as es:
            return await rollover(es, "articles", {"max_docs": 1})

    new_index = asyncio.run(roll())
    assert new_index == "articles-000002"
    assert write(services, annotated("v-1", "Seconda versione", "testo", "it", version=20)).written == 1
    stale_in_write_index = write(services, annotated("v-new", "Nuovo", "testo", "it", version=5),
                                 annotated("v-new", "Più nuovo", "testo", "it", version=6))
    assert stale_in_write_index.written == 1  # the newer of two copies in one batch
    stale = write(services, annotated("v-1", "Versione vecchia", "testo", "it", version=15))
    assert (stale.written, stale.stale) == (0, 1)
    older = write(services, annotated("v-new", "Vecchio", "testo", "it", version=1))
    assert (older.written, older.stale) == (0, 1)  # in the write index: refused by external versioning (409)
    with services.es() as es:
        es.indices.refresh(index="articles")
        hits = es.search(index="articles", query={"ids": {"values": ["v-1", "v-new"]}}, version=True)["hits"]["hits"]
        by_id = {h["_id"]: h for h in hits}
        assert len(hits) == 2  # one document per id across both indices
        assert by_id["v-1"]["_index"] == "articles-000001" and by_id["v-1"]["_version"] == 20
        assert by_id["v-1"]["_source"]["title"] == "Seconda versione"
        assert by_id["v-new"]["_source"]["title"] == "Più nuovo"
        assert by_id["v-new"]["_index"] == "articles-000002"  # new documents go to the new write index


STEMMING = [  # (language, indexed title, query with other inflections)
    ("it", "Accordo sulla cooperazione militare", "cooperazioni militari"),
    ("en", "The runners were running marathons", "runner run marathon"),
    ("fr", "Les maisons anciennes du village", "maison ancienne"),
    ("de", "Die Häuser der Städte", "Haus Stadt"),
    ("es", "Las universidades públicas", "universidad pública"),
]


def test_each_language_stems_like_itself_through_the_cli(services: Services) -> None:
    write(services, *(annotated(f"stem-{lang}", title, "", lang) for lang, title, _ in STEMMING))
    for lang, _, query in STEMMING:
        result = services.cli("search", query, "--json")
        assert result.returncode == 0, result.stderr
        ids = [json.loads(line)["id"] for line in result.stdout.splitlines()]
        assert ids == [f"stem-{lang}"], (lang, query, ids)
        # with the language given, only that language's analyzer (and the shared field) is queried
        assert [json.loads(x)["id"] for x in services.cli("search", query, "--lang", lang, "--json")
                .stdout.splitlines()] == [f"stem-{lang}"]


def test_search_api(services: Services) -> None:
    api = Child("api", [sys.executable, "-m", "newsdesk.cli", "api"], env=services.env)
    api.start()
    base = f"http://127.0.0.1:{services.env['NEWSDESK_API_PORT']}"
    try:
        health = wait_until(lambda: json.load(urllib.request.urlopen(f"{base}/health", timeout=5)), 30, "the API")
        assert health == {"elasticsearch": "ok"}
        page = json.load(urllib.request.urlopen(f"{base}/search?q=cooperazioni+militari&lang=it", timeout=10))
        assert [h["id"] for h in page["hits"]] == ["stem-it"] and page["total"] == 1
        assert any("**" in fragment for fragment in page["hits"][0]["highlight"])
        article = json.load(urllib.request.urlopen(f"{base}/articles/stem-de", timeout=10))
        assert article["title"] == "Die Häuser der Städte"
        with pytest.raises(urllib.error.HTTPError) as bad:
            urllib.request.urlopen(f"{base}/search?q=x&sort=sideways", timeout=10)
        assert bad.value.code == 400
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{base}/articles/nope", timeout=10)
        assert missing.value.code == 404
    finally:
        assert api.stop(10) is not None


def test_reindex_rebuilds_from_the_topic_without_duplicates(services: Services) -> None:
    topic = services.settings.topic_annotated
    admin = KafkaAdminClient(bootstrap_servers=services.settings.bootstrap)
    admin.create_topics([NewTopic(topic, 2, 1)])
    admin.close()
    items = [annotated(f"replay-{i}", f"Replay {i}", "testo", "it", version=1) for i in range(30)]
    # Compressed as the worker writes the topic (NEWSDESK_KAFKA_COMPRESSION, zstd): reindex must read that.
    assert services.settings.kafka_compression == "zstd"
    producer = KafkaProducer(bootstrap_servers=services.settings.bootstrap, acks="all", compression_type="zstd")
    for item in items:
        producer.send(topic, key=item.article.id.encode(), value=item.to_bytes())
    producer.flush()
    producer.close()
    write(services, *items[:10])  # a third was indexed live already
    first = services.cli("reindex")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == {"written": 30, "stale": 0, "rejected": 0}
    again = json.loads(services.cli("reindex").stdout)
    assert again["written"] + again["stale"] == 30 and again["rejected"] == 0
    with services.es() as es:
        es.indices.refresh(index="articles")
        ids = [f"replay-{i}" for i in range(30)]
        assert es.count(index="articles", query={"ids": {"values": ids}})["count"] == 30


def test_template_and_mapping_are_what_the_repo_says(services: Services) -> None:
    template = json.loads((Path(__file__).parents[2] / "deploy" / "elasticsearch" / "articles.template.json")
                          .read_text())
    with services.es() as es:
        mapping = es.indices.get_mapping(index="articles-000001")["articles-000001"]["mappings"]
        assert mapping["dynamic"] == "strict"
        assert set(template["template"]["mappings"]["properties"]) <= set(mapping["properties"])
        assert set(es.indices.get_alias(name="articles")) == {"articles-000001", "articles-000002"}
