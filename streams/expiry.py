"""Forgetting a table's old entries without stalling the stream.

Finding them means reading the whole table: millions of entries for the delivery ledger at a million alerts a day,
decoded one by one from RocksDB (streams/table_store.py). That read runs in a task of its own, a few thousand
entries at a time between yields to the event loop, and only collects keys, per partition.

Deleting must happen in the agent: a table write goes to the changelog partition of the event being processed,
and only the partition of that event is surely this worker's. So the agent hands over each event's partition,
and the keys due there are deleted in small slices, each one checked again first (it may have been written since
the sweep saw it: a feed showing an article again renews it).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Callable, MutableMapping
from typing import Any

from faust.stores.base import SerializedStore

log = logging.getLogger(__name__)

Entry = dict[str, Any]


class Expiry:
    """Entries are dicts that carry their partition as "p" (the memory store does not know partitions)."""

    def __init__(self, what: str, table: MutableMapping[str, Any], expired: Callable[[Entry, float], bool], *,
                 every_s: float, sweep_slice: int = 2000, delete_slice: int = 500) -> None:
        self.what, self.table, self.expired = what, table, expired
        self.every_s, self.sweep_slice, self.delete_slice = every_s, sweep_slice, delete_slice
        self.due: dict[int, list[str]] = {}
        self.last_sweep = time.time()  # the first sweep one interval after start: recovery has just read it all
        self.sweeping: asyncio.Task[None] | None = None

    def on_event(self, partition: int, now: float) -> int:
        """In the agent, in the event's context: start a sweep when one is due, delete a slice of this partition's
        expired keys. Returns how many were deleted."""
        if self.sweeping is None and now - self.last_sweep >= self.every_s:
            self.last_sweep = now
            # a fresh context: the sweep reads every partition, it is not this event's work
            self.sweeping = asyncio.get_running_loop().create_task(
                self.sweep(now), name=f"expiry-{self.what}", context=contextvars.Context())
        return self.forget(partition, now)

    async def sweep(self, now: float) -> None:
        found: dict[int, list[str]] = {}
        seen = 0
        try:
            items = iter(self._snapshot())
            while True:
                chunk = [item for _, item in zip(range(self.sweep_slice), items, strict=False)]
                if not chunk:
                    break
                seen += len(chunk)
                for key, entry in chunk:
                    if isinstance(entry, dict) and self.expired(entry, now):
                        found.setdefault(int(entry.get("p", -1)), []).append(key)
                await asyncio.sleep(0)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a rebalance closed a database under the scan: the next sweep starts over
            log.warning("%s: the expiry sweep stopped after %d entries (%r); next one in %.0f s", self.what, seen,
                        exc, self.every_s)
        else:
            self.due = found
            total = sum(len(keys) for keys in found.values())
            if total:
                log.info("%s: %d of %d entries expired; forgetting them", self.what, total, seen)
        finally:
            self.sweeping = None

    def _snapshot(self) -> Any:
        """The memory store is a dict that other tasks change while the sweep yields: copy it (one C-level pass).
        Faust's RocksDB store iterates database snapshots, which writes do not disturb."""
        if isinstance(getattr(self.table, "data", None), SerializedStore):
            return self.table.items()
        return list(self.table.items())

    def forget(self, partition: int, now: float) -> int:
        keys = self.due.get(partition)
        if not keys:
            return 0
        batch, self.due[partition] = keys[:self.delete_slice], keys[self.delete_slice:]
        deleted = 0
        for key in batch:
            entry = self.table.get(key)
            if isinstance(entry, dict) and self.expired(entry, now):
                del self.table[key]
                deleted += 1
        return deleted
