"""The worker's /metrics on the real engines: it parses with prometheus_client's parser, and its counters move by
the right amounts when an article flows; the worker's and the API's readiness endpoints answer 200."""

from __future__ import annotations

from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.conftest import Engines, Pipeline, free_port, wait_until

SEED_QUERY = "cooperazione militare"


def scrape(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    answer = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    answer.raise_for_status()
    assert answer.headers["content-type"].startswith("text/plain")
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(answer.text) for sample in family.samples}


def get(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_move_when_an_article_flows(tmp_path: Path, engines: Engines, feed_server: str) -> None:
    pipeline = Pipeline(tmp_path / "x", engines)
    port = free_port()
    pipeline.env["NEWSDESK_METRICS_PORT"] = str(port)
    pipeline.start()
    try:
        wait_until(lambda: httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=2).status_code == 200, 90,
                   "the worker's /health/live")
        wait_until(lambda: httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=2).status_code == 200, 120,
                   "the worker's /health/ready")
        api = f"http://127.0.0.1:{pipeline.api_port}"
        wait_until(lambda: httpx.get(f"{api}/health/ready", timeout=5).status_code == 200, 60, "the API's readiness")
        assert httpx.get(f"{api}/health/live", timeout=5).json() == {"live": True}
        before = scrape(port)
        assert get(before, "newsdesk_worker_ready") == 1

        pipeline.cli("feeds", "add", f"{feed_server}/seed-article.rss.xml")
        wait_until(lambda: pipeline.search(SEED_QUERY), 60, "the seed article to be searchable")

        def moved() -> dict | None:
            now = scrape(port)
            ok = get(now, "newsdesk_documents_indexed_total", result="written") > get(
                before, "newsdesk_documents_indexed_total", result="written")
            return now if ok else None

        after = wait_until(moved, 30, "the indexed counter to move")

        def delta(name: str, **labels: str) -> float:
            return get(after, name, **labels) - get(before, name, **labels)

        assert delta("newsdesk_articles_produced_total", kind="new") == 1
        assert delta("newsdesk_articles_produced_total", kind="updated") == 0
        assert delta("newsdesk_articles_annotated_total", language="it") == 1
        assert delta("newsdesk_annotation_seconds_count", language="it") == 1
        assert delta("newsdesk_annotation_seconds_sum", language="it") > 0
        assert delta("newsdesk_documents_indexed_total", result="written") == 1
        assert delta("newsdesk_documents_indexed_total", result="rejected") == 0
        assert delta("newsdesk_index_write_seconds_count") >= 1
        assert delta("newsdesk_feed_polls_total", outcome="ok") >= 1
        assert delta("newsdesk_batch_size_count", stage="annotate") >= 1
        assert delta("newsdesk_batch_size_count", stage="index") >= 1
        assert get(after, "newsdesk_dead_letters_total", stage="annotate") == 0
        assert get(after, "process_resident_memory_bytes") > 0

        # a feed that fails counts as an error of its class
        pipeline.cli("feeds", "add", f"{feed_server}/status/404")
        wait_until(lambda: get(scrape(port), "newsdesk_feed_poll_errors_total", reason="http_4xx") >= 1, 30,
                   "the 404 to be counted")
        lag = wait_until(lambda: [v for (name, _), v in scrape(port).items()
                                  if name == "newsdesk_consumer_lag_messages"], 30, "a consumer lag gauge")
        assert all(v >= 0 for v in lag)
    finally:
        if pipeline.process and pipeline.process.poll() is None:
            code, _ = pipeline.stop()
            assert code == 0
