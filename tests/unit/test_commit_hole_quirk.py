"""streams/commit_hole_quirk.py: Faust's commit does not step over a record that no agent acked."""

from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka.structs import TopicPartition
from faust.transport.consumer import Consumer
from intervaltree import IntervalTree

from streams import commit_hole_quirk

RAW0 = TopicPartition("raw", 0)


def _consumer(acked: list[int], committed: int | None) -> Any:
    return SimpleNamespace(_acked=defaultdict(list, {RAW0: list(acked)}),
                           _acked_index=defaultdict(set, {RAW0: set(acked)}),
                           _committed_offset=defaultdict(lambda: None, {RAW0: committed}),
                           _gap=defaultdict(IntervalTree))


@pytest.mark.parametrize(("acked", "gaps", "expected", "hole"), [
    ([1, 2, 3], [], 0, True),  # the first record was never acked
    ([0, 1, 2], [], 0, False),
    ([70, 71], [], 69, True),  # a hole of one record after the committed offset
    ([69, 70], [], 69, False),
    ([72, 73], [69], 69, False),  # Faust's gap says 69-71 are no records
    ([5], [], None, False),  # where the partition starts is not known: Faust's own rule
    ([], [], 0, False),  # nothing acked: nothing to commit anyway
])
def test_a_hole_at_the_head_of_the_acked_offsets(acked: list[int], gaps: list[int], expected: int | None,
                                                 hole: bool) -> None:
    assert commit_hole_quirk.hole_at_head(acked, gaps, expected) is hole


def test_faust_alone_commits_past_the_hole_and_the_workaround_does_not() -> None:
    """When Faust's own _new_offset stops committing past these holes, the first two asserts fail: the module can
    go (its docstring says so)."""
    original = commit_hole_quirk._original or Consumer._new_offset
    assert original(_consumer([1, 2, 3], None), RAW0) == 4  # the record at 0 is stepped over
    assert original(_consumer([70, 71], 69), RAW0) == 72  # and a hole of one after a commit
    commit_hole_quirk.install()
    commit_hole_quirk.install()  # idempotent
    commit_hole_quirk.first_offsets[RAW0] = 0
    try:
        assert Consumer._new_offset(_consumer([1, 2, 3], None), RAW0) is None
        assert Consumer._new_offset(_consumer([70, 71], 69), RAW0) is None
        assert Consumer._new_offset(_consumer([69, 70, 72], 69), RAW0) == 71  # no hole: Faust's rule
        assert Consumer._new_offset(_consumer([0, 1, 2], None), RAW0) == 3
    finally:
        commit_hole_quirk.first_offsets.clear()


def test_where_a_partition_goes_on_from() -> None:
    commit_hole_quirk.first_offsets["raw-1"] = 12
    try:
        assert commit_hole_quirk.expected_next(40, "raw-1") == 40  # a committed offset wins
        assert commit_hole_quirk.expected_next(None, "raw-1") == 12  # else where it was sought to
        assert commit_hole_quirk.expected_next(None, "raw-2") is None
    finally:
        commit_hole_quirk.first_offsets.clear()
