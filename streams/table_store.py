"""Where the tables that grow with traffic live: on disk (RocksDB, through rocksdict), or in memory.

Two tables grow with traffic and are kept for days: the alert delivery ledger (`alert-deliveries`, one entry per
alert and channel for NEWSDESK_ALERT_STATE_TTL_HOURS, because it is also what keeps an edited article from
alerting again) and the shared registry's article ids (NEWSDESK_DEDUP_TTL_HOURS). In memory they cost ~0.2-0.5 KiB
per entry for good (docs/benchmarks.md, session 13: ~3 GiB at a million alerts a day), and every start reads the
whole changelog back. Faust's RocksDB store keeps them on disk with a small cache, and records in each partition's
database the changelog offset it holds, so a restart on the same data directory reads only what was written since.
The changelog stays the source of truth: a partition that moves to another host is rebuilt from it there.

The options are Faust's (faust/stores/rocksdb.py) with its defaults scaled down: those (64 MiB write buffers x 3
and a 2 GiB block cache, per partition database) are sized for a dedicated host, not a worker beside the NLP models.
Here each partition database holds at most 2 x 4 MiB of write buffers and 8 MiB of block cache: 64 MiB for the 4
partitions of the default, whatever the number of entries (bench/ledger_store.py, docs/benchmarks.md).
"""

from __future__ import annotations

import itertools
import logging
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from faust.stores.rocksdb import Store as RocksDBStore

log = logging.getLogger(__name__)

MIB = 1024 * 1024
OFFSET_KEY: bytes = RocksDBStore.offset_key  # where Faust keeps the changelog offset a partition database holds


def table_options(store: str, table: str) -> dict[str, Any]:
    """Keyword arguments for `app.Table` (a new dict each call: Faust's store pops keys from the one it is given).

    The URL names the table: a table's "rocksdb://" is an empty URL to yarl, hence false, and Faust then quietly
    uses the app's store (memory) instead."""
    if store == "memory":
        return {"store": "memory://"}
    return {"store": f"rocksdb:{table}", "options": {
        "driver": "rocksdict",
        "write_buffer_size": 4 * MIB,
        "max_write_buffer_number": 2,
        "target_file_size_base": 16 * MIB,
        "block_cache_size": 8 * MIB,
        "max_open_files": 256,
    }}


_claimed: list[int] = []  # the lock files' descriptors, open for the life of the process


def claim_table_dir(base: Path, stages: Iterable[str]) -> Path:
    """A table directory of this worker's own, the same one again after a restart.

    RocksDB locks a database to one process, and Faust asks for a data directory per worker: workers sharing one
    (a second `newsdesk worker` on the host of `newsdesk up`) fail to open a partition the other holds, as a
    standby copy, and crash. The directory is named by the worker's stages and the first free number, taken with
    a lock the kernel drops when the process dies (kill -9 included), so a restarted worker finds its copy again.
    """
    import fcntl

    name = "+".join(sorted(stages)) or "none"  # a set's order changes from one process to the next
    for number in itertools.count():
        folder = base / f"tables-{name}-{number}"
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / ".worker.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        _claimed.append(fd)
        return folder
    raise AssertionError("unreachable")


def persisted_offset(path: Path) -> int | None:
    """The changelog offset a partition database says it holds; None when it has none (or cannot be read)."""
    import rocksdict

    try:
        db = rocksdict.Rdict(str(path), access_type=rocksdict.AccessType.read_only(), options=rocksdict.Options(
            raw_mode=True))
    except Exception as exc:  # locked by a running worker, or not a database: leave it to Faust
        log.warning("table store: cannot read %s (%s)", path, exc)
        return None
    try:
        value = db.get(OFFSET_KEY)
        return int(value) if value is not None else None
    finally:
        db.close()


def stale_partitions(local: dict[int, int | None], ends: dict[int, int]) -> list[int]:
    """Partitions whose database holds changelog offsets the changelog does not have: written against a changelog
    that was deleted or recreated since (a wiped Kafka, a reset), while the data directory was kept."""
    return sorted(p for p, offset in local.items() if offset is not None and offset >= ends.get(p, 0))


def discard_stale_partitions(table: Any, bootstrap: str) -> list[int]:
    """Before the worker starts: delete the partition databases that are ahead of their changelog.

    Faust's recovery raises ConsistencyError for such a partition ("The persisted offset ... is higher than the
    last offset in that topic"), and a restarted worker meets the same files again, so the worker would never
    start. The database is only a copy of the changelog: rebuilding it from the changelog is the right answer.
    """
    store = table.data
    if not isinstance(store, RocksDBStore):
        return []
    paths = {p: store.partition_path(p) for p in range(table.partitions)}
    local = {p: persisted_offset(path) for p, path in paths.items() if path.exists()}
    if not any(offset is not None for offset in local.values()):
        return []
    from kafka import KafkaConsumer, TopicPartition

    topic = table.changelog_topic_name
    try:
        consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                 client_id="newsdesk-table-store-check")
    except Exception as exc:  # Kafka away: Faust's recovery will say what it finds
        log.warning("table store: cannot check %s against %s (%s)", table.name, topic, exc)
        return []
    try:
        ends = {tp.partition: end for tp, end in consumer.end_offsets(
            [TopicPartition(topic, p) for p in local]).items()}
    except Exception as exc:
        log.warning("table store: cannot read the end of %s (%s)", topic, exc)
        return []
    finally:
        consumer.close()
    stale = stale_partitions(local, ends)
    for partition in stale:
        log.warning("table store: %s partition %d holds changelog offset %s but %s ends at %d (deleted or "
                    "recreated?): discarding the local copy, it is rebuilt from the changelog", table.name,
                    partition, local[partition], topic, ends.get(partition, 0))
        shutil.rmtree(paths[partition], ignore_errors=True)
    return stale
