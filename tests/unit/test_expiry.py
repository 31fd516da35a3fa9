"""streams/expiry.py: the sweep finds expired entries per partition; the agent's slices delete only what is still
expired, only for the partition it is given, and never blocks on the whole table."""

from __future__ import annotations

import asyncio
from typing import Any

from streams.expiry import Expiry

NOW = 1_000_000.0


def expired(entry: dict[str, Any], now: float) -> bool:
    return entry.get("state") != "retrying" and entry["at"] < now - 100


def ledger(entries: int, partitions: int = 3) -> dict[str, dict[str, Any]]:
    """Every other entry is old; every fifth old one is still being retried."""
    table = {}
    for i in range(entries):
        old = i % 2 == 0
        state = "retrying" if old and i % 10 == 0 else "sent"
        table[f"alert-{i}|webhook"] = {"state": state, "at": NOW - 500 if old else NOW - 10, "p": i % partitions}
    return table


def test_a_sweep_collects_expired_keys_by_partition_and_skips_retrying_ones() -> None:
    table = ledger(100)
    expiry = Expiry("test", table, expired, every_s=60, sweep_slice=7)
    asyncio.run(expiry.sweep(NOW))
    due = {key for keys in expiry.due.values() for key in keys}
    assert due == {key for key, entry in table.items() if entry["at"] < NOW - 100 and entry["state"] == "sent"}
    assert len(due) == 40
    for partition, keys in expiry.due.items():
        assert all(table[key]["p"] == partition for key in keys)


def test_forget_deletes_one_slice_of_the_given_partition_only() -> None:
    table = ledger(300)
    expiry = Expiry("test", table, expired, every_s=60, delete_slice=10)
    asyncio.run(expiry.sweep(NOW))
    before = {p: len(keys) for p, keys in expiry.due.items()}
    assert expiry.forget(1, NOW) == 10
    assert {p: len(keys) for p, keys in expiry.due.items()} == {**before, 1: before[1] - 10}
    assert len(table) == 290
    while expiry.forget(1, NOW):
        pass
    assert not any(entry["p"] == 1 and expired(entry, NOW) for entry in table.values())
    assert any(entry["p"] == 0 and expired(entry, NOW) for entry in table.values())


def test_an_entry_renewed_after_the_sweep_is_kept() -> None:
    table = ledger(20, partitions=1)
    expiry = Expiry("test", table, expired, every_s=60)
    asyncio.run(expiry.sweep(NOW))
    renewed = expiry.due[0][0]
    table[renewed] = {**table[renewed], "at": NOW}
    expiry.forget(0, NOW)
    assert renewed in table
    assert not any(expired(entry, NOW) for entry in table.values())


def test_the_table_may_change_while_the_sweep_yields() -> None:
    """The agent keeps writing between the sweep's slices: the memory store is copied, not iterated live."""
    table = ledger(50)

    async def scenario() -> None:
        expiry = Expiry("test", table, expired, every_s=60, sweep_slice=5)
        sweep = asyncio.create_task(expiry.sweep(NOW))
        for i in range(20):
            table[f"new-{i}|webhook"] = {"state": "sent", "at": NOW, "p": 0}
            await asyncio.sleep(0)
        await sweep
        assert sum(len(keys) for keys in expiry.due.values()) == 20

    asyncio.run(scenario())


def test_on_event_starts_a_sweep_once_per_interval() -> None:
    table = ledger(40)

    async def scenario() -> None:
        expiry = Expiry("test", table, expired, every_s=60)
        expiry.last_sweep = NOW - 30
        assert expiry.on_event(0, NOW) == 0 and expiry.sweeping is None  # not due yet
        expiry.on_event(0, NOW + 30)
        assert expiry.sweeping is not None
        expiry.on_event(0, NOW + 31)  # one sweep at a time
        await expiry.sweeping
        assert expiry.sweeping is None
        assert expiry.on_event(2, NOW + 32) > 0

    asyncio.run(scenario())
