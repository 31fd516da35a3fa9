"""Metrics: the registry follows Prometheus conventions, and each hook moves what it should (pure, no server)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from connectors.elasticsearch.sink import Rejected, WriteResult
from connectors.rss.fetch import FetchResult
from connectors.rss.poller import PollReport
from newsdesk.observability import metrics
from tests.unit.test_poller import Harness, item, rss

FORBIDDEN_LABELS = {"url", "feed", "feed_url", "id", "article_id", "alert_id", "subscription", "link"}


def value(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


def newsdesk_families() -> list:
    return [f for f in metrics.REGISTRY.collect() if f.name.startswith("newsdesk_")]


def test_names_and_labels_follow_prometheus_conventions() -> None:
    families = newsdesk_families()
    assert len(families) >= 12
    for family in families:
        assert family.documentation, family.name
        samples = {s.name for s in family.samples}
        if family.type == "counter":  # the exposition name of a counter ends in _total (the family drops it)
            assert all(name.endswith(("_total", "_created")) for name in samples), family.name
            assert not samples or f"{family.name}_total" in samples, family.name
        if family.type == "histogram":
            assert family.name.endswith(("_seconds", "_size")), family.name
        assert not family.name.endswith(("_ms", "_milliseconds", "_count_total")), family.name
        labels = {key for sample in family.samples for key in sample.labels} - {"le"}
        assert not labels & FORBIDDEN_LABELS, (family.name, labels)


def test_exposition_parses() -> None:
    from prometheus_client.parser import text_string_to_metric_families

    body, content_type = metrics.render()
    assert content_type.startswith("text/plain")
    names = {f.name for f in text_string_to_metric_families(body.decode())}
    assert {"newsdesk_feed_polls", "newsdesk_articles_produced", "newsdesk_annotation_seconds"} <= names


@pytest.mark.parametrize(("error", "reason"), [
    ("HTTP 404 Not Found", "http_4xx"), ("HTTP 503 Service Unavailable", "http_5xx"),
    ("ConnectError: [Errno 111] Connection refused", "connect"), ("ReadTimeout('timed out')", "timeout"),
    ("not a feed (text/html)", "not_a_feed"), ("could not produce 3 articles: KafkaError()", "produce"),
    ("127.0.0.1 is a private address; refused", "blocked"), ("something odd", "other"), (None, "other"),
])
def test_poll_error_reasons_are_a_small_set(error: str | None, reason: str) -> None:
    assert metrics.poll_error_reason(error) == reason


def test_on_poll_counts_outcomes_errors_and_articles() -> None:
    before = (value("newsdesk_feed_polls_total", outcome="ok"), value("newsdesk_articles_produced_total", kind="new"),
              value("newsdesk_articles_produced_total", kind="updated"),
              value("newsdesk_feed_poll_errors_total", reason="http_4xx"))
    metrics.on_poll(PollReport("ok", new=3, updated=1))
    metrics.on_poll(PollReport("error", error="HTTP 410 Gone"))
    after = (value("newsdesk_feed_polls_total", outcome="ok"), value("newsdesk_articles_produced_total", kind="new"),
             value("newsdesk_articles_produced_total", kind="updated"),
             value("newsdesk_feed_poll_errors_total", reason="http_4xx"))
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 3, 1, 1]


def test_annotation_hooks() -> None:
    count_it = value("newsdesk_annotation_seconds_count", language="it")
    sum_it = value("newsdesk_annotation_seconds_sum", language="it")
    metrics.on_annotation_part(["it", "it", "en", "not a language"], 0.8)
    assert value("newsdesk_annotation_seconds_count", language="it") - count_it == 2
    assert value("newsdesk_annotation_seconds_sum", language="it") - sum_it == pytest.approx(0.4)
    assert value("newsdesk_annotation_seconds_count", language="other") >= 1
    en = value("newsdesk_articles_annotated_total", language="en")
    metrics.on_annotated(["en", "en", "fr"])
    assert value("newsdesk_articles_annotated_total", language="en") - en == 2
    batches = value("newsdesk_batch_size_count", stage="annotate")
    metrics.on_batch("annotate", 64)
    assert value("newsdesk_batch_size_count", stage="annotate") - batches == 1


def test_index_alert_and_delivery_hooks() -> None:
    written, stale = value("newsdesk_documents_indexed_total", result="written"), value(
        "newsdesk_documents_indexed_total", result="stale")
    rejected, writes = value("newsdesk_documents_indexed_total", result="rejected"), value(
        "newsdesk_index_write_seconds_count")
    metrics.on_index_write(WriteResult(written=5, stale=2, rejected=[Rejected("x", 400, "bad")]), 0.05)
    assert value("newsdesk_documents_indexed_total", result="written") - written == 5
    assert value("newsdesk_documents_indexed_total", result="stale") - stale == 2
    assert value("newsdesk_documents_indexed_total", result="rejected") - rejected == 1
    assert value("newsdesk_index_write_seconds_count") - writes == 1
    dead = value("newsdesk_dead_letters_total", stage="index")
    metrics.on_dead_letter("index")
    assert value("newsdesk_dead_letters_total", stage="index") - dead == 1
    matched = value("newsdesk_alerts_matched_total")
    metrics.on_alerts_matched(4)
    metrics.on_alerts_matched(0)
    assert value("newsdesk_alerts_matched_total") - matched == 4
    for outcome in ("sent", "retry", "parked"):
        before = value("newsdesk_alert_deliveries_total", channel="webhook", outcome=outcome)
        metrics.on_delivery("webhook", outcome)
        assert value("newsdesk_alert_deliveries_total", channel="webhook", outcome=outcome) - before == 1
    metrics.set_consumer_lag({"articles.raw": 7})
    assert value("newsdesk_consumer_lag_messages", topic="articles.raw") == 7


# -- the poller reports through its callback (no metrics import in the connector) --------------------------------

FEED = "https://feeds.example.org/world.xml"


def test_poller_reports_each_poll(tmp_path: Path) -> None:
    reports: list[PollReport] = []
    h = Harness(tmp_path / "registry.sqlite3", on_poll=reports.append)
    h.serve(FEED, rss(item("https://news.example.org/a", guid="g-a"), item("https://news.example.org/b", guid="g-b")))
    assert h.poll() == 2
    assert reports[-1] == PollReport("ok", new=2, updated=0)
    h.poll()  # the same body: handled like a 304
    assert reports[-1].outcome == "not_modified"
    h.fetcher.script[FEED] = FetchResult(FEED, status=304)
    h.poll()
    assert reports[-1].outcome == "not_modified"
    h.fetcher.script[FEED] = FetchResult(FEED, status=500, error="HTTP 500 Internal Server Error")
    h.poll()
    assert reports[-1].outcome == "error" and metrics.poll_error_reason(reports[-1].error) == "http_5xx"
    assert len(reports) == 4


def test_a_failing_callback_does_not_break_the_poll(tmp_path: Path) -> None:
    def boom(report: PollReport) -> None:
        raise RuntimeError("counting failed")

    h = Harness(tmp_path / "registry.sqlite3", on_poll=boom)
    h.serve(FEED, rss(item("https://news.example.org/a", guid="g-a")))
    assert h.poll() == 1


def test_worker_health_endpoints() -> None:
    import asyncio

    from aiohttp.test_utils import TestClient, TestServer

    from newsdesk.observability.server import make_app

    state = SimpleNamespace(ready=False)

    async def scenario() -> None:
        async with TestClient(TestServer(make_app(lambda: (state.ready, {"rebalancing": not state.ready})))) as client:
            assert (await client.get("/health/live")).status == 200
            assert (await client.get("/health/ready")).status == 503
            state.ready = True
            answer = await client.get("/health/ready")
            assert answer.status == 200 and (await answer.json())["ready"] is True
            scraped = await client.get("/metrics")
            assert scraped.status == 200 and "newsdesk_feed_polls_total" in await scraped.text()

    asyncio.run(scenario())


def test_api_health_live_and_ready_with_the_engine_down(tmp_path: Path) -> None:
    """The API's /health/live answers while it serves; /health/ready is a short 503 JSON with no engine."""
    import asyncio
    import socket

    from aiohttp.test_utils import TestClient, TestServer

    from newsdesk.api import make_app
    from newsdesk.settings import Settings

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = Settings(data_dir=tmp_path, elasticsearch_url=f"http://127.0.0.1:{port}", search_engine="opensearch",
                        kafka_bootstrap="127.0.0.1:1")

    async def scenario() -> None:
        async with TestClient(TestServer(make_app(settings))) as client:
            live = await client.get("/health/live")
            assert live.status == 200 and await live.json() == {"live": True}
            ready = await client.get("/health/ready")
            assert ready.status == 503
            assert await ready.json() == {"ready": False, "error": "search backend unavailable"}

    asyncio.run(scenario())
