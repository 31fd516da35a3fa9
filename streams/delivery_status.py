"""Delivery history per subscription, for `newsdesk alerts list` and the API: read without starting Faust.

The delivery agent (streams/delivery.py) keeps one record per (subscription, `alerts` partition) in its
`alert-history` table; the table's changelog, `{app id}-alert-history-changelog`, is a compacted topic keyed
`owner/name|partition` with a JSON value. `read_history()` reads it to its end (blocking: run it in a thread in
async code) and `summarise()` adds the partitions up. Nothing in it is secret (no target, no secret).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

HISTORY_TABLE = "alert-history"


def history_topic(app_id: str) -> str:
    return f"{app_id}-{HISTORY_TABLE}-changelog"


def _when(value: float | None) -> str | None:
    return datetime.fromtimestamp(value, UTC).isoformat() if value else None


def summarise(records: Iterable[tuple[bytes | None, bytes | None]]) -> dict[str, dict[str, Any]]:
    """subscription key -> {"sent", "failures", "parked", "last_sent_at", "last_error", "last_error_at"}; the
    last record per changelog key wins (as compaction would keep it), then partitions are added up."""
    latest: dict[str, dict[str, Any] | None] = {}
    for key, value in records:
        if key is None:
            continue
        try:
            latest[key.decode()] = json.loads(value) if value is not None else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue
    out: dict[str, dict[str, Any]] = {}
    for name, entry in latest.items():
        if not isinstance(entry, dict):
            continue
        subscription = entry.get("subscription") or name.rpartition("|")[0]
        total = out.setdefault(subscription, {"sent": 0, "failures": 0, "parked": 0, "last_sent_at": None,
                                              "last_error": None, "last_error_at": None})
        total["sent"] += int(entry.get("sent") or 0)
        total["failures"] += int(entry.get("failures") or 0)
        total["parked"] += int(entry.get("parked") or 0)
        if (entry.get("last_sent_at") or 0) > (total["last_sent_at"] or 0):
            total["last_sent_at"] = entry["last_sent_at"]
        if (entry.get("last_error_at") or 0) > (total["last_error_at"] or 0):
            total["last_error_at"], total["last_error"] = entry["last_error_at"], entry.get("last_error")
    for total in out.values():
        total["last_sent_at"] = _when(total["last_sent_at"])
        total["last_error_at"] = _when(total["last_error_at"])
    return out


def read_history(bootstrap: str, app_id: str, timeout_s: float = 30.0) -> dict[str, dict[str, Any]]:
    """The history of every subscription that had a delivery; {} before the first (topic not created yet)."""
    from kafka import KafkaConsumer, TopicPartition

    topic = history_topic(app_id)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                             client_id=f"{app_id}-delivery-status")
    try:
        numbers = consumer.partitions_for_topic(topic)
        if not numbers:
            return {}
        partitions = [TopicPartition(topic, p) for p in sorted(numbers)]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        records: list[tuple[bytes | None, bytes | None]] = []
        deadline = time.monotonic() + timeout_s
        while any(consumer.position(tp) < end for tp, end in ends.items()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not read {topic} to its end")
            for messages in consumer.poll(timeout_ms=500).values():
                records += [(m.key, m.value) for m in messages]
        return summarise(records)
    finally:
        consumer.close()
