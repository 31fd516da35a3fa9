"""When to poll a feed next. Pure: no I/O, no clock, no global randomness (the caller passes `rand`).

The poller keeps, per feed, an *adaptive interval* (persisted in the registry) and computes from it and the
outcome of each poll the *delay* until the next poll:

- success with new items: the interval moves down to the observed pace (one poll per `target_new_items`
  new items), never below the configured minimum;
- success with nothing new (including 304): the interval grows by `quiet_growth`, up to the maximum;
- the server's own lower bounds win over both: `Cache-Control: max-age`, the feed's `<ttl>`/`sy:updatePeriod`
  and `Retry-After` (each capped at the configured maximum, so a misconfigured "come back in a year" does not
  silence a feed for a year);
- a failure backs off exponentially from the current interval (doubling per consecutive failure, capped at the
  maximum) plus up to 50% random jitter, so feeds failing together (one host down) spread out; a failing feed is
  never polled more often than a healthy one;
- a per-feed interval override set by the operator replaces the adaptive interval (still within the bounds).

Every successful delay is also jittered by +-`jitter` so feeds added together do not stay in lock-step.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

Rand = Callable[[], float]  # uniform in [0, 1), e.g. random.random


@dataclass(frozen=True)
class SchedulePolicy:
    start_interval_s: float = 300.0
    min_interval_s: float = 60.0
    max_interval_s: float = 86400.0
    quiet_growth: float = 1.5  # interval factor after a poll that found nothing new
    target_new_items: float = 1.0  # aim for about this many new items per poll on a busy feed
    jitter: float = 0.1  # +-10% on successful delays

    def __post_init__(self) -> None:
        if not 0 < self.min_interval_s <= self.max_interval_s:
            raise ValueError(f"poll interval bounds must satisfy 0 < min <= max, got "
                             f"{self.min_interval_s} and {self.max_interval_s}")
        if self.quiet_growth < 1 or self.target_new_items <= 0 or not 0 <= self.jitter < 1:
            raise ValueError("quiet_growth >= 1, target_new_items > 0 and 0 <= jitter < 1 are required")

    def clamp(self, seconds: float) -> float:
        return min(self.max_interval_s, max(self.min_interval_s, seconds))


@dataclass(frozen=True)
class PollOutcome:
    ok: bool
    new_items: int = 0  # items this feed had not shown before (whether or not another feed had)
    elapsed_s: float | None = None  # since the previous poll of this feed, if any
    max_age_s: float | None = None  # Cache-Control max-age of the response
    ttl_s: float | None = None  # the feed's own <ttl> / sy:updatePeriod, latest known
    retry_after_s: float | None = None  # Retry-After of a 429/503 (or any) response
    consecutive_failures: int = 0  # including this poll when it failed


@dataclass(frozen=True)
class Plan:
    interval_s: float  # the adaptive interval to remember for the feed
    delay_s: float  # seconds from now until the next poll
    reason: str  # what set the delay: adaptive, override, max-age, ttl, retry-after, backoff


def next_interval(policy: SchedulePolicy, current_s: float | None, outcome: PollOutcome) -> float:
    """The adaptive interval after this outcome (failures leave it unchanged: backoff is separate)."""
    current = policy.clamp(current_s if current_s and current_s > 0 else policy.start_interval_s)
    if not outcome.ok:
        return current
    if outcome.new_items > 0:
        elapsed = outcome.elapsed_s if outcome.elapsed_s and outcome.elapsed_s > 0 else current
        pace = elapsed * policy.target_new_items / outcome.new_items
        return policy.clamp(min(current, pace))
    return policy.clamp(current * policy.quiet_growth)


def error_backoff(policy: SchedulePolicy, interval_s: float, failures: int, rand: Rand) -> float:
    """Exponential backoff from the feed's interval with jitter: in [b, 1.5 b), b = min(max, interval * 2^(n-1))."""
    exponent = min(max(failures, 1) - 1, 64)
    backoff = min(policy.max_interval_s, max(policy.min_interval_s, interval_s) * math.pow(2, exponent))
    return backoff * (1 + 0.5 * rand())


def plan(policy: SchedulePolicy, *, current_interval_s: float | None, outcome: PollOutcome, rand: Rand,
         override_s: float | None = None) -> Plan:
    """The next interval and delay for a feed after one poll."""
    interval = next_interval(policy, current_interval_s, outcome)
    if outcome.ok:
        if override_s:
            delay, reason = policy.clamp(override_s), "override"
        else:
            delay, reason = interval, "adaptive"
        delay = max(policy.min_interval_s, delay * (1 + policy.jitter * (2 * rand() - 1)))
    else:
        base = policy.clamp(override_s) if override_s else interval
        delay, reason = error_backoff(policy, base, outcome.consecutive_failures, rand), "backoff"
    floors = [("max-age", outcome.max_age_s), ("ttl", outcome.ttl_s), ("retry-after", outcome.retry_after_s)]
    for name, floor in floors:
        if floor is not None and floor > 0:
            bounded = min(floor, policy.max_interval_s)
            if bounded > delay:
                delay, reason = bounded, name
    return Plan(interval_s=interval, delay_s=delay, reason=reason)
