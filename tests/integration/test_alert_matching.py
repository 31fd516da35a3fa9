"""Alert matching on the real OpenSearch: the percolator agrees with search (a property over many queries and a
few hundred articles in six languages), disabled subscriptions never match, and through the running pipeline
the seed article fires the gold's alert examples that must fire, and not the one that must not."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

import pytest
from kafka import KafkaConsumer

from connectors.elasticsearch import SearchBackend, open_backend
from connectors.elasticsearch.index import ensure_index
from connectors.elasticsearch.percolate import (
    alerts_for,
    collect_unused_queries,
    delete_queries,
    ensure_percolator_index,
    percolate,
    percolator_index,
    subscription_document,
    unused_queries,
    write_subscriptions,
)
from connectors.elasticsearch.query_language import compile_query
from connectors.elasticsearch.search import SearchRequest, search
from connectors.elasticsearch.sink import ElasticsearchSink
from streams.records import Alert, Subscription
from tests.alert_corpus import QUERIES, make_documents
from tests.integration.conftest import Pipeline, SearchServer, unique_alias, wait_until

T = TypeVar("T")
ARTICLES = 300
BATCH = 100  # the index agent's batches are up to NEWSDESK_SINK_BATCH_SIZE (200) documents


def run(server: SearchServer, body: Callable[[SearchBackend], Awaitable[T]]) -> T:
    async def main() -> T:
        backend = await open_backend(server.url, "opensearch")
        try:
            return await body(backend)
        finally:
            await backend.close()

    return asyncio.run(main())


def subscription(name: str, query: str, *, enabled: bool = True, updates: bool = False) -> Subscription:
    now = datetime.now(UTC)
    return Subscription(name=name, query=query, enabled=enabled, updates=updates, created_at=now, updated_at=now)


def test_percolator_matches_what_search_finds(opensearch_server: SearchServer) -> None:
    """For each query: the articles a subscription with it matches == the articles search returns."""
    assert len(QUERIES) >= 30
    alias = unique_alias("alerts")
    documents = make_documents(ARTICLES)
    subscriptions = {f"q{i:02d}": subscription(f"q{i:02d}", q) for i, q in enumerate(QUERIES)}
    subscriptions["off"] = subscription("off", "governo OR government", enabled=False)

    async def body(backend: SearchBackend) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
        await ensure_index(backend, alias)
        result = await ElasticsearchSink(backend, alias).write(documents)
        assert result.written == ARTICLES and not result.rejected
        await ensure_percolator_index(backend, alias)
        await write_subscriptions(backend, alias, [(s.key, subscription_document(s, compile_query(s.query)))
                                                   for s in subscriptions.values()])
        percolated: dict[str, set[str]] = {s.key: set() for s in subscriptions.values()}
        for start in range(0, ARTICLES, BATCH):
            batch = documents[start:start + BATCH]
            for alert in alerts_for(await percolate(backend, alias, batch), batch):
                percolated[alert.subscription].add(alert.article_id)
        searched = {}
        for s in subscriptions.values():
            page = await search(backend, alias, SearchRequest(query=s.query, limit=1000, highlight=False))
            assert page.total < 1000
            searched[s.key] = {hit["id"] for hit in page.hits}
        return percolated, searched

    percolated, searched = run(opensearch_server, body)
    differences = {}
    for key, s in subscriptions.items():
        full = f"default/{key}"
        if not s.enabled:
            assert percolated[full] == set(), "a disabled subscription matched"
            assert searched[full], "the disabled subscription's query should match something"
            continue
        if percolated[full] != searched[full]:
            differences[s.query] = {"only_percolator": sorted(percolated[full] - searched[full])[:5],
                                    "only_search": sorted(searched[full] - percolated[full])[:5]}
    assert differences == {}, json.dumps(differences, indent=1, ensure_ascii=False)
    # the property is not vacuous: most queries match some articles, and not all of them
    sizes = [len(searched[f"default/{k}"]) for k, s in subscriptions.items() if s.enabled]
    assert sum(1 for n in sizes if 0 < n < ARTICLES) >= 25, sizes


def test_subscription_changes_take_effect_at_once(opensearch_server: SearchServer) -> None:
    """An upsert, a disable and a delete are seen by the very next percolate (refresh=wait_for)."""
    alias = unique_alias("alerts")
    [document] = make_documents(1)
    sub = subscription("s", f"lang:{document['language']}")

    async def body(backend: SearchBackend) -> list[list[str]]:
        await ensure_percolator_index(backend, alias)
        await ensure_percolator_index(backend, alias)  # idempotent
        seen = []
        doc = subscription_document(sub, compile_query(sub.query))
        for change in (doc, {**doc, "enabled": False}, {**doc, "enabled": True}, None):
            await write_subscriptions(backend, alias, [(sub.key, change)])
            seen.append([m.subscription for m in await percolate(backend, alias, [document])])
        await write_subscriptions(backend, alias, [("default/never-there", None)])  # deleting the absent: fine
        assert await backend.index_exists(percolator_index(alias))
        return seen

    assert run(opensearch_server, body) == [["default/s"], [], ["default/s"], []]


def test_shared_queries_alert_each_subscriber(opensearch_server: SearchServer) -> None:
    """Subscriptions with the same query share one stored query: each enabled one alerts, a disabled one does not,
    removing one leaves the others matching, and one stored the old way (its own query, before sharing) is
    stored again by ensure_percolator_index and keeps matching."""
    alias = unique_alias("alerts")
    [document] = make_documents(1)
    query = f"lang:{document['language']}"
    subs = [subscription("a", query), subscription("b", query), subscription("off", query, enabled=False),
            subscription("other", f"{query} AND zzzabsentword")]

    async def body(backend: SearchBackend) -> list[list[str]]:
        await ensure_percolator_index(backend, alias)
        await write_subscriptions(backend, alias, [(s.key, subscription_document(s, compile_query(s.query)))
                                                   for s in subs])
        seen = [sorted(m.subscription for m in await percolate(backend, alias, [document]))]
        stored = await backend.count(percolator_index(alias), {"term": {"kind": "query"}})
        await write_subscriptions(backend, alias, [("default/a", None)])
        seen.append(sorted(m.subscription for m in await percolate(backend, alias, [document])))
        old = subscription("old", query)  # as session 9 stored it: one document with its own query, no kind
        await backend.bulk([{"index": {"_index": percolator_index(alias), "_id": old.key}},
                            subscription_document(old, compile_query(old.query))], refresh="wait_for")
        await ensure_percolator_index(backend, alias)
        seen.append(sorted(m.subscription for m in await percolate(backend, alias, [document])))
        assert stored == 2  # four subscriptions, two distinct queries
        assert await backend.count(percolator_index(alias), {"term": {"kind": "query"}}) == 2
        return seen

    assert run(opensearch_server, body) == [["default/a", "default/b"], ["default/b"], ["default/b", "default/old"]]


def test_unused_stored_queries_are_collected_safely(opensearch_server: SearchServer) -> None:
    """A stored query no subscription uses is deleted; one that a writer stores again between the collector's look
    and its delete (another worker adding a subscription with it) is kept; a subscription stored after the
    collection gets its query back; the timer's collection deletes only what two passes found unused. Every
    subscription keeps matching throughout."""
    alias = unique_alias("alerts")
    [document] = make_documents(1)
    language = f"lang:{document['language']}"
    subs = {name: subscription(name, query) for name, query in (
        ("keep", language), ("drop", f"{language} AND NOT zzzabsentword"), ("race", f"{language} OR zzzabsentword"))}
    stored = {s.key: subscription_document(s, compile_query(s.query)) for s in subs.values()}

    async def matched(backend: SearchBackend) -> list[str]:
        return sorted(m.subscription for m in await percolate(backend, alias, [document]))

    async def queries(backend: SearchBackend) -> int:
        return await backend.count(percolator_index(alias), {"term": {"kind": "query"}})

    async def body(backend: SearchBackend) -> list[object]:
        await ensure_percolator_index(backend, alias)
        await write_subscriptions(backend, alias, list(stored.items()))
        await write_subscriptions(backend, alias, [("default/drop", None), ("default/race", None)])
        candidates = await unused_queries(backend, alias)
        await write_subscriptions(backend, alias, [("default/race", stored["default/race"])])  # the race
        seen: list[object] = [len(candidates), await delete_queries(backend, alias, candidates), await queries(backend),
                              await matched(backend)]
        await write_subscriptions(backend, alias, [("default/drop", stored["default/drop"])])
        seen += [await queries(backend), await matched(backend)]
        await write_subscriptions(backend, alias, [("default/drop", None)])
        first, found = await collect_unused_queries(backend, alias, set())  # the timer's first pass: only looks
        second, _ = await collect_unused_queries(backend, alias, found)  # unused twice at the same version
        seen += [first, len(found), second, await queries(backend), await matched(backend)]
        return seen

    assert run(opensearch_server, body) == [
        2, 1, 2, ["default/keep", "default/race"],
        3, ["default/drop", "default/keep", "default/race"],
        0, 1, 1, 2, ["default/keep", "default/race"]]


# -- through the running pipeline ----------------------------------------------------------------------------------

# The seed gold's alert examples in the query language (tests/fixtures/seed-article.gold.json, "alert_examples").
SEED_SUBSCRIPTIONS = {
    "putin-xi": ('person:"Vladimir Putin" AND person:"Xi Jinping"', True),
    "war-it": ('topic:"conflict, war and peace" AND lang:it', True),
    "nato": ("org:NATO", False),
}


def test_seed_examples_match_the_gold(seed_gold: dict) -> None:
    """The translation above says what the gold's examples say, in the same order."""
    examples = seed_gold["alert_examples"]
    assert [e["must_fire"] for e in examples] == [fire for _, fire in SEED_SUBSCRIPTIONS.values()]
    assert "Vladimir Putin" in examples[0]["subscription"] and "Xi Jinping" in examples[0]["subscription"]
    assert "conflict, war and peace" in examples[1]["subscription"]
    assert "language it" in examples[1]["subscription"]
    assert "NATO" in examples[2]["subscription"]


def read_alerts(pipeline: Pipeline) -> list[Alert]:
    consumer = KafkaConsumer(pipeline.topic("alerts"), bootstrap_servers=pipeline.bootstrap,
                             auto_offset_reset="earliest", consumer_timeout_ms=8000, group_id=None)
    try:
        return [Alert.model_validate_json(m.value) for m in consumer]
    finally:
        consumer.close()


@pytest.mark.timeout(300)
def test_seed_article_fires_the_gold_alerts(pipeline: Pipeline, feed_server: str, seed_gold: dict) -> None:
    pipeline.start()
    wait_until(lambda: pipeline.cli("alerts", "list", "--json", check=False).returncode == 0, 90,
               "the subscriptions topic (created by `up`)")
    secrets = []
    for name, (query, _) in SEED_SUBSCRIPTIONS.items():
        added = pipeline.cli("alerts", "add", name, query)
        assert f"added default/{name}" in added.stdout, added.stderr
        secrets.append(added.stdout.split("shown once; webhooks are signed with it): ")[1].strip())
    listed = pipeline.cli("alerts", "list", "--json").stdout
    assert {json.loads(line)["key"] for line in listed.splitlines()} == {f"default/{n}" for n in SEED_SUBSCRIPTIONS}
    assert all(secret and secret not in listed for secret in secrets)
    pipeline.wait_ready()
    time.sleep(2)  # the worker applies the subscriptions within a second or so of reading them
    pipeline.cli("feeds", "add", f"{feed_server}/seed-article.rss.xml")
    wait_until(lambda: pipeline.search("cooperazione militare"), 60, "the seed article to be indexed")
    must_fire = {f"default/{n}" for n, (_, fire) in SEED_SUBSCRIPTIONS.items() if fire}
    alerts = wait_until(lambda: (found := read_alerts(pipeline)) and {a.subscription for a in found} >= must_fire
                        and found, 30, "the seed article's alerts")
    time.sleep(3)
    alerts = read_alerts(pipeline)
    assert {a.subscription for a in alerts} == must_fire, alerts
    assert len({a.id for a in alerts}) == len(must_fire)
    for alert in alerts:
        assert alert.url == seed_gold["canonical_url"] and alert.language == "it"
        assert "Vladimir Putin" in alert.persons
    # `alerts test` shows the same article for a query that fires, nothing for the one that does not
    tested = pipeline.cli("alerts", "test", SEED_SUBSCRIPTIONS["putin-xi"][0], "--json").stdout.splitlines()
    assert [json.loads(line)["url"] for line in tested] == [seed_gold["canonical_url"]]
    assert pipeline.cli("alerts", "test", SEED_SUBSCRIPTIONS["nato"][0], "--json").stdout.strip() == ""
    # a disabled subscription stays listed, and a removed one is gone
    pipeline.cli("alerts", "disable", "nato")
    pipeline.cli("alerts", "remove", "war-it")
    views = {json.loads(line)["key"]: json.loads(line) for line in
             pipeline.cli("alerts", "list", "--json").stdout.splitlines()}
    assert set(views) == {"default/putin-xi", "default/nato"} and views["default/nato"]["enabled"] is False
    refused = pipeline.cli("alerts", "remove", "war-it", check=False)
    assert refused.returncode == 1 and "no subscription" in refused.stderr
