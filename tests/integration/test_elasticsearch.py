"""The Elasticsearch connector against a real noida-db (started here): template, sink, cap, search."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from elasticsearch import AsyncElasticsearch, Elasticsearch

from connectors.elasticsearch.document import to_document
from connectors.elasticsearch.index import enforce_cap, ensure_index
from connectors.elasticsearch.search import SearchRequest, search
from connectors.elasticsearch.sink import ElasticsearchSink
from newsdesk.bootstrap import wait_for_port
from newsdesk.embedded import noida_child
from newsdesk.processes import Child
from newsdesk.settings import Settings
from streams.records import AnnotatedArticle, Annotation, Article, Entity
from tests.integration.conftest import free_port


def start_noida(data_dir: Path, es_port: int | None = None) -> tuple[Child, Settings]:
    settings = Settings(data_dir=data_dir, embedded_kafka_port=free_port(),
                        embedded_elasticsearch_port=es_port or free_port())
    child = noida_child(settings)
    child.start()
    wait_for_port("127.0.0.1", settings.embedded_elasticsearch_port, 30)
    return child, settings


@pytest.fixture(scope="module")
def es_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    child, settings = start_noida(tmp_path_factory.mktemp("noida"))
    with Elasticsearch(settings.es_url) as es:
        ensure_index(es, "articles")
        ensure_index(es, "articles")  # idempotent
    yield settings.es_url
    child.stop(60)


def item(n: int, *, title: str = "Titolo", language: str = "it", entities: list[Entity] | None = None,
         published: datetime | None = None) -> AnnotatedArticle:
    now = datetime.now(UTC)
    article = Article(id=f"doc-{n}", title=f"{title} {n}", text="testo", fetched_at=now, feed_url="test://",
                      published_at=published, content_hash=str(n))
    annotation = Annotation(id=article.id, language=language, language_score=0.9, entities=entities or [])
    return AnnotatedArticle(article=article, annotation=annotation, annotated_at=now)


def test_sink_indexes_by_id_and_redelivery_overwrites(es_url: str) -> None:
    async def run() -> list:
        async with AsyncElasticsearch(es_url) as es:
            sink = ElasticsearchSink(es, "articles")
            first = await sink.write([to_document(item(1)), to_document(item(2))])
            again = await sink.write([to_document(item(1)), to_document(item(1))])
            return first.rejected + again.rejected

    assert asyncio.run(run()) == []
    with Elasticsearch(es_url) as es:
        assert es.count(index="articles", query={"ids": {"values": ["doc-1", "doc-2"]}})["count"] == 2


def test_sink_reports_a_document_the_mapping_rejects(es_url: str) -> None:
    bad = {**to_document(item(3)), "not_in_mapping": 1}

    async def run() -> list:
        async with AsyncElasticsearch(es_url) as es:
            return (await ElasticsearchSink(es, "articles").write([bad, to_document(item(4))])).rejected

    [rejected] = asyncio.run(run())
    assert rejected.id == "doc-3" and rejected.status == 400 and "strict_dynamic_mapping" in rejected.reason
    with Elasticsearch(es_url) as es:
        assert es.count(index="articles", query={"ids": {"values": ["doc-4"]}})["count"] == 1


def test_search_filters_and_orders_newest_first(es_url: str) -> None:
    base = datetime(2024, 1, 1, tzinfo=UTC)
    docs = [item(10, title="Vertice", published=base, entities=[
                Entity(key="PER:vladimir putin", name="Vladimir Putin", type="PER", mentions=2, first_offset=0)]),
            item(11, title="Vertice", published=base + timedelta(days=1)),
            item(12, title="Summit", language="en", published=base + timedelta(days=2))]

    async def run() -> None:
        async with AsyncElasticsearch(es_url) as es:
            assert (await ElasticsearchSink(es, "articles").write([to_document(d) for d in docs])).rejected == []

    asyncio.run(run())
    with Elasticsearch(es_url) as es:
        page = search(es, "articles", SearchRequest("vertice"))
        assert [h["id"] for h in page.hits] == ["doc-11", "doc-10"] and page.total == 2
        assert [h["id"] for h in search(es, "articles", SearchRequest("vertice", entity="VLADIMIR putin")).hits] == [
            "doc-10"]
        assert search(es, "articles", SearchRequest("vertice", language="en")).hits == []
        assert [h["id"] for h in search(es, "articles", SearchRequest("vertici")).hits] == ["doc-11", "doc-10"]
        first = search(es, "articles", SearchRequest("vertice", limit=1))
        assert [h["id"] for h in first.hits] == ["doc-11"] and first.next_cursor
        second = search(es, "articles", SearchRequest("vertice", limit=1, after=first.next_cursor))
        assert [h["id"] for h in second.hits] == ["doc-10"]
        assert "**Vertice**" in " ".join(first.hits[0]["highlight"])


def test_cap_keeps_the_most_recently_indexed(es_url: str) -> None:
    async def run() -> int:
        async with AsyncElasticsearch(es_url) as es:
            sink = ElasticsearchSink(es, "articles")
            for n in range(100, 130):
                await sink.write([to_document(item(n))])
            return await enforce_cap(es, "articles", 10)

    assert asyncio.run(run()) > 0
    with Elasticsearch(es_url) as es:
        es.indices.refresh(index="articles")
        assert es.count(index="articles")["count"] == 10
        kept = {h["_id"] for h in es.search(index="articles", size=20)["hits"]["hits"]}
        assert kept == {f"doc-{n}" for n in range(120, 130)}


def test_sink_waits_for_elasticsearch_that_is_down(tmp_path: Path) -> None:
    """The engine is stopped while a batch is written: the write retries and completes after a restart."""
    port = free_port()
    child, settings = start_noida(tmp_path, port)
    with Elasticsearch(settings.es_url) as es:
        ensure_index(es, "articles")
    assert child.stop(60) == 0

    async def run() -> list:
        async with AsyncElasticsearch(settings.es_url, max_retries=0) as es:
            sink = ElasticsearchSink(es, "articles", max_backoff_s=1.0)
            write = asyncio.create_task(sink.write([to_document(item(n)) for n in range(200, 205)]))
            await asyncio.sleep(3)
            assert not write.done()  # still retrying, not given up
            restarted, _ = await asyncio.to_thread(start_noida, tmp_path, port)
            try:
                rejected = (await asyncio.wait_for(write, 60)).rejected
                with Elasticsearch(settings.es_url) as sync_es:
                    sync_es.indices.refresh(index="articles")
                    assert sync_es.count(index="articles")["count"] == 5
                return rejected
            finally:
                restarted.stop(60)

    assert asyncio.run(run()) == []
