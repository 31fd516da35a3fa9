"""streams/table_store.py: the store chosen by NEWSDESK_TABLE_STORE, and which local partition databases are
ahead of their changelog (read from real RocksDB databases written the way Faust writes them)."""

from __future__ import annotations

from pathlib import Path

import pytest
import rocksdict

from streams.table_store import OFFSET_KEY, persisted_offset, stale_partitions, table_options


def test_each_table_gets_its_own_options_dict() -> None:
    """Faust's RocksDB store pops "driver" from the dict it is given: two tables must not share one."""
    first, second = table_options("rocksdb", "ledger"), table_options("rocksdb", "ledger")
    assert first["options"]["driver"] == "rocksdict"
    first["options"].pop("driver")
    assert second["options"]["driver"] == "rocksdict"
    assert table_options("memory", "ledger") == {"store": "memory://"}


@pytest.mark.parametrize("store", ["rocksdb", "memory"])
def test_a_table_gets_the_store_it_is_given(tmp_path: Path, store: str) -> None:
    """Faust falls back to the app's store (memory) for a store URL it reads as empty: check what it built."""
    import faust
    from faust.stores.memory import Store as MemoryStore
    from faust.stores.rocksdb import Store as RocksDBStore

    app = faust.App("table-store-test", datadir=str(tmp_path))
    table = app.Table("alert-deliveries", default=None, partitions=4, **table_options(store, "alert-deliveries"))
    assert isinstance(table.data, RocksDBStore if store == "rocksdb" else MemoryStore)
    if store == "rocksdb":
        path = table.data.partition_path(3)
        assert path.name == "alert-deliveries-3.db" and path.is_relative_to(tmp_path)


def write_db(path: Path, offset: int | None, entries: int = 3) -> None:
    db = rocksdict.Rdict(str(path), options=rocksdict.Options(raw_mode=True))
    for i in range(entries):
        db.put(f"alert-{i}|webhook".encode(), b'{"state": "sent"}')
    if offset is not None:
        db.put(OFFSET_KEY, str(offset).encode())
    db.close()


@pytest.mark.parametrize("offset", [0, 41, 10**9])
def test_persisted_offset_reads_what_faust_wrote(tmp_path: Path, offset: int) -> None:
    write_db(tmp_path / "alert-deliveries-0.db", offset)
    assert persisted_offset(tmp_path / "alert-deliveries-0.db") == offset


def test_a_database_without_an_offset_or_not_a_database_has_none(tmp_path: Path) -> None:
    write_db(tmp_path / "fresh.db", None)
    assert persisted_offset(tmp_path / "fresh.db") is None
    (tmp_path / "junk.db").mkdir()
    (tmp_path / "junk.db" / "CURRENT").write_text("not rocksdb")
    assert persisted_offset(tmp_path / "junk.db") is None


@pytest.mark.parametrize(("local", "ends", "stale"), [
    ({0: 9, 1: 4}, {0: 10, 1: 5}, []),           # the last record written is the changelog's last: in step
    ({0: 10, 1: 4}, {0: 10, 1: 5}, [0]),         # holds an offset the changelog never reached: recreated
    ({0: 0, 1: None}, {0: 0, 1: 0}, [0]),        # the changelog is empty (new topic), the database is not
    ({0: 3}, {}, [0]),                           # the changelog is gone
    ({0: None, 1: 2}, {0: 0, 1: 100}, []),       # no offset: nothing to compare, Faust reads it all
])
def test_stale_partitions(local: dict[int, int | None], ends: dict[int, int], stale: list[int]) -> None:
    assert stale_partitions(local, ends) == stale


def test_each_worker_claims_a_table_directory_of_its_own_and_gets_it_back(tmp_path: Path) -> None:
    """Two workers with the same stages on one data directory get two directories; when the first one's process
    is gone (its lock file descriptor closed), the next worker to start takes its directory, and its copy."""
    import os

    from streams import table_store

    first = table_store.claim_table_dir(tmp_path, {"poll", "annotate", "index", "deliver"})
    second = table_store.claim_table_dir(tmp_path, ["deliver", "index", "annotate", "poll"])
    other = table_store.claim_table_dir(tmp_path, {"deliver"})
    assert first.name == "tables-annotate+deliver+index+poll-0"
    assert second.name == "tables-annotate+deliver+index+poll-1"
    assert other.name == "tables-deliver-0"
    os.close(table_store._claimed.pop(0))  # the first worker died
    assert table_store.claim_table_dir(tmp_path, {"poll", "annotate", "index", "deliver"}) == first
