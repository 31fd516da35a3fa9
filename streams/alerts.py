"""Alert matching in the stream: subscriptions follow `newsdesk.subscriptions` into the percolator index, and
each batch the `index` agent has written is percolated, its matches produced to the `alerts` topic.

    newsdesk.subscriptions --follow_subscriptions--> <alias>-subscriptions (percolator, refresh=wait_for)
    articles.annotated --index--> articles ──match_and_alert (after sink.write)──> alerts --> delivery

Why the percolator: every stored query is checked the way search checks it (same mapping, analyzers, nested
entities), so a subscription alerts on exactly what `newsdesk search` finds; bench/alerts_matching.py measures
its cost per article (docs/benchmarks.md).

Sync: the compacted topic is consumed by the workers running the `index` stage (one consumer group, so each
change is applied once, to the one shared percolator index); a change is searchable by the next percolate
when its bulk returns (refresh=wait_for), i.e. within about a second, with no restart. Subscriptions with the
same compiled query share one stored query (connectors/elasticsearch/percolate.py: the percolator's cost is per
matching stored query). A removal (tombstone) deletes the subscription's document; a disabled subscription
stays stored with enabled=false, which the lookup after the percolate filters out. A query that no longer
compiles is logged and the subscription removed from the percolator (it can never match).

Crash safety: `match_and_alert` returns only once the broker acknowledged every alert of the batch, and the
index agent asks for its next batch (which releases this batch's offsets) only after that. A crash before it
re-delivers the batch: it is indexed again (idempotent) and matched again, giving the same alert ids, which
the delivery side sends once each. An alert id leaves the article version out unless the subscription asks
for updates, so an edited article re-matches to the same id and is not sent again.

Registered by `streams/app.py`, which imports this module once `app`, `settings` and `when` exist (and the
index agent's `elasticsearch_sink`, used at run time).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any, TypeVar, cast

import faust
from pydantic import ValidationError

from connectors.elasticsearch import SearchBackend, SearchRequestError, SearchUnavailable
from connectors.elasticsearch.percolate import (
    Match,
    StoredQuery,
    alerts_for,
    collect_unused_queries,
    ensure_percolator_index,
    percolate,
    subscription_document,
    write_subscriptions,
)
from connectors.elasticsearch.query_language import QuerySyntaxError, compile_query
from connectors.elasticsearch.sink import WriteResult
from newsdesk.observability import metrics
from streams.records import Subscription


def _pipeline() -> ModuleType:
    """The module that defines the Faust app, as `streams.app`: the worker runs that copy (streams/worker.py), so
    the agents registered here run with it. Imported while `streams.app` is still being executed (its import
    line), which has defined `app`, `settings` and `when`."""
    return importlib.import_module("streams.app")  # the entry in sys.modules, even half-executed


pipeline = _pipeline()
app, settings, when = pipeline.app, pipeline.settings, pipeline.when

log = logging.getLogger(__name__)
T = TypeVar("T")

subscriptions_topic = app.topic(settings.topic_subscriptions, key_type=bytes, value_type=bytes,
                                key_serializer="raw", value_serializer="raw")
SUBSCRIPTION_BATCH = 500  # changes applied in one bulk (a first start may read many)
UNUSED_QUERIES_CHECK_S = 600.0  # a query is deleted once two passes found it unused: after 10-20 minutes
_unused_seen: set[StoredQuery] = set()  # the last pass's unused queries (this worker's, while it leads)
BACKOFF_S = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
_prepared: set[int] = set()  # ids of the backends whose percolator index was ensured by this process


async def search_backend() -> SearchBackend:
    """The index agent's backend (opened once; waits for an engine that is down)."""
    sink = await pipeline.elasticsearch_sink()
    return cast(SearchBackend, sink.backend)


async def _prepare(backend: SearchBackend) -> None:
    if id(backend) not in _prepared:
        await ensure_percolator_index(backend, settings.index_alias)
        _prepared.add(id(backend))


async def _patiently(what: str, backend: SearchBackend, call: Callable[[], Awaitable[T]]) -> T:
    """Run `call` until the engine answers: an engine that is down is waited for (the stream waits, nothing is
    lost); a missing percolator index is created. A request the engine refuses is raised."""
    attempt = 0
    while True:
        try:
            await _prepare(backend)
            return await call()
        except SearchUnavailable as exc:
            problem = str(exc)
        except SearchRequestError as exc:
            if not exc.not_found:
                raise
            _prepared.discard(id(backend))  # the index was deleted: create it again
            problem = str(exc)
        delay = BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)]
        attempt += 1
        log.warning("alerts: %s failed (%s); retrying in %.1f s", what, problem, delay)
        await asyncio.sleep(delay)


# -- newsdesk.subscriptions -> the percolator index --------------------------------------------------------------

def percolator_items(records: list[tuple[bytes | None, bytes | None]]) -> list[tuple[str, dict[str, Any] | None]]:
    """(key, percolator document or None to delete) for a run of topic records, the last per key winning."""
    items: dict[str, dict[str, Any] | None] = {}
    for raw_key, value in records:
        if raw_key is None:
            continue
        key = raw_key.decode(errors="replace")
        items.pop(key, None)  # keep the order of the last change
        if value is None:
            items[key] = None
            continue
        try:
            subscription = Subscription.model_validate_json(value)
            items[key] = subscription_document(subscription, compile_query(subscription.query))
        except ValidationError as exc:
            log.error("alerts: subscription %r is not valid (%s); it is not matched", key, exc.errors()[:1])
            items[key] = None
        except QuerySyntaxError as exc:
            log.error("alerts: the query of subscription %r does not parse (%s); it is not matched", key, exc)
            items[key] = None
    return list(items.items())


async def apply_subscriptions(backend: SearchBackend, items: list[tuple[str, dict[str, Any] | None]]) -> None:
    """Write the changes; one the engine refuses (a query its mapping cannot take) is logged and skipped."""
    alias = settings.index_alias
    try:
        await _patiently("updating subscriptions", backend, lambda: write_subscriptions(backend, alias, items))
        return
    except SearchRequestError:
        if len(items) == 1:
            raise
    for item in items:
        try:
            await _patiently("updating a subscription", backend,
                             lambda item=item: write_subscriptions(backend, alias, [item]))  # type: ignore[misc]
        except SearchRequestError as exc:
            log.error("alerts: the search engine refused subscription %r: %s; it is not matched", item[0], exc)


@when("index", app.agent(subscriptions_topic))
async def follow_subscriptions(stream: faust.StreamT) -> None:
    """Keep the percolator index equal to the compacted topic; a batch is released once written."""
    async for events in stream.take_events(SUBSCRIPTION_BATCH, within=0.2):  # type: ignore[attr-defined]
        items = percolator_items([(e.message.key, e.message.value) for e in events])
        if items:
            await apply_subscriptions(await search_backend(), items)
            log.info("alerts: %d subscription changes applied", len(items))


@when("index", app.timer(UNUSED_QUERIES_CHECK_S, on_leader=True))
async def collect_unused() -> None:
    """Housekeeping on the leader: stored queries no subscription uses any more are deleted (safe while other
    workers store subscriptions: connectors/elasticsearch/percolate.py)."""
    global _unused_seen
    backend = await search_backend()
    try:
        deleted, _unused_seen = await _patiently(
            "collecting unused queries", backend,
            lambda: collect_unused_queries(backend, settings.index_alias, _unused_seen))
    except SearchRequestError as exc:  # retried at the next tick
        log.warning("alerts: collecting unused stored queries failed: %s", exc)
        return
    if deleted:
        log.info("alerts: %d stored queries no subscription uses any more were deleted", deleted)


# -- after the index agent's write: percolate, produce alerts ------------------------------------------------------

async def _percolate_each(backend: SearchBackend, documents: list[dict[str, Any]]) -> list[Match]:
    """The batch refused as a whole: each document alone, so one the engine cannot parse costs only itself."""
    found: list[Match] = []
    for slot, document in enumerate(documents):
        try:
            matches = await _patiently("percolating", backend,
                                       lambda d=document: percolate(backend, settings.index_alias, [d]))  # type: ignore[misc]
        except SearchRequestError as exc:
            log.error("alerts: article %s could not be matched (%s); it raises no alert", document.get("id"), exc)
            continue
        found += [Match(m.subscription, m.updates, (slot,)) for m in matches if m.slots]
    return found


async def match_and_alert(backend: SearchBackend, documents: list[dict[str, Any]], result: WriteResult) -> int:
    """Percolate the documents the sink has written and produce one alert per (subscription, article) to the
    `alerts` topic; returns once the broker acknowledged them all (how many). Waits for an engine or a broker
    that is down rather than losing the batch's alerts."""
    rejected = {r.id for r in result.rejected}
    newest: dict[str, dict[str, Any]] = {}
    for doc in documents:  # as the sink: one per id, the newest version
        if doc["id"] not in rejected and (doc["id"] not in newest or
                                          doc.get("version", 0) >= newest[doc["id"]].get("version", 0)):
            newest[doc["id"]] = doc
    batch = list(newest.values())
    if not batch:
        return 0
    try:
        matches = await _patiently("percolating", backend, lambda: percolate(backend, settings.index_alias, batch))
    except SearchRequestError as exc:
        log.warning("alerts: the batch could not be matched at once (%s); matching its articles one by one", exc)
        matches = await _percolate_each(backend, batch)
    alerts = alerts_for(matches, batch)
    attempt = 0
    while alerts:
        try:
            # Faust's transport producer, not a Faust topic's send(): ~120 alerts per article went through its channel
            # and FutureMessage machinery each, on the annotating worker's loop (docs/benchmarks.md, session 11);
            # same key, same partitioner, so the same partition
            producer = app.producer
            sends = [await producer.send(settings.topic_alerts, a.id.encode(), a.to_bytes(), None, None, None)
                     for a in alerts]
            await asyncio.gather(*sends)
            break
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the broker: the same ids again are harmless (delivery sends each id once)
            delay = BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)]
            attempt += 1
            log.error("alerts: %d alerts not acknowledged (%r); sending again in %.1f s", len(alerts), exc, delay)
            await asyncio.sleep(delay)
    metrics.on_alerts_matched(len(alerts))
    if alerts:
        log.info("alerts: %d alerts for %d articles", len(alerts), len({a.article_id for a in alerts}))
    return len(alerts)
