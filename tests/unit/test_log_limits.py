"""The worker's repeat filter: one line of a kind per interval, and a count of what was held back."""

from __future__ import annotations

import logging

import pytest

from streams.log_limits import RepeatFilter


def record(name: str, msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, args, None)


@pytest.mark.parametrize(("events", "passed"), [
    # the same template with changing numbers is one kind: held back within the interval
    ([(0, "aiokafka", "Unable connect to node %s"), (1, "aiokafka", "Unable connect to node %s"),
      (29, "aiokafka", "Unable connect to node %s")], [True, False, False]),
    # after the interval it passes again
    ([(0, "aiokafka", "a %s"), (10, "aiokafka", "a %s"), (31, "aiokafka", "a %s")], [True, False, True]),
    # other templates and other loggers are other kinds
    ([(0, "aiokafka", "a %s"), (1, "aiokafka", "b %s"), (2, "kafka", "a %s")], [True, True, True]),
])
def test_one_line_of_a_kind_per_interval(events: list[tuple[float, str, str]], passed: list[bool]) -> None:
    now = [0.0]
    repeats = RepeatFilter(30, clock=lambda: now[0])
    seen = []
    for at, name, msg in events:
        now[0] = at
        seen.append(repeats.filter(record(name, msg, 1)))
    assert seen == passed


def test_the_next_line_says_how_many_were_held_back() -> None:
    now = [0.0]
    repeats = RepeatFilter(30, clock=lambda: now[0])
    for at in (0, 1, 2, 3):
        now[0] = at
        repeats.filter(record("aiokafka", "Unable connect to node %s", 1))
    now[0] = 40
    line = record("aiokafka", "Unable connect to node %s", 1)
    assert repeats.filter(line)
    assert line.getMessage() == "Unable connect to node 1 [3 more like this in the last 40s]"
