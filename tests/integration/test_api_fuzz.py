"""The HTTP API fuzzed from its own OpenAPI document (schemathesis), against the session's OpenSearch and Kafka:
whatever a client sends, the answer is documented (status, content type, body schema), never a 5xx, and an error
never carries a traceback or the engine's address. Then the hostile inputs issue 18 names, one by one.

The API runs as it does in production (api.make_app on an aiohttp runner, on a loopback port), in a thread of its
own so schemathesis's blocking client can call it. Its index alias and its subscriptions topic are this module's
own, so the fuzzer's writes (alert subscriptions) touch nothing another test reads.
"""

from __future__ import annotations

import asyncio
import base64
import http.client
import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, settings
from kafka.admin import KafkaAdminClient, NewTopic
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from connectors.elasticsearch import open_backend
from connectors.elasticsearch.document import to_document
from connectors.elasticsearch.index import ensure_index
from connectors.elasticsearch.sink import ElasticsearchSink
from newsdesk.api import make_app, openapi_document
from newsdesk.settings import Settings
from streams.records import AnnotatedArticle, Annotation, Article
from tests.integration.conftest import Engines, unique_alias

pytestmark = pytest.mark.integration

schema = schemathesis.openapi.from_dict(openapi_document())


class RunningApi:
    """make_app served by an aiohttp runner on 127.0.0.1 (port chosen by the kernel), on a loop in a thread."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="api-under-fuzz", daemon=True)
        self.runner = web.AppRunner(make_app(settings), access_log=None)
        self.url = ""

    async def _start(self) -> str:
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        host, port = self.runner.addresses[0][:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self.thread.start()
        self.url = asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(30)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def article(article_id: str, title: str, text: str, language: str, age_days: int) -> AnnotatedArticle:
    when = datetime.now(UTC) - timedelta(days=age_days)
    item = Article(id=article_id, title=title, text=text, fetched_at=when, published_at=when, feed_url="test://fuzz",
                   content_hash="1", version=1)
    return AnnotatedArticle(article=item, annotation=Annotation(id=article_id, language=language,
                                                                language_score=0.99), annotated_at=when)


ARTICLES = [
    article("fuzz-1", "Grain deal signed in Istanbul", "Ukraine and Russia agree on grain exports.", "en", 1),
    article("fuzz-2", "Accordo sul grano firmato", "L'Ucraina esporta grano dal porto di Odessa.", "it", 2),
    article("fuzz-3", "Elections in France", "Voters go to the polls in Paris and Lyon.", "en", 3),
    article("fuzz-4", "Les élections en France", "Les électeurs votent à Paris.", "fr", 4),
    article("fuzz-5", "Die Wahl in Deutschland", "Die Wähler in Berlin.", "de", 5),
    article("fuzz-6", "Markets rally on rate cut", "Stocks rose in New York and London.", "en", 6),
]


def index_articles(url: str, alias: str) -> None:
    async def main() -> None:
        backend = await open_backend(url, "opensearch")
        try:
            await ensure_index(backend, alias)
            result = await ElasticsearchSink(backend, alias).write([to_document(a) for a in ARTICLES])
            assert result.written == len(ARTICLES)
            await backend.refresh(alias)
        finally:
            await backend.close()

    asyncio.run(main())


@pytest.fixture(scope="module")
def api(engines: Engines, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApi]:
    """The API on this module's own index (a few articles in four languages) and subscriptions topic."""
    alias, prefix = unique_alias("fuzz"), f"fuzz{uuid.uuid4().hex[:8]}."
    settings = Settings(data_dir=tmp_path_factory.mktemp("api-fuzz"), kafka_bootstrap=engines.bootstrap,
                        elasticsearch_url=engines.search_url, search_engine="opensearch", index_alias=alias,
                        topic_prefix=prefix)
    index_articles(engines.search_url, alias)
    admin = KafkaAdminClient(bootstrap_servers=engines.bootstrap)
    admin.create_topics([NewTopic(settings.topic_subscriptions, 1, 1, topic_configs={"cleanup.policy": "compact"})])
    admin.close()
    running = RunningApi(settings)
    running.start()
    # one subscription under the documented example name, so enable/disable/delete find something to change
    created = httpx.post(f"{running.url}/alerts", json={"name": "grain-deal", "query": "grain"}, timeout=60)
    assert created.status_code == 201, created.text
    yield running
    running.stop()


def engine_address(settings: Settings) -> list[str]:
    """The forms in which an error could leak the engine's address: the URL and its host:port."""
    return [settings.es_url, settings.es_url.split("://", 1)[-1]]


def no_leak(settings: Settings) -> CheckFunction:
    """A check: an error body is short JSON and says nothing of the inside (no traceback, no engine address)."""
    leaks = engine_address(settings)

    def check(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> bool | None:
        if response.status_code < 400:
            return None
        text = response.text
        assert "Traceback" not in text and 'File "' not in text, text[:500]
        assert not any(leak in text for leak in leaks), f"the engine's address in an error: {text[:500]}"
        body = json.loads(text)
        assert isinstance(body, dict) and isinstance(body.get("error"), str) and len(text) <= 1200, text[:500]
        return None

    return check


# negative_data_rejection: what the document calls invalid (limit 0, a name off its pattern, updates: {}) is a 4xx
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection]


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_answers_every_generated_request_as_documented(case: schemathesis.Case, api: RunningApi) -> None:
    case.call_and_validate(base_url=api.url, checks=[*CHECKS, no_leak(api.settings)], timeout=60)


BAD_SEARCHES = [
    ({"q": '"grain deal'}, "unbalanced quote"),
    ({"q": '{"query": {"match_all": {}}}'}, "query error"),
    ({"q": "field:[* TO *]"}, "unknown field"),
    ({"q": "title:grain"}, "unknown field"),
    ({"q": "grain " * 17_000}, "too long"),  # ~100 KB
    ({"q": "(" * 40 + "grain" + ")" * 40}, "too deeply nested"),
    ({"entity": "x" * 100_000}, "too long"),
    ({"limit": "-1"}, "limit"),
    ({"limit": str(10**12)}, "limit"),
    ({"limit": "abc"}, "limit"),
    ({"limit": "1_000"}, "limit"),
    ({"since": "yesterday-ish"}, "since"),
    ({"after": "%%%"}, "cursor"),
    ({"after": base64.urlsafe_b64encode(b'{"a": 1}').decode()}, "cursor"),
    ({"after": base64.urlsafe_b64encode(b'["x", "y", "z"]').decode()}, "cursor"),
    ({"after": base64.urlsafe_b64encode(json.dumps([10**30, "fuzz-1"]).encode()).decode()}, "cursor"),
    ({"after": base64.urlsafe_b64encode(b'[NaN, "fuzz-1"]').decode()}, "cursor"),
    ({"after": base64.urlsafe_b64encode(b'[1, 2]').decode()}, "cursor"),
    ({"after": base64.urlsafe_b64encode(b'[1.5, 1, "a"]').decode(), "sort": "date"}, "cursor"),
    ({"sort": "sideways"}, "sort"),
    # each of these three made the engine refuse the whole search ("all shards failed"), telling the caller nothing
    ({"since": "9" * 30}, "since is out of range"),
    ({"since": "now-99999999999y"}, "since is out of range"),
    ({"until": "2024-01-01||+99999999999y"}, "until is out of range"),
]


@pytest.mark.parametrize(("params", "needle"), BAD_SEARCHES, ids=[n for _, n in BAD_SEARCHES])
def test_hostile_search_input_is_a_short_json_400(api: RunningApi, params: dict[str, str], needle: str) -> None:
    # http.client: httpx refuses to send a query string over 64 KB, which is the point of two of these
    connection = http.client.HTTPConnection(api.url.removeprefix("http://"), timeout=60)
    try:
        connection.request("GET", f"/search?{urlencode(params)}")
        answer = connection.getresponse()
        status, content_type, text = answer.status, answer.getheader("Content-Type", ""), answer.read().decode()
    finally:
        connection.close()
    assert status == 400, text[:500]
    assert content_type.startswith("application/json")
    body = json.loads(text)
    assert needle in body["error"] and len(text) < 600, body
    assert "Traceback" not in text and not any(leak in text for leak in engine_address(api.settings))
    assert set(body) <= {"error", "position"}


def test_a_random_cursor_is_refused_and_a_real_one_pages(api: RunningApi) -> None:
    for raw in (b"[]", b"[1]", b'[1, "x", 3, 4]', b'{"search_after": [1]}', b'["2024-01-01", "fuzz-1"]'):
        answer = httpx.get(f"{api.url}/search", params={"after": base64.urlsafe_b64encode(raw).decode()}, timeout=60)
        assert answer.status_code == 400 and "cursor" in answer.json()["error"], (raw, answer.text)
    for sort in ("date", "relevance"):
        first = httpx.get(f"{api.url}/search", params={"q": "grain OR elections", "limit": "1", "sort": sort},
                          timeout=60).json()
        assert first["total"] >= 3 and first["next"], first
        second = httpx.get(f"{api.url}/search", params={"q": "grain OR elections", "limit": "1", "sort": sort,
                                                         "after": first["next"]}, timeout=60)
        assert second.status_code == 200, second.text
        assert second.json()["hits"][0]["id"] != first["hits"][0]["id"]


def test_searches_find_the_indexed_articles(api: RunningApi) -> None:
    page = httpx.get(f"{api.url}/search", params={"q": "grain", "limit": "10"}, timeout=60).json()
    assert [hit["id"] for hit in page["hits"]] == ["fuzz-1"] and page["total"] == 1
    italian = httpx.get(f"{api.url}/search", params={"q": "grano", "lang": "it"}, timeout=60).json()
    assert [hit["id"] for hit in italian["hits"]] == ["fuzz-2"]
    assert httpx.get(f"{api.url}/search", timeout=60).json()["total"] == len(ARTICLES)
    recent = httpx.get(f"{api.url}/search", params={"since": "now-60h"}, timeout=60).json()
    assert [hit["id"] for hit in recent["hits"]] == ["fuzz-1", "fuzz-2"]  # newest first
    assert httpx.get(f"{api.url}/search", params={"since": "now-999999d"}, timeout=60).json()["total"] == 6
    assert httpx.get(f"{api.url}/articles/fuzz-3", timeout=60).json()["title"] == "Elections in France"


def test_the_served_document_is_the_packaged_one(api: RunningApi) -> None:
    served = httpx.get(f"{api.url}/openapi.json", timeout=30)
    assert served.status_code == 200 and served.json() == openapi_document()
    assert served.json() == json.loads((Path(__file__).parents[2] / "newsdesk" / "openapi.json").read_text())
