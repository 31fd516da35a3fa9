"""Workaround: Faust's "seek back to committed offsets" leaves a partition with no committed offset where it is.

The quirk (faust-streaming 0.15.3 on aiokafka 0.14.0): Faust throws away records that its fetcher got while the
consumer's flow was stopped by a rebalance (faust.transport.consumer.Consumer.getmany logs "getmany called while
flow not active. Seek back to committed offsets.", and it also breaks out of a batch when the flow stops or the
generation changes), and relies on Consumer.perform_seek to fetch them again. perform_seek calls aiokafka's
AIOKafkaConsumer.seek_to_committed, which seeks only partitions whose committed offset is > 0
(`if offset and offset > 0`, aio-libs/aiokafka issue 1003, open). A partition that nobody committed yet keeps its
position, past the thrown-away records, so they never reach an agent; Faust then commits past them (its gap check
lets any hole before a partition's first commit pass), so a restart does not bring them back either.

Where it bit: a worker SIGKILLed seconds after it took its share of a topic, before its first offset commit of that
topic (articles.annotated: its first indexed batches were not committed yet). The survivor took the partitions over,
a rebalance-time fetch of them was thrown away, and 128 of 600 articles were never indexed ("the survivor stops
receiving records", docs/reliability.md; the two-worker kill test of tests/integration/test_chaos.py, in 3 of 6
runs on a loaded machine and 1 of 12 on a quieter one, 2026-12-06).

How to see it: tests/integration/test_chaos.py::test_seek_to_committed_leaves_an_uncommitted_partition_where_it_is
fetches from a partition with no committed offset and seeks to the committed offsets: plain aiokafka stays at the
end, this module's seek goes back to the start.

The fix: after aiokafka's seek, a partition with no committed offset (or 0) of a topic whose offsets Faust commits
(acks enabled: the agents' topics) is reset the way a fresh assignment would be (consumer_auto_offset_reset:
earliest -> the first offset kept), so everything not committed is delivered again (at-least-once; indexing by
article id absorbs the repeat). Partitions Faust never commits (table changelogs, which its recovery positions
itself, and its leader topic) keep aiokafka's behaviour. The offset each partition reset here starts from is kept
for streams/commit_hole_quirk.py, which must know where a partition without a committed offset begins.

When it can go: when aiokafka's seek_to_committed seeks partitions without a committed offset (issue 1003), or Faust
resets them itself; the first assertion of the test above then fails and says so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

from aiokafka import AIOKafkaConsumer
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

from streams import commit_hole_quirk

log = logging.getLogger(__name__)
_TP = TypeVar("_TP")


def left_in_place(committed: Mapping[_TP, int | None], committed_by_faust: Callable[[_TP], bool]) -> list[_TP]:
    """The partitions aiokafka's seek_to_committed did not seek (no committed offset, or 0) among those whose
    offsets Faust commits."""
    return [tp for tp, offset in committed.items() if not (offset and offset > 0) and committed_by_faust(tp)]


async def seek_to_committed(consumer: AIOKafkaConsumer, auto_offset_reset: str,
                            committed_by_faust: Callable[[Any], bool]) -> Mapping[Any, int | None]:
    """aiokafka's seek_to_committed, then the partitions it left in place reset as on a fresh assignment.
    Runs on the consumer's own event loop (Faust's consumer thread). Returns the committed offsets, as aiokafka's."""
    committed = cast(Mapping[Any, int | None], await consumer.seek_to_committed())
    assigned = consumer.assignment()  # a rebalance may have moved some while the offsets were fetched
    stay = [tp for tp in left_in_place(committed, committed_by_faust) if tp in assigned]
    at_zero = [tp for tp in stay if committed[tp] == 0]
    never = [tp for tp in stay if committed[tp] != 0]
    if stay:
        log.debug("seek to committed offsets: rewinding %s (no committed offset: streams/seek_uncommitted_quirk.py)",
                 ", ".join(f"{tp.topic}[{tp.partition}]" for tp in sorted(stay)))
    for tp in at_zero:
        consumer.seek(tp, 0)
        commit_hole_quirk.first_offsets[tp] = 0
    if never and auto_offset_reset == "earliest":
        commit_hole_quirk.first_offsets.update(await consumer.beginning_offsets(never))
        await consumer.seek_to_beginning(*never)
    elif never and auto_offset_reset == "latest":
        commit_hole_quirk.first_offsets.update(await consumer.end_offsets(never))
        await consumer.seek_to_end(*never)
    return committed


_original: Any = None


def install() -> None:
    """Route Faust's aiokafka consumer thread's seek_to_committed (used by Consumer.perform_seek) through
    seek_to_committed above. Idempotent."""
    global _original
    if _original is not None:
        return
    _original = AIOKafkaConsumerThread.seek_to_committed

    async def seek_to_committed_or_reset(self: AIOKafkaConsumerThread) -> Mapping[Any, int | None]:
        consumer = self._ensure_consumer()
        is_changelog = cast(Any, self.consumer)._is_changelog_tp
        acks_enabled_for = self.app.topics.acks_enabled_for

        def committed_by_faust(tp: Any) -> bool:
            return acks_enabled_for(tp.topic) and not is_changelog(tp)

        return cast(Mapping[Any, int | None], await self.call_thread(
            seek_to_committed, consumer, self.app.conf.consumer_auto_offset_reset, committed_by_faust))

    AIOKafkaConsumerThread.seek_to_committed = seek_to_committed_or_reset  # type: ignore[method-assign,assignment]
