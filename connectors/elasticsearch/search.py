"""Search over the read alias: query building is pure; running it is one call. Used by the CLI and the HTTP API.

A query is matched against the shared fields (every language) and against each language's own analysed
fields (`i18n.<code>.*`), so "cooperazioni militari" finds "cooperazione militare" through Italian stemming
whatever language the user meant. Paging uses search_after with an opaque cursor.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from connectors.elasticsearch import query_language
from connectors.elasticsearch.backend import SearchBackend
from connectors.elasticsearch.document import fold
from connectors.elasticsearch.index import OTHER_LANGUAGES, analysed_languages, i18n_key

SHARED_FIELDS = ["title^3", "summary^2"]  # every language: for cross-language queries
LANGUAGE_FIELDS = {"title": 3, "text": 1}  # under i18n.<language>; the body is indexed only there
SOURCE_FIELDS = ["id", "url", "title", "summary", "feed_title", "feed_url", "site", "published_at", "fetched_at",
                 "language", "persons", "organisations", "locations", "misc", "topic_names", "entities", "topics"]
Sort = Literal["date", "relevance"]


def text_fields(language: str | None = None, present: frozenset[str] | None = None) -> list[str]:
    """Shared fields plus the per-language fields: only `language`'s when given (and the fallback's, when it
    has no analyzer), else those of the languages the index holds (`present`, when known: fewer fields to
    query and to highlight)."""
    codes: set[str] | frozenset[str]
    if language is not None:
        codes = {i18n_key(language)}
    elif present is not None:
        codes = {i18n_key(code) for code in present}
    else:
        codes = analysed_languages() | {OTHER_LANGUAGES}
    return SHARED_FIELDS + [f"i18n.{code}.{name}^{boost}" for code in sorted(codes)
                            for name, boost in LANGUAGE_FIELDS.items()]


@dataclass
class SearchRequest:
    query: str = ""  # in the query language (query_language.py, docs/query-language.md); "" for everything
    language: str | None = None
    entity: str | None = None
    topic: str | None = None
    source: str | None = None  # site, feed title or feed URL
    since: str | None = None  # ISO date/time or Elasticsearch date math ("now-7d")
    until: str | None = None
    sort: Sort = "date"
    limit: int = 10
    after: str | None = None  # cursor from a previous page
    highlight: bool = True


@dataclass
class SearchPage:
    total: int
    hits: list[dict[str, Any]]
    next_cursor: str | None


def encode_cursor(sort_values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(sort_values).encode()).decode()


def decode_cursor(cursor: str) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not a valid page cursor: {cursor!r}") from exc
    if not isinstance(values, list):
        raise ValueError(f"not a valid page cursor: {cursor!r}")
    return values


# Elasticsearch/OpenSearch date math: `now` or `<date>||`, then +/-N units, then an optional /unit rounding.
_DATE_MATH = re.compile(r"^(now|.+\|\|)([+-]\d+[yMwdhHms])*(/[yMwdhHms])?$")


def check_date(value: str, name: str) -> str:
    """`value` if the engines take it as a date bound (ISO 8601 date or date-time, epoch milliseconds, or
    date math such as `now-7d`), else ValueError naming the parameter. Pure: checked before any request."""
    text = value.strip()
    match = _DATE_MATH.match(text)
    anchor = text if match is None else (None if match.group(1) == "now" else match.group(1)[:-2])
    if anchor is None or anchor.isdigit():
        return text
    try:
        datetime.fromisoformat(anchor.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"{name} is not a date (ISO 8601 like 2024-05-01 or 2024-05-01T12:00:00Z, or date math "
                         f"like now-7d): {value!r}") from None
    return text


def build_query(request: SearchRequest, present: frozenset[str] | None = None) -> dict[str, Any]:
    """The search body. Pure; QuerySyntaxError (a ValueError with the position) for a query not in the
    language, ValueError for a bad page cursor or since/until. The options are filters ANDed with the query."""
    filters: list[dict[str, Any]] = []
    if request.language:
        filters.append({"term": {"language": request.language.lower()}})
    if request.entity:
        filters.append({"nested": {"path": "entities",
                                   "query": {"term": {"entities.name_folded": fold(request.entity)}}}})
    if request.topic:
        filters.append({"term": {"topic_names": request.topic}})
    if request.source:
        filters.append({"bool": {"should": [{"term": {"site": request.source}},
                                            {"term": {"feed_title": request.source}},
                                            {"term": {"feed_url": request.source}}], "minimum_should_match": 1}})
    if request.since or request.until:
        bounds = {k: check_date(v, name) for k, name, v in (("gte", "since", request.since),
                                                             ("lte", "until", request.until)) if v}
        filters.append({"range": {"published_at": bounds}})
    node = query_language.parse(request.query) if request.query.strip() else None
    languages = frozenset({request.language}) if request.language else present
    must = query_language.to_query(node, languages) if node is not None else {"match_all": {}}
    newest = {"published_at": {"order": "desc", "missing": "_last"}}
    sort: list[Any] = ["_score", newest] if request.sort == "relevance" else [newest]
    body: dict[str, Any] = {
        "query": {"bool": {"must": [must], "filter": filters}},
        "sort": [*sort, {"id": "asc"}],  # id: a unique tie-breaker makes search_after pages exact
        "size": request.limit,
        "_source": SOURCE_FIELDS,
        "track_total_hits": True,
    }
    if request.after:
        body["search_after"] = decode_cursor(request.after)
    if request.highlight and node is not None and query_language.has_text(node):
        body["highlight"] = {"fields": {f.split("^")[0]: {} for f in text_fields(request.language, present)},
                             "pre_tags": ["**"], "post_tags": ["**"], "fragment_size": 160,
                             "number_of_fragments": 2}
    return body


def _page(request: SearchRequest, response: dict[str, Any]) -> SearchPage:
    total = response["hits"]["total"]
    hits = []
    for hit in response["hits"]["hits"]:
        doc = dict(hit["_source"])
        if hit.get("highlight"):
            doc["highlight"] = [fragment for fragments in hit["highlight"].values() for fragment in fragments][:3]
        hits.append(doc)
    raw = response["hits"]["hits"]
    cursor = encode_cursor(raw[-1]["sort"]) if len(raw) == request.limit and raw[-1].get("sort") else None
    return SearchPage(total["value"] if isinstance(total, dict) else int(total), hits, cursor)


LANGUAGES_AGG = {"languages": {"terms": {"field": "language", "size": 100}}}


def _present(response: dict[str, Any]) -> frozenset[str]:
    return frozenset(b["key"] for b in response["aggregations"]["languages"]["buckets"])


async def search(backend: SearchBackend, alias: str, request: SearchRequest) -> SearchPage:
    """Run a search. Raises ValueError for a bad cursor, backend.SearchError when the engine fails."""
    body = build_query(request)  # a bad cursor fails here, before any request
    if request.query.strip():
        present = _present(await backend.search(alias, {"size": 0, "aggs": LANGUAGES_AGG}))
        body = build_query(request, present)
    return _page(request, await backend.search(alias, body))
