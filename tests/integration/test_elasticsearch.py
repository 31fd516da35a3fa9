"""The search connector over a SearchBackend: the versioned sink and search, on both engines (OpenSearch and
noida-db's Elasticsearch API), and the sink's and the CLI's behaviour while the engine is down."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from connectors.elasticsearch import SearchBackend, open_backend
from connectors.elasticsearch.document import to_document
from connectors.elasticsearch.index import ensure_index
from connectors.elasticsearch.search import SearchRequest, search
from connectors.elasticsearch.sink import ElasticsearchSink
from streams.records import AnnotatedArticle, Annotation, Article, Entity
from tests.integration.conftest import SearchServer, count_documents, free_port, noida_binary, unique_alias, wait_until


def item(n: int, *, title: str = "Titolo", language: str = "it", entities: list[Entity] | None = None,
         published: datetime | None = None) -> AnnotatedArticle:
    now = datetime.now(UTC)
    article = Article(id=f"doc-{n}", title=f"{title} {n}", text="testo", fetched_at=now, feed_url="test://",
                      published_at=published, content_hash=str(n))
    annotation = Annotation(id=article.id, language=language, language_score=0.9, entities=entities or [])
    return AnnotatedArticle(article=article, annotation=annotation, annotated_at=now)


@pytest.fixture
def indexed(search_server: SearchServer) -> Iterator[tuple[SearchServer, str]]:
    """A fresh alias of this test's own, on each engine."""
    alias = unique_alias()

    async def prepare() -> None:
        backend = await open_backend(search_server.url)
        try:
            await ensure_index(backend, alias)
        finally:
            await backend.close()

    asyncio.run(prepare())
    yield search_server, alias


async def _opened(server: SearchServer) -> SearchBackend:
    return await open_backend(server.url, server.engine)  # type: ignore[arg-type]


def test_sink_indexes_by_id_and_redelivery_overwrites(indexed: tuple[SearchServer, str]) -> None:
    server, alias = indexed

    async def run() -> list:
        backend = await _opened(server)
        try:
            sink = ElasticsearchSink(backend, alias)
            first = await sink.write([to_document(item(1)), to_document(item(2))])
            again = await sink.write([to_document(item(1)), to_document(item(1))])
            return first.rejected + again.rejected
        finally:
            await backend.close()

    assert asyncio.run(run()) == []
    assert count_documents(server.url, alias) == 2


def test_search_filters_and_orders_newest_first(indexed: tuple[SearchServer, str]) -> None:
    server, alias = indexed
    base = datetime(2024, 1, 1, tzinfo=UTC)
    docs = [item(10, title="Vertice", published=base, entities=[
                Entity(key="PER:vladimir putin", name="Vladimir Putin", type="PER", mentions=2, first_offset=0)]),
            item(11, title="Vertice", published=base + timedelta(days=1)),
            item(12, title="Summit", language="en", published=base + timedelta(days=2))]

    async def run() -> None:
        backend = await _opened(server)
        try:
            assert (await ElasticsearchSink(backend, alias).write([to_document(d) for d in docs])).rejected == []
            page = await search(backend, alias, SearchRequest("vertice"))
            assert [h["id"] for h in page.hits] == ["doc-11", "doc-10"] and page.total == 2
            by_entity = await search(backend, alias, SearchRequest("vertice", entity="VLADIMIR putin"))
            assert [h["id"] for h in by_entity.hits] == ["doc-10"]
            assert (await search(backend, alias, SearchRequest("vertice", language="en"))).hits == []
            stemmed = await search(backend, alias, SearchRequest("vertici"))
            assert [h["id"] for h in stemmed.hits] == ["doc-11", "doc-10"]
            with pytest.raises(ValueError, match="since is not a date"):
                await search(backend, alias, SearchRequest("vertice", since="yesterday"))
            with pytest.raises(ValueError, match="cursor"):
                await search(backend, alias, SearchRequest("vertice", after="not-a-cursor"))
        finally:
            await backend.close()

    asyncio.run(run())


# -- an engine that goes away: noida-db's Elasticsearch API, restarted on the same port --------------------------

def start_noida_es(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([noida_binary(), "start", "--data-dir", str(data_dir),
                                "--host", "127.0.0.1", "--only", "elasticsearch", "--elasticsearch-port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: httpx.get(f"http://127.0.0.1:{port}", timeout=2).status_code == 200, 60, "noida-db")
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(60)


def test_sink_waits_for_an_engine_that_is_down(tmp_path: Path) -> None:
    """The engine is stopped while a batch is written: the write retries and completes after a restart."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    stop(start_noida_es(tmp_path, port))

    async def run() -> list:
        backend = await open_backend(url, "elasticsearch")  # "auto" would need the server now
        try:
            sink = ElasticsearchSink(backend, "articles", max_backoff_s=1.0)
            write = asyncio.create_task(sink.write([to_document(item(n)) for n in range(200, 205)]))
            await asyncio.sleep(3)
            assert not write.done()  # still retrying, not given up
            restarted = await asyncio.to_thread(start_noida_es, tmp_path, port)
            try:
                await ensure_index(backend, "articles")  # until then the sink waits for the alias (404)
                rejected = (await asyncio.wait_for(write, 60)).rejected
                assert count_documents(url, "articles") == 5
                return rejected
            finally:
                await asyncio.to_thread(stop, restarted)
        finally:
            await backend.close()

    assert asyncio.run(run()) == []


def test_the_search_command_fails_in_one_line_without_the_password() -> None:
    env = {**os.environ, "NEWSDESK_ELASTICSEARCH_URL": f"http://reader:hunter2-secret@127.0.0.1:{free_port()}",
           "NEWSDESK_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}"}
    for engine in ("auto", "elasticsearch", "opensearch"):
        result = subprocess.run([sys.executable, "-m", "newsdesk.cli", "search", "anything"], capture_output=True,
                                text=True, timeout=60, env={**env, "NEWSDESK_SEARCH_ENGINE": engine})
        assert result.returncode == 1, (engine, result.stderr)
        output = result.stdout + result.stderr
        assert "hunter2" not in output and "reader" not in output, output
        assert "Traceback" not in output
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("search failed"), (engine, output)
        assert f"http://127.0.0.1:{env['NEWSDESK_ELASTICSEARCH_URL'].rsplit(':', 1)[1]}" in lines[0]
