"""Index layout, versioned writes, rollover, per-language search through the CLI, the HTTP API and reindex, on
both engines: the session's OpenSearch and Kafka, and noida-db's Elasticsearch API with the same Kafka."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiohttp.test_utils import TestClient, TestServer
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from connectors.elasticsearch import SearchBackend, open_backend
from connectors.elasticsearch.document import to_document
from connectors.elasticsearch.index import ensure_index, rollover
from connectors.elasticsearch.search import encode_cursor
from connectors.elasticsearch.sink import ElasticsearchSink, WriteResult
from newsdesk.api import make_app
from newsdesk.settings import Settings
from streams.records import AnnotatedArticle, Annotation, Article
from tests.integration.conftest import SearchServer, free_port, unique_alias

T = TypeVar("T")


@dataclass
class Services:
    server: SearchServer
    settings: Settings
    env: dict[str, str]

    @property
    def alias(self) -> str:
        return self.settings.index_alias

    def run(self, body: Callable[[SearchBackend], Awaitable[T]]) -> T:
        async def main() -> T:
            backend = await open_backend(self.server.url, self.server.engine)  # type: ignore[arg-type]
            try:
                return await body(backend)
            finally:
                await backend.close()

        return asyncio.run(main())

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "newsdesk.cli", *args], env=self.env, capture_output=True,
                              text=True, timeout=120)


@pytest.fixture(scope="module", params=["opensearch", "elasticsearch"])
def services(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """Kafka from the session's engines; the search engine per parameter; names of this module's own."""
    engines = request.getfixturevalue("engines")
    server: SearchServer = request.getfixturevalue(
        "opensearch_server" if request.param == "opensearch" else "noida_elasticsearch")
    alias, prefix = unique_alias("a"), f"t{uuid.uuid4().hex[:8]}."
    data_dir = tmp_path_factory.mktemp("search-and-index")
    settings = Settings(data_dir=data_dir, kafka_bootstrap=engines.bootstrap, elasticsearch_url=server.url,
                        index_alias=alias, topic_prefix=prefix)
    env = {**os.environ, "NEWSDESK_DATA_DIR": str(data_dir / "cli"), "NEWSDESK_KAFKA_BOOTSTRAP": engines.bootstrap,
           "NEWSDESK_ELASTICSEARCH_URL": server.url, "NEWSDESK_INDEX_ALIAS": alias, "NEWSDESK_TOPIC_PREFIX": prefix,
           "NEWSDESK_API_PORT": str(free_port())}
    env.pop("NEWSDESK_SEARCH_ENGINE", None)  # auto: the CLI finds the engine from the server's root answer
    services = Services(server, settings, env)
    services.run(lambda backend: ensure_index(backend, alias))
    yield services


def annotated(article_id: str, title: str, text: str, language: str, version: int = 1) -> AnnotatedArticle:
    now = datetime.now(UTC)
    article = Article(id=article_id, title=title, text=text, fetched_at=now, published_at=now, feed_url="test://",
                      content_hash=str(version), version=version)
    return AnnotatedArticle(article=article, annotation=Annotation(id=article_id, language=language,
                                                                   language_score=0.99), annotated_at=now)


def write(services: Services, *items: AnnotatedArticle) -> WriteResult:
    return services.run(lambda backend: ElasticsearchSink(backend, services.alias).write(
        [to_document(i) for i in items]))


def test_newest_version_wins_across_a_rollover(services: Services) -> None:
    alias = services.alias
    assert write(services, annotated("v-1", "Prima versione", "testo", "it", version=10)).written == 1
    assert services.run(lambda backend: rollover(backend, alias, {"max_docs": 1})) == f"{alias}-000002"
    assert write(services, annotated("v-1", "Seconda versione", "testo", "it", version=20)).written == 1
    stale_in_write_index = write(services, annotated("v-new", "Nuovo", "testo", "it", version=5),
                                 annotated("v-new", "Più nuovo", "testo", "it", version=6))
    assert stale_in_write_index.written == 1  # the newer of two copies in one batch
    stale = write(services, annotated("v-1", "Versione vecchia", "testo", "it", version=15))
    assert (stale.written, stale.stale) == (0, 1)
    older = write(services, annotated("v-new", "Vecchio", "testo", "it", version=1))
    assert (older.written, older.stale) == (0, 1)  # in the write index: refused by external versioning (409)

    async def check(backend: SearchBackend) -> None:
        await backend.refresh(alias)
        hits = (await backend.search(alias, {"query": {"ids": {"values": ["v-1", "v-new"]}},
                                             "version": True}))["hits"]["hits"]
        by_id = {h["_id"]: h for h in hits}
        assert len(hits) == 2  # one document per id across both indices
        assert by_id["v-1"]["_index"] == f"{alias}-000001" and by_id["v-1"]["_version"] == 20
        assert by_id["v-1"]["_source"]["title"] == "Seconda versione"
        assert by_id["v-new"]["_source"]["title"] == "Più nuovo"
        assert by_id["v-new"]["_index"] == f"{alias}-000002"  # new documents go to the new write index

    services.run(check)


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


async def _api(settings: Settings, calls: Callable[[TestClient], Awaitable[None]]) -> None:
    client = TestClient(TestServer(make_app(settings)))
    await client.start_server()
    try:
        await calls(client)
    finally:
        await client.close()


def test_search_api(services: Services) -> None:
    write(services, annotated("api-it", "Accordo sulla cooperazione militare", "", "it"),
          annotated("api-de", "Die Häuser der Städte", "", "de"))

    async def calls(client: TestClient) -> None:
        health = await client.get("/health")
        assert health.status == 200 and await health.json() == {"search": "ok", "engine": services.server.engine}
        page = await (await client.get("/search", params={"q": "cooperazioni militari", "lang": "it"})).json()
        ids = {h["id"] for h in page["hits"]}  # stem-it too, when the CLI test ran before
        assert "api-it" in ids and ids <= {"stem-it", "api-it"} and page["total"] == len(ids)
        assert any("**" in fragment for fragment in page["hits"][0]["highlight"])
        article = await client.get("/articles/api-de")
        assert (await article.json())["title"] == "Die Häuser der Städte"
        for params, needle in (({"q": "x", "sort": "sideways"}, "sort"), ({"limit": "many"}, "limit"),
                               ({"since": "last tuesday"}, "since"), ({"until": "2024-13-45"}, "until"),
                               ({"after": "%%%"}, "cursor"), ({"after": encode_cursor(["x", "y", "z", 1])}, "")):
            bad = await client.get("/search", params=params)
            assert bad.status == 400, (params, await bad.text())
            assert needle in (await bad.json())["error"], params
        missing = await client.get("/articles/nope")
        assert missing.status == 404 and await missing.json() == {"error": "no such article"}

    asyncio.run(_api(services.settings, calls))


def test_search_api_when_the_backend_is_down(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, elasticsearch_url=f"http://u:pw-secret@127.0.0.1:{free_port()}",
                        kafka_bootstrap="127.0.0.1:1")

    async def calls(client: TestClient) -> None:
        for path in ("/search?q=x", "/articles/a", "/health"):
            answer = await client.get(path)
            assert answer.status == 503, path
            assert await answer.json() == {"error": "search backend unavailable"}
        bad = await client.get("/search", params={"since": "soon"})  # the request is checked first
        assert bad.status == 400

    asyncio.run(_api(settings, calls))


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
    ids = [f"replay-{i}" for i in range(30)]

    async def count(backend: SearchBackend) -> int:
        await backend.refresh(services.alias)
        return await backend.count(services.alias, {"ids": {"values": ids}})

    assert services.run(count) == 30


def test_template_and_mapping_are_what_the_repo_says(services: Services) -> None:
    template = json.loads((Path(__file__).parents[2] / "deploy" / "elasticsearch" / "articles.template.json")
                          .read_text())
    first = f"{services.alias}-000001"

    async def check(backend: SearchBackend) -> dict[str, Any]:
        return {"mapping": (await backend.get_mapping(first))[first]["mappings"],
                "indices": set(await backend.get_alias(services.alias))}

    found = services.run(check)
    assert found["mapping"]["dynamic"] == "strict"
    assert set(template["template"]["mappings"]["properties"]) <= set(found["mapping"]["properties"])
    assert found["indices"] == {first, f"{services.alias}-000002"}
