"""`newsdesk status`: the pure parts (lag sums, window counts and rates, feed health, dead letters, the JSON shape
and its rendering). The I/O is tested on the real engines in tests/integration/test_status.py."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rich.console import Console

from connectors.rss.registry import Feed
from newsdesk import status
from newsdesk.status import Outcome
from streams.records import DeadLetter

NOW = 1_800_000_000.0


@pytest.mark.parametrize(("committed", "first", "end", "lag"), [
    (5, 0, 10, 5),
    (None, 0, 10, 10),  # no commit yet: the worker starts at the first offset
    (None, 7, 10, 3),  # records before 7 were deleted by retention
    (3, 7, 10, 3),  # a commit older than retention counts from the first offset still there
    (10, 0, 10, 0),
    (12, 0, 10, 0),  # never negative (a commit read before the end offset moved)
])
def test_partition_lag(committed: int | None, first: int, end: int, lag: int) -> None:
    assert status.partition_lag(committed, first, end) == lag


@pytest.mark.parametrize(("committed", "first", "end", "total", "partitions"), [
    ({0: 5, 1: 7}, {0: 0, 1: 0}, {0: 10, 1: 7}, 5, {"0": 5, "1": 0}),
    ({}, {0: 0, 1: 2}, {0: 50, 1: 52}, 100, {"0": 50, "1": 50}),
    ({0: 1}, {0: 0, 1: 0, 2: 0, 3: 0}, {0: 1, 1: 0, 2: 4, 3: 0}, 4, {"0": 0, "1": 0, "2": 4, "3": 0}),
])
def test_topic_lag_sums_partitions(committed: dict[int, int], first: dict[int, int], end: dict[int, int],
                                   total: int, partitions: dict[str, int]) -> None:
    lag = status.topic_lag(committed, first, end)
    assert lag["lag"] == total
    assert lag["partitions"] == partitions
    assert lag["partitions_committed"] == len(committed)
    assert lag["end_offsets"] == sum(end.values())


@pytest.mark.parametrize(("since", "end", "count"), [
    ({0: 5, 1: 9}, {0: 10, 1: 10}, 6),
    ({0: -1, 1: -1}, {0: 10, 1: 10}, 0),  # ListOffsets(timestamp): -1 = no record that recent
    ({0: -1, 1: 0}, {0: 10, 1: 4}, 4),
    ({}, {0: 3}, 0),
])
def test_window_count(since: dict[int, int], end: dict[int, int], count: int) -> None:
    assert status.window_count(since, end) == count


@pytest.mark.parametrize(("count", "minutes", "rate"), [(50, 5, 10.0), (1, 60, 0.02), (0, 5, 0.0), (None, 5, None)])
def test_per_minute(count: int | None, minutes: int, rate: float | None) -> None:
    assert status.per_minute(count, minutes) == rate


def test_rates_have_every_stage_and_window_null_when_unknown() -> None:
    rates = status.rates({"polled": {5: 100, 60: 600}, "indexed": {5: None, 60: 6}})
    assert rates["polled"] == {"5m": 20.0, "count_5m": 100, "60m": 10.0, "count_60m": 600}
    assert rates["annotated"] == {"5m": None, "count_5m": None, "60m": None, "count_60m": None}
    assert rates["indexed"]["5m"] is None and rates["indexed"]["60m"] == 0.1


def raw_kafka(**overrides: Any) -> dict[str, Any]:
    """What kafka_offsets returns for a 2-partition pipeline."""
    topics = ("articles.raw", "articles.annotated", "alerts", "articles.dead", "alerts.dead")
    raw: dict[str, Any] = {
        "brokers": 1, "version": (4, 1), "cluster_id": "c1", "now_ms": int(NOW * 1000),
        "partitions": {t: [0, 1] for t in topics},
        "offsets": {
            "earliest": {t: {0: 0, 1: 0} for t in topics},
            "latest": {"articles.raw": {0: 60, 1: 60}, "articles.annotated": {0: 10, 1: 10},
                       "alerts": {0: 0, 1: 0}, "articles.dead": {0: 2, 1: 1}, "alerts.dead": {0: 0, 1: 0}},
            "since_5m": {t: {0: -1, 1: -1} for t in topics} | {"articles.raw": {0: 50, 1: 40}},
            "since_60m": {t: {0: 0, 1: 0} for t in topics},
        },
        "committed": {"articles.raw": {0: 10, 1: 10}, "articles.annotated": {0: 10, 1: 10}, "alerts": {}},
        "group": {"id": "newsdesk", "state": "Stable", "members": 1},
    }
    raw.update(overrides)
    return raw


def test_kafka_report() -> None:
    facts = status.kafka_report(raw_kafka())
    assert {t: v["lag"] for t, v in facts["lag"].items()} == {"articles.raw": 100, "articles.annotated": 0,
                                                              "alerts": 0}
    assert facts["counts"] == {"polled": {5: 30, 60: 120}, "annotated": {5: 0, 60: 20}}
    assert facts["dead"] == {"articles.dead": 3, "alerts.dead": 0}


def test_kafka_report_without_a_topic() -> None:
    """alerts.dead is created by the first delivery: before it, its count is 0, not an error."""
    raw = raw_kafka()
    del raw["partitions"]["alerts.dead"]
    assert status.kafka_report(raw)["dead"]["alerts.dead"] == 0


def feed(url: str, *, enabled: bool = True, failures: int = 0, error: str | None = None,
         error_at: float | None = None, reason: str | None = None) -> Feed:
    return Feed(url=url, added_at=NOW, enabled=enabled, etag=None, last_modified=None, last_polled_at=None,
                last_success_at=None, last_error=error, consecutive_failures=failures, items_seen=0,
                disabled_reason=reason, last_error_at=error_at)


FEEDS = [
    feed("http://ok.example/a.xml"),
    feed("http://ok.example/b.xml"),
    feed("http://user:secret@flaky.example/feed.xml", failures=2,
         error="HTTP 500 at http://user:secret@flaky.example/feed.xml", error_at=NOW - 10),
    feed("http://dead.example/feed.xml", enabled=False, failures=10, error="ConnectError",
         reason="disabled after 10 consecutive failures"),
    feed("http://paused.example/feed.xml", enabled=False, reason="disabled by the operator"),
    feed("http://once.example/feed.xml", failures=1, error="timeout"),
]


@pytest.mark.parametrize(("feeds", "counts", "worst_urls"), [
    ([], {"total": 0, "enabled": 0, "failing": 0, "disabled": 0, "healthy": 0}, []),
    (FEEDS, {"total": 6, "enabled": 4, "failing": 2, "disabled": 2, "healthy": 2},
     ["http://dead.example/feed.xml", "http://flaky.example/feed.xml", "http://once.example/feed.xml",
      "http://paused.example/feed.xml"]),
])
def test_feed_health(feeds: list[Feed], counts: dict[str, int], worst_urls: list[str]) -> None:
    health = status.feed_health(feeds)
    assert {k: health[k] for k in counts} == counts
    assert [f["url"] for f in health["worst"]] == worst_urls


def test_worst_feeds_are_redacted_and_bounded() -> None:
    health = status.feed_health(FEEDS, worst=2)
    assert len(health["worst"]) == 2
    assert "secret" not in json.dumps(health)
    flaky = health["worst"][1]
    assert flaky == {"url": "http://flaky.example/feed.xml", "title": None, "state": "failing",
                     "consecutive_failures": 2, "last_error": "HTTP 500 at http://flaky.example/feed.xml",
                     "last_error_at": status.iso(NOW - 10), "last_success_at": None, "disabled_reason": None}
    assert health["worst"][0]["state"] == "disabled"


def letter(minutes_ago: int, error: str, stage: str = "index") -> bytes:
    failed_at = datetime.fromtimestamp(NOW, UTC) - timedelta(minutes=minutes_ago)
    return DeadLetter(stage=stage, error=error, topic="articles.annotated", key=f"k{minutes_ago}",
                      payload="{}", failed_at=failed_at).to_bytes()


def test_latest_dead_letters_newest_first_without_payload_or_secret() -> None:
    values = [letter(5, "five\n  on two lines"), letter(1, "one"), b"{not json", letter(9, "nine"),
              letter(2, "sent to http://u:pw@hook.example/x", stage="deliver")]
    latest = status.latest_dead_letters(values)
    assert [d["reason"] for d in latest] == ["one", "sent to http://hook.example/x", "five on two lines"]
    assert latest[1]["stage"] == "deliver" and "payload" not in latest[0]


@pytest.mark.parametrize(("history", "totals"), [
    ({}, {"subscriptions": 0, "delivered": 0, "failed": 0, "parked": 0, "last_error": None}),
    ({"a/x": {"sent": 3, "failures": 1, "parked": 0, "last_sent_at": "2026-01-02T00:00:00+00:00",
              "last_error": "HTTP 500", "last_error_at": "2026-01-01T00:00:00+00:00"},
      "a/y": {"sent": 2, "failures": 4, "parked": 1, "last_sent_at": None,
              "last_error": "refused", "last_error_at": "2026-01-03T00:00:00+00:00"}},
     {"subscriptions": 2, "delivered": 5, "failed": 5, "parked": 1, "last_error": "refused",
      "last_sent_at": "2026-01-02T00:00:00+00:00"}),
])
def test_alert_totals(history: dict[str, dict[str, Any]], totals: dict[str, Any]) -> None:
    result = status.alert_totals(history)
    assert {k: result[k] for k in totals} == totals


SEARCH_RAW = {
    "engine": "opensearch",
    "info": {"cluster_name": "newsdesk", "version": {"distribution": "opensearch", "number": "2.19.1"}},
    "search": {"hits": {"total": {"value": 120, "relation": "eq"}},
               "aggregations": {"newest": {"value": (NOW - 30) * 1000}, "since_5m": {"doc_count": 50},
                                "since_60m": {"doc_count": 120}}},
    "stats": {"_all": {"total": {"store": {"size_in_bytes": 2_500_000}}}},
}


def test_index_report() -> None:
    assert status.index_report(SEARCH_RAW, NOW) == {
        "exists": True, "documents": 120, "bytes": 2_500_000, "newest_indexed_at": status.iso(NOW - 30),
        "newest_age_s": 30.0}
    assert status.index_report({"index_missing": True}, NOW)["exists"] is False
    empty = status.index_report({"search": {"hits": {"total": {"value": 0}}, "aggregations": {
        "newest": {"value": None}}}, "stats": {}}, NOW)
    assert empty["newest_age_s"] is None and empty["bytes"] is None and empty["documents"] == 0


WHERE = {"bootstrap": "127.0.0.1:9092", "search_url": "http://127.0.0.1:9200", "index": "articles",
         "group": "newsdesk", "feed_disable_after_failures": 10}


def outcomes(**overrides: Outcome) -> dict[str, Outcome]:
    values = {"kafka": Outcome(raw_kafka(), elapsed_s=0.05), "search": Outcome(SEARCH_RAW, elapsed_s=0.04),
              "feeds": Outcome(FEEDS), "alerts": Outcome({}),
              "dead": Outcome({"articles.dead": [letter(1, "rejected: mapper_parsing_exception")],
                               "alerts.dead": []})}
    values.update(overrides)
    return values


def test_report_shape_all_up() -> None:
    report = status.build_report(WHERE, outcomes(), now=NOW)
    assert report["ok"] is True
    assert set(report) == {"ok", "checked_at", "services", "lag", "rates", "feeds", "index", "alerts",
                           "dead_letters", "timings_s"}
    assert report["services"]["kafka"] == {"up": True, "bootstrap": "127.0.0.1:9092", "brokers": 1,
                                           "version": "4.1", "cluster_id": "c1"}
    assert report["services"]["search"] == {"up": True, "engine": "opensearch", "distribution": "opensearch",
                                            "version": "2.19.1", "cluster": "newsdesk",
                                            "url": "http://127.0.0.1:9200"}
    assert report["lag"]["topics"]["articles.raw"]["lag"] == 100 and report["lag"]["total"] == 100
    assert report["lag"]["members"] == 1 and report["lag"]["state"] == "Stable"
    assert report["rates"]["polled"]["5m"] == 6.0 and report["rates"]["indexed"]["5m"] == 10.0
    assert report["rates"]["indexed"]["60m"] == 2.0
    assert report["feeds"]["failing"] == 2 and report["feeds"]["disable_after_failures"] == 10
    assert report["index"]["documents"] == 120 and report["index"]["alias"] == "articles"
    assert report["dead_letters"]["articles.dead"]["count"] == 3
    assert report["dead_letters"]["articles.dead"]["latest"][0]["stage"] == "index"
    json.loads(status.to_json(report))  # one JSON document


@pytest.mark.parametrize(("down", "ok"), [("kafka", False), ("search", False), ("feeds", True), ("alerts", True),
                                          ("dead", True)])
def test_report_with_a_part_down(down: str, ok: bool) -> None:
    report = status.build_report(WHERE, outcomes(**{down: Outcome(error="unreachable: 127.0.0.1:1: refused")}),
                                 now=NOW)
    assert report["ok"] is ok
    text = status.to_json(report)
    assert "unreachable: 127.0.0.1:1: refused" in text
    if down == "kafka":
        assert report["services"]["kafka"] == {"up": False, "bootstrap": "127.0.0.1:9092",
                                               "error": "unreachable: 127.0.0.1:1: refused"}
        assert report["rates"]["polled"]["5m"] is None and report["rates"]["indexed"]["5m"] == 10.0
        assert report["dead_letters"]["articles.dead"]["count"] is None
    if down == "search":
        assert report["services"]["search"]["up"] is False and "error" in report["index"]
        assert report["rates"]["indexed"]["5m"] is None and report["rates"]["polled"]["5m"] == 6.0
    # every part still renders, as a table and as plain lines
    Console(file=open("/dev/null", "w"), width=100).print(*status.render(report))  # noqa: SIM115
    assert any("unreachable" in line for line in status.plain_lines(report))


def test_service_error_without_the_word_gets_it() -> None:
    report = status.build_report(WHERE, outcomes(search=Outcome(error="no answer within 2.5s")), now=NOW)
    assert report["services"]["search"]["error"] == "unreachable: no answer within 2.5s"


def test_render_shows_the_figures() -> None:
    console = Console(record=True, width=140)
    console.print(*status.render(status.build_report(WHERE, outcomes(), now=NOW)))
    text = console.export_text()
    for expected in ("Kafka 4.1", "opensearch 2.19.1", "articles.raw", "100", "2.4 MB", "30s ago",
                     "flaky.example", "mapper_parsing_exception", "6 (30)"):
        assert expected in text, expected
    assert "secret" not in text


def test_run_bounded_reports_late_and_failed_parts() -> None:
    def late() -> None:
        time.sleep(5)

    def fails() -> None:
        raise RuntimeError("broken at http://u:pw@host/x\nsecond line")

    def unreachable() -> None:
        raise status.Unreachable("host:1: Connection refused")

    started = time.monotonic()
    result = status.run_bounded({"late": late, "fails": fails, "down": unreachable, "fine": lambda: 42}, 0.3)
    assert time.monotonic() - started < 2
    assert result["late"].error == "no answer within 0.3s"
    assert result["fails"].error == "RuntimeError: broken at http://host/x"
    assert result["down"].error == "unreachable: host:1: Connection refused"
    assert result["fine"].value == 42 and result["fine"].error is None


@pytest.mark.parametrize(("size", "text"), [(None, "?"), (0, "0 B"), (1023, "1023 B"), (2048, "2.0 KB"),
                                            (5 * 1024**3, "5.0 GB")])
def test_human_bytes(size: int | None, text: str) -> None:
    assert status.human_bytes(size) == text


@pytest.mark.parametrize(("age", "text"), [(None, "never"), (3, "3s ago"), (600, "10m ago"), (36000, "10h ago"),
                                           (3 * 86400, "3d ago")])
def test_human_age(age: float | None, text: str) -> None:
    assert status.human_age(age) == text


def test_probe_a_closed_port_is_unreachable() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: refused
        with pytest.raises(status.Unreachable, match=f"127.0.0.1:{port}"):
            status.probe(f"127.0.0.1:{port}", 9092, 0.5)
        with pytest.raises(status.Unreachable):
            status.probe_kafka(f"127.0.0.1:{port},127.0.0.1:{port}", 0.5)
