"""When a rebalance counts as stuck (streams/stall.py)."""

import pytest

from streams.stall import StallWatch


def replay(watch: StallWatch, ticks: list[tuple[float, bool, int]]) -> list[float]:
    return [watch.observe(now, rebalancing, remaining) for now, rebalancing, remaining in ticks]


@pytest.mark.parametrize(("ticks", "expected"), [
    # not rebalancing: never stuck
    ([(0, False, 0), (500, False, 0)], [0, 0]),
    # a join that does not finish: counted from the first tick that saw it
    ([(0, False, 0), (10, True, 0), (70, True, 0), (200, True, 0)], [0, 0, 60, 190]),
    # a long recovery that keeps reading is never stuck
    ([(0, True, 900), (100, True, 800), (200, True, 700), (300, True, 600)], [0, 0, 0, 0]),
    # a recovery that stops reading: counted from its last progress
    ([(0, True, 900), (100, True, 800), (250, True, 800)], [0, 0, 150]),
    # a new rebalance after a finished one starts a fresh count
    ([(0, True, 5), (100, True, 5), (105, False, 0), (110, True, 5), (120, True, 5)], [0, 100, 0, 0, 10]),
    # more left to read (another partition assigned) is not progress
    ([(0, True, 5), (50, True, 9), (100, True, 9)], [0, 50, 100]),
])
def test_stuck_seconds(ticks: list[tuple[float, bool, int]], expected: list[float]) -> None:
    assert replay(StallWatch(limit_s=180), ticks) == expected


def test_stalled_at_the_limit() -> None:
    watch = StallWatch(limit_s=60)
    assert not watch.stalled(0, True, 3)
    assert not watch.stalled(59.9, True, 3)
    assert watch.stalled(60, True, 3)
    assert not watch.stalled(61, False, 0)


def test_a_limit_of_zero_never_stalls() -> None:
    watch = StallWatch(limit_s=0)
    assert not watch.stalled(0, True, 3)
    assert not watch.stalled(10_000, True, 3)
