"""Index layout: time-based indices `<alias>-NNNNNN` behind a write alias (rolled over) and a read alias.

    articles-000001  ┐
    articles-000002  ├─ read alias `articles` (search, Kibana)
    articles-000003  ┘  ◄─ write alias `articles-write` (new documents)

The template (deploy/elasticsearch/articles.template.json) is the single source of the mapping; the languages
with their own analyzer are read from it (`i18n.<code>`), so adding a language is a change to that file only.
"""

from __future__ import annotations

import json
import logging
from functools import cache
from importlib import resources
from typing import Any

from elasticsearch import AsyncElasticsearch, Elasticsearch

log = logging.getLogger(__name__)


@cache
def _template_text() -> str:
    return resources.files("connectors.elasticsearch").joinpath("articles.template.json").read_text("utf-8")


def template(alias: str = "articles") -> dict[str, Any]:
    body = json.loads(_template_text())
    body["index_patterns"] = [f"{alias}-0*"]
    body["template"]["aliases"] = {alias: {}}
    return body


def mapping_properties() -> dict[str, Any]:
    return template()["template"]["mappings"]["properties"]


OTHER_LANGUAGES = "other"  # i18n.other: the folded standard analyzer, for languages without their own


@cache
def analysed_languages() -> frozenset[str]:
    """Language codes that have their own analyzer in the mapping (`i18n.<code>`)."""
    return frozenset(mapping_properties()["i18n"]["properties"]) - {OTHER_LANGUAGES}


def i18n_key(language: str) -> str:
    """Where an article's title and body are analysed: its language's own fields, or the fallback."""
    return language if language in analysed_languages() else OTHER_LANGUAGES


def write_alias(alias: str) -> str:
    return f"{alias}-write"


def ensure_index(es: Elasticsearch, alias: str) -> None:
    """Idempotent: install the template, create the first index with both aliases, add new mapping fields."""
    body = template(alias)
    es.indices.put_index_template(name=alias, body=body)
    writer = write_alias(alias)
    if not es.indices.exists_alias(name=writer):
        first = f"{alias}-000001"
        if es.indices.exists(index=first):
            es.indices.update_aliases(actions=[{"add": {"index": first, "alias": writer, "is_write_index": True}},
                                               {"add": {"index": first, "alias": alias}}])
        else:
            es.indices.create(index=first, aliases={alias: {}, writer: {"is_write_index": True}})
        log.info("index %s behind aliases %s (read) and %s (write)", first, alias, writer)
    # Fields added to the template since an index was created are added to it too (additive changes only).
    try:
        es.indices.put_mapping(index=alias, properties=body["template"]["mappings"]["properties"])
    except Exception as exc:  # an incompatible change needs a new index (rollover) or `newsdesk reindex`
        log.warning("could not update the mapping of %s in place: %s", alias, exc)


async def rollover(es: AsyncElasticsearch, alias: str, conditions: dict[str, Any]) -> str | None:
    """Roll the write alias over to a new index when a condition is met; returns the new index name."""
    response = await es.indices.rollover(alias=write_alias(alias), conditions=conditions)
    if response.get("rolled_over"):
        log.info("rolled %s over to %s", write_alias(alias), response["new_index"])
        return str(response["new_index"])
    return None


async def enforce_cap(es: AsyncElasticsearch, alias: str, cap: int) -> int:
    """Delete all but the `cap` most recently indexed articles; returns how many were deleted.

    The embedded engine scans every document per search, so an unbounded index makes search slow.
    """
    total = (await es.count(index=alias))["count"]
    if total <= cap:
        return 0
    oldest_kept = await es.search(index=alias, size=1, from_=cap - 1, sort=[{"indexed_at": "desc"}],
                                  source_includes=["indexed_at"])
    hits = oldest_kept["hits"]["hits"]
    if not hits:
        return 0
    cutoff = hits[0]["_source"]["indexed_at"]
    result = await es.delete_by_query(index=alias, query={"range": {"indexed_at": {"lt": cutoff}}},
                                      refresh=True, conflicts="proceed")
    deleted = int(result.get("deleted", 0))
    log.info("index cap %d: deleted %d articles indexed before %s", cap, deleted, cutoff)
    return deleted
