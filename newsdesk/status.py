"""`newsdesk status`: what a running pipeline is doing, gathered in well under a second, from what already exists.

Nothing here keeps state of its own. Every figure is derived from the services:

- services: Kafka's brokers (DescribeCluster) and version (inferred by kafka-python from the broker's API
  versions); the search engine's root answer (`info()`: distribution and version);
- consumer lag: the Faust app's group (`app_id`) committed offsets against the end offsets of each partition of
  `articles.raw`, `articles.annotated` and `alerts` (a partition without a commit counts from its first offset);
- articles per minute over the last 5 and 60 minutes: Kafka's offsets for a timestamp (ListOffsets) on
  `articles.raw` (polled) and `articles.annotated` (annotated), and the index's count of documents whose
  `indexed_at` falls in the window (indexed);
- feeds: the feed registry's health columns (URLs and errors redacted);
- index: its document count, its store size (`_stats`) and its newest `indexed_at`;
- alerts: the delivery history table's changelog (streams/delivery_status.py);
- dead letters: the records in `articles.dead` and `alerts.dead` (first to end offset) and the last 3 of them.

The I/O functions (`kafka_offsets`, `dead_letter_tails`, `search_snapshot`, `feeds_snapshot`, `alerts_snapshot`)
each run in a daemon thread under one deadline (`gather`); a part that fails or is late becomes an `error` in
its section, never an exception. The aggregation and formatting functions below them are pure (unit-tested).
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import RenderableType

    from connectors.rss.registry import Feed
    from newsdesk.settings import Settings

WINDOWS_MIN = (5, 60)  # minutes over which the rates are given
WORST_FEEDS = 5
LATEST_DEAD = 3
DEFAULT_TIMEOUT_S = 2.5  # the whole gathering; a healthy local pipeline answers in ~0.1 s
STAGES = ("polled", "annotated", "indexed")


class Unreachable(Exception):
    """A service did not answer; the message is the reason, without credentials."""


# -- I/O: each bounded, run concurrently by `gather` --------------------------------------------------------------

def probe(address: str, default_port: int, timeout_s: float) -> None:
    """A TCP connect to host:port: a closed port is reported in milliseconds instead of after a client's retries."""
    host, _, port = address.strip().rpartition(":")
    if not port.isdigit():
        host, port = address.strip(), str(default_port)
    try:
        with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=timeout_s):
            return
    except OSError as exc:
        raise Unreachable(f"{host or '127.0.0.1'}:{port}: {exc.strerror or type(exc).__name__}") from None


def probe_kafka(bootstrap: str, timeout_s: float) -> None:
    """Reachable if any bootstrap address answers."""
    errors = []
    for address in bootstrap.split(","):
        try:
            probe(address, 9092, timeout_s)
            return
        except Unreachable as exc:
            errors.append(str(exc))
    raise Unreachable("; ".join(errors))


def kafka_offsets(settings: Settings, timeout_s: float) -> dict[str, Any]:
    """Raw facts from Kafka's admin API: brokers, version, and per topic the partitions' first, end and
    window-start offsets, plus the app group's committed offsets and members. See `kafka_report`."""
    from kafka import TopicPartition
    from kafka.admin import KafkaAdminClient, OffsetSpec

    probe_kafka(settings.bootstrap, min(timeout_s, 1.0))
    ms = int(timeout_s * 1000)
    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap, client_id=f"{settings.app_id}-status",
                             request_timeout_ms=ms, bootstrap_timeout_ms=ms, retry_backoff_ms=50)
    try:
        cluster = admin.describe_cluster()
        brokers = [b for b in cluster.get("brokers", []) if not b.get("is_fenced")]
        version: tuple[int, ...] | None = None
        if brokers:
            version = tuple(admin.get_broker_version_data(brokers[0]["broker_id"]).broker_version)
        topics = kafka_topics(settings)
        described = {t["name"]: t for t in admin.describe_topics(list(topics.values()))
                     if not t.get("error_code")}
        partitions = {name: sorted(p["partition_index"] for p in described[topic]["partitions"])
                      for name, topic in topics.items() if topic in described}
        now_ms = int(time.time() * 1000)
        tps = {(name, p): TopicPartition(topics[name], p) for name, numbers in partitions.items() for p in numbers}
        specs: dict[str, Any] = {"earliest": OffsetSpec.EARLIEST, "latest": OffsetSpec.LATEST}
        specs.update({f"since_{m}m": now_ms - m * 60_000 for m in WINDOWS_MIN})
        offsets: dict[str, dict[str, dict[int, int]]] = {}
        for label, spec in specs.items():
            answer = admin.list_partition_offsets({tp: spec for tp in tps.values()}, timeout_ms=ms) if tps else {}
            offsets[label] = {name: {} for name in partitions}
            for (name, p), tp in tps.items():
                offsets[label][name][p] = int(answer[tp].offset)
        group = settings.app_id
        committed: dict[str, dict[int, int]] = {name: {} for name in partitions}
        by_topic = {topic: name for name, topic in topics.items()}
        for tp, meta in (admin.list_group_offsets({group: None}).get(group) or {}).items():
            if tp.topic in by_topic and meta.offset is not None and meta.offset >= 0:
                committed[by_topic[tp.topic]][tp.partition] = int(meta.offset)
        description = admin.describe_groups([group]).get(group) or {}
        return {"brokers": len(brokers), "version": version, "cluster_id": cluster.get("cluster_id"),
                "partitions": partitions, "offsets": offsets, "committed": committed,
                "group": {"id": group, "state": description.get("group_state") or description.get("state"),
                          "members": len(description.get("members") or [])},
                "now_ms": now_ms}
    finally:
        admin.close()


def kafka_topics(settings: Settings) -> dict[str, str]:
    """Short name (as shown) -> the topic's real name (with NEWSDESK_TOPIC_PREFIX)."""
    return {"articles.raw": settings.topic_raw, "articles.annotated": settings.topic_annotated,
            "alerts": settings.topic_alerts, "articles.dead": settings.topic_dead,
            "alerts.dead": settings.topic("alerts.dead")}


LAG_TOPICS = ("articles.raw", "articles.annotated", "alerts")
DEAD_TOPICS = ("articles.dead", "alerts.dead")


def dead_letter_tails(settings: Settings, timeout_s: float, n: int = LATEST_DEAD) -> dict[str, list[bytes]]:
    """The last `n` message values of each partition of the dead-letter topics (the newest are picked later)."""
    from kafka import KafkaConsumer, TopicPartition

    probe_kafka(settings.bootstrap, min(timeout_s, 1.0))
    topics = kafka_topics(settings)
    ms = int(timeout_s * 1000)
    consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap, group_id=None, enable_auto_commit=False,
                             client_id=f"{settings.app_id}-status", request_timeout_ms=max(ms, 1000),
                             fetch_max_wait_ms=100)
    try:
        tps = [TopicPartition(topics[name], p) for name in DEAD_TOPICS
               for p in sorted(consumer.partitions_for_topic(topics[name]) or ())]
        if not tps:
            return {name: [] for name in DEAD_TOPICS}
        consumer.assign(tps)
        begin, end = consumer.beginning_offsets(tps), consumer.end_offsets(tps)
        wanted = {tp: end[tp] for tp in tps if end[tp] > begin[tp]}
        for tp in tps:
            consumer.seek(tp, max(begin[tp], end[tp] - n))
        values: dict[str, list[bytes]] = {name: [] for name in DEAD_TOPICS}
        by_topic = {topics[name]: name for name in DEAD_TOPICS}
        deadline = time.monotonic() + timeout_s
        while wanted and time.monotonic() < deadline:
            for tp, messages in consumer.poll(timeout_ms=100).items():
                values[by_topic[tp.topic]] += [m.value for m in messages if m.value is not None]
                if messages and messages[-1].offset + 1 >= wanted.get(tp, 0):
                    wanted.pop(tp, None)
        return values
    finally:
        consumer.close()


def search_snapshot(settings: Settings, timeout_s: float) -> dict[str, Any]:
    """The engine's root answer, and the index's documents, bytes, newest and windowed `indexed_at` counts."""
    from urllib.parse import urlsplit

    from connectors.elasticsearch import redact_url

    url = urlsplit(settings.es_url)
    probe(f"{url.hostname or '127.0.0.1'}:{url.port or (443 if url.scheme == 'https' else 9200)}", 9200,
          min(timeout_s, 1.0))
    try:
        return asyncio.run(asyncio.wait_for(_search(settings, timeout_s), timeout_s))
    except TimeoutError:
        raise Unreachable(f"{redact_url(settings.es_url)}: no answer within {timeout_s:g}s") from None


async def _search(settings: Settings, timeout_s: float) -> dict[str, Any]:
    import httpx

    from connectors.elasticsearch import SearchRequestError
    from connectors.elasticsearch.backend import split_credentials
    from newsdesk.bootstrap import open_search_backend

    backend = await open_search_backend(settings, request_timeout=timeout_s)
    try:
        info = await backend.info()
        result: dict[str, Any] = {"engine": backend.engine, "info": info}
        body = {"size": 0, "track_total_hits": True, "aggs": {
            "newest": {"max": {"field": "indexed_at"}},
            **{f"since_{m}m": {"filter": {"range": {"indexed_at": {"gte": f"now-{m}m"}}}} for m in WINDOWS_MIN}}}
        clean, auth = split_credentials(settings.es_url)

        async def stats() -> dict[str, Any]:
            async with httpx.AsyncClient(timeout=timeout_s, auth=auth) as client:
                answer = await client.get(f"{clean.rstrip('/')}/{settings.index_alias}/_stats/docs,store")
                return dict(answer.json()) if answer.status_code == 200 else {}

        try:
            found, sizes = await asyncio.gather(backend.search(settings.index_alias, body), stats())
        except SearchRequestError as exc:
            if exc.not_found:
                result["index_missing"] = True
                return result
            raise
        result["search"], result["stats"] = found, sizes
        return result
    finally:
        await backend.close()


def feeds_snapshot(settings: Settings, timeout_s: float) -> list[Feed]:
    """Every feed with its health, from the registry `newsdesk up` uses (no file is created if there is none)."""
    from connectors.rss.registry import FeedRegistry

    registry: FeedRegistry
    if settings.registry == "kafka":
        from pathlib import Path

        from connectors.rss.shared_registry import SharedFeedRegistry

        probe_kafka(settings.bootstrap, min(timeout_s, 1.0))
        registry = SharedFeedRegistry(Path(":memory:"), settings.bootstrap, feeds_topic=settings.topic_feeds,
                                      state_topic=settings.topic_feed_state, follow=False,
                                      client_id=f"{settings.app_id}-status", timeout_s=timeout_s)
    else:
        if not settings.registry_path.exists():
            return []
        registry = FeedRegistry(settings.registry_path)
    try:
        return registry.list()
    finally:
        registry.close()


def alerts_snapshot(settings: Settings, timeout_s: float) -> dict[str, dict[str, Any]]:
    from streams.delivery_status import read_history

    probe_kafka(settings.bootstrap, min(timeout_s, 1.0))
    return read_history(settings.bootstrap, settings.app_id, timeout_s=timeout_s)


@dataclass
class Outcome:
    value: Any = None
    error: str | None = None
    elapsed_s: float | None = None


def run_bounded(tasks: Mapping[str, Callable[[], Any]], timeout_s: float) -> dict[str, Outcome]:
    """Run each task in a daemon thread (a hung client never keeps the command from answering and exiting) and
    collect what finished within `timeout_s`; a late task is an error, a failed one its reason."""
    outcomes = {name: Outcome() for name in tasks}
    threads = []

    def run(name: str, task: Callable[[], Any]) -> None:
        started = time.monotonic()
        try:
            outcomes[name].value = task()
        except Unreachable as exc:
            outcomes[name].error = f"unreachable: {exc}"
        except Exception as exc:
            outcomes[name].error = error_text(exc)
        outcomes[name].elapsed_s = round(time.monotonic() - started, 3)

    for name, task in tasks.items():
        thread = threading.Thread(target=run, args=(name, task), name=f"status-{name}", daemon=True)
        thread.start()
        threads.append((name, thread))
    deadline = time.monotonic() + timeout_s
    for name, thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            outcomes[name] = Outcome(error=f"no answer within {timeout_s:g}s")
    return outcomes


def error_text(exc: BaseException) -> str:
    """One line, without credentials (a client may quote the URL it was given)."""
    from connectors.rss.redact import scrub

    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    name = type(exc).__name__
    return scrub(f"{name}: {text}" if text and name not in text else text or name)[:300]


def gather(settings: Settings, timeout_s: float = DEFAULT_TIMEOUT_S) -> dict[str, Any]:
    """The whole report (see `build_report` for its shape)."""
    started = time.monotonic()
    outcomes = run_bounded({
        "kafka": lambda: kafka_offsets(settings, timeout_s),
        "dead": lambda: dead_letter_tails(settings, timeout_s),
        "search": lambda: search_snapshot(settings, timeout_s),
        "feeds": lambda: feeds_snapshot(settings, timeout_s),
        "alerts": lambda: alerts_snapshot(settings, timeout_s),
    }, timeout_s)
    report = build_report(settings_view(settings), outcomes, now=time.time())
    report["elapsed_s"] = round(time.monotonic() - started, 3)
    return report


def settings_view(settings: Settings) -> dict[str, Any]:
    from connectors.elasticsearch import redact_url
    from connectors.rss.redact import scrub

    return {"bootstrap": scrub(settings.bootstrap), "search_url": redact_url(settings.es_url),
            "index": settings.index_alias, "group": settings.app_id,
            "feed_disable_after_failures": settings.feed_disable_after_failures}


# -- pure: aggregation ------------------------------------------------------------------------------------------

def partition_lag(committed: int | None, first: int, end: int) -> int:
    """Messages of one partition the group has yet to process: from its commit (or, with none, from the
    partition's first offset, where the worker starts) to the end. Never negative."""
    start = first if committed is None else max(committed, first)
    return max(0, end - start)


def topic_lag(committed: Mapping[int, int], first: Mapping[int, int], end: Mapping[int, int]) -> dict[str, Any]:
    partitions = {p: partition_lag(committed.get(p), first.get(p, 0), end[p]) for p in sorted(end)}
    return {"lag": sum(partitions.values()), "partitions": {str(p): lag for p, lag in partitions.items()},
            "partitions_committed": sum(1 for p in end if p in committed), "end_offsets": sum(end.values())}


def window_count(since: Mapping[int, int], end: Mapping[int, int]) -> int:
    """Records appended since the window's start: ListOffsets(timestamp) answers -1 for a partition with no
    record that recent (nothing in the window)."""
    return sum(max(0, end[p] - offset) for p, offset in since.items() if offset >= 0 and p in end)


def per_minute(count: int | None, minutes: int) -> float | None:
    return None if count is None else round(count / minutes, 2)


def rates(counts: Mapping[str, Mapping[int, int | None]]) -> dict[str, dict[str, Any]]:
    """stage -> {"5m": per minute, "60m": ..., "count_5m": n, ...}; None where the source was not reachable."""
    out: dict[str, dict[str, Any]] = {}
    for stage in STAGES:
        windows = counts.get(stage, {})
        row: dict[str, Any] = {}
        for minutes in WINDOWS_MIN:
            count = windows.get(minutes)
            row[f"{minutes}m"] = per_minute(count, minutes)
            row[f"count_{minutes}m"] = count
        out[stage] = row
    return out


def kafka_report(raw: Mapping[str, Any]) -> dict[str, Any]:
    """From `kafka_offsets`' facts: the lag per topic for the group, the Kafka window counts, and the dead-letter
    counts (records between the first and end offsets)."""
    offsets, committed = raw["offsets"], raw["committed"]
    lag = {name: topic_lag(committed.get(name, {}), offsets["earliest"][name], offsets["latest"][name])
           for name in LAG_TOPICS if name in raw["partitions"]}
    counts = {stage: {m: window_count(offsets[f"since_{m}m"][topic], offsets["latest"][topic]) for m in WINDOWS_MIN}
              for stage, topic in (("polled", "articles.raw"), ("annotated", "articles.annotated"))
              if topic in raw["partitions"]}
    dead = {name: sum(max(0, offsets["latest"][name][p] - offsets["earliest"][name][p])
                      for p in raw["partitions"][name]) if name in raw["partitions"] else 0
            for name in DEAD_TOPICS}
    return {"lag": lag, "counts": counts, "dead": dead}


def version_text(version: Sequence[int] | None) -> str | None:
    return ".".join(str(part) for part in version) if version else None


def feed_health(feeds: Iterable[Feed], worst: int = WORST_FEEDS) -> dict[str, Any]:
    """Counts by health and the worst offenders (most consecutive failures first), URLs and errors redacted.
    failing: enabled, and its last poll(s) failed; disabled: by the operator or after too many failures."""
    from connectors.rss.redact import shown_feed

    shown = [shown_feed(feed) for feed in feeds]
    failing = [f for f in shown if f.enabled and f.consecutive_failures > 0]
    offenders = sorted((f for f in shown if f.consecutive_failures > 0 or not f.enabled),
                       key=lambda f: (-f.consecutive_failures, f.enabled, -(f.last_error_at or 0), f.url))
    return {"total": len(shown), "enabled": sum(f.enabled for f in shown), "failing": len(failing),
            "healthy": sum(1 for f in shown if f.enabled and not f.consecutive_failures),
            "disabled": sum(not f.enabled for f in shown),
            "worst": [{"url": f.url, "title": f.title, "state": feed_state(f),
                       "consecutive_failures": f.consecutive_failures, "last_error": f.last_error,
                       "last_error_at": iso(f.last_error_at), "last_success_at": iso(f.last_success_at),
                       "disabled_reason": f.disabled_reason} for f in offenders[:worst]]}


def feed_state(feed: Feed) -> str:
    return "disabled" if not feed.enabled else "failing" if feed.consecutive_failures else "ok"


def latest_dead_letters(values: Iterable[bytes], n: int = LATEST_DEAD) -> list[dict[str, Any]]:
    """The newest `n` dead letters (by `failed_at`) with their reason on one line; payloads are never shown."""
    from connectors.rss.redact import scrub
    from streams.records import DeadLetter

    letters = []
    for value in values:
        try:
            letters.append(DeadLetter.model_validate_json(value))
        except ValueError:
            continue
    letters.sort(key=lambda letter: letter.failed_at, reverse=True)
    return [{"failed_at": letter.failed_at.isoformat(), "stage": letter.stage, "key": letter.key,
             "reason": " ".join(scrub(letter.error).split())[:500]} for letter in letters[:n]]


def alert_totals(history: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """delivered: sent; failed: failed attempts (retried); parked: given up, in alerts.dead."""
    entries = list(history.values())
    errors = [e for e in entries if e.get("last_error_at")]
    last = max(errors, key=lambda e: e["last_error_at"]) if errors else None
    return {"subscriptions": len(entries), "delivered": sum(int(e.get("sent") or 0) for e in entries),
            "failed": sum(int(e.get("failures") or 0) for e in entries),
            "parked": sum(int(e.get("parked") or 0) for e in entries),
            "last_sent_at": max((e["last_sent_at"] for e in entries if e.get("last_sent_at")), default=None),
            "last_error": last.get("last_error") if last else None,
            "last_error_at": last.get("last_error_at") if last else None}


def index_report(raw: Mapping[str, Any], now: float) -> dict[str, Any]:
    """Documents (hits), bytes (all copies' store) and the newest `indexed_at` with its age in seconds."""
    if raw.get("index_missing"):
        return {"exists": False, "documents": 0, "bytes": 0, "newest_indexed_at": None, "newest_age_s": None}
    found, stats = raw.get("search") or {}, raw.get("stats") or {}
    total = (found.get("hits") or {}).get("total")
    documents = int(total["value"] if isinstance(total, dict) else total or 0)
    newest_ms = ((found.get("aggregations") or {}).get("newest") or {}).get("value")
    size = ((stats.get("_all") or {}).get("total") or {}).get("store", {}).get("size_in_bytes")
    return {"exists": True, "documents": documents, "bytes": int(size) if size is not None else None,
            "newest_indexed_at": iso(newest_ms / 1000) if newest_ms else None,
            "newest_age_s": round(max(0.0, now - newest_ms / 1000), 1) if newest_ms else None}


def indexed_counts(raw: Mapping[str, Any]) -> dict[int, int | None]:
    aggregations = (raw.get("search") or {}).get("aggregations") or {}
    if raw.get("index_missing"):
        return {m: 0 for m in WINDOWS_MIN}
    return {m: int(aggregations[f"since_{m}m"]["doc_count"]) if f"since_{m}m" in aggregations else None
            for m in WINDOWS_MIN}


def search_service(raw: Mapping[str, Any]) -> dict[str, Any]:
    info = raw.get("info") or {}
    version = info.get("version") or {}
    return {"up": True, "engine": raw.get("engine"),
            "distribution": version.get("distribution") or "elasticsearch", "version": version.get("number"),
            "cluster": info.get("cluster_name")}


def iso(timestamp: float | None) -> str | None:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds") if timestamp else None


def build_report(where: Mapping[str, Any], outcomes: Mapping[str, Outcome], now: float) -> dict[str, Any]:
    """The one JSON document of `status --json`. Every section is present; a section whose source failed carries
    `error` (and null figures) instead. `ok` is false when Kafka or the search engine is unreachable."""
    kafka, search = outcomes["kafka"], outcomes["search"]
    services: dict[str, Any] = {}
    if kafka.error is None:
        services["kafka"] = {"up": True, "bootstrap": where["bootstrap"], "brokers": kafka.value["brokers"],
                             "version": version_text(kafka.value["version"]),
                             "cluster_id": kafka.value.get("cluster_id")}
    else:
        services["kafka"] = {"up": False, "bootstrap": where["bootstrap"], "error": down(kafka.error)}
    if search.error is None:
        services["search"] = {**search_service(search.value), "url": where["search_url"]}
    else:
        services["search"] = {"up": False, "url": where["search_url"], "error": down(search.error)}

    facts = kafka_report(kafka.value) if kafka.error is None else None
    lag: dict[str, Any] = {"group": where["group"]}
    if facts is not None:
        lag.update({"state": kafka.value["group"]["state"], "members": kafka.value["group"]["members"],
                    "topics": facts["lag"], "total": sum(t["lag"] for t in facts["lag"].values())})
    else:
        lag["error"] = kafka.error

    counts: dict[str, dict[int, int | None]] = dict(facts["counts"]) if facts else {}
    if search.error is None:
        counts["indexed"] = indexed_counts(search.value)
    rate_section: dict[str, Any] = rates(counts)

    feeds = outcomes["feeds"]
    feed_section = feed_health(feeds.value) if feeds.error is None else {"error": feeds.error}
    feed_section["disable_after_failures"] = where["feed_disable_after_failures"]

    index = ({"alias": where["index"], **index_report(search.value, now)} if search.error is None
             else {"alias": where["index"], "error": search.error})

    alerts = outcomes["alerts"]
    alert_section = alert_totals(alerts.value) if alerts.error is None else {"error": alerts.error}

    dead = outcomes["dead"]
    dead_section: dict[str, Any] = {}
    for name in DEAD_TOPICS:
        entry: dict[str, Any] = {"count": facts["dead"][name] if facts else None}
        if dead.error is None:
            entry["latest"] = latest_dead_letters(dead.value.get(name, []))
        else:
            entry["error"] = dead.error
        dead_section[name] = entry

    return {"ok": all(service["up"] for service in services.values()), "checked_at": iso(now),
            "services": services, "lag": lag, "rates": rate_section, "feeds": feed_section, "index": index,
            "alerts": alert_section, "dead_letters": dead_section,
            "timings_s": {name: outcome.elapsed_s for name, outcome in outcomes.items()}}


def down(error: str) -> str:
    return error if error.startswith("unreachable") else f"unreachable: {error}"


# -- pure: formatting -------------------------------------------------------------------------------------------

def to_json(report: Mapping[str, Any]) -> str:
    return json.dumps(report, ensure_ascii=False, sort_keys=False)


def human_bytes(size: int | None) -> str:
    if size is None:
        return "?"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def human_age(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    if seconds < 120:
        return f"{seconds:.0f}s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m ago"
    if seconds < 172800:
        return f"{seconds / 3600:.0f}h ago"
    return f"{seconds / 86400:.0f}d ago"


def _num(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value:g}" if isinstance(value, float) else str(value)


def render(report: Mapping[str, Any]) -> list[RenderableType]:
    """The report as rich tables, one per section (what `status` prints on a terminal)."""
    from rich.markup import escape
    from rich.table import Table

    def table(title: str, *columns: str) -> Table:
        result = Table(title=title, title_justify="left", show_edge=False, pad_edge=False, min_width=72)
        for column in columns:
            result.add_column(column, overflow="fold")
        return result

    out: list[RenderableType] = []
    services = table("services", "service", "state", "details")
    kafka, search = report["services"]["kafka"], report["services"]["search"]
    for name, service, details in (
            ("kafka", kafka, f"{kafka.get('brokers')} broker(s), Kafka {kafka.get('version')}, {kafka['bootstrap']}"),
            ("search", search, f"{search.get('distribution')} {search.get('version')}, {search['url']}")):
        if service["up"]:
            services.add_row(name, "[green]up[/green]", escape(details))
        else:
            services.add_row(name, "[red]down[/red]", escape(service["error"]))
    out.append(services)

    lag = report["lag"]
    lags = table(f"consumer lag (group {lag['group']}"
                 + (f", {lag['members']} member(s), {lag['state']})" if "members" in lag else ")"),
                 "topic", "lag", "per partition")
    if "error" in lag:
        lags.add_row("?", "?", escape(lag["error"]))
    for topic, entry in lag.get("topics", {}).items():
        lags.add_row(topic, str(entry["lag"]), " ".join(f"{p}:{n}" for p, n in entry["partitions"].items()))
    out.append(lags)

    rate_table = table("articles per minute", "stage", *(f"last {m}m" for m in WINDOWS_MIN))
    for stage, row in report["rates"].items():
        rate_table.add_row(stage, *(f"{_num(row[f'{m}m'])} ({_num(row[f'count_{m}m'])})" for m in WINDOWS_MIN))
    out.append(rate_table)

    feeds = report["feeds"]
    if "error" in feeds:
        feed_table = table("feeds", "state", "details")
        feed_table.add_row("?", escape(feeds["error"]))
    else:
        feed_table = table(f"feeds: {feeds['total']} ({feeds['enabled']} enabled, {feeds['failing']} failing, "
                           f"{feeds['disabled']} disabled)", "feed", "state", "fails", "last error")
        for feed in feeds["worst"]:
            feed_table.add_row(escape(feed["url"]), feed["state"], str(feed["consecutive_failures"]),
                               escape(feed["last_error"] or feed["disabled_reason"] or ""))
    out.append(feed_table)

    index = report["index"]
    index_table = table(f"index {index['alias']}", "documents", "size", "newest")
    if "error" in index:
        index_table.add_row("?", "?", escape(index["error"]))
    elif not index["exists"]:
        index_table.add_row("0", "0 B", "no index yet")
    else:
        index_table.add_row(str(index["documents"]), human_bytes(index["bytes"]), human_age(index["newest_age_s"]))
    out.append(index_table)

    alerts = report["alerts"]
    alert_table = table("alerts", "subscriptions", "delivered", "failed", "parked", "last error")
    if "error" in alerts:
        alert_table.add_row("?", "?", "?", "?", escape(alerts["error"]))
    else:
        alert_table.add_row(str(alerts["subscriptions"]), str(alerts["delivered"]), str(alerts["failed"]),
                            str(alerts["parked"]), escape(alerts["last_error"] or ""))
    out.append(alert_table)

    dead_table = table("dead letters", "topic", "count", "latest reasons")
    for topic, entry in report["dead_letters"].items():
        reasons = "\n".join(f"{d['failed_at'][:19]} {d['stage']}: {d['reason']}" for d in entry.get("latest", []))
        dead_table.add_row(topic, _num(entry["count"]), escape(reasons or entry.get("error") or ""))
    out.append(dead_table)
    return out


def plain_lines(report: Mapping[str, Any]) -> list[str]:
    """A short plain-text summary (for a pipe without --json): one line per figure, no table folding."""
    lines = []
    for name, service in report["services"].items():
        if service["up"]:
            detail = (f"{service['brokers']} broker(s), version {service['version']}" if name == "kafka"
                      else f"{service['distribution']} {service['version']}")
            lines.append(f"{name}: up, {detail}")
        else:
            lines.append(f"{name}: {service['error']}")
    lag = report["lag"]
    if "error" in lag:
        lines.append(f"lag: {lag['error']}")
    for topic, entry in lag.get("topics", {}).items():
        lines.append(f"lag {topic}: {entry['lag']}")
    for stage, row in report["rates"].items():
        lines.append(f"{stage} per minute: " + ", ".join(f"{_num(row[f'{m}m'])} (last {m}m)" for m in WINDOWS_MIN))
    feeds = report["feeds"]
    if "error" in feeds:
        lines.append(f"feeds: {feeds['error']}")
    else:
        lines.append(f"feeds: {feeds['total']} ({feeds['enabled']} enabled, {feeds['failing']} failing, "
                     f"{feeds['disabled']} disabled)")
        lines += [f"  {f['state']} {f['url']} ({f['consecutive_failures']} failures): {f['last_error'] or ''}"
                  for f in feeds["worst"]]
    index = report["index"]
    lines.append(f"index {index['alias']}: " + (index["error"] if "error" in index else
                 f"{index['documents']} documents, {human_bytes(index['bytes'])}, newest "
                 f"{human_age(index['newest_age_s'])}"))
    alerts = report["alerts"]
    lines.append("alerts: " + (alerts["error"] if "error" in alerts else
                 f"{alerts['delivered']} delivered, {alerts['failed']} failed, {alerts['parked']} parked"))
    for topic, entry in report["dead_letters"].items():
        lines.append(f"dead letters {topic}: {_num(entry['count'])}"
                     + (f" (latest: {entry['error']})" if entry.get("error") else ""))
        lines += [f"  {d['failed_at'][:19]} {d['stage']}: {d['reason']}" for d in entry.get("latest", [])]
    return lines
