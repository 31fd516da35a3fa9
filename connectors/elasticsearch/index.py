"""Index template, first index and the `articles` alias; and the cap that keeps an embedded index small."""

from __future__ import annotations

import json
import logging
from importlib import resources
from typing import Any

from elasticsearch import AsyncElasticsearch, Elasticsearch

log = logging.getLogger(__name__)


def template() -> dict[str, Any]:
    text = resources.files("connectors.elasticsearch").joinpath("articles.template.json").read_text("utf-8")
    return json.loads(text)


def ensure_index(es: Elasticsearch, alias: str) -> None:
    """Idempotent: install the template, and create `<alias>-000001` as write index if the alias is missing."""
    body = template()
    body["index_patterns"] = [f"{alias}-*"]
    es.indices.put_index_template(name=alias, body=body)
    if not es.indices.exists_alias(name=alias):
        es.indices.create(index=f"{alias}-000001", aliases={alias: {"is_write_index": True}})
        log.info("created index %s-000001 behind alias %s", alias, alias)


async def enforce_cap(es: AsyncElasticsearch, alias: str, cap: int) -> int:
    """Delete all but the `cap` most recently indexed articles; returns how many were deleted.

    The embedded engine scans every document per search, so an unbounded index makes search slow.
    """
    total = (await es.count(index=alias))["count"]
    if total <= cap:
        return 0
    oldest_kept = await es.search(index=alias, size=1, from_=cap - 1, sort=[{"indexed_at": "desc"}],
                                  source=["indexed_at"])
    hits = oldest_kept["hits"]["hits"]
    if not hits:
        return 0
    cutoff = hits[0]["_source"]["indexed_at"]
    result = await es.delete_by_query(index=alias, query={"range": {"indexed_at": {"lt": cutoff}}},
                                      refresh=True, conflicts="proceed")
    deleted = int(result.get("deleted", 0))
    log.info("index cap %d: deleted %d articles indexed before %s", cap, deleted, cutoff)
    return deleted
