"""Make the services ready: wait for the ports, create the topics and the index. Idempotent, run at every start."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from urllib.parse import urlsplit

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

from connectors.elasticsearch import SearchBackend, open_backend
from connectors.elasticsearch.index import ensure_index
from connectors.elasticsearch.search import SearchPage, SearchRequest, search
from newsdesk.settings import Settings

log = logging.getLogger(__name__)


def wait_for_port(host: str, port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError as exc:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{host}:{port} did not answer within {timeout_s:.0f}s: {exc}") from exc
            time.sleep(0.2)


def wait_for_services(settings: Settings, timeout_s: float) -> None:
    for address in settings.bootstrap.split(","):
        host, _, port = address.strip().rpartition(":")
        wait_for_port(host or "127.0.0.1", int(port), timeout_s)
    url = urlsplit(settings.es_url)
    wait_for_port(url.hostname or "127.0.0.1", url.port or (443 if url.scheme == "https" else 9200), timeout_s)


def topic_configs(settings: Settings) -> dict[str, dict[str, str]]:
    retention_ms = str(int(settings.retention_hours * 3600 * 1000))
    bounded = {"retention.ms": retention_ms, "cleanup.policy": "delete"}
    # Compacted: the latest value per key is kept for good. segment.ms and min.cleanable.dirty.ratio make Kafka
    # compact within minutes instead of at the next 1 GB segment. Tombstones stay a day, so a worker
    # that was away less than that sees a removal as a tombstone (longer: it drops feeds it no longer finds).
    compacted = {"cleanup.policy": "compact", "segment.ms": str(settings.registry_compaction_segment_ms),
                 "min.cleanable.dirty.ratio": str(settings.registry_compaction_dirty_ratio),
                 "delete.retention.ms": str(24 * 3600 * 1000)}
    return {settings.topic_raw: bounded, settings.topic_annotated: bounded, settings.topic_dead: bounded,
            settings.topic_candidates: bounded, settings.topic_feeds: compacted, settings.topic_feed_state: compacted,
            settings.dedup_changelog: compacted, settings.topic_subscriptions: compacted,
            settings.topic_alerts: bounded, topic_alerts_dead(settings): bounded, leader_topic(settings): bounded,
            **{changelog(settings, table): compacted for table in DELIVERY_TABLES}}


# The delivery agent's tables (streams/delivery.py): Faust declares no topics (topic_allow_declare is off), and the
# tables' changelogs must exist before a worker recovers them, so they are created here with the other topics:
# one place decides every topic's partitions and retention, and a worker never races another to create one.
DELIVERIES_TABLE = "alert-deliveries"
HISTORY_TABLE = "alert-history"  # streams/delivery_status.HISTORY_TABLE (read without importing Faust)
DELIVERY_TABLES = (DELIVERIES_TABLE, HISTORY_TABLE)


def changelog(settings: Settings, table: str) -> str:
    """The name Faust gives a table's changelog topic."""
    return f"{settings.app_id}-{table}-changelog"


def topic_alerts_dead(settings: Settings) -> str:
    """Alerts a channel gave up on, with the reason (streams/delivery.py parks them there)."""
    return settings.topic("alerts.dead")


def leader_topic(settings: Settings) -> str:
    """Faust's own topic for electing the leader worker (timers `on_leader`): created here, with one partition as
    Faust wants it, since the app declares no topics (else every first start logs that it is missing)."""
    return f"{settings.app_id}-__assignor-__leader"


def topic_partitions(settings: Settings, name: str) -> int:
    """The feed list is small and read whole by every process: one partition keeps its edits in order."""
    return 1 if name in (settings.topic_feeds, leader_topic(settings)) else settings.topic_partitions


def create_topics(settings: Settings) -> None:
    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap, client_id=f"{settings.app_id}-admin")
    try:
        existing = set(admin.list_topics())
        wanted = [NewTopic(name, topic_partitions(settings, name), settings.topic_replication, topic_configs=config)
                  for name, config in topic_configs(settings).items() if name not in existing]
        if wanted:
            try:
                admin.create_topics(wanted)
            except TopicAlreadyExistsError:
                pass
            log.info("created topics %s", ", ".join(t.name for t in wanted))
    finally:
        admin.close()


async def open_search_backend(settings: Settings, *, request_timeout: float = 30.0,
                             max_retries: int = 0) -> SearchBackend:
    """The search backend the settings name: NEWSDESK_ELASTICSEARCH_URL (or the embedded OpenSearch), with the
    client NEWSDESK_SEARCH_ENGINE picks ("auto": from the server's root answer)."""
    return await open_backend(settings.es_url, settings.search_engine, request_timeout=request_timeout,
                              max_retries=max_retries)


async def search_once(settings: Settings, request: SearchRequest) -> SearchPage:
    """One search from a command (`newsdesk search`, `alerts test`): open the backend, search, close it."""
    backend = await open_search_backend(settings, max_retries=1)
    try:
        return await search(backend, settings.index_alias, request)
    finally:
        await backend.close()


async def prepare_index(settings: Settings) -> None:
    backend = await open_search_backend(settings, max_retries=2)
    try:
        await ensure_index(backend, settings.index_alias)
        log.info("search index %s ready on %s (%s)", settings.index_alias, backend.url, backend.engine)
    finally:
        await backend.close()


def prepare(settings: Settings) -> None:
    wait_for_services(settings, settings.embedded_start_timeout_s)
    create_topics(settings)
    asyncio.run(prepare_index(settings))
