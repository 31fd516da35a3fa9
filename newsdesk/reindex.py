"""`newsdesk reindex`: rebuild the index from the `articles.annotated` topic while the live stream goes on.

It reads the topic with its own consumer (no group: it never moves the live indexer's offsets), from the
beginning or from a timestamp up to the end offsets seen at start, and writes through the same sink as the
live indexer: versioned by article, so replayed articles neither duplicate nor overwrite newer versions.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from kafka import KafkaConsumer, TopicPartition
from pydantic import ValidationError

from connectors.elasticsearch import open_backend
from connectors.elasticsearch.document import to_document
from connectors.elasticsearch.sink import ElasticsearchSink, WriteResult
from newsdesk.settings import Settings
from streams.records import AnnotatedArticle

log = logging.getLogger(__name__)


def _consumer(settings: Settings) -> KafkaConsumer:
    return KafkaConsumer(bootstrap_servers=settings.bootstrap, enable_auto_commit=False, group_id=None,
                         client_id=f"{settings.app_id}-reindex", receive_message_max_bytes=256 * 1024 * 1024)


def plan(consumer: KafkaConsumer, topic: str, since: datetime | None) -> dict[TopicPartition, tuple[int, int]]:
    """{partition: (start offset, end offset)} to replay."""
    partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
    if not partitions:
        raise RuntimeError(f"topic {topic!r} does not exist")
    ends = consumer.end_offsets(partitions)
    starts = consumer.beginning_offsets(partitions)
    if since is not None:
        by_time = consumer.offsets_for_times({tp: int(since.timestamp() * 1000) for tp in partitions})
        starts = {tp: (by_time[tp].offset if by_time.get(tp) else ends[tp]) for tp in partitions}
    return {tp: (starts[tp], ends[tp]) for tp in partitions if ends[tp] > starts[tp]}


async def reindex(settings: Settings, since: datetime | None = None, batch_size: int = 500,
                  progress: Callable[[int, int], None] | None = None) -> WriteResult:
    """Replay; `progress(done, total)` is called after each batch. Returns the summed write result."""
    consumer = _consumer(settings)
    total_result = WriteResult()
    try:
        ranges = plan(consumer, settings.topic_annotated, since)
        total = sum(end - start for start, end in ranges.values())
        if progress:  # the size of the job from the start, before the first (slowest) batch
            progress(0, total)
        consumer.assign(list(ranges))
        for tp, (start, _) in ranges.items():
            consumer.seek(tp, start)
        remaining = dict(ranges)
        done = 0
        backend = await open_backend(settings.es_url, settings.search_engine, request_timeout=60)
        try:
            sink = ElasticsearchSink(backend, settings.index_alias, max_backoff_s=settings.sink_max_backoff_s,
                                     wait_for_refresh=False)
            while remaining:
                polled = await asyncio.to_thread(consumer.poll, 1000, batch_size)
                documents = []
                for tp, records in polled.items():
                    end = ranges[tp][1]
                    for record in records:
                        if record.offset >= end:
                            continue
                        done += 1
                        try:
                            documents.append(to_document(AnnotatedArticle.model_validate_json(record.value)))
                        except ValidationError as exc:
                            log.warning("skipping invalid message %s@%d: %s", tp, record.offset, exc,
                                        extra={"topic": tp.topic, "partition": tp.partition,
                                               "offset": record.offset})
                    if consumer.position(tp) >= end:
                        remaining.pop(tp, None)
                        consumer.pause(tp)
                if documents:
                    result = await sink.write(documents)
                    total_result.written += result.written
                    total_result.stale += result.stale
                    total_result.rejected += result.rejected
                if progress:
                    progress(done, total)
        finally:
            await backend.close()
    finally:
        consumer.close()
    return total_result
