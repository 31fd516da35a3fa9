"""What the alert delivery ledger costs in each table store: memory held, time per write and read, disk.

    .venv/bin/python bench/ledger_store.py [--entries 1000000] [--rounds 2]

The ledger (`alert-deliveries`, streams/delivery.py) holds one entry per (alert, channel) for
NEWSDESK_ALERT_STATE_TTL_HOURS (8 days): a million alerts a day keeps ~8 million entries. Each store is filled in a
fresh child process with entries shaped like the real ones (key `<alert id>|<channel id>`, a small JSON value,
spread over 4 partitions), and each round runs both stores back to back, so the ratio compares runs made under
the same load:
- "memory": what Faust's memory store keeps, a dict of decoded values;
- "rocksdb": Faust's RocksDB store through rocksdict, one database per partition, opened with the options of
  streams/table_store.py, values JSON-encoded as Faust's store encodes them.
Printed per store: the RSS the entries added (MiB and bytes per entry), microseconds per write and per read of a
random present key, and for rocksdb the bytes on disk after a flush. The ratio line is rocksdb / memory.
Writes are what delivery does per sent alert (one put); reads, one get per alert before sending it.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PARTITIONS = 4  # NEWSDESK_TOPIC_PARTITIONS by default


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


def ledger_key(i: int) -> str:
    alert = hashlib.sha1(f"subscription-{i % 997}|article-{i}".encode()).hexdigest()
    return f"{alert}|webhook:{hashlib.sha1(str(i % 997).encode()).hexdigest()[:16]}"


def ledger_value(i: int, now: float) -> dict[str, Any]:
    return {"state": "sent", "at": now + i * 1e-3, "n": 0, "p": i % PARTITIONS}


def child(kind: str, entries: int, reads: int) -> dict[str, float]:
    now = time.time()
    keys = [ledger_key(i) for i in range(entries)]  # made before the baseline: the caller holds keys anyway
    gc.collect()
    before = rss_bytes()
    disk = 0.0
    if kind == "memory":
        table: dict[str, dict[str, Any]] = {}
        start = time.perf_counter()
        for i, key in enumerate(keys):
            table[key] = ledger_value(i, now)
        write_s = time.perf_counter() - start
        gc.collect()
        after = rss_bytes()
        probe = random.Random(1).sample(range(entries), reads)
        start = time.perf_counter()
        for i in probe:
            value = table.get(keys[i])
            assert value is not None
        read_s = time.perf_counter() - start
    else:
        import rocksdict

        from streams.table_store import table_options

        options = table_options("rocksdb", "alert-deliveries")["options"]
        folder = Path(tempfile.mkdtemp(prefix="ledger-"))
        dbs = []
        for p in range(PARTITIONS):
            db_options = rocksdict.Options(raw_mode=True)
            db_options.create_if_missing(True)
            db_options.set_write_buffer_size(options["write_buffer_size"])
            db_options.set_max_write_buffer_number(options["max_write_buffer_number"])
            db_options.set_target_file_size_base(options["target_file_size_base"])
            db_options.set_max_open_files(options["max_open_files"])
            table_factory = rocksdict.BlockBasedOptions()
            table_factory.set_bloom_filter(3, block_based=True)
            table_factory.set_block_cache(rocksdict.Cache(options["block_cache_size"]))
            db_options.set_block_based_table_factory(table_factory)
            dbs.append(rocksdict.Rdict(str(folder / f"alert-deliveries-{p}.db"), options=db_options))
        start = time.perf_counter()
        for i, key in enumerate(keys):
            dbs[i % PARTITIONS].put(key.encode(), json.dumps(ledger_value(i, now)).encode())
        write_s = time.perf_counter() - start
        for db in dbs:
            db.flush()
        gc.collect()
        after = rss_bytes()
        probe = random.Random(1).sample(range(entries), reads)
        start = time.perf_counter()
        for i in probe:
            raw = dbs[i % PARTITIONS].get(keys[i].encode())
            assert raw is not None
            json.loads(raw)
        read_s = time.perf_counter() - start
        disk = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
        for db in dbs:
            db.close()
        subprocess.run(["rm", "-rf", str(folder)], check=True)
    return {"mib": (after - before) / 2**20, "bytes_per_entry": (after - before) / entries,
            "write_us": write_s / entries * 1e6, "read_us": read_s / reads * 1e6, "disk_mib": disk / 2**20}


def run(kind: str, entries: int, reads: int) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--child", kind, "--entries", str(entries), "--reads",
                          str(reads)], check=True, capture_output=True, text=True)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--reads", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--child", choices=["memory", "rocksdb"])
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.entries, min(args.reads, args.entries))))
        return
    results: dict[str, list[dict[str, float]]] = {"memory": [], "rocksdb": []}
    for round_number in range(1, args.rounds + 1):
        for kind in ("memory", "rocksdb") if round_number % 2 else ("rocksdb", "memory"):  # alternate who goes first
            result = run(kind, args.entries, args.reads)
            results[kind].append(result)
            print(f"round {round_number} {kind:8s} {result['mib']:8.1f} MiB added "
                  f"({result['bytes_per_entry']:6.0f} B/entry), write {result['write_us']:6.2f} us, "
                  f"read {result['read_us']:6.2f} us, disk {result['disk_mib']:6.1f} MiB", flush=True)
    print(f"{args.entries:,} entries, median of {args.rounds} rounds:")
    medians = {kind: {field: statistics.median(r[field] for r in runs) for field in runs[0]}
               for kind, runs in results.items()}
    for kind, m in medians.items():
        print(f"  {kind:8s} {m['mib']:8.1f} MiB ({m['bytes_per_entry']:.0f} B/entry), write {m['write_us']:.2f} us, "
              f"read {m['read_us']:.2f} us, disk {m['disk_mib']:.1f} MiB")
    memory, rocks = medians["memory"], medians["rocksdb"]
    print(f"  ratio rocksdb/memory: memory {rocks['mib'] / memory['mib']:.3f}, write "
          f"{rocks['write_us'] / memory['write_us']:.2f}, read {rocks['read_us'] / memory['read_us']:.2f}")


if __name__ == "__main__":
    main()
