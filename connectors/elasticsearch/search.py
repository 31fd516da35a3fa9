"""Search queries over the `articles` alias: query building is pure, running it is one call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from elasticsearch import Elasticsearch

from connectors.elasticsearch.document import fold

TEXT_FIELDS = ["title^3", "title.it^3", "title.en^3", "summary^2", "summary.it^2", "summary.en^2",
               "text", "text.it", "text.en"]
SOURCE_FIELDS = ["id", "url", "title", "feed_title", "site", "published_at", "fetched_at", "language",
                 "persons", "organisations", "locations", "topic_names", "entities"]


@dataclass
class SearchRequest:
    query: str
    language: str | None = None
    entity: str | None = None
    limit: int = 10


def build_query(request: SearchRequest) -> dict[str, Any]:
    filters: list[dict[str, Any]] = []
    if request.language:
        filters.append({"term": {"language": request.language.lower()}})
    if request.entity:
        filters.append({"nested": {"path": "entities",
                                   "query": {"term": {"entities.name_folded": fold(request.entity)}}}})
    must: dict[str, Any] = (
        {"multi_match": {"query": request.query, "fields": TEXT_FIELDS, "operator": "and"}}
        if request.query.strip() else {"match_all": {}}
    )
    return {
        "query": {"bool": {"must": [must], "filter": filters}},
        "sort": [{"published_at": {"order": "desc", "missing": "_last"}}, {"fetched_at": {"order": "desc"}}],
        "size": request.limit,
        "_source": SOURCE_FIELDS,
    }


def search(es: Elasticsearch, alias: str, request: SearchRequest) -> tuple[int, list[dict[str, Any]]]:
    """(total hits, documents newest first)."""
    response = es.search(index=alias, body=build_query(request))
    total = response["hits"]["total"]
    return (total["value"] if isinstance(total, dict) else int(total),
            [hit["_source"] for hit in response["hits"]["hits"]])
