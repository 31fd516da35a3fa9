"""Every Prometheus metric of newsdesk, defined here and fed through hooks (STYLE rule 6).

The pipeline calls the `on_*` hooks below with plain values (a poller's `PollReport`, a sink's `WriteResult`, a
pool's timings); connectors never import this module. Names follow the Prometheus conventions: `newsdesk_` prefix,
counters end in `_total`, durations are `_seconds` histograms, and labels are low-cardinality (stage, language,
outcome, reason, channel, result, topic): never a feed URL or an article id.

Served by the worker (`newsdesk/observability/server.py`) on NEWSDESK_METRICS_PORT, with its health endpoints.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    gc_collector,
    generate_latest,
    platform_collector,
    process_collector,
)

REGISTRY = CollectorRegistry(auto_describe=True)
process_collector.ProcessCollector(registry=REGISTRY)  # process_resident_memory_bytes, open fds, cpu seconds
platform_collector.PlatformCollector(registry=REGISTRY)
gc_collector.GCCollector(registry=REGISTRY)

BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
ANNOTATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
WRITE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

# -- poll ---------------------------------------------------------------------------------------------------------
POLLS = Counter("newsdesk_feed_polls_total", "Feed polls, by outcome (ok, not_modified, error).",
                ["outcome"], registry=REGISTRY)
POLL_ERRORS = Counter("newsdesk_feed_poll_errors_total", "Failed feed polls, by reason class.",
                      ["reason"], registry=REGISTRY)
PRODUCED = Counter("newsdesk_articles_produced_total", "Articles the poller produced to articles.raw, new or updated.",
                   ["kind"], registry=REGISTRY)
# -- annotate -----------------------------------------------------------------------------------------------------
ANNOTATED = Counter("newsdesk_articles_annotated_total", "Articles annotated, by detected language.",
                    ["language"], registry=REGISTRY)
ANNOTATION_SECONDS = Histogram(
    "newsdesk_annotation_seconds", "Annotation time per article in a pool process (its part's time divided by the "
    "part's size), by detected language.", ["language"], buckets=ANNOTATION_BUCKETS, registry=REGISTRY)
BATCH_SIZE = Histogram("newsdesk_batch_size", "Messages per batch taken from Kafka, by stage.", ["stage"],
                       buckets=BATCH_BUCKETS, registry=REGISTRY)
# -- index --------------------------------------------------------------------------------------------------------
DOCUMENTS = Counter("newsdesk_documents_indexed_total", "Documents sent to the search engine, by result (written, "
                    "stale: an equal or newer version was indexed, rejected).", ["result"], registry=REGISTRY)
INDEX_WRITE_SECONDS = Histogram("newsdesk_index_write_seconds", "Time of one acknowledged bulk write of a batch.",
                                buckets=WRITE_BUCKETS, registry=REGISTRY)
DEAD_LETTERS = Counter("newsdesk_dead_letters_total", "Messages dead-lettered, by stage.", ["stage"],
                       registry=REGISTRY)
# -- alerts -------------------------------------------------------------------------------------------------------
ALERTS_MATCHED = Counter("newsdesk_alerts_matched_total", "Alerts produced: (subscription, article) matches.",
                         registry=REGISTRY)
DELIVERIES = Counter("newsdesk_alert_deliveries_total", "Alert delivery attempts by channel kind and outcome "
                     "(sent, retry, parked).", ["channel", "outcome"], registry=REGISTRY)
# -- the worker ---------------------------------------------------------------------------------------------------
CONSUMER_LAG = Gauge("newsdesk_consumer_lag_messages", "Messages behind: highwater minus committed offset, summed "
                     "over this worker's assigned partitions of the topic.", ["topic"], registry=REGISTRY)
READY = Gauge("newsdesk_worker_ready", "1 once the worker finished its first rebalance.", registry=REGISTRY)

STAGES = ("poll", "dedup", "annotate", "index", "deliver")
for _stage in STAGES:  # every stage's series exists from the start, so rate() has a zero to start from
    DEAD_LETTERS.labels(stage=_stage)
for _outcome in ("ok", "not_modified", "error"):
    POLLS.labels(outcome=_outcome)
for _kind in ("new", "updated"):
    PRODUCED.labels(kind=_kind)
for _result in ("written", "stale", "rejected"):
    DOCUMENTS.labels(result=_result)


def render() -> tuple[bytes, str]:
    """The exposition text and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


# -- classification (pure) -----------------------------------------------------------------------------------------

_HTTP = re.compile(r"\bHTTP (\d)\d\d\b")
_REASONS = (  # (reason class, words of the error text that say so), first match wins
    ("produce", ("could not produce",)),
    ("blocked", ("private", "not allowed", "refused address", "loopback", "scheme")),
    ("timeout", ("timeout", "timed out")),
    ("connect", ("connecterror", "connection", "dns", "name or service", "ssl", "tls")),
    ("too_large", ("too large", "max_bytes", "larger than")),
    ("not_a_feed", ("not a feed", "parse", "xml", "malformed", "no entries")),
)


def poll_error_reason(error: str | None) -> str:
    """A low-cardinality class of a poll's error text: http_4xx, http_5xx, timeout, connect, blocked, too_large,
    not_a_feed, produce or other (the text itself, with its URL, is the feed's `last_error`, never a label)."""
    text = (error or "").lower()
    found = _HTTP.search(error or "")
    if found and found.group(1) in "45":
        return f"http_{found.group(1)}xx"
    for reason, words in _REASONS:
        if any(word in text for word in words):
            return reason
    return "other"


def language_label(language: str | None) -> str:
    """A language code as a label; anything that is not a short code is "other" (keeps cardinality bounded)."""
    code = (language or "").lower()
    return code if re.fullmatch(r"[a-z]{2,3}", code) else "other"


# -- hooks (called by the pipeline with plain values) --------------------------------------------------------------

def on_poll(report: Any) -> None:
    """connectors.rss.poller.PollReport: outcome, error, new, updated."""
    POLLS.labels(outcome=report.outcome).inc()
    if report.outcome == "error":
        POLL_ERRORS.labels(reason=poll_error_reason(report.error)).inc()
    if report.new:
        PRODUCED.labels(kind="new").inc(report.new)
    if report.updated:
        PRODUCED.labels(kind="updated").inc(report.updated)


def on_batch(stage: str, size: int) -> None:
    BATCH_SIZE.labels(stage=stage).observe(size)


def on_annotation_part(languages: Iterable[str | None], seconds: float) -> None:
    """One part annotated by a pool process in `seconds` (measured there): each article counts, and is given an
    equal share of the time."""
    labels = [language_label(language) for language in languages]
    if not labels:
        return
    share = seconds / len(labels)
    for label in labels:
        ANNOTATION_SECONDS.labels(language=label).observe(share)


def on_annotated(languages: Iterable[str | None]) -> None:
    """Articles whose annotation was sent to articles.annotated."""
    counts: dict[str, int] = {}
    for language in languages:
        label = language_label(language)
        counts[label] = counts.get(label, 0) + 1
    for label, count in counts.items():
        ANNOTATED.labels(language=label).inc(count)


def on_index_write(result: Any, seconds: float) -> None:
    """connectors.elasticsearch.sink.WriteResult of one acknowledged bulk write."""
    DOCUMENTS.labels(result="written").inc(result.written)
    DOCUMENTS.labels(result="stale").inc(result.stale)
    DOCUMENTS.labels(result="rejected").inc(len(result.rejected))
    INDEX_WRITE_SECONDS.observe(seconds)


def on_dead_letter(stage: str) -> None:
    DEAD_LETTERS.labels(stage=stage).inc()


def on_alerts_matched(count: int) -> None:
    if count:
        ALERTS_MATCHED.inc(count)


def on_delivery(channel_kind: str, outcome: str) -> None:
    """outcome: sent, retry or parked."""
    DELIVERIES.labels(channel=channel_kind, outcome=outcome).inc()


def set_ready(ready: bool) -> None:
    READY.set(1 if ready else 0)


def set_consumer_lag(lag_by_topic: Mapping[str, int]) -> None:
    for topic, lag in lag_by_topic.items():
        CONSUMER_LAG.labels(topic=topic).set(lag)
