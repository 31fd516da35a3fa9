"""The feed registry of several hosts: two compacted Kafka topics, and on each host a SQLite copy of them.

- `newsdesk.feeds` (key: feed URL): the operator's feed list, one JSON snapshot per feed (settings, enabled,
  and a `reset` token that each `feeds enable` renews), a tombstone on remove. Written by `newsdesk feeds`.
- `newsdesk.feed-state` (key: feed URL): the polling state that must move with the feed (validators, next poll
  time, adaptive interval, health counters, auto-disable), written by the worker that polls the feed, after
  every change, including the lease a poll takes, so a new owner neither polls it again at once nor fetches it
  without its ETag/Last-Modified.

Every process reads both topics to their end at start (feeds first) into a SQLite copy with the single-host
schema, so the poller, `triage` and `feeds list` work unchanged; a worker then follows them in a thread. A copy
skips its own process's state records (it is already newer than them). State written before the operator's last
`enable` (an older `reset` token) is ignored, so the clean slate of an enable is not undone by a late poll.

The dedup memory in the copy is this host's only; the cross-host dedup is the stream's (see streams/app.py).
Concurrent edits of one feed by two operators: the last one written wins.
"""

from __future__ import annotations

import builtins
import json
import logging
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from connectors.rss.registry import FeedRegistry, _unique, check_settable

log = logging.getLogger(__name__)

STATE_FIELDS = ("etag", "last_modified", "last_polled_at", "last_success_at", "last_error", "last_error_at",
                "consecutive_failures", "items_seen", "next_poll_at", "adaptive_interval_s", "schedule_reason",
                "feed_ttl_s", "items_checked_at")
OPERATOR = "disabled by the operator"


class SharedFeedRegistry(FeedRegistry):
    """A FeedRegistry whose feed list and polling state live in Kafka; `cache` is this host's copy
    (`Path(":memory:")` for a one-shot command)."""

    def __init__(self, cache: Path, bootstrap: str, *, feeds_topic: str, state_topic: str, follow: bool,
                 client_id: str = "newsdesk-registry", idle_s: float = 0.2, timeout_s: float = 60.0) -> None:
        super().__init__(cache)
        self.feeds_topic, self.state_topic = feeds_topic, state_topic
        self.writer = uuid.uuid4().hex  # this process: its own state records are not applied back
        self.configs: dict[str, dict[str, Any]] = {}
        self._pending: dict[str, dict[str, Any]] = {}  # state of a feed whose config has not arrived yet
        self.idle_s = idle_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._barriers: list[tuple[threading.Event, dict[TopicPartition, int] | None]] = []
        self._barrier_lock = threading.Lock()
        self._producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, client_id=client_id)
        self._consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                       client_id=client_id, receive_message_max_bytes=64 * 1024 * 1024)
        self._partitions: dict[str, list[TopicPartition]] = {}
        for topic in (feeds_topic, state_topic):
            numbers = self._consumer.partitions_for_topic(topic)
            if not numbers:
                self.close()
                raise RuntimeError(f"topic {topic!r} does not exist (created by `newsdesk up`)")
            self._partitions[topic] = [TopicPartition(topic, p) for p in sorted(numbers)]
        deadline = time.monotonic() + timeout_s
        self._read_to_end([feeds_topic], deadline)
        with self._tx() as db:  # feeds removed while this copy was away (their tombstones may be compacted)
            for row in db.execute("SELECT url FROM feeds").fetchall():
                if row[0] not in self.configs:
                    db.execute("DELETE FROM feed_items WHERE feed_url = ?", (row[0],))
                    db.execute("DELETE FROM feeds WHERE url = ?", (row[0],))
        self._read_to_end([state_topic], deadline)
        self._consumer.assign([*self._partitions[feeds_topic], *self._partitions[state_topic]])
        if follow:
            self._thread = threading.Thread(target=self._follow, name="feed-registry", daemon=True)
            self._thread.start()

    # -- reading the topics ----------------------------------------------------------------------------------

    def _read_to_end(self, topics: Sequence[str], deadline: float) -> None:
        partitions = [tp for topic in topics for tp in self._partitions[topic]]
        self._consumer.assign(partitions)
        self._consumer.seek_to_beginning(*partitions)
        ends = self._consumer.end_offsets(partitions)
        while any(self._consumer.position(tp) < end for tp, end in ends.items()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not read {', '.join(topics)} to its end")
            self._apply(self._consumer.poll(timeout_ms=500))

    def _follow(self) -> None:
        while not self._stop.is_set():
            try:
                self._serve_barriers()
                polled = self._consumer.poll(timeout_ms=200)
                self._apply(polled)
                if not polled:
                    self._stop.wait(self.idle_s)  # an idle broker (noida) answers at once: do not spin
            except Exception:
                if self._stop.is_set():
                    return
                log.exception("feed registry: reading %s/%s failed; retrying", self.feeds_topic, self.state_topic)
                self._stop.wait(1.0)

    def barrier(self) -> threading.Event:
        """Set once this copy has read everything written to the topics before this call (a new owner of feeds
        waits for it, so it sees the state the previous owner published last)."""
        event = threading.Event()
        if self._thread is None:
            event.set()
        else:
            with self._barrier_lock:
                self._barriers.append((event, None))
        return event

    def _serve_barriers(self) -> None:
        with self._barrier_lock:
            if not self._barriers:
                return
            assigned = list(self._consumer.assignment())
            if any(ends is None for _, ends in self._barriers):
                ends_now = self._consumer.end_offsets(assigned)
                self._barriers = [(e, ends if ends is not None else ends_now) for e, ends in self._barriers]
            positions = {tp: self._consumer.position(tp) for tp in assigned}
            waiting = []
            for event, ends in self._barriers:
                if ends is not None and all(positions[tp] >= end for tp, end in ends.items()):
                    event.set()
                else:
                    waiting.append((event, ends))
            self._barriers = waiting

    def _apply(self, polled: dict[TopicPartition, list[Any]]) -> None:
        for tp, records in polled.items():
            for record in records:
                url = record.key.decode() if record.key else ""
                try:
                    value = json.loads(record.value) if record.value is not None else None
                    if tp.topic == self.feeds_topic:
                        self._apply_config(url, value)
                    elif value is not None and value.get("writer") != self.writer:
                        self._apply_state(url, value)
                except Exception:
                    log.exception("feed registry: skipping a bad record %s@%d", tp, record.offset)

    def _apply_config(self, url: str, config: dict[str, Any] | None) -> None:
        if config is None:
            self.configs.pop(url, None)
            self._pending.pop(url, None)
            super().remove(url)
            return
        self.configs[url] = config
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO feeds (url, added_at, enabled) VALUES (?, ?, 1)",
                       (url, config.get("added_at") or time.time()))
            db.execute("UPDATE feeds SET title = COALESCE(?, title), interval_s = ?, language = ?, full_text = ?,"
                       " tags = ? WHERE url = ?",
                       (config.get("title"), config.get("interval_s"), config.get("language"),
                        int(bool(config.get("full_text"))), json.dumps(config.get("tags") or []), url))
            if not config.get("enabled", True):
                reason = config.get("disabled_reason") or OPERATOR
                db.execute("UPDATE feeds SET enabled = 0, disabled_reason = ?, disabled_at = COALESCE(?, disabled_at)"
                           " WHERE url = ?", (reason, config.get("disabled_at"), url))
            else:  # a new reset token: the operator enabled it, with a clean slate
                db.execute("UPDATE feeds SET enabled = 1, disabled_reason = NULL, disabled_at = NULL,"
                           " consecutive_failures = 0, next_poll_at = NULL, reset_token = ?"
                           " WHERE url = ? AND reset_token IS NOT ?", (config.get("reset"), url, config.get("reset")))
        pending = self._pending.pop(url, None)
        if pending is not None:
            self._apply_state(url, pending)

    def _apply_state(self, url: str, state: dict[str, Any]) -> None:
        with self._tx() as db:
            row = db.execute("SELECT reset_token FROM feeds WHERE url = ?", (url,)).fetchone()
            if row is None:
                self._pending[url] = state
                return
            if state.get("reset") != row[0]:
                return  # written before the operator's last enable (or before this copy saw it)
            db.execute(f"UPDATE feeds SET {', '.join(f'{name} = ?' for name in STATE_FIELDS)},"
                       " title = COALESCE(title, ?) WHERE url = ?",
                       [*(state.get(name) for name in STATE_FIELDS), state.get("title"), url])
            if state.get("enabled") is False:  # disabled after failures (an operator's disable stays as it is)
                db.execute("UPDATE feeds SET enabled = 0, disabled_reason = ?, disabled_at = ? WHERE url = ?"
                           " AND enabled = 1", (state.get("disabled_reason"), state.get("disabled_at"), url))

    # -- writing ---------------------------------------------------------------------------------------------

    def _send(self, topic: str, url: str, value: dict[str, Any] | None) -> None:
        self._producer.send(topic, key=url.encode(), value=None if value is None else json.dumps(value).encode())

    def _publish_config(self, url: str, config: dict[str, Any] | None) -> None:
        """Write to the topic (acknowledged before this returns: a command's change is not lost), then apply."""
        self._send(self.feeds_topic, url, config)
        if config is None:
            self._send(self.state_topic, url, None)
        self._producer.flush(timeout=30)
        self._apply_config(url, config)

    def _publish_state(self, urls: Iterable[str]) -> None:
        urls = list(urls)
        if not urls:
            return
        with self._tx() as db:
            marks = ",".join("?" * len(urls))
            rows = db.execute(f"SELECT * FROM feeds WHERE url IN ({marks})", urls).fetchall()
        for row in rows:
            state = {name: row[name] for name in STATE_FIELDS}
            state.update(title=row["title"], reset=row["reset_token"], writer=self.writer, enabled=bool(row["enabled"]),
                         disabled_reason=row["disabled_reason"], disabled_at=row["disabled_at"])
            if row["url"] in self.configs and not self.configs[row["url"]].get("enabled", True):
                state.update(enabled=True, disabled_reason=None, disabled_at=None)  # the operator's, not ours
            self._send(self.state_topic, row["url"], state)

    # -- the operator's changes (newsdesk feeds ...) ----------------------------------------------------------

    def add(self, urls: Iterable[str], *, title: str | None = None, interval_s: float | None = None,
            language: str | None = None, full_text: bool = False, tags: Sequence[str] = (),
            enabled: bool = True) -> builtins.list[str]:
        added = []
        for url in _unique(urls):
            if url in self.configs:
                continue
            now = time.time()
            self._publish_config(url, {
                "url": url, "added_at": now, "title": title, "interval_s": interval_s, "language": language,
                "full_text": full_text, "tags": _unique(tags), "enabled": enabled, "reset": uuid.uuid4().hex,
                "disabled_reason": None if enabled else OPERATOR, "disabled_at": None if enabled else now})
            added.append(url)
        return added

    def configure(self, url: str, **settings: Any) -> bool:
        check_settable(settings)
        if url not in self.configs:
            return False
        if settings:
            if "tags" in settings:
                settings["tags"] = _unique(settings["tags"])
            self._publish_config(url, {**self.configs[url], **settings})
        return True

    def remove(self, url: str) -> bool:
        if url not in self.configs:
            return False
        self._publish_config(url, None)
        return True

    def enable(self, url: str) -> bool:
        if url not in self.configs:
            return False
        self._publish_config(url, {**self.configs[url], "enabled": True, "disabled_reason": None,
                                   "disabled_at": None, "reset": uuid.uuid4().hex})
        return True

    def disable(self, url: str, reason: str = OPERATOR) -> bool:
        if url not in self.configs:
            return False
        self._publish_config(url, {**self.configs[url], "enabled": False, "disabled_reason": reason,
                                   "disabled_at": time.time()})
        return True

    # -- the poller's changes: applied here, then published for whichever worker owns the feed next -------

    def claim(self, urls: Iterable[str], *, now: float | None = None, lease_s: float,
              max_ahead_s: float | None = None) -> builtins.list[str]:
        claimed = super().claim(urls, now=now, lease_s=lease_s, max_ahead_s=max_ahead_s)
        self._publish_state(claimed)
        return claimed

    def release(self, urls: Iterable[str], *, now: float | None = None) -> None:
        urls = list(urls)
        super().release(urls, now=now)
        self._publish_state(urls)

    def reschedule(self, url: str, *, next_poll_at: float, note: str | None = None) -> None:
        super().reschedule(url, next_poll_at=next_poll_at, note=note)
        self._publish_state([url])

    def record_success(self, url: str, **kwargs: Any) -> None:
        super().record_success(url, **kwargs)
        self._publish_state([url])

    def record_failure(self, url: str, reason: str, **kwargs: Any) -> bool:
        disabled = super().record_failure(url, reason, **kwargs)
        self._publish_state([url])
        return disabled

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        for client in ("_producer", "_consumer"):
            if hasattr(self, client):
                try:
                    getattr(self, client).close()  # the producer flushes what it still holds
                except Exception:
                    log.exception("feed registry: closing the %s", client[1:])
        super().close()
