"""Tell a partition that stopped moving outside a rebalance, so the worker brings it back.

Why: three times (a clean-clone CI run in session 16; 2 of 20 runs under load in session 17), the survivor of the
two-worker kill test (tests/integration/test_chaos.py) took over the dead worker's partitions of articles.raw,
logged "Worker ready" with all four, and never consumed those two past the dead worker's last commit (128 of 141
and of 152; 94 of 152 and 98 of 141): 37 and 101 articles stayed unannotated, and nothing was logged. Its own
partitions ran to their end. The seek quirk of streams/seek_uncommitted_quirk.py does not apply (the committed
offsets were above 0), and where in Faust or aiokafka the partition is lost is not known yet. Faust fetches only the
partitions in its consumer's active set; a partition leaves that set when paused (rebalances, table recovery) or
when its stream buffer is full ("buffered", back when the buffer drains), and neither is logged.

So: a partition assigned to this worker, behind its end (or with no fetch answer yet: in session 18's failing
run the second taken-over partition was never reported, its end being unknown), whose committed offset has not
moved for `limit_s`, is reported, and streams/app.py logs what Faust's consumer holds for it and applies `remedy`:

- not fetched at all (neither active nor buffered): resumed; nothing else would ever bring it back;
- fetched, but Faust's read offset is below its committed offset: sought to the committed offset. That is what the
  first watched occurrence showed (2026-12-07: committed 94, end 152, read offset 30, active, not buffered, not
  paused; 58 records never delivered for 90 s). The 30 was where this worker had been in that partition a
  generation earlier; how it outlives the takeover's seek, which sets the read offset, is not known;
- fetched, read past its committed offset, and the record at its committed offset neither in flight (Faust's
  unacked messages) nor acked (streams/commit_hole_quirk.py keeps Faust from committing past it): sought to the
  committed offset. The second watched occurrence (2026-12-07, session 18:
  committed 69, ends 141 and 152, read offsets 140 and 151, 16 articles never annotated): Faust had handed the
  records on, and some were dropped before any agent acked them, so the commit could not pass the first of them.
  A known kind of Faust race: the stream buffers are emptied at the end of a table recovery (faust-streaming
  issue 216);
- read ahead with its next record in flight (a search engine that is down holds the index stage's batch,
  retrying): only logged.

Each remedy delivers again only what was not committed (at-least-once; indexing by article id absorbs repeats).
Pure logic: the timer in streams/app.py reads Faust's consumer and acts.

When it can go: once the cause is found and fixed (in Faust or aiokafka, or here), and the two-worker kill test,
run in a loop under load, no longer logs an error naming this module.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)  # a topic partition (faust's TP) or, in tests, its name


@dataclass(frozen=True)
class PartitionState:
    committed: int | None  # the next offset to commit: Faust's committed offset, or where it started (None: not known)
    end: int | None  # its highwater as last fetched (None: not known yet)
    fetched: bool  # in the consumer's active or buffered partitions
    read: int | None = None  # the offset of the last record Faust delivered from it (its read offset)
    in_flight: frozenset[int] | None = None  # offsets of its records in agents' hands, not acked (None: not known)
    next_acked: bool = False  # the record at `committed` is acked (and waits for Faust's next commit)

    @property
    def behind(self) -> bool:
        """Records past its commit, or no fetch answer yet (which tells its end even when it is empty)."""
        return self.end is None or self.end > (self.committed or 0)


def remedy(state: PartitionState) -> str | None:
    """What brings a reported partition back: "resume", "seek" (to its committed offset) or None (log only)."""
    if not state.fetched:
        return "resume"
    if state.committed is None:
        return None  # nothing to seek to
    if state.read is None or state.read < state.committed:
        return "seek"
    if (state.in_flight is not None and not state.next_acked
            and min(state.in_flight, default=state.committed + 1) > state.committed):
        return "seek"  # the next record to commit is neither acked nor in flight: it was dropped on the way
    return None


@dataclass
class PartitionWatch(Generic[K]):
    limit_s: float  # 0: never reported
    _since: dict[K, tuple[int | None, float]] = field(default_factory=dict)  # committed, when last moved

    def stuck(self, now: float, states: Mapping[K, PartitionState]) -> list[K]:
        """The partitions behind their end whose committed offset has not moved for `limit_s` seconds. Each is
        reported once per `limit_s` while it stays so; a partition no longer assigned is forgotten."""
        for gone in set(self._since) - set(states):
            del self._since[gone]
        found = []
        for tp, state in states.items():
            committed, since = self._since.get(tp, (None, None))
            if since is None or not state.behind or state.committed != committed:
                self._since[tp] = (state.committed, now)
            elif now - since >= self.limit_s > 0:
                found.append(tp)
                self._since[tp] = (state.committed, now)
        return found

    def reset(self) -> None:
        """Forget every partition: a rebalance moves partitions and offsets on purpose."""
        self._since.clear()
