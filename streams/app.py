"""The Faust app: wires the feed poller, the annotation stage and the Elasticsearch sink to the topics.

    feeds --poller--> articles.raw --annotate--> articles.annotated --index--> Elasticsearch `articles`
                              \\______________________________________\\__> articles.dead (with the reason)

Values travel as raw bytes and are decoded here, so a malformed message reaches the dead-letter topic with
its error instead of being skipped by Faust's deserialiser. Run with `newsdesk worker` (or `newsdesk up`), whose
process starts at streams/worker.py.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import faust
from pydantic import ValidationError

from connectors.elasticsearch import SearchError, SearchUnavailable, open_backend
from connectors.elasticsearch.document import to_document
from connectors.elasticsearch.index import apply_retention, rollover
from connectors.elasticsearch.sink import ElasticsearchSink
from connectors.rss.fetch import FeedFetcher
from connectors.rss.poller import FeedPoller
from connectors.rss.registry import FeedRegistry, feed_partition
from connectors.rss.schedule import SchedulePolicy
from connectors.rss.shared_registry import SharedFeedRegistry
from newsdesk import logs
from newsdesk.observability import metrics
from newsdesk.observability.server import MetricsServer
from newsdesk.settings import load
from streams import commit_hole_quirk, log_limits, seek_uncommitted_quirk
from streams.expiry import Expiry
from streams.nlp.annotate import Document
from streams.nlp.models import spec_for
from streams.nlp.pool import AnnotatorPool, annotate_each
from streams.partition_watch import PartitionState, PartitionWatch, remedy
from streams.records import AnnotatedArticle, Annotation, Article, DeadLetter
from streams.stall import StallWatch
from streams.table_store import claim_table_dir, discard_stale_partitions, table_options

log = logging.getLogger(__name__)
settings = load()
log_limits.install(settings.log_level)

app = faust.App(
    settings.app_id,
    broker=f"kafka://{settings.bootstrap}",
    processing_guarantee="at_least_once",
    datadir=str(settings.data_dir / "faust"),
    topic_replication_factor=settings.topic_replication,
    topic_partitions=settings.topic_partitions,
    topic_allow_declare=False,  # topics are created up front by newsdesk.bootstrap
    consumer_auto_offset_reset="earliest",
    web_enabled=settings.web_enabled,
    web_port=settings.web_port,
    broker_max_poll_interval=600.0,
    broker_session_timeout=settings.kafka_session_timeout_s,
    broker_heartbeat_interval=settings.kafka_session_timeout_s / 5,
    producer_acks=-1,
    producer_compression_type=settings.compression_type,
    producer_max_batch_size=settings.kafka_batch_bytes,
    producer_linger=settings.kafka_linger_ms / 1000,
    # The leader runs the index's housekeeping timers (registered only where "index" runs): a worker without that
    # stage (a delivery or annotation worker) in the same group must not be elected, or the housekeeping stops.
    topic_disable_leader="index" not in settings.stages,
)

seek_uncommitted_quirk.install()  # records thrown away in a rebalance are fetched again, committed or not
commit_hole_quirk.install()  # and no commit steps over a record that no agent acked

_F = TypeVar("_F", bound=Callable[..., Any])


# The shared (Kafka) registry adds a stage: dedup across hosts, on the workers that poll.
ACTIVE_STAGES = {*settings.stages, *(["dedup"] if settings.registry == "kafka" and "poll" in settings.stages else [])}


def when(stage: str, register: Callable[[_F], Any]) -> Callable[[_F], Any]:
    """Register an agent or timer only on workers that run its stage (NEWSDESK_STAGES), so annotation and
    indexing can run on different hosts, and a benchmark can time Kafka -> annotate -> Kafka alone."""
    return register if stage in ACTIVE_STAGES else (lambda function: function)


raw_topic = app.topic(settings.topic_raw, key_type=bytes, value_type=bytes,
                      key_serializer="raw", value_serializer="raw")
annotated_topic = app.topic(settings.topic_annotated, key_type=bytes, value_type=bytes,
                            key_serializer="raw", value_serializer="raw")
dead_topic = app.topic(settings.topic_dead, key_type=bytes, value_type=bytes,
                       key_serializer="raw", value_serializer="raw")


async def dead_letter(stage: str, event: faust.EventT, error: str) -> None:
    message = event.message
    value = message.value if isinstance(message.value, bytes) else str(message.value).encode()
    key = message.key.decode(errors="replace") if isinstance(message.key, bytes) else None
    log.error("%s: dead-lettering %s[%s]@%s: %s", stage, message.topic, message.partition, message.offset, error,
              extra={"article_id": key, "stage": stage, "topic": message.topic, "partition": message.partition,
                     "offset": message.offset})
    record = DeadLetter(stage=stage, error=error, topic=message.topic, partition=message.partition,
                        offset=message.offset, key=key, payload=value.decode(errors="replace"),
                        failed_at=datetime.now(UTC))
    await (await dead_topic.send(key=message.key, value=record.to_bytes()))
    metrics.on_dead_letter(stage)


async def wait_all(sends: Sequence[Any]) -> None:
    """Wait until the broker acknowledged every send of a batch, before the batch's offsets may commit."""
    await asyncio.gather(*sends)


# -- feeds -> articles.raw -------------------------------------------------------------------------------

_poller: FeedPoller | None = None
_barrier: threading.Event | None = None  # shared registry: set once this copy has read the state of new feeds


async def produce_article(article: Article) -> None:
    await (await raw_topic.send(key=article.id.encode(), value=article.to_bytes()))


async def produce_candidate(article: Article) -> None:
    """Shared registry: the `dedup` agent, owner of the article id's partition, decides whether it is new."""
    await (await candidates_topic.send(key=article.id.encode(), value=article.to_bytes()))


def open_registry() -> FeedRegistry:
    if settings.registry == "kafka":
        return SharedFeedRegistry(settings.registry_cache_path, settings.bootstrap, feeds_topic=settings.topic_feeds,
                                  state_topic=settings.topic_feed_state, follow=True,
                                  client_id=f"{settings.app_id}-registry")
    return FeedRegistry(settings.registry_path)


def owned_partitions() -> tuple[set[int], int] | None:
    """This worker's share of the feeds: its assigned partitions of articles.raw and the topic's partition
    count; None while a rebalance is in progress (ownership is moving: poll nothing new until it settles)."""
    if app.rebalancing:
        return None
    mine = {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == settings.topic_raw}
    try:
        count = app.consumer.topic_partitions(settings.topic_raw) or settings.topic_partitions
    except Exception:  # the consumer has no metadata yet
        count = settings.topic_partitions
    return mine, count


_owned_logged: tuple[frozenset[int], int] | None = None


@when("poll", app.timer(settings.registry_refresh_s))  # on every worker: each polls the feeds of its own partitions
async def poll_feeds() -> None:
    global _poller, _owned_logged, _barrier
    if _poller is None:
        fetcher = FeedFetcher(**settings.fetcher_options)  # address guard, limits, User-Agent with contact
        policy = SchedulePolicy(start_interval_s=settings.poll_interval_s, min_interval_s=settings.poll_min_interval_s,
                                max_interval_s=settings.poll_max_interval_s, jitter=settings.poll_jitter)
        registry = await asyncio.to_thread(open_registry)  # shared: reads the topics to their end first
        produce = produce_candidate if settings.registry == "kafka" else produce_article
        _poller = FeedPoller(registry, fetcher, produce, policy=policy,
                             concurrency=settings.poll_concurrency, dedup_ttl_s=settings.dedup_ttl_hours * 3600,
                             disable_after_failures=settings.feed_disable_after_failures,
                             lease_s=max(300.0, settings.fetch_timeout_s * 10),
                             full_text_min_chars=settings.full_text_min_chars, on_poll=metrics.on_poll)
    owned = owned_partitions()
    if owned is None:
        return
    mine, count = owned
    if (frozenset(mine), count) != _owned_logged:
        _owned_logged = (frozenset(mine), count)
        log.info("feed poller (pid %d): polling the feeds of partitions %s of %d of %s", os.getpid(), sorted(mine),
                 count, settings.topic_raw)
        if isinstance(_poller.registry, SharedFeedRegistry):  # feeds may have moved here: read their latest state
            _barrier = _poller.registry.barrier()
    if _barrier is not None and not _barrier.is_set():
        return
    if mine:
        _poller.start_due(owns=lambda url: feed_partition(url, count) in mine)


# -- articles.candidates -> articles.raw: dedup across hosts (shared registry) ---------------------------

candidates_topic = app.topic(settings.topic_candidates, key_type=bytes, value_type=bytes,
                             key_serializer="raw", value_serializer="raw")
# article id -> {"h": hash, "v": version, "t": last seen, "f": {feed url: hash}, "p": partition}; partitioned
# like articles.candidates (by article id), so one worker decides for an id and the memory moves with it
dedup_table: Any = app.Table(
    settings.dedup_table, default=None, partitions=settings.topic_partitions,
    key_type=str, value_type=None,  # the app's serializers: raw keys, json values (a dict)
    help="article ids produced to articles.raw (shared registry)",
    **table_options(settings.table_store, settings.dedup_table)) if "dedup" in ACTIVE_STAGES else {}
DEDUP_FEEDS_KEPT = 32  # feeds remembered per article (for 'a feed that showed it shows a changed hash')


def dedup_entry_expired(entry: dict[str, Any], now: float) -> bool:
    """An id no feed showed for NEWSDESK_DEDUP_TTL_HOURS (a feed showing it again renews "t")."""
    return float(entry.get("t") or 0) < now - settings.dedup_ttl_hours * 3600


dedup_expiry = Expiry("dedup", dedup_table, dedup_entry_expired,
                      every_s=min(3600.0, settings.dedup_ttl_hours * 360))


def dedup_decision(entry: dict[str, Any] | None, article: Article, now: float) -> tuple[bool, int]:
    """(produce?, version): the single-host rule of FeedRegistry.triage, for every host's feeds at once."""
    if entry is None or entry["t"] < now - settings.dedup_ttl_hours * 3600:
        return True, article.version
    shown = entry["f"].get(article.feed_url)
    if shown is not None and shown != article.content_hash and entry["h"] != article.content_hash:
        return True, max(article.version, entry["v"] + 1)  # an update, seen by a feed that showed the old one
    return False, entry["v"]


@when("dedup", app.agent(candidates_topic))
async def dedup(stream: faust.StreamT) -> None:
    """One event at a time: a table write goes to the changelog partition of the event being processed."""
    async for event in stream.events():
        try:
            article = Article.model_validate_json(event.message.value or b"")
        except ValidationError as exc:
            await dead_letter("dedup", event, f"invalid article: {exc}")
            continue
        now = time.time()
        entry = dedup_table.get(article.id)
        produce, version = dedup_decision(entry, article, now)
        if produce:
            if version != article.version:
                article = article.model_copy(update={"version": version})
            await produce_article(article)  # acknowledged before the memory says so
        feeds = dict(entry["f"]) if entry else {}
        feeds.pop(article.feed_url, None)  # the latest sighting last: the oldest go first when trimmed
        feeds[article.feed_url] = article.content_hash
        dedup_table[article.id] = {"h": article.content_hash if produce or entry is None else entry["h"],
                                   "v": version, "t": now, "f": dict(list(feeds.items())[-DEDUP_FEEDS_KEPT:]),
                                   "p": event.message.partition}
        dedup_expiry.on_event(event.message.partition, now)


# -- articles.raw -> articles.annotated ------------------------------------------------------------------

_pool: AnnotatorPool | None = None


def annotator_pool() -> AnnotatorPool:
    global _pool
    if _pool is None:
        preload = sorted({spec_for(lang, settings.nlp_models) for lang in settings.nlp_models})
        _pool = AnnotatorPool(settings.nlp_models, settings.nlp_workers, preload=preload,
                              part_size=settings.nlp_part_size,
                              setup_logging=functools.partial(logs.setup, settings.log_level, settings.log_format),
                              on_part=lambda done, seconds: metrics.on_annotation_part(
                                  [a.language for a in done], seconds))
    return _pool


async def annotate_documents(documents: list[Document]) -> list[Annotation | Exception]:
    """Annotate a batch; never raises: a dead pool process is replaced and the batch retried, and only a document
    that fails on its own, repeatedly, gets its error instead of an Annotation (streams/nlp/pool.annotate_each)."""
    return list(await annotate_each(annotator_pool(), documents))


RELEASE_BACKOFF_S = (1.0, 2.0, 5.0, 10.0, 30.0)


async def annotate_batch(events: Sequence[faust.EventT]) -> None:
    """Annotate one batch and send the results; returns once the broker acknowledged every message's result,
    annotated (articles.annotated) or dead-lettered (articles.dead). Raises only if the broker does not answer."""
    articles: list[tuple[faust.EventT, Article]] = []
    for event in events:
        try:
            articles.append((event, Article.model_validate_json(event.message.value or b"")))
        except ValidationError as exc:
            await dead_letter("annotate", event, f"invalid article: {exc}")
    documents = [Document(a.id, a.title, a.text, a.feed_language) for _, a in articles]
    results = await annotate_documents(documents)
    dead: list[tuple[faust.EventT, str]] = []
    outgoing: list[tuple[faust.EventT, Article, bytes]] = []
    now = datetime.now(UTC)
    for (event, article), result in zip(articles, results, strict=True):
        if isinstance(result, Exception):
            dead.append((event, f"annotation failed: {result}"))
            continue
        try:
            payload = AnnotatedArticle(article=article, annotation=result, annotated_at=now).to_bytes()
        except (ValidationError, ValueError) as exc:
            dead.append((event, f"invalid annotation: {exc}"))
            continue
        outgoing.append((event, article, payload))
    sends = [await annotated_topic.send(key=article.id.encode(), value=payload) for _, article, payload in outgoing]
    outcomes = await asyncio.gather(*sends, return_exceptions=True)
    languages = {id(event): result.language for (event, _), result in zip(articles, results, strict=True)
                 if not isinstance(result, Exception)}
    annotated: list[str] = []
    for (event, article, payload), outcome in zip(outgoing, outcomes, strict=True):
        if isinstance(outcome, asyncio.CancelledError):
            raise outcome
        if isinstance(outcome, Exception):  # once more, alone; then it is this message's problem (e.g. too large)
            try:
                await (await annotated_topic.send(key=article.id.encode(), value=payload))
            except Exception as exc:
                dead.append((event, f"could not be sent to {settings.topic_annotated}: {exc!r}"))
                continue
        annotated.append(languages[id(event)])
    metrics.on_annotated(annotated)
    for event, reason in dead:
        await dead_letter("annotate", event, reason)  # raises if the broker does not acknowledge it


async def annotate_and_release(events: Sequence[faust.EventT], previous: asyncio.Task[None] | None = None) -> None:
    """Annotate a batch until its results are acknowledged, then release its messages, after the batch before it.

    Never raises (but CancelledError at shutdown): an error escaping here used to crash the agent, and Faust,
    restarting it, committed `articles.raw` past the messages of the batches in flight. A broker that does not
    acknowledge is waited for: the batch is done again (indexing by id absorbs the repeat).

    Releasing in batch order keeps the acknowledged offsets of each partition a prefix of those delivered, with no
    hole for Faust's commit to step over (its gap check lets a hole of one message, or any hole before the first
    commit, pass), so an offset commits only after every message before it has its result in Kafka.
    """
    attempt = 0
    while True:
        try:
            await annotate_batch(events)
            break
        except Exception as exc:
            delay = RELEASE_BACKOFF_S[min(attempt, len(RELEASE_BACKOFF_S) - 1)]
            attempt += 1
            log.error("annotate: a batch of %d could not be completed (%r); doing it again in %.0f s",
                      len(events), exc, delay)
            await asyncio.sleep(delay)
    if previous is not None:
        await previous  # cancelled at shutdown: this batch then stays unreleased too, and is redelivered
    for event in events:  # the reference taken in annotate(): now the offsets may commit
        event.ack()


@when("annotate", app.agent(raw_topic))
async def annotate(stream: faust.StreamT) -> None:
    """Keep up to `nlp_batches_in_flight` batches in the pool, so its workers never idle while a batch's results
    go to Kafka and the next batch is fetched (one batch at a time reached half of nlp.pipe's rate).

    take_events acks a batch when the next one is requested, before this batch is done; each message therefore
    holds one more reference until its batch's results are acknowledged by the broker and every batch before it
    was released (annotate_and_release), and Faust commits an offset only when every message up to it is acked,
    so at-least-once holds with batches in flight.
    """
    in_flight: deque[asyncio.Task[None]] = deque()
    try:
        # take_events: the batch's events, for dead-letter metadata (faust-streaming has it; its stubs do not)
        async for events in stream.take_events(  # type: ignore[attr-defined]
                settings.nlp_batch_size, within=settings.nlp_batch_within_s):
            metrics.on_batch("annotate", len(events))
            for event in events:
                event.message.incref()
            previous = in_flight[-1] if in_flight else None
            in_flight.append(asyncio.create_task(annotate_and_release(list(events), previous)))
            while in_flight and (len(in_flight) >= settings.nlp_batches_in_flight or in_flight[0].done()):
                await in_flight.popleft()  # in order; annotate_and_release does not raise
    finally:
        for task in in_flight:  # unacked: redelivered after a restart, and indexing by id absorbs the repeat
            task.cancel()


# -- articles.annotated -> Elasticsearch / OpenSearch ------------------------------------------------------

_sink: ElasticsearchSink | None = None
_sink_lock = asyncio.Lock()


async def elasticsearch_sink() -> ElasticsearchSink:
    """The sink over the search backend, opened once. With NEWSDESK_SEARCH_ENGINE=auto the engine is read from
    the server's root answer, so this waits (with backoff) for a search engine that is down, like a write does."""
    global _sink
    async with _sink_lock:
        attempt = 0
        while _sink is None:
            try:
                backend = await open_backend(settings.es_url, settings.search_engine, request_timeout=60,
                                             max_retries=0)  # the sink retries itself, with backoff
                _sink = ElasticsearchSink(backend, settings.index_alias, max_backoff_s=settings.sink_max_backoff_s,
                                      wait_for_refresh=False)
            except SearchUnavailable as exc:
                attempt += 1
                log.warning("search backend unavailable (%s); retrying", exc)
                await asyncio.sleep(min(settings.sink_max_backoff_s, 0.5 * 2 ** min(attempt, 10)))
    return _sink


from streams import alerts  # noqa: E402  (subscriptions -> percolator, matching after each indexed batch)


@when("index", app.agent(annotated_topic))
async def index(stream: faust.StreamT) -> None:
    """Index batches; the batch's offsets are committed only after the search engine acknowledged it."""
    async for events in stream.take_events(  # type: ignore[attr-defined]
            settings.sink_batch_size, within=settings.sink_batch_within_s):
        metrics.on_batch("index", len(events))
        by_id: dict[str, faust.EventT] = {}
        documents = []
        for event in events:
            try:
                item = AnnotatedArticle.model_validate_json(event.message.value)
            except ValidationError as exc:
                await dead_letter("index", event, f"invalid annotated article: {exc}")
                continue
            by_id[item.article.id] = event
            documents.append(to_document(item))
        sink = await elasticsearch_sink()
        started = time.perf_counter()
        result = await sink.write(documents)
        metrics.on_index_write(result, time.perf_counter() - started)
        for rejected in result.rejected:
            await dead_letter("index", by_id[rejected.id],
                              f"the search engine rejected it ({rejected.status}): {rejected.reason}")
        if result.stale:
            log.info("index: %d written, %d older than the indexed version (skipped)", result.written, result.stale)
        await alerts.match_and_alert(sink.backend, documents, result)  # acknowledged before the batch is released


from streams import delivery  # noqa: E402,F401  (alerts -> webhook/e-mail/Slack/log, once per channel)


@when("index", app.timer(settings.index_rollover_check_s, on_leader=True))
async def roll_index_over() -> None:
    """Housekeeping on the leader: roll the write alias over, then delete articles past the retention age."""
    sink = await elasticsearch_sink()
    try:
        if await rollover(sink.backend, settings.index_alias, settings.rollover_conditions):
            sink.forget_layout()
    except SearchError as exc:  # retried at the next tick
        log.warning("rollover check failed: %s", exc)
    try:
        await apply_retention(sink.backend, settings.index_alias, settings.retention_days)
    except SearchError as exc:
        log.warning("index retention failed: %s", exc)


# -- liveness ---------------------------------------------------------------------------------------------

class StalledRebalance(RuntimeError):
    """Raised into the worker so it exits non-zero and its supervisor starts a fresh one."""


_stall = StallWatch(settings.rebalance_stall_s)


@app.timer(5.0)
async def watch_rebalance() -> None:
    """A worker stuck in a rebalance does nothing until restarted, so it stops itself (streams/stall.py)."""
    recovery = cast(Any, app.tables).recovery  # faust.tables.recovery.Recovery; not in TableManagerT's stubs
    remaining = recovery.active_remaining_total() if recovery.in_recovery else 0
    if _stall.stalled(time.monotonic(), bool(app.rebalancing), remaining):
        log.error("rebalance stuck for %.0f s (%d changelog records left to read, none read meanwhile): stopping "
                  "this worker so that it is restarted (NEWSDESK_REBALANCE_STALL_S)", _stall.limit_s, remaining)
        await app.crash(StalledRebalance(f"rebalance made no progress for {_stall.limit_s:.0f} s"))


def _fetch_position(consumer: Any, tp: Any) -> int | None:
    """aiokafka's position in the partition (the next offset it will fetch), for the log: private, read only."""
    try:
        state = consumer._thread._ensure_consumer()._subscription.subscription.assignment.state_value(tp)
        return cast(int | None, state._position if state is not None else None)
    except Exception:  # no consumer, no assignment: nothing to say
        return None


def _held_offsets(consumer: Any) -> dict[Any, tuple[int | None, int | None]]:
    """Per partition this worker holds: the offset Faust committed and the highwater of its last fetch. Faust's
    consumer's own state (private, not in its stubs), so no request to the broker."""
    return {tp: (consumer._committed_offset.get(tp), consumer.highwater(tp)) for tp in consumer.assignment()}


_partitions: PartitionWatch[Any] = PartitionWatch(settings.partition_stuck_s)


@app.timer(5.0)
async def watch_partitions() -> None:
    """A partition that stopped being fetched outside a rebalance is put back in the fetch; one that is fetched
    but does not move is logged (streams/partition_watch.py). Reads Faust's consumer's own sets; no broker request."""
    recovery = cast(Any, app.tables).recovery  # stream partitions stay paused until its last step, on purpose
    if not _rebalanced or app.rebalancing or recovery.in_recovery or not recovery.completed.is_set():
        _partitions.reset()
        return
    consumer = cast(Any, app.consumer)  # faust's Consumer: these sets are not in its stubs
    try:
        active = consumer._active_partitions or set()
        buffered = consumer._buffered_partitions
        in_flight: dict[Any, set[int]] = {}
        for message in list(consumer._unacked_messages):
            in_flight.setdefault(message.tp, set()).add(message.offset)
        states = {}
        for tp, (committed, end) in _held_offsets(consumer).items():
            if app.topics.acks_enabled_for(tp.topic) and not consumer._is_changelog_tp(tp):
                next_offset = commit_hole_quirk.expected_next(committed, tp)
                states[tp] = PartitionState(next_offset, end, tp in active or tp in buffered,
                                            consumer._read_offset.get(tp), frozenset(in_flight.get(tp, ())),
                                            next_offset in consumer._acked_index.get(tp, ()))
    except Exception as exc:  # no consumer yet, or one being replaced
        log.debug("partitions not watched: %r", exc)
        return
    for tp in _partitions.stuck(time.monotonic(), states):
        state = states[tp]
        held = (f"committed {state.committed}, end {state.end}, read offset {state.read}, in flight "
                f"{len(state.in_flight or ())} from {min(state.in_flight or {-1})}, next acked {state.next_acked}, "
                f"fetch position "
                f"{_fetch_position(consumer, tp)}, active {tp in active}, buffered {tp in buffered}, paused "
                f"{tp in consumer._paused_partitions}, flow active {consumer.flow_active}")
        action = remedy(state)
        if action is None:
            log.info("partition %s[%d] has not moved for %.0f s although behind its end (%s)",
                     tp.topic, tp.partition, _partitions.limit_s, held)
            continue
        log.error("partition %s[%d] has not moved for %.0f s although behind its end (%s): %s "
                  "(streams/partition_watch.py)", tp.topic, tp.partition, _partitions.limit_s, held,
                  "fetching it again" if action == "resume" else "seeking it to its committed offset")
        if action == "resume":
            consumer.resume_partitions({tp})
        else:  # on the consumer's own thread, and it sets Faust's read offset (Consumer.seek calls from this one)
            await consumer.seek_wait({tp: state.committed})


# -- metrics and health (newsdesk/observability): /metrics, /health/live, /health/ready on NEWSDESK_METRICS_PORT --

_rebalanced = False  # the first rebalance (with its table recovery) is complete: the worker is ready
_metrics_server: MetricsServer | None = None


def readiness() -> tuple[bool, dict[str, Any]]:
    return _rebalanced, {"rebalancing": bool(app.rebalancing)}


@app.on_rebalance_complete.connect  # type: ignore[arg-type]
async def rebalance_complete(app: faust.App, **kwargs: Any) -> None:
    global _rebalanced
    _rebalanced = True
    metrics.set_ready(True)


@app.task
async def serve_metrics() -> None:
    global _metrics_server
    if settings.metrics_port and _metrics_server is None:
        _metrics_server = MetricsServer(settings.metrics_host, settings.metrics_port, readiness)
        await _metrics_server.start()


@app.timer(5.0)
async def measure_lag() -> None:
    """Consumer lag per topic over this worker's partitions: the consumer's highwater (from its last fetch) minus
    the offset Faust committed; local state only, no request to the broker."""
    if not settings.metrics_port or not _rebalanced or app.rebalancing:
        return
    consumer = cast(Any, app.consumer)
    lag: dict[str, int] = {}
    try:
        for tp, (committed, highwater) in _held_offsets(consumer).items():
            if committed is None or highwater is None:
                continue
            lag[tp.topic] = lag.get(tp.topic, 0) + max(0, highwater - committed)
    except Exception as exc:  # no consumer yet, or one being replaced
        log.debug("consumer lag not measured: %r", exc)
        return
    metrics.set_consumer_lag(lag)


@app.on_before_shutdown.connect  # type: ignore[arg-type]
async def close_resources(app: faust.App, **kwargs: Any) -> None:
    if _metrics_server is not None:
        await _metrics_server.stop()
    if _pool is not None:
        await asyncio.to_thread(_pool.close)
    if _poller is not None:
        await _poller.aclose()  # in-flight polls finish (or are handed back), then the fetcher closes
        await asyncio.to_thread(_poller.registry.close)  # shared: flushes the last state records
    if _sink is not None:
        await _sink.backend.close()


def main() -> None:
    """The worker logs like every newsdesk process (newsdesk/logs.py): Faust's worker replaces the root handlers
    when it starts, so it is given the same handler to install; in JSON mode its banner, a text table on stdout
    that would break the one-event-per-line rule, is left out (`--quiet`)."""
    import sys

    chosen = logs.setup(settings.log_level, settings.log_format)  # for what is logged before the worker starts
    app.conf.logging_config = logs.dict_config(settings.log_level, settings.log_format)
    if chosen == "json" and not {"-q", "--quiet"} & set(sys.argv[1:]):
        sys.argv.insert(1, "--quiet")
    app.conf.tabledir = claim_table_dir(settings.data_dir / "faust", ACTIVE_STAGES)
    for table in list(app.tables.values()):
        discard_stale_partitions(table, settings.bootstrap)
    app.main()
