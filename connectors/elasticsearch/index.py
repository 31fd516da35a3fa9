"""Index layout: time-based indices `<alias>-NNNNNN` behind a write alias (rolled over) and a read alias.

    articles-000001  ┐
    articles-000002  ├─ read alias `articles` (search, Kibana)
    articles-000003  ┘  ◄─ write alias `articles-write` (new documents)

Retention is by age (`apply_retention`): articles published, or without a date fetched, longer ago than
`NEWSDESK_INDEX_RETENTION_DAYS` are deleted by query, on Elasticsearch and OpenSearch alike.

The template (deploy/elasticsearch/articles.template.json) is the single source of the mapping; the languages
with their own analyzer are read from it (`i18n.<code>`), so adding a language is a change to that file only.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any

from connectors.elasticsearch.backend import SearchBackend, SearchRequestError

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


async def ensure_index(backend: SearchBackend, alias: str) -> None:
    """Idempotent: install the template, create the first index with both aliases, add new mapping fields."""
    body = template(alias)
    await backend.put_index_template(alias, body)
    writer = write_alias(alias)
    if not await backend.alias_exists(writer):
        first = f"{alias}-000001"
        if await backend.index_exists(first):
            await backend.update_aliases([{"add": {"index": first, "alias": writer, "is_write_index": True}},
                                          {"add": {"index": first, "alias": alias}}])
        else:
            await backend.create_index(first, {"aliases": {alias: {}, writer: {"is_write_index": True}}})
        log.info("index %s behind aliases %s (read) and %s (write)", first, alias, writer)
    # Fields added to the template since an index was created are added to it too (additive changes only).
    try:
        await backend.put_mapping(alias, body["template"]["mappings"]["properties"])
    except SearchRequestError as exc:  # an incompatible change needs a new index (rollover) or `newsdesk reindex`
        log.warning("could not update the mapping of %s in place: %s", alias, exc)


async def rollover(backend: SearchBackend, alias: str, conditions: dict[str, Any]) -> str | None:
    """Roll the write alias over to a new index when a condition is met; returns the new index name."""
    response = await backend.rollover(write_alias(alias), conditions)
    if response.get("rolled_over"):
        log.info("rolled %s over to %s", write_alias(alias), response["new_index"])
        return str(response["new_index"])
    return None


def retention_query(cutoff: datetime) -> dict[str, Any]:
    """Articles published before `cutoff`, or, without a (well-formed) publication date, fetched before it."""
    before = {"lt": cutoff.astimezone(UTC).isoformat()}
    return {"bool": {"should": [
        {"range": {"published_at": before}},
        {"bool": {"must_not": [{"exists": {"field": "published_at"}}],
                  "filter": [{"range": {"fetched_at": before}}]}},
    ], "minimum_should_match": 1}}


async def apply_retention(backend: SearchBackend, alias: str, days: float | None,
                          now: datetime | None = None) -> int:
    """Delete the articles older than `days` (None: keep everything) from every index behind the read alias;
    returns how many were deleted. The same request on both engines (delete_by_query)."""
    if days is None:
        return 0
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    query = retention_query(cutoff)
    deleted = 0
    # One request per index behind the alias rather than one on the alias: the same on Elasticsearch and
    # OpenSearch, and noida-db's Elasticsearch API (the contract suite's server) deletes only in the first index
    # of a multi-index target.
    for index in sorted(await backend.get_alias(alias)):
        deleted += await backend.delete_by_query(index, query, refresh=True)
    if deleted:
        log.info("retention %g days: deleted %d articles published (or fetched) before %s", days, deleted,
                 cutoff.isoformat(timespec="seconds"))
    return deleted
