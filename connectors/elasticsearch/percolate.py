"""Alert matching with the engine's percolator: the index design, pure body builders, and the calls over a
SearchBackend (Elasticsearch or OpenSearch). No Faust, no Kafka.

    <alias>-subscriptions      two kinds of documents (`kind`):
      query         one per distinct compiled query (id: "query:" + query_id, a hash of the compiled query):
        query       {type: percolator}: compiled by the query language (connectors/elasticsearch/query_language.py)
                    exactly as search compiles it
        query_id    keyword
      subscription  one per subscription (id: its key, owner/name), no percolator field:
        subscription, owner, enabled, updates, query_id: keywords
    + every property of the articles' mapping (the template), so a stored query is parsed against the fields,
      analyzers and nested objects search uses: a subscription alerts on what search finds

A batch of indexed articles is matched in two requests: a `percolate` query with `documents: [...]` over the
query documents (each hit's `_percolator_document_slot` lists the positions of the batch's documents it
matched), then a plain `terms` lookup of the enabled subscriptions whose query_id is among the hits; each is
paged. Why one stored query per distinct query: the percolator's cost is per matching stored query (its fetch
phase runs each hit's query again to find its slots), and subscribers share queries (a followed name, a word):
at 10,000 subscriptions of bench/alerts_matching.py's mix, 6,300 distinct queries, and the shared ones are the
ones that match most.

A query no subscription uses any more costs matching time (never an alert), so `collect_unused_queries` removes
it, safely while other workers store subscriptions:
- every subscription write indexes its query document again, after the subscription in the same bulk, which bumps
  the query's sequence number; a view of the index that shows the query's new version shows the subscription too;
- a query is deleted only once it was seen unused, at the same version, in two passes (the leader's timer: ten
  minutes apart), so a subscription not yet visible to one search (a refresh, a replica behind) is seen by the
  next;
- the delete is conditional on that version (`if_seq_no`): a subscription stored with the query since bumped it
  (the delete is refused, 409), or stores it again after the delete.

An alert's id is stable for (subscription, article), plus the article's version only when the subscription asks
for updates: a re-match (a redelivered batch, an edited article) yields the same id, and the delivery side sends
each id once, so "an updated article does not alert again unless the subscription asks for updates" holds.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from connectors.elasticsearch.backend import SearchBackend, SearchRequestError
from connectors.elasticsearch.index import mapping_properties, template
from streams.records import Alert, Subscription

log = logging.getLogger(__name__)

PAGE_SIZE = 10_000  # subscriptions per percolate answer page: the most the engine gives (max_result_window),
# as each further page re-runs the whole percolation of the batch (measured: bench/alerts_matching.py --profile)
# Article fields no stored query can read, left out of the percolated documents (each is parsed into the engine's
# in-memory index of the batch): the unindexed ones, and the nested `entities` and `topics`, which the query
# language never queries (it matches their flat copies `entity_keys` and `topic_names`), while each of their
# items would be a nested document of its own: ~30 per article, the largest part of a batch's parsing
# (bench/alerts_matching.py --profile). A query language that reads them must take them out of this list.
UNSEARCHED_FIELDS = ("text", "content_html", "link", "enclosures", "entities", "topics", "models")
SUBSCRIPTION_FIELDS = {"query": {"type": "percolator"}, "subscription": {"type": "keyword"},
                       "owner": {"type": "keyword"}, "enabled": {"type": "keyword"},
                       "updates": {"type": "keyword"}, "kind": {"type": "keyword"},
                       "query_id": {"type": "keyword"}}
QUERY, SUBSCRIPTION = "query", "subscription"  # the kinds of documents
QUERY_PREFIX = "query:"  # a query document's id; a subscription key has no ':' (newsdesk/subscriptions.NAME)
MIGRATE_BATCH = 500
COLLECT_PAGE = 5_000  # query documents checked per round of collect_unused_queries


def percolator_index(alias: str) -> str:
    return f"{alias}-subscriptions"


def percolator_properties() -> dict[str, Any]:
    """The articles' properties (from the template) plus the subscription fields."""
    properties = mapping_properties()
    clash = set(properties) & set(SUBSCRIPTION_FIELDS)
    if clash:  # the template gained a field of the same name: the design must change, loudly
        raise ValueError(f"article fields clash with the percolator's own: {sorted(clash)}")
    return {**properties, **SUBSCRIPTION_FIELDS}


def percolator_index_body() -> dict[str, Any]:
    """Settings (the template's analyzers: the `folded` one) and mappings of the percolator index."""
    settings = template()["template"]["settings"]
    return {"settings": {"number_of_shards": 1, "number_of_replicas": settings.get("number_of_replicas", 0),
                         "analysis": settings["analysis"]},
            # not strict: a percolated document is only parsed, and the subscription fields are listed anyway
            "mappings": {"dynamic": False, "properties": percolator_properties()}}


def subscription_document(subscription: Subscription, query: dict[str, Any]) -> dict[str, Any]:
    """The percolator document of a subscription; `query`: its compiled query (compile_query(subscription.query))."""
    return {"query": query, "subscription": subscription.key, "owner": subscription.owner,
            "enabled": subscription.enabled, "updates": subscription.updates}


def query_id(query: dict[str, Any]) -> str:
    """Stable for equal compiled queries (key order aside)."""
    return hashlib.sha256(json.dumps(query, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:32]


def upsert_operations(alias: str, items: list[tuple[str, dict[str, Any] | None]]) -> list[dict[str, Any]]:
    """Bulk operations: (key, subscription_document) indexes the subscription under the key with its query's id,
    then stores the query (once per distinct query per call; indexed again if it exists, which is what makes
    collect_unused_queries safe); (key, None) deletes the subscription."""
    index = percolator_index(alias)
    operations: list[dict[str, Any]] = []
    created: set[str] = set()
    for key, document in items:
        if document is None:
            operations.append({"delete": {"_index": index, "_id": key}})
            continue
        subscription = {k: v for k, v in document.items() if k != "query"}
        subscription["kind"] = SUBSCRIPTION
        if "query" not in document:
            operations += [{"index": {"_index": index, "_id": key}}, subscription]
            continue
        subscription["query_id"] = qid = query_id(document["query"])
        operations += [{"index": {"_index": index, "_id": key}}, subscription]
        if qid not in created:  # after its subscription: see the module's doc
            created.add(qid)
            operations += [{"index": {"_index": index, "_id": QUERY_PREFIX + qid}},
                           {"query": document["query"], "kind": QUERY, "query_id": qid}]
    return operations


def percolated(document: dict[str, Any]) -> dict[str, Any]:
    """An article document as the percolator needs it (what no query can search left out)."""
    return {key: value for key, value in document.items() if key not in UNSEARCHED_FIELDS}


def percolate_body(documents: list[dict[str, Any]], *, size: int = PAGE_SIZE,
                   after: list[Any] | None = None) -> dict[str, Any]:
    """One percolate request for a batch of article documents over the stored queries, paged by query id; a hit
    is read from its _id and slots alone (no source loaded)."""
    body: dict[str, Any] = {
        "query": {"bool": {"filter": [{"percolate": {"field": "query",
                                                     "documents": [percolated(d) for d in documents]}},
                                      {"term": {"kind": QUERY}}]}},
        "size": size,
        "sort": [{"query_id": "asc"}],
        "_source": False,
        "track_total_hits": False,
    }
    if after is not None:
        body["search_after"] = after
    return body


def subscribers_body(query_ids: list[str], *, size: int = PAGE_SIZE, after: list[Any] | None = None) -> dict[str, Any]:
    """The enabled subscriptions of the given queries, paged by key: a plain keyword lookup, no percolation."""
    body: dict[str, Any] = {
        "query": {"bool": {"filter": [{"term": {"kind": SUBSCRIPTION}}, {"term": {"enabled": True}},
                                      {"terms": {"query_id": query_ids}}]}},
        "size": size,
        "sort": [{"subscription": "asc"}],
        "_source": ["subscription", "updates", "query_id"],
        "track_total_hits": False,
    }
    if after is not None:
        body["search_after"] = after
    return body


@dataclass(frozen=True)
class Match:
    subscription: str  # key, owner/name
    updates: bool
    slots: tuple[int, ...]  # positions in the percolated batch


def slots_of(response: dict[str, Any], batch_size: int) -> dict[str, tuple[int, ...]]:
    """query id -> the positions of the documents it matched, from a percolate answer. Pure."""
    found = {}
    for hit in response["hits"]["hits"]:
        slots = (hit.get("fields") or {}).get("_percolator_document_slot")
        if slots is None:  # the engine leaves the slot out when it percolated a single document
            slots = [0] if batch_size == 1 else []
        found[str(hit["_id"]).removeprefix(QUERY_PREFIX)] = tuple(int(s) for s in slots)
    return found


def matches_of(response: dict[str, Any], slots: dict[str, tuple[int, ...]]) -> list[Match]:
    """The subscriptions of a subscribers_body answer, each with the documents its query matched. Pure."""
    found = []
    for hit in response["hits"]["hits"]:
        source = hit.get("_source") or {}
        matched = slots.get(str(source.get("query_id")))
        if matched is not None:
            found.append(Match(str(source.get("subscription", hit["_id"])), _true(source.get("updates")), matched))
    return found


def _true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


async def ensure_percolator_index(backend: SearchBackend, alias: str) -> None:
    """Idempotent: create the percolator index, or add the template's new fields to it."""
    index = percolator_index(alias)
    if not await backend.index_exists(index):
        try:
            await backend.create_index(index, percolator_index_body())
            log.info("percolator index %s created", index)
            return
        except SearchRequestError as exc:
            if "already_exists" not in exc.reason and "already exists" not in exc.reason:
                raise  # another worker created it meanwhile: fine
    try:
        await backend.put_mapping(index, percolator_properties())
    except SearchRequestError as exc:
        log.warning("could not update the mapping of %s in place: %s", index, exc)
    await _migrate(backend, alias)


async def _migrate(backend: SearchBackend, alias: str) -> None:
    """Documents stored before queries were shared (a subscription with its own `query`, no `kind`) are written
    again in the current shape, so they keep matching."""
    index = percolator_index(alias)
    attempted: set[str] = set()
    while True:
        response = await backend.search(index, {"query": {"bool": {"must_not": [{"exists": {"field": "kind"}}]}},
                                                "size": MIGRATE_BATCH})
        hits = [hit for hit in response["hits"]["hits"] if hit["_id"] not in attempted]
        if not hits:
            return
        attempted.update(hit["_id"] for hit in hits)  # one the engine refuses again is not retried forever
        await write_subscriptions(backend, alias, [(hit["_id"], hit["_source"]) for hit in hits])
        log.info("percolator index %s: %d subscriptions stored again with shared queries", index, len(hits))


async def write_subscriptions(backend: SearchBackend, alias: str,
                              items: list[tuple[str, dict[str, Any] | None]]) -> None:
    """Upsert or delete percolator documents, visible to the next percolate when this returns (refresh=wait_for).
    Raises SearchError when the engine fails or refuses one of them (a delete of an absent key is fine)."""
    if not items:
        return
    response = await backend.bulk(upsert_operations(alias, items), refresh="wait_for")
    failed = []
    for item in response.get("items", []):
        (action, outcome), = item.items()
        status = int(outcome.get("status", 500))
        if status >= 300 and not (action == "delete" and status == 404):
            error = outcome.get("error", {})
            failed.append(f"{outcome.get('_id')}: {error.get('type', 'error')}: {error.get('reason', error)}")
    if failed:
        raise SearchRequestError(400, "; ".join(failed[:5]))


def query_documents_body(size: int, after: list[Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"query": {"term": {"kind": QUERY}}, "_source": False, "docvalue_fields": ["query_id"],
                            "seq_no_primary_term": True, "size": size, "sort": [{"query_id": "asc"}]}
    if after is not None:
        body["search_after"] = after
    return body


def users_body(query_ids: list[str]) -> dict[str, Any]:
    """Which of these queries at least one subscription (enabled or not) uses."""
    return {"size": 0, "query": {"bool": {"filter": [{"term": {"kind": SUBSCRIPTION}},
                                                     {"terms": {"query_id": query_ids}}]}},
            "aggs": {"used": {"terms": {"field": "query_id", "size": len(query_ids)}}}}


@dataclass(frozen=True)
class StoredQuery:
    id: str
    seq_no: int
    primary_term: int


async def unused_queries(backend: SearchBackend, alias: str, page: int = COLLECT_PAGE) -> list[StoredQuery]:
    """The query documents no subscription refers to, each with the version it was seen at."""
    index = percolator_index(alias)
    unused: list[StoredQuery] = []
    after: list[Any] | None = None
    while True:
        hits = (await backend.search(index, query_documents_body(page, after)))["hits"]["hits"]
        if not hits:
            return unused
        seen = {hit["fields"]["query_id"][0]: hit for hit in hits}
        answer = await backend.search(index, users_body(sorted(seen)))
        used = {bucket["key"] for bucket in answer["aggregations"]["used"]["buckets"]}
        unused += [StoredQuery(hit["_id"], int(hit["_seq_no"]), int(hit["_primary_term"]))
                   for qid, hit in seen.items() if qid not in used]
        if len(hits) < page:
            return unused
        after = hits[-1]["sort"]


async def delete_queries(backend: SearchBackend, alias: str, queries: list[StoredQuery]) -> int:
    """Delete each query document if it is still at the version seen; how many were. One written again since (a
    subscription now uses it) is left (409)."""
    if not queries:
        return 0
    index = percolator_index(alias)
    response = await backend.bulk([{"delete": {"_index": index, "_id": q.id, "if_seq_no": q.seq_no,
                                               "if_primary_term": q.primary_term}} for q in queries],
                                  refresh="wait_for")
    deleted = 0
    for item in response.get("items", []):
        status = int(item.get("delete", {}).get("status", 500))
        if status < 300:
            deleted += 1
        elif status not in (404, 409):  # gone already, or stored again meanwhile: both are fine
            error = item["delete"].get("error", {})
            log.warning("percolator: stored query %s not deleted: %s", item["delete"].get("_id"),
                        error.get("reason", error))
    return deleted


async def collect_unused_queries(backend: SearchBackend, alias: str,
                                 seen_before: set[StoredQuery]) -> tuple[int, set[StoredQuery]]:
    """Delete the stored queries no subscription uses that the previous pass (`seen_before`) also found unused at
    the same version; returns how many were deleted and this pass's findings, for the next pass."""
    unused = set(await unused_queries(backend, alias))
    return await delete_queries(backend, alias, sorted(unused & seen_before, key=lambda q: q.id)), unused


async def percolate(backend: SearchBackend, alias: str, documents: list[dict[str, Any]]) -> list[Match]:
    """Every enabled subscription that matches a document of the batch, with the documents it matched."""
    if not documents:
        return []
    index = percolator_index(alias)
    found: list[Match] = []
    after: list[Any] | None = None
    while True:
        response = await backend.search(index, percolate_body(documents, after=after))
        hits = response["hits"]["hits"]
        slots = slots_of(response, len(documents))
        if slots:
            found += await _subscribers(backend, index, slots)
        if len(hits) < PAGE_SIZE:
            return found
        after = hits[-1]["sort"]


async def _subscribers(backend: SearchBackend, index: str, slots: dict[str, tuple[int, ...]]) -> list[Match]:
    found: list[Match] = []
    after: list[Any] | None = None
    while True:
        response = await backend.search(index, subscribers_body(sorted(slots), after=after))
        hits = response["hits"]["hits"]
        found += matches_of(response, slots)
        if len(hits) < PAGE_SIZE:
            return found
        after = hits[-1]["sort"]


# -- alerts -------------------------------------------------------------------------------------------------------

def alert_id(subscription: str, article_id: str, version: int | None = None) -> str:
    """Stable: the same (subscription, article) pair, and version when given, always gives the same id."""
    parts = [subscription, article_id] + ([str(version)] if version is not None else [])
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def _article_alert(document: dict[str, Any], matched_at: datetime) -> Alert:
    """What every alert on this article shares, validated once (a batch's article has ~100 alerts at 10,000
    subscriptions: docs/benchmarks.md, session 11); id and subscription are filled in per match."""
    version = int(document.get("version") or 0)
    return Alert(id="", subscription="", article_id=document["id"], article_version=version,
                 title=document.get("title") or "", url=document.get("url"), language=document.get("language") or "",
                 persons=list(document.get("persons") or []),
                 organisations=list(document.get("organisations") or []),
                 locations=list(document.get("locations") or []), topics=list(document.get("topic_names") or []),
                 published_at=_date(document.get("published_at")), matched_at=matched_at)


def _for_subscription(article: Alert, match: Match) -> Alert:
    version = article.article_version if match.updates else None
    return article.model_copy(update={"id": alert_id(match.subscription, article.article_id, version),
                                      "subscription": match.subscription})


def _date(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def alerts_for(matches: list[Match], documents: list[dict[str, Any]],
               matched_at: datetime | None = None) -> list[Alert]:
    """One alert per (subscription, article) in the batch, in a stable order; an article twice in the batch (two
    versions) alerts once, for its newest version."""
    now = matched_at or datetime.now(UTC)
    articles: dict[int, Alert] = {}
    alerts: dict[str, Alert] = {}
    for match in sorted(matches, key=lambda m: m.subscription):
        for slot in sorted(match.slots):
            if not 0 <= slot < len(documents):
                continue
            if slot not in articles:
                articles[slot] = _article_alert(documents[slot], now)
            alert = _for_subscription(articles[slot], match)
            kept = alerts.get(alert.id)
            if kept is None or alert.article_version > kept.article_version:
                alerts[alert.id] = alert
    return list(alerts.values())
