"""streams/shared_flush_quirk.py: every caller is covered by a flush that started after it, and callers share."""

from __future__ import annotations

import asyncio

import pytest

from streams.shared_flush_quirk import SharedFlush


class Buffer:
    """A producer's buffer: `put` records; a flush takes what was put before it started, then takes a while."""

    def __init__(self, fail_on: set[int] | None = None) -> None:
        self.buffered: list[int] = []
        self.durable: set[int] = set()
        self.flushes = 0
        self.fail_on = fail_on or set()

    async def flush(self) -> None:
        self.flushes += 1
        number = self.flushes
        taken = list(self.buffered)
        await asyncio.sleep(0.01)
        if number in self.fail_on:
            raise ConnectionError(f"flush {number} failed")
        self.durable.update(taken)


async def write_then_flush(buffer: Buffer, flush: SharedFlush, record: int, delay_s: float) -> bool:
    await asyncio.sleep(delay_s)
    buffer.buffered.append(record)
    await flush()
    return record in buffer.durable  # what the caller relies on once its flush returned


def test_concurrent_callers_share_flushes_and_each_is_covered() -> None:
    async def main() -> tuple[list[bool], int]:
        buffer = Buffer()
        flush = SharedFlush(buffer.flush)
        covered = await asyncio.gather(*(write_then_flush(buffer, flush, n, n * 0.0004) for n in range(100)))
        return covered, buffer.flushes

    covered, flushes = asyncio.run(main())
    assert all(covered)
    assert 2 <= flushes <= 10  # callers arriving over 40 ms, flushes of 10 ms: a handful, not 100


def test_a_caller_arriving_during_a_flush_waits_for_the_next_one() -> None:
    async def main() -> tuple[bool, int]:
        buffer = Buffer()
        flush = SharedFlush(buffer.flush)
        first = asyncio.create_task(write_then_flush(buffer, flush, 1, 0))
        await asyncio.sleep(0.005)  # the first flush is running, and did not take record 2
        late = await write_then_flush(buffer, flush, 2, 0)
        await first
        return late, buffer.flushes

    late, flushes = asyncio.run(main())
    assert late
    assert flushes == 2


def test_callers_one_after_another_each_get_a_flush() -> None:
    async def main() -> int:
        buffer = Buffer()
        flush = SharedFlush(buffer.flush)
        for n in range(3):
            assert await write_then_flush(buffer, flush, n, 0)
        return buffer.flushes

    assert asyncio.run(main()) == 3


def test_a_failed_flush_fails_its_callers_and_the_next_one_runs() -> None:
    async def main() -> None:
        buffer = Buffer(fail_on={1})
        flush = SharedFlush(buffer.flush)
        first = asyncio.create_task(write_then_flush(buffer, flush, 1, 0))
        await asyncio.sleep(0.005)
        second = asyncio.create_task(write_then_flush(buffer, flush, 2, 0))  # waits for flush 2
        with pytest.raises(ConnectionError):
            await first
        assert await second
        assert await write_then_flush(buffer, flush, 3, 0)  # and later callers are served

    asyncio.run(main())


def test_a_cancelled_caller_does_not_cancel_the_flush_of_others() -> None:
    async def main() -> bool:
        buffer = Buffer()
        flush = SharedFlush(buffer.flush)
        leaving = asyncio.create_task(write_then_flush(buffer, flush, 1, 0))
        staying = asyncio.create_task(write_then_flush(buffer, flush, 2, 0))
        await asyncio.sleep(0.002)
        leaving.cancel()
        return await staying

    assert asyncio.run(main())


def test_a_flush_cancelled_before_it_ran_does_not_block_later_callers() -> None:
    async def main() -> bool:
        buffer = Buffer()
        flush = SharedFlush(buffer.flush)
        first = asyncio.create_task(flush())
        await asyncio.sleep(0)  # the caller ran and started the flush task, which has not run a step yet
        for task in asyncio.all_tasks():
            if task is not asyncio.current_task():
                task.cancel()  # a shutdown sweep
        await asyncio.gather(first, return_exceptions=True)
        return await asyncio.wait_for(write_then_flush(buffer, flush, 2, 0), 1.0)

    assert asyncio.run(main())


def test_a_failure_nobody_waits_for_is_not_reported_as_unretrieved() -> None:
    reported: list[dict] = []

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _loop, context: reported.append(context))
        buffer = Buffer(fail_on={1, 2})
        flush = SharedFlush(buffer.flush)
        first = asyncio.create_task(write_then_flush(buffer, flush, 1, 0))
        await asyncio.sleep(0.002)
        second = asyncio.create_task(write_then_flush(buffer, flush, 2, 0))
        await asyncio.sleep(0.002)
        first.cancel()
        second.cancel()
        await asyncio.sleep(0.05)  # both flushes fail with no caller left
        import gc

        gc.collect()

    asyncio.run(main())
    assert not [c for c in reported if "never retrieved" in str(c.get("message", ""))]
