"""The SearchBackend contract, run against both engines: OpenSearch 2.19 (opensearch-py) and an Elasticsearch API
(noida-db, through the `elasticsearch` client). Every request newsdesk sends goes through here: the template,
aliases and mapping, bulk with external versions, search with aggregations/highlight/search_after, count,
rollover, delete_by_query retention, refresh, health, and the neutral errors."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
import pytest

from connectors.elasticsearch import (
    SearchBackend,
    SearchRequestError,
    SearchUnavailable,
    detect_engine,
    open_backend,
)
from connectors.elasticsearch.document import to_document
from connectors.elasticsearch.index import apply_retention, ensure_index, rollover, template, write_alias
from connectors.elasticsearch.search import LANGUAGES_AGG, SearchRequest, build_query, search
from connectors.elasticsearch.sink import ElasticsearchSink
from newsdesk.settings import Settings
from streams.records import AnnotatedArticle, Annotation, Article
from tests.integration.conftest import SearchServer, free_port, unique_alias

T = TypeVar("T")


def with_backend(server: SearchServer, body: Callable[[SearchBackend], Awaitable[T]]) -> T:
    async def main() -> T:
        backend = await open_backend(server.url, server.engine)  # type: ignore[arg-type]
        try:
            return await body(backend)
        finally:
            await backend.close()

    return asyncio.run(main())


def doc(n: int, *, title: str = "Titolo", language: str = "it", version: int = 1,
        published: datetime | None = None, fetched: datetime | None = None) -> dict[str, Any]:
    now = datetime.now(UTC)
    article = Article(id=f"doc-{n}", title=f"{title} {n}", text="testo", fetched_at=fetched or now,
                      feed_url="test://", published_at=published, content_hash=f"{n}-{version}", version=version)
    annotation = Annotation(id=article.id, language=language, language_score=0.9)
    return to_document(AnnotatedArticle(article=article, annotation=annotation, annotated_at=now))


def test_the_root_answer_names_the_engine(search_server: SearchServer) -> None:
    assert asyncio.run(detect_engine(search_server.url)) == search_server.engine

    async def body(backend: SearchBackend) -> None:
        assert backend.engine == search_server.engine
        info = await backend.info()
        assert info["version"]["number"]
        assert "status" in await backend.health()

    async def auto() -> None:
        backend = await open_backend(search_server.url, "auto")
        try:
            await body(backend)
        finally:
            await backend.close()

    asyncio.run(auto())


def test_template_aliases_and_mapping_idempotently(search_server: SearchServer) -> None:
    alias = unique_alias()

    async def body(backend: SearchBackend) -> None:
        await ensure_index(backend, alias)
        await ensure_index(backend, alias)  # idempotent
        first = f"{alias}-000001"
        assert await backend.index_exists(first) and await backend.alias_exists(write_alias(alias))
        assert not await backend.index_exists(f"{alias}-000099")
        holders = await backend.get_alias(write_alias(alias))
        assert set(holders) == {first}
        assert holders[first]["aliases"][write_alias(alias)].get("is_write_index") is True
        assert set(await backend.get_alias(alias)) == {first}
        mapping = (await backend.get_mapping(first))[first]["mappings"]
        assert mapping["dynamic"] in ("strict", True) and mapping["dynamic"] == "strict"
        assert set(template(alias)["template"]["mappings"]["properties"]) <= set(mapping["properties"])

    with_backend(search_server, body)
    answer = httpx.get(f"{search_server.url}/_index_template/{alias}", timeout=10).json()
    assert answer["index_templates"][0]["index_template"]["index_patterns"] == [f"{alias}-0*"]


def test_aliases_are_repaired_on_an_existing_first_index(search_server: SearchServer) -> None:
    """An index created without aliases (restored, or made by hand) gets both through update_aliases."""
    alias = unique_alias()

    async def body(backend: SearchBackend) -> None:
        await backend.put_index_template(alias, template(alias))
        await backend.create_index(f"{alias}-000001", {})
        await backend.update_aliases([{"remove": {"index": f"{alias}-000001", "alias": alias}}])
        await ensure_index(backend, alias)
        assert set(await backend.get_alias(write_alias(alias))) == {f"{alias}-000001"}
        assert set(await backend.get_alias(alias)) == {f"{alias}-000001"}

    with_backend(search_server, body)


def test_bulk_with_external_versions(search_server: SearchServer) -> None:
    alias = unique_alias()

    async def body(backend: SearchBackend) -> None:
        await ensure_index(backend, alias)
        sink = ElasticsearchSink(backend, alias)
        first = await sink.write([doc(1, version=5), doc(2, version=5), doc(2, version=6)])
        assert (first.written, first.stale, first.rejected) == (2, 0, [])
        again = await sink.write([doc(1, version=5)])  # redelivery: external_gte takes an equal version
        assert (again.written, again.stale) == (1, 0)
        older = await sink.write([doc(1, version=4)])  # 409 from the engine: counted as stale
        assert (older.written, older.stale) == (0, 1)
        bad = {**doc(3), "not_in_mapping": 1}
        mixed = await sink.write([bad, doc(4)])
        [rejected] = mixed.rejected
        assert rejected.id == "doc-3" and rejected.status == 400 and "strict_dynamic_mapping" in rejected.reason
        assert mixed.written == 1
        await backend.refresh(alias)
        assert await backend.count(alias) == 3
        assert await backend.count(alias, {"ids": {"values": ["doc-1", "doc-2"]}}) == 2
        hits = (await backend.search(alias, {"query": {"ids": {"values": ["doc-1", "doc-2"]}}, "version": True,
                                             "_source": ["title"]}))["hits"]["hits"]
        assert {h["_id"]: h["_version"] for h in hits} == {"doc-1": 5, "doc-2": 6}

    with_backend(search_server, body)


def test_search_with_aggregations_highlight_and_search_after(search_server: SearchServer) -> None:
    alias = unique_alias()
    base = datetime(2024, 1, 1, tzinfo=UTC)

    async def body(backend: SearchBackend) -> None:
        await ensure_index(backend, alias)
        written = await ElasticsearchSink(backend, alias).write([
            doc(10, title="Vertice", published=base), doc(11, title="Vertice", published=base + timedelta(days=1)),
            doc(12, title="Summit", language="en", published=base + timedelta(days=2))])
        assert written.written == 3
        languages = await backend.search(alias, {"size": 0, "aggs": LANGUAGES_AGG})
        assert {b["key"]: b["doc_count"] for b in languages["aggregations"]["languages"]["buckets"]} == {
            "it": 2, "en": 1}
        page = await search(backend, alias, SearchRequest("vertice", limit=1))
        assert [h["id"] for h in page.hits] == ["doc-11"] and page.total == 2 and page.next_cursor
        assert "**Vertice**" in " ".join(page.hits[0]["highlight"])
        second = await search(backend, alias, SearchRequest("vertice", limit=1, after=page.next_cursor))
        assert [h["id"] for h in second.hits] == ["doc-10"]
        ranged = await search(backend, alias, SearchRequest("", since="2024-01-02", until="now"))
        assert [h["id"] for h in ranged.hits] == ["doc-12", "doc-11"]
        relevance = await search(backend, alias, SearchRequest("vertice", sort="relevance", highlight=False))
        assert {h["id"] for h in relevance.hits} == {"doc-10", "doc-11"}

    with_backend(search_server, body)


def test_rollover_with_the_default_conditions_and_when_one_is_met(search_server: SearchServer) -> None:
    """The settings' conditions include max_primary_shard_size, which OpenSearch 2.x lacks: never a 400."""
    alias = unique_alias()

    async def body(backend: SearchBackend) -> None:
        await ensure_index(backend, alias)
        await ElasticsearchSink(backend, alias).write([doc(1)])
        assert await rollover(backend, alias, Settings().rollover_conditions) is None
        assert await rollover(backend, alias, {"max_docs": 1}) == f"{alias}-000002"
        holders = await backend.get_alias(write_alias(alias))
        writable = {name for name, info in holders.items() if info["aliases"][write_alias(alias)].get("is_write_index")}
        assert writable == {f"{alias}-000002"}
        assert set(await backend.get_alias(alias)) == {f"{alias}-000001", f"{alias}-000002"}

    with_backend(search_server, body)


def test_retention_deletes_by_age(search_server: SearchServer) -> None:
    """Published before the cutoff, or (no date) fetched before it: deleted, in every index behind the alias."""
    alias = unique_alias()
    now = datetime.now(UTC)
    old, recent = now - timedelta(days=40), now - timedelta(days=5)

    async def body(backend: SearchBackend) -> None:
        await ensure_index(backend, alias)
        sink = ElasticsearchSink(backend, alias)
        await sink.write([doc(1, published=old), doc(2, published=old, fetched=now)])
        await rollover(backend, alias, {"max_docs": 1})
        sink.forget_layout()
        await sink.write([doc(3, published=recent, fetched=old),  # recent publication: kept
                          doc(4, fetched=old),  # no publication date, fetched long ago: deleted
                          doc(5, fetched=recent)])  # no publication date, fetched recently: kept
        assert await apply_retention(backend, alias, None, now=now) == 0
        assert await apply_retention(backend, alias, 30, now=now) == 3
        await backend.refresh(alias)
        hits = (await backend.search(alias, {"query": {"match_all": {}}, "_source": False}))["hits"]["hits"]
        assert sorted(h["_id"] for h in hits) == ["doc-3", "doc-5"]
        assert await apply_retention(backend, alias, 30, now=now) == 0

    with_backend(search_server, body)


def test_errors_are_the_backends_own(search_server: SearchServer) -> None:
    async def body(backend: SearchBackend) -> None:
        with pytest.raises(SearchRequestError) as missing:
            await backend.get_alias(unique_alias("missing"))
        assert missing.value.not_found
        alias = unique_alias()
        await ensure_index(backend, alias)
        with pytest.raises(SearchRequestError) as malformed:
            await backend.search(alias, {"query": {"no_such_query": {}}})
        assert malformed.value.status == 400 and not malformed.value.not_found
        assert await backend.search(alias, build_query(SearchRequest("x")))  # the real body is accepted

    with_backend(search_server, body)

    down = f"http://admin:s3cret-pw@127.0.0.1:{free_port()}"

    async def unreachable() -> None:
        with pytest.raises(SearchUnavailable) as no_answer:
            await detect_engine(down)
        assert "s3cret" not in str(no_answer.value) and "admin" not in str(no_answer.value)
        backend = await open_backend(down, search_server.engine)  # type: ignore[arg-type]
        try:
            assert "s3cret" not in backend.url
            with pytest.raises(SearchUnavailable) as lost:
                await backend.count("anything")
            assert "s3cret" not in str(lost.value) and "s3cret" not in repr(lost.value)
            assert lost.value.__cause__ is None and lost.value.__suppress_context__  # no client exception inside
        finally:
            await backend.close()

    asyncio.run(unreachable())
