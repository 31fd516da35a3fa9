"""The feed list, per-feed settings, schedule and health, and the dedup memory, in SQLite under the data directory.

This is the single-host registry (NEWSDESK_REGISTRY=sqlite, the default); `shared_registry` keeps the same
tables as each host's copy of the Kafka topics that several hosts share.

SQLite (WAL) lets `newsdesk feeds add` write while workers poll: the poller re-reads the due feeds every few
seconds, so a new feed is picked up without a restart. Several worker processes on one host share the file:
each polls only the feeds it owns (see `feed_partition`), and `claim` takes a feed atomically (a lease on
`next_poll_at`) so that even while ownership moves during a rebalance a feed is not polled twice at once.

Dedup memory:
- `seen`: article id -> the content hash and version last *produced* for it (by any feed), and when any feed
  last showed it (`last_seen_at`, what `forget_older_than` bounds the memory by);
- `feed_items`: which ids each feed has shown, with the hash that feed showed. An id already produced through
  another feed is not produced again when a second feed shows it (whatever that feed's rendering of the text);
  it is produced again, as an update with a higher version, only when a feed that showed it before shows it
  with a changed content hash.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    url TEXT PRIMARY KEY,
    added_at REAL NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1,
    etag TEXT,
    last_modified TEXT,
    last_polled_at REAL,
    last_success_at REAL,
    last_error TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    items_seen INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS seen (
    article_id TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL,
    produced_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS feed_items (
    feed_url TEXT NOT NULL,
    article_id TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    seen_at REAL NOT NULL,
    PRIMARY KEY (feed_url, article_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS feed_items_by_age ON feed_items (seen_at);
"""

# Columns added after the first release: (table, column, declaration). Added in place on open, so an existing
# data directory keeps its feeds and dedup memory.
MIGRATIONS = (
    ("feeds", "title", "TEXT"),
    ("feeds", "interval_s", "REAL"),  # operator's per-feed interval; NULL = adaptive
    ("feeds", "language", "TEXT"),  # operator's language hint; overrides the feed's declaration
    ("feeds", "full_text", "INTEGER NOT NULL DEFAULT 0"),
    ("feeds", "tags", "TEXT NOT NULL DEFAULT '[]'"),
    ("feeds", "disabled_reason", "TEXT"),
    ("feeds", "disabled_at", "REAL"),
    ("feeds", "last_error_at", "REAL"),
    ("feeds", "next_poll_at", "REAL"),
    ("feeds", "adaptive_interval_s", "REAL"),
    ("feeds", "schedule_reason", "TEXT"),
    ("feeds", "feed_ttl_s", "REAL"),
    ("feeds", "items_checked_at", "REAL"),  # last poll whose items were triaged (a 200)
    ("feeds", "reset_token", "TEXT"),  # shared registry: the operator's last `enable` this copy applied
    ("seen", "last_seen_at", "REAL"),
    ("seen", "version", "INTEGER NOT NULL DEFAULT 0"),
)
POST_MIGRATION = """
UPDATE seen SET last_seen_at = produced_at WHERE last_seen_at IS NULL;
CREATE INDEX IF NOT EXISTS seen_by_last_seen ON seen (last_seen_at);
CREATE INDEX IF NOT EXISTS feeds_by_next_poll ON feeds (enabled, next_poll_at);
"""
SETTABLE = frozenset({"title", "interval_s", "language", "full_text", "tags"})


def check_settable(settings: dict[str, Any]) -> None:
    unknown = set(settings) - SETTABLE
    if unknown:
        raise ValueError(f"not a per-feed setting: {', '.join(sorted(unknown))}")


def feed_partition(url: str, partitions: int) -> int:
    """The stable partition (0..partitions-1) a feed belongs to: the worker owning it polls it."""
    digest = hashlib.sha256(url.encode()).digest()
    return int.from_bytes(digest[:8], "big") % max(1, partitions)


@dataclass
class Feed:
    url: str
    added_at: float
    enabled: bool
    etag: str | None
    last_modified: str | None
    last_polled_at: float | None
    last_success_at: float | None
    last_error: str | None
    consecutive_failures: int
    items_seen: int
    title: str | None = None
    interval_s: float | None = None
    language: str | None = None
    full_text: bool = False
    tags: list[str] = field(default_factory=list)
    disabled_reason: str | None = None
    disabled_at: float | None = None
    last_error_at: float | None = None
    next_poll_at: float | None = None
    adaptive_interval_s: float | None = None
    schedule_reason: str | None = None
    feed_ttl_s: float | None = None
    items_checked_at: float | None = None
    reset_token: str | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Feed:
        names = {f.name for f in fields(cls)}
        data = {k: v for k, v in dict(row).items() if k in names}  # a newer schema's extra columns are ignored
        data["enabled"] = bool(data["enabled"])
        data["full_text"] = bool(data.get("full_text"))
        data["tags"] = json.loads(data.get("tags") or "[]")
        return cls(**data)


@dataclass
class Triage:
    """What a feed's current items mean for the dedup memory."""

    new: set[str] = field(default_factory=set)  # never produced: produce
    updated: set[str] = field(default_factory=set)  # this feed shows a changed hash: produce as an update
    known: set[str] = field(default_factory=set)  # nothing to produce
    versions: dict[str, int] = field(default_factory=dict)  # last produced version of every produced id
    first_in_feed: set[str] = field(default_factory=set)  # ids this feed had not shown before (new or not)
    fresh: set[str] = field(default_factory=set)  # known, same hash, recorded for this feed recently

    @property
    def to_produce(self) -> set[str]:
        return self.new | self.updated


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(v.strip() for v in values if v and v.strip()))


class FeedRegistry:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, timeout=30, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: consistent after a crash, no fsync per commit
        with self._tx() as db:
            db.executescript(SCHEMA)
            for table, column, declaration in MIGRATIONS:
                columns = {row["name"] for row in db.execute(f"PRAGMA table_info({table})")}
                if column not in columns:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
            db.executescript(POST_MIGRATION)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._db:
            yield self._db

    # -- the feed list ---------------------------------------------------------------------------------------

    def add(self, urls: Iterable[str], *, title: str | None = None, interval_s: float | None = None,
            language: str | None = None, full_text: bool = False, tags: Sequence[str] = (),
            enabled: bool = True) -> list[str]:
        """Add feeds; returns those that were new (adding a feed twice is a no-op: see `configure`)."""
        added = []
        now = time.time()
        with self._tx() as db:
            for url in _unique(urls):
                cursor = db.execute(
                    "INSERT OR IGNORE INTO feeds (url, added_at, enabled, title, interval_s, language, full_text,"
                    " tags, disabled_reason, disabled_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (url, now, int(enabled), title, interval_s, language, int(full_text), json.dumps(_unique(tags)),
                     None if enabled else "disabled by the operator", None if enabled else now))
                if cursor.rowcount:
                    added.append(url)
        return added

    def configure(self, url: str, **settings: Any) -> bool:
        """Change per-feed settings (title, interval_s, language, full_text, tags); False if no such feed."""
        check_settable(settings)
        if not settings:
            return self.get(url) is not None
        values = {k: (json.dumps(_unique(v)) if k == "tags" else int(v) if k == "full_text" else v)
                  for k, v in settings.items()}
        assignments = ", ".join(f"{column} = ?" for column in values)
        with self._tx() as db:
            return db.execute(f"UPDATE feeds SET {assignments} WHERE url = ?", [*values.values(), url]).rowcount > 0

    def remove(self, url: str) -> bool:
        with self._tx() as db:
            db.execute("DELETE FROM feed_items WHERE feed_url = ?", (url,))
            return db.execute("DELETE FROM feeds WHERE url = ?", (url,)).rowcount > 0

    def enable(self, url: str) -> bool:
        """Enable a feed and forget its failure streak; it is polled at the next tick."""
        with self._tx() as db:
            return db.execute(
                "UPDATE feeds SET enabled = 1, disabled_reason = NULL, disabled_at = NULL, consecutive_failures = 0,"
                " next_poll_at = NULL WHERE url = ?", (url,)).rowcount > 0

    def disable(self, url: str, reason: str = "disabled by the operator") -> bool:
        with self._tx() as db:
            return db.execute("UPDATE feeds SET enabled = 0, disabled_reason = ?, disabled_at = ? WHERE url = ?",
                              (reason, time.time(), url)).rowcount > 0

    def get(self, url: str) -> Feed | None:
        with self._tx() as db:
            row = db.execute("SELECT * FROM feeds WHERE url = ?", (url,)).fetchone()
        return Feed.from_row(row) if row else None

    def list(self) -> list[Feed]:
        with self._tx() as db:
            rows = db.execute("SELECT * FROM feeds ORDER BY added_at, url").fetchall()
        return [Feed.from_row(row) for row in rows]

    # -- scheduling ------------------------------------------------------------------------------------------

    def due(self, now: float | None = None, *, max_ahead_s: float | None = None) -> builtins.list[Feed]:
        """Enabled feeds whose next poll time has come (or that were never polled).

        `max_ahead_s`: a next poll further ahead than this counts as due (the bounds were lowered since, or the
        clock jumped back).
        """
        now = time.time() if now is None else now
        horizon = now + max_ahead_s if max_ahead_s is not None else None
        with self._tx() as db:
            rows = db.execute(
                "SELECT * FROM feeds WHERE enabled = 1 AND (next_poll_at IS NULL OR next_poll_at <= ?"
                " OR (? IS NOT NULL AND next_poll_at > ?)) ORDER BY COALESCE(next_poll_at, 0), added_at",
                (now, horizon, horizon)).fetchall()
        return [Feed.from_row(row) for row in rows]

    def claim(self, urls: Iterable[str], *, now: float | None = None, lease_s: float,
              max_ahead_s: float | None = None) -> builtins.list[str]:
        """Atomically take due feeds for polling: their next poll moves `lease_s` ahead (so no other process
        takes them meanwhile, and a crashed poller's feeds come back after the lease). Returns those taken."""
        now = time.time() if now is None else now
        horizon = now + max_ahead_s if max_ahead_s is not None else None
        claimed = []
        with self._tx() as db:
            for url in urls:
                cursor = db.execute(
                    "UPDATE feeds SET next_poll_at = ? WHERE url = ? AND enabled = 1 AND (next_poll_at IS NULL"
                    " OR next_poll_at <= ? OR (? IS NOT NULL AND next_poll_at > ?))",
                    (now + lease_s, url, now, horizon, horizon))
                if cursor.rowcount:
                    claimed.append(url)
        return claimed

    def release(self, urls: Iterable[str], *, now: float | None = None) -> None:
        """Give back claimed feeds whose poll did not finish (shutdown): due again at once, for any owner."""
        now = time.time() if now is None else now
        with self._tx() as db:
            db.executemany("UPDATE feeds SET next_poll_at = ? WHERE url = ?", [(now, url) for url in urls])

    def reschedule(self, url: str, *, next_poll_at: float, note: str | None = None) -> None:
        """Move a feed's next poll without counting a success or a failure (e.g. the broker was down)."""
        with self._tx() as db:
            db.execute("UPDATE feeds SET next_poll_at = ?, last_error = COALESCE(?, last_error),"
                       " last_error_at = CASE WHEN ? IS NULL THEN last_error_at ELSE ? END WHERE url = ?",
                       (next_poll_at, note, note, time.time(), url))

    # -- health ----------------------------------------------------------------------------------------------

    def record_success(self, url: str, *, etag: str | None, last_modified: str | None, new_items: int,
                       next_poll_at: float | None = None, interval_s: float | None = None,
                       schedule_reason: str | None = None, ttl_s: float | None = None,
                       title: str | None = None, now: float | None = None, items_checked: bool = False,
                       touch_after_s: float | None = None) -> None:
        """Record a successful poll. `items_checked`: the body was parsed and its items triaged (a 200);
        otherwise (a 304) `touch_after_s` keeps the dedup memory of the items the feed showed at its last
        200 alive, so an unchanged feed's articles are not forgotten (and re-produced) after the dedup ttl."""
        now = time.time() if now is None else now
        with self._tx() as db:
            db.execute(
                "UPDATE feeds SET etag = ?, last_modified = ?, last_polled_at = ?, last_success_at = ?,"
                " last_error = NULL, consecutive_failures = 0, items_seen = items_seen + ?,"
                " next_poll_at = COALESCE(?, next_poll_at),"
                " adaptive_interval_s = COALESCE(?, adaptive_interval_s), schedule_reason = ?,"
                " feed_ttl_s = COALESCE(?, feed_ttl_s), title = COALESCE(title, NULLIF(?, '')),"
                " items_checked_at = CASE WHEN ? THEN ? ELSE items_checked_at END WHERE url = ?",
                (etag, last_modified, now, now, new_items, next_poll_at, interval_s, schedule_reason, ttl_s, title,
                 items_checked, now, url))
            if not items_checked and touch_after_s is not None:
                # the rows written or found fresh at the last 200 have seen_at >= items_checked_at - touch_after_s
                row = db.execute("SELECT items_checked_at FROM feeds WHERE url = ?", (url,)).fetchone()
                if row and row[0] is not None:
                    window = (url, row[0] - touch_after_s, now - touch_after_s)
                    db.execute("UPDATE seen SET last_seen_at = ? WHERE article_id IN (SELECT article_id FROM"
                               " feed_items WHERE feed_url = ? AND seen_at >= ? AND seen_at < ?)", (now, *window))
                    db.execute("UPDATE feed_items SET seen_at = ? WHERE feed_url = ? AND seen_at >= ? AND seen_at < ?",
                               (now, *window))

    def record_failure(self, url: str, reason: str, *, next_poll_at: float | None = None,
                       schedule_reason: str | None = None, disable_after: int | None = None,
                       disable_now: bool = False, now: float | None = None) -> bool:
        """Count a failure; disable the feed when the streak reaches `disable_after` (or at once with
        `disable_now`, e.g. HTTP 410 Gone). Returns True when this call disabled the feed."""
        now = time.time() if now is None else now
        threshold = 1 if disable_now else disable_after
        with self._tx() as db:
            db.execute(
                "UPDATE feeds SET last_polled_at = ?, last_error = ?, last_error_at = ?,"
                " consecutive_failures = consecutive_failures + 1,"
                " next_poll_at = COALESCE(?, next_poll_at), schedule_reason = ?"
                " WHERE url = ?", (now, reason, now, next_poll_at, schedule_reason, url))
            if not threshold:
                return False
            cursor = db.execute(
                "UPDATE feeds SET enabled = 0, disabled_at = ?, disabled_reason = 'disabled after ' ||"
                " consecutive_failures || ' consecutive failure' || (CASE consecutive_failures WHEN 1 THEN ''"
                " ELSE 's' END) || '; last: ' || ? WHERE url = ? AND enabled = 1 AND consecutive_failures >= ?",
                (now, reason, url, threshold))
            return cursor.rowcount > 0

    # -- dedup -----------------------------------------------------------------------------------------------

    def triage(self, feed_url: str, items: dict[str, str], *, now: float | None = None,
               touch_after_s: float = 86400.0) -> Triage:
        """Sort a feed's {article_id: content_hash} into new, updated (by this feed) and known.

        `fresh`: known ids this feed showed with the same hash less than `touch_after_s` ago; `record_items`
        need not write them again (most of a feed's items at most polls), which keeps the writes per poll to
        what changed while still refreshing every id's `last_seen_at` often enough for `forget_older_than`.
        """
        result = Triage()
        if not items:
            return result
        now = time.time() if now is None else now
        ids = list(items)
        produced: dict[str, tuple[str, int]] = {}
        shown: dict[str, str] = {}
        recent: set[str] = set()
        with self._tx() as db:
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                marks = ",".join("?" * len(chunk))
                for row in db.execute(f"SELECT article_id, content_hash, version FROM seen WHERE article_id IN"
                                      f" ({marks})", chunk):
                    produced[row[0]] = (row[1], row[2])
                for row in db.execute(f"SELECT article_id, content_hash, seen_at FROM feed_items WHERE feed_url = ?"
                                      f" AND article_id IN ({marks})", [feed_url, *chunk]):
                    shown[row[0]] = row[1]
                    if row[2] >= now - touch_after_s:
                        recent.add(row[0])
        for aid, digest in items.items():
            if aid not in shown:
                result.first_in_feed.add(aid)
            if aid not in produced:
                result.new.add(aid)
                continue
            last_hash, version = produced[aid]
            result.versions[aid] = version
            if aid in shown and shown[aid] != digest and last_hash != digest:
                result.updated.add(aid)
            else:
                result.known.add(aid)
                if aid in recent and shown[aid] == digest:
                    result.fresh.add(aid)
        return result

    def record_items(self, feed_url: str, *, produced: dict[str, tuple[str, int]], shown: dict[str, str],
                     now: float | None = None) -> None:
        """After the broker acknowledged `produced` ({id: (hash, version)}): remember them, and that this feed
        showed `shown` ({id: hash}, produced or not)."""
        now = time.time() if now is None else now
        with self._tx() as db:
            db.executemany(
                "INSERT INTO seen (article_id, content_hash, produced_at, last_seen_at, version)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (article_id) DO UPDATE SET content_hash = excluded.content_hash,"
                " produced_at = excluded.produced_at, last_seen_at = excluded.last_seen_at, version = excluded.version",
                [(aid, digest, now, now, version) for aid, (digest, version) in produced.items()])
            db.executemany("UPDATE seen SET last_seen_at = ? WHERE article_id = ?",
                           [(now, aid) for aid in shown if aid not in produced])
            db.executemany(
                "INSERT INTO feed_items (feed_url, article_id, content_hash, seen_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (feed_url, article_id) DO UPDATE SET content_hash = excluded.content_hash,"
                " seen_at = excluded.seen_at",
                [(feed_url, aid, digest, now) for aid, digest in shown.items()])

    def unseen(self, items: dict[str, str]) -> set[str]:
        """Of {article_id: content_hash}, the ids never produced or last produced with another hash."""
        if not items:
            return set()
        with self._tx() as db:
            known = dict(db.execute(
                f"SELECT article_id, content_hash FROM seen WHERE article_id IN ({','.join('?' * len(items))})",
                list(items)).fetchall())
        return {aid for aid, digest in items.items() if known.get(aid) != digest}

    def mark_seen(self, items: dict[str, str]) -> None:
        """Remember ids as produced with these hashes (no feed attached)."""
        self.record_items("", produced={aid: (digest, 0) for aid, digest in items.items()}, shown={})

    def forget_older_than(self, seconds: float, *, now: float | None = None) -> int:
        """Bound the dedup memory: forget ids no feed has shown for `seconds`. Returns how many ids went."""
        cutoff = (time.time() if now is None else now) - seconds
        with self._tx() as db:
            db.execute("DELETE FROM feed_items WHERE seen_at < ?", (cutoff,))
            return db.execute("DELETE FROM seen WHERE last_seen_at < ?", (cutoff,)).rowcount

    def dedup_size(self) -> tuple[int, int]:
        """(ids remembered, feed/id sightings remembered)."""
        with self._tx() as db:
            return (db.execute("SELECT COUNT(*) FROM seen").fetchone()[0],
                    db.execute("SELECT COUNT(*) FROM feed_items").fetchone()[0])
