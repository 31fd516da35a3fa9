"""A partition that stops moving outside a rebalance is reported (streams/partition_watch.py)."""

from __future__ import annotations

import pytest

from streams.partition_watch import PartitionState, PartitionWatch, remedy


def _states(**partitions: tuple[int | None, int | None, bool]) -> dict[str, PartitionState]:
    return {tp: PartitionState(*state) for tp, state in partitions.items()}


def test_a_partition_behind_its_end_that_does_not_move_is_reported_once_per_limit() -> None:
    watch: PartitionWatch[str] = PartitionWatch(30.0)
    assert watch.stuck(0.0, _states(p0=(128, 152, False))) == []
    assert watch.stuck(29.0, _states(p0=(128, 152, False))) == []
    assert watch.stuck(30.0, _states(p0=(128, 152, False))) == ["p0"]
    assert watch.stuck(35.0, _states(p0=(128, 152, False))) == []  # reported: the clock starts again
    assert watch.stuck(60.0, _states(p0=(128, 152, False))) == ["p0"]


def test_a_partition_that_moves_or_is_at_its_end_is_not_reported() -> None:
    watch: PartitionWatch[str] = PartitionWatch(30.0)
    watch.stuck(0.0, _states(moving=(10, 100, True), done=(100, 100, True), empty=(None, 0, True)))
    assert watch.stuck(20.0, _states(moving=(50, 100, True), done=(100, 100, True), empty=(None, 0, True))) == []
    assert watch.stuck(45.0, _states(moving=(60, 100, True), done=(100, 100, True), empty=(None, 0, True))) == []


def test_a_partition_never_answered_for_is_reported() -> None:
    """No fetch answer at all in the limit: its end is unknown, and it is not being fetched."""
    watch: PartitionWatch[str] = PartitionWatch(30.0)
    watch.stuck(0.0, _states(unknown=(70, None, True)))
    assert watch.stuck(30.0, _states(unknown=(70, None, True))) == ["unknown"]
    assert remedy(PartitionState(70, None, True, None)) == "seek"


def test_a_partition_with_records_and_no_commit_yet_counts_as_behind() -> None:
    watch: PartitionWatch[str] = PartitionWatch(10.0)
    watch.stuck(0.0, _states(fresh=(None, 40, True)))
    assert watch.stuck(10.0, _states(fresh=(None, 40, True))) == ["fresh"]


def test_a_reset_or_a_partition_leaving_starts_the_clock_again() -> None:
    watch: PartitionWatch[str] = PartitionWatch(30.0)
    watch.stuck(0.0, _states(p0=(1, 9, True), p1=(1, 9, True)))
    watch.reset()  # a rebalance
    assert watch.stuck(30.0, _states(p0=(1, 9, True))) == []  # p1 left; p0's clock starts at 30
    assert watch.stuck(45.0, _states(p0=(1, 9, True), p1=(1, 9, True))) == []
    assert watch.stuck(60.0, _states(p0=(1, 9, True), p1=(1, 9, True))) == ["p0"]


def test_a_limit_of_zero_reports_nothing() -> None:
    watch: PartitionWatch[str] = PartitionWatch(0.0)
    watch.stuck(0.0, _states(p0=(1, 9, False)))
    assert watch.stuck(1000.0, _states(p0=(1, 9, False))) == []


@pytest.mark.parametrize(("state", "expected"), [
    (PartitionState(128, 152, False, 140), "resume"),  # not fetched at all
    (PartitionState(94, 152, True, 30), "seek"),  # read behind what was committed: the first watched occurrence
    (PartitionState(94, 152, True, None), "seek"),
    (PartitionState(94, 152, True, 120), None),  # read ahead, not known whether anything is in flight
    (PartitionState(94, 152, True, 120, frozenset({94, 95})), None),  # the next record in flight: a search engine
    # down, say, with the index stage's batch waiting
    (PartitionState(69, 152, True, 151, frozenset()), "seek"),  # read ahead, nothing in flight: the second occurrence
    (PartitionState(69, 152, True, 151, frozenset({120, 121})), "seek"),  # in flight, but not the next record
    (PartitionState(0, 168, True, 167, frozenset({31, 32}), True), None),  # the next record acked: a slow commit
    (PartitionState(69, 152, True, 30, frozenset()), "seek"),
    (PartitionState(None, 40, True, None), None),  # nothing committed yet: nothing to seek to
])
def test_the_remedy_depends_on_how_the_partition_is_held(state: PartitionState, expected: str | None) -> None:
    assert remedy(state) == expected
