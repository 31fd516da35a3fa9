"""Workaround: Faust commits past a record no agent acked, when the hole is at the head of what was acked.

The quirk (faust-streaming 0.15.3, Consumer._new_offset): the offset Faust commits is the end of the first run of
consecutive acked offsets. It checks the head of that run against the partition's committed offset only when
there is one and it is not 0 (`if committed_offset:`), and even then lets a hole of one record pass
(`min(acked) - committed_offset > 1`). Faust drops records between its fetch and the agents at a rebalance (a
stream skips records of an older generation; the fetch loop moves its read offset past a record it gave up
handing over) and relies on a seek back to the committed offset to fetch them again. When that seek comes too
early or not at all, the records after the dropped one are acked and committed, and the dropped one is never
processed, silently.

Where it showed: the two-worker kill test (tests/integration/test_chaos.py), in a loop under load, 2026-12-07
(session 18): 1 of 600 articles, the first record of partition 0 of articles.raw, never annotated, with that
partition committed to its end.

The fix: Consumer._new_offset commits nothing while the lowest acked offset of a partition is above the offset the
partition should go on from: its committed offset, or, for a partition nobody has committed yet, the offset
streams/seek_uncommitted_quirk.py sought it to (`first_offsets`). Its commit then stops at the hole instead of
stepping over it, and streams/partition_watch.py, seeing the partition stuck with its next record neither acked
nor in flight, seeks it back to that offset, so the lost record is delivered again (at-least-once; indexing by
article id absorbs repeats).

When it can go: when Faust checks the head of the acked run against the committed offset in every case; the unit
test of this module (tests/unit/test_commit_hole_quirk.py) shows the hole Faust's own method lets through.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from faust.transport.consumer import Consumer

log = logging.getLogger(__name__)

# Partition -> the offset a partition with no committed offset was sought to (written by seek_uncommitted_quirk).
first_offsets: dict[Any, int] = {}


def hole_at_head(acked: Iterable[int], gap_starts: Iterable[int], expected: int | None) -> bool:
    """Whether the acked offsets (with Faust's gaps, offsets it knows are not records) start above `expected`,
    the next offset to commit: the record at `expected` was neither acked nor skipped on purpose."""
    heads = [*acked, *gap_starts]
    return expected is not None and bool(heads) and min(heads) > expected


def expected_next(committed: int | None, tp: Any) -> int | None:
    """The offset the partition's commit must go on from: its committed offset, else where it was sought to."""
    return committed if committed is not None else first_offsets.get(tp)


_original: Any = None
_reported: set[tuple[Any, int | None]] = set()


def install() -> None:
    """Route Faust's Consumer._new_offset through the check above. Idempotent."""
    global _original
    if _original is not None:
        return
    _original = Consumer._new_offset

    def _new_offset_without_holes(self: Consumer, tp: Any) -> int | None:
        acked = self._acked.get(tp)
        if acked:
            expected = expected_next(self._committed_offset.get(tp), tp)
            gaps = (interval.begin for interval in self._gap.get(tp, ()))
            if hole_at_head(acked, gaps, expected):
                if (tp, expected) not in _reported:
                    _reported.add((tp, expected))
                    log.info("holding the commit of %s[%d] at offset %s: that record is not acked (yet), and "
                             "Faust would commit past it (streams/commit_hole_quirk.py)", tp.topic, tp.partition,
                             expected)
                return None
        return _original(self, tp)  # type: ignore[no-any-return]

    Consumer._new_offset = _new_offset_without_holes  # type: ignore[method-assign]
