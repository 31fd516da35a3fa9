"""The feed list and per-feed state, in SQLite under the data directory.

SQLite (WAL) lets `newsdesk feeds add` write while `newsdesk up` polls: the poller re-reads the list every
few seconds, so a new feed is picked up without a restart. The `seen` table is the connector's dedup memory:
an article id with the content hash last produced for it.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

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
CREATE INDEX IF NOT EXISTS seen_by_age ON seen (produced_at);
"""


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


class FeedRegistry:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30)
        db.row_factory = sqlite3.Row
        try:
            with db:
                yield db
        finally:
            db.close()

    def add(self, urls: Iterable[str]) -> list[str]:
        """Add feeds; returns those that were new (adding a feed twice is a no-op)."""
        added = []
        with self._connect() as db:
            for url in urls:
                cursor = db.execute("INSERT OR IGNORE INTO feeds (url, added_at) VALUES (?, ?)",
                                    (url, time.time()))
                if cursor.rowcount:
                    added.append(url)
        return added

    def remove(self, url: str) -> bool:
        with self._connect() as db:
            return db.execute("DELETE FROM feeds WHERE url = ?", (url,)).rowcount > 0

    def list(self) -> list[Feed]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM feeds ORDER BY added_at, url").fetchall()
        return [Feed(**{**dict(row), "enabled": bool(row["enabled"])}) for row in rows]

    def record_success(self, url: str, *, etag: str | None, last_modified: str | None, new_items: int) -> None:
        now = time.time()
        with self._connect() as db:
            db.execute(
                "UPDATE feeds SET etag = ?, last_modified = ?, last_polled_at = ?, last_success_at = ?,"
                " last_error = NULL, consecutive_failures = 0, items_seen = items_seen + ? WHERE url = ?",
                (etag, last_modified, now, now, new_items, url))

    def record_failure(self, url: str, reason: str) -> None:
        with self._connect() as db:
            db.execute(
                "UPDATE feeds SET last_polled_at = ?, last_error = ?,"
                " consecutive_failures = consecutive_failures + 1 WHERE url = ?",
                (time.time(), reason, url))

    def unseen(self, items: dict[str, str]) -> set[str]:
        """Of {article_id: content_hash}, the ids that are new or whose content changed."""
        if not items:
            return set()
        with self._connect() as db:
            known = dict(db.execute(
                f"SELECT article_id, content_hash FROM seen WHERE article_id IN ({','.join('?' * len(items))})",
                list(items)).fetchall())
        return {aid for aid, digest in items.items() if known.get(aid) != digest}

    def mark_seen(self, items: dict[str, str]) -> None:
        now = time.time()
        with self._connect() as db:
            db.executemany("INSERT OR REPLACE INTO seen (article_id, content_hash, produced_at) VALUES (?, ?, ?)",
                           [(aid, digest, now) for aid, digest in items.items()])

    def forget_older_than(self, seconds: float) -> int:
        """Bound the dedup memory: ids not produced for longer than the topic retention are dropped."""
        with self._connect() as db:
            return db.execute("DELETE FROM seen WHERE produced_at < ?", (time.time() - seconds,)).rowcount
