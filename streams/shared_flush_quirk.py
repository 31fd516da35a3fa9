"""Workaround: concurrent `app.producer.flush()` calls in Faust cost each other, so the delivery tasks share one.

The quirk (faust-streaming 0.15.3): `faust.transport.producer.ProducerBuffer.flush_atmost` drains the buffer of
table changelog records by looping while the buffer is not empty, and each turn of the loop waits for "a message
was sent" with `asyncio.wait_for(event.wait(), 0.1)`: a new task and a timer per message, per caller. The delivery
agent (streams/delivery.py) flushes after each alert's "sent" record, from one task per alert, so with a hundred
alerts in flight a hundred loops spin over the same buffer. Profiled with py-spy on the worker of
bench/alert_latency.py at 10,000 subscriptions (~107 alerts per article), 2026-12-06: `ProducerBuffer.flush` and
the task and timer machinery under it were the largest share of the worker's time, while the NLP pool idled.

The fix: one flush in flight at a time. A caller that arrives while one runs waits for the next one, which starts
as soon as the running one ends and serves every caller that arrived meanwhile: its record was buffered before that
flush started, so that flush covers it (the guarantee each caller had from its own flush). A failure reaches every
caller of that flush, as it would have reached each of them.

When it can go: when Faust's buffer flush waits once for the buffer to drain (for every caller), rather than once
per message per caller; bench/alert_latency.py then shows no gain from this module.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


def _retrieve(future: asyncio.Future[None]) -> None:
    """Mark an outcome as seen: when every caller of a flush was cancelled (shutdown), its failure is nobody's."""
    if not future.cancelled():
        future.exception()


class SharedFlush:
    """`await flush()` returns once a flush that started after the call has finished."""

    def __init__(self, flush: Callable[[], Awaitable[None]]) -> None:
        self._flush = flush
        self._running: asyncio.Future[None] | None = None
        self._next: asyncio.Future[None] | None = None

    async def __call__(self) -> None:
        waiter: asyncio.Future[None]
        if self._running is None:
            self._running = waiter = self._start()
        else:  # the running flush may have started before this caller's record was buffered
            if self._next is None:
                self._next = asyncio.get_running_loop().create_future()
                self._next.add_done_callback(_retrieve)
            waiter = self._next
        await asyncio.shield(waiter)  # one caller cancelled (shutdown) does not cancel the others' flush

    def _start(self) -> asyncio.Future[None]:
        cycle = asyncio.ensure_future(self._flush())
        cycle.add_done_callback(self._finished)  # also runs for a flush cancelled before its first step
        return cycle

    def _finished(self, cycle: asyncio.Future[None]) -> None:
        _retrieve(cycle)
        self._running = None
        if self._next is None:
            return
        promised, self._next = self._next, None
        self._running = following = self._start()

        def settle(done: asyncio.Future[None]) -> None:
            if promised.done():
                return
            if done.cancelled():
                promised.cancel()
            elif (error := done.exception()) is not None:
                promised.set_exception(error)
            else:
                promised.set_result(None)

        following.add_done_callback(settle)
