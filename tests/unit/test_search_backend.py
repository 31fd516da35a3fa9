"""The pure parts of the search seam: engine detection from a root answer, credential redaction, the error
translation tables of both adapters, OpenSearch's rollover conditions, date bounds and the retention query."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elastic_transport import ConnectionError as ElasticConnectionError
from elastic_transport import ConnectionTimeout as ElasticConnectionTimeout
from elasticsearch import ApiError, NotFoundError, UnsupportedProductError
from opensearchpy import exceptions as os_exc

from connectors.elasticsearch import elastic, engine_of, opensearch
from connectors.elasticsearch.backend import (
    SearchRequestError,
    SearchUnavailable,
    error_for_status,
    reason_of,
    redact_url,
    scrub,
    split_credentials,
)
from connectors.elasticsearch.index import retention_query
from connectors.elasticsearch.search import SearchRequest, build_query, check_date

ES8_ROOT = {"name": "n", "cluster_name": "c", "tagline": "You Know, for Search",
            "version": {"number": "8.15.3", "build_flavor": "default", "lucene_version": "9.11.1"}}
ES9_ROOT = {"version": {"number": "9.1.0", "build_flavor": "default"}, "tagline": "You Know, for Search"}
OPENSEARCH_ROOT = {"version": {"distribution": "opensearch", "number": "2.19.1"},
                   "tagline": "The OpenSearch Project: https://opensearch.org/"}


@pytest.mark.parametrize(("root", "engine"), [
    (ES8_ROOT, "elasticsearch"), (ES9_ROOT, "elasticsearch"), (OPENSEARCH_ROOT, "opensearch"),
    ({"version": {"distribution": "OpenSearch", "number": "3.0.0"}}, "opensearch"),
    ({}, "elasticsearch"), ({"version": "weird"}, "elasticsearch"), ([], "elasticsearch"),
])
def test_the_engine_is_read_from_the_root_answer(root: object, engine: str) -> None:
    assert engine_of(root) == engine


@pytest.mark.parametrize(("url", "shown"), [
    ("http://user:secret@host:9200", "http://host:9200"),
    ("https://user:secret@search.example.org/prefix?x=1", "https://search.example.org/prefix?x=1"),
    ("http://user@host", "http://host"),
    ("http://:secret@host:1", "http://host:1"),
    ("http://u:p@[::1]:9200", "http://[::1]:9200"),
    ("http://host:9200", "http://host:9200"),
])
def test_credentials_never_show(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_credentials_are_split_off_for_the_client() -> None:
    assert split_credentials("http://el%40stic:p%3Ass@host:9200") == ("http://host:9200", ("el@stic", "p:ss"))
    assert split_credentials("http://host:9200") == ("http://host:9200", None)
    assert scrub("GET http://user:pw@host:9200/x failed; again http://a:b@c") == "GET http://host:9200/x failed; " \
                                                                                "again http://c"


@pytest.mark.parametrize(("status", "kind"), [
    (400, SearchRequestError), (401, SearchRequestError), (403, SearchRequestError), (404, SearchRequestError),
    (409, SearchRequestError), (408, SearchUnavailable), (429, SearchUnavailable), (500, SearchUnavailable),
    (502, SearchUnavailable), (503, SearchUnavailable), (504, SearchUnavailable), (507, SearchUnavailable),
])
def test_statuses_map_to_neutral_errors(status: int, kind: type) -> None:
    error = error_for_status(status, "why")
    assert isinstance(error, kind) and error.status == status
    assert (isinstance(error, SearchRequestError) and error.not_found) == (status == 404)


def test_reasons_are_read_from_either_error_shape() -> None:
    assert reason_of({"error": {"type": "index_not_found_exception", "reason": "no such index [x]"}}) == \
        "index_not_found_exception: no such index [x]"
    assert reason_of({"error": "alias [x] missing", "status": 404}) == "alias [x] missing"
    assert reason_of({"error": {"root_cause": [{"type": "parse_exception"}], "reason": "bad"}}) == \
        "parse_exception: bad"
    assert reason_of("") == "no reason given"


def _meta(status: int) -> ApiResponseMeta:
    return ApiResponseMeta(status=status, http_version="1.1", headers=HttpHeaders(), duration=0.0,
                           node=NodeConfig("http", "localhost", 9200))


def test_elasticsearch_client_errors_are_translated() -> None:
    missing = elastic.translate(NotFoundError("not found", _meta(404), {"error": {"type": "index_not_found_exception",
                                                                                 "reason": "no such index"}}))
    assert isinstance(missing, SearchRequestError) and missing.not_found and "index_not_found" in missing.reason
    busy = elastic.translate(ApiError("busy", _meta(429), {"error": {"type": "es_rejected_execution_exception",
                                                                    "reason": "queue full"}}))
    assert isinstance(busy, SearchUnavailable) and busy.status == 429
    assert isinstance(elastic.translate(ApiError("boom", _meta(503), "")), SearchUnavailable)
    assert isinstance(elastic.translate(ElasticConnectionError("refused")), SearchUnavailable)
    assert isinstance(elastic.translate(ElasticConnectionTimeout("slow")), SearchUnavailable)
    assert isinstance(elastic.translate(TimeoutError()), SearchUnavailable)
    other = elastic.translate(UnsupportedProductError("not es", _meta(200), {}))
    assert isinstance(other, SearchRequestError) and "NEWSDESK_SEARCH_ENGINE" in other.reason
    assert elastic.translate(KeyError("a bug")) is None


def test_opensearch_client_errors_are_translated() -> None:
    missing = opensearch.translate(os_exc.NotFoundError(404, "alias [x] missing", {"error": "alias [x] missing"}))
    assert isinstance(missing, SearchRequestError) and missing.not_found and missing.reason == "alias [x] missing"
    bad = opensearch.translate(os_exc.RequestError(400, "parsing_exception", {
        "error": {"type": "parsing_exception", "reason": "unknown query [nope]"}}))
    assert isinstance(bad, SearchRequestError) and bad.status == 400 and "unknown query" in bad.reason
    assert isinstance(opensearch.translate(os_exc.TransportError(429, "too_many", {})), SearchUnavailable)
    assert isinstance(opensearch.translate(os_exc.TransportError(502, "bad gateway", None)), SearchUnavailable)
    refused = opensearch.translate(os_exc.ConnectionError("N/A", "Cannot connect to host http://u:pw@h:1", None))
    assert isinstance(refused, SearchUnavailable) and "pw" not in str(refused)
    assert isinstance(opensearch.translate(os_exc.ConnectionTimeout("N/A", "timed out", None)), SearchUnavailable)
    assert isinstance(opensearch.translate(os_exc.ImproperlyConfigured("no")), SearchRequestError)
    assert opensearch.translate(KeyError("a bug")) is None


def test_opensearch_gets_the_rollover_conditions_it_knows() -> None:
    conditions = {"max_age": "30d", "max_docs": 5, "max_primary_shard_size": "25gb", "max_primary_shard_docs": 9}
    assert opensearch.rollover_conditions(conditions) == {"max_age": "30d", "max_docs": 5, "max_size": "25gb"}
    assert opensearch.rollover_conditions({"max_size": "1gb", "max_primary_shard_size": "2gb"}) == {
        "max_size": "1gb"}


@pytest.mark.parametrize("value", ["now", "now-7d", "now-1h/d", "2024-05-01", "2024-05-01T12:00:00Z",
                                   "2024-05-01T12:00:00+02:00", "2024-05-01||-1M/M", "1714560000000"])
def test_date_bounds_the_engines_take(value: str) -> None:
    assert check_date(value, "since") == value
    assert build_query(SearchRequest(since=value))["query"]["bool"]["filter"] == [
        {"range": {"published_at": {"gte": value}}}]


@pytest.mark.parametrize("value", ["yesterday", "2024-13-01", "now-7x", "now+", "01/05/2024"])
def test_bad_date_bounds_are_refused_before_any_request(value: str) -> None:
    with pytest.raises(ValueError, match="until is not a date"):
        build_query(SearchRequest(until=value))


def test_retention_covers_articles_without_a_publication_date() -> None:
    cutoff = datetime(2024, 5, 1, tzinfo=UTC)
    before = {"lt": "2024-05-01T00:00:00+00:00"}
    assert retention_query(cutoff) == {"bool": {"should": [
        {"range": {"published_at": before}},
        {"bool": {"must_not": [{"exists": {"field": "published_at"}}], "filter": [{"range": {"fetched_at": before}}]}},
    ], "minimum_should_match": 1}}
