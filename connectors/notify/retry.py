"""When to try a failing channel again, and when to give up (park the alert). Pure.

Exponential backoff from `first_s`, doubling, capped at `max_delay_s`, for as long as the time since the first
failed attempt stays within `budget_s`; no attempt starts after the budget. A receiver's Retry-After is honoured
(the delay is at least what it asked for); one that asks for more than the budget leaves parks the alert.

With the defaults (1 s, doubling, at most 60 s, 300 s budget) the attempts start at about 0, 1, 3, 7, 15, 31, 63,
123, 183, 243 and 300 s (+-jitter) after the first failure: a receiver that fails for a minute gets the alert at
the 63 s attempt, one down for five minutes gets a last try at the budget's end.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    first_s: float = 1.0
    factor: float = 2.0
    max_delay_s: float = 60.0
    budget_s: float = 300.0
    jitter: float = 0.1  # +- this fraction of each delay, so alerts failing together do not retry in lockstep

    def backoff(self, failures: int) -> float:
        """The delay after the `failures`-th consecutive failure (1-based), without jitter."""
        return min(self.max_delay_s, self.first_s * self.factor ** max(0, failures - 1))

    def next_delay(self, failures: int, elapsed_s: float, retry_after_s: float | None = None,
                   spread: float = 0.0) -> float | None:
        """Seconds to wait before the next attempt, or None: the budget is spent, park it.

        `failures`: failed attempts so far (>= 1); `elapsed_s`: since the first failed attempt; `spread` in
        [-1, 1] picks the jitter (the caller draws it; 0 in tests)."""
        delay = self.backoff(failures) * (1 + self.jitter * max(-1.0, min(1.0, spread)))
        if retry_after_s is not None:
            delay = max(delay, retry_after_s)
        remaining = self.budget_s - elapsed_s
        if remaining <= 0:
            return None
        if delay > remaining:
            if retry_after_s is not None and retry_after_s > remaining:
                return None  # the receiver will not take it within the budget
            return remaining  # one last attempt at the budget's end
        return delay

    def schedule(self) -> list[float]:
        """The attempt times after the first failure, jitter aside (for docs and tests)."""
        times, elapsed, failures = [0.0], 0.0, 1
        while (delay := self.next_delay(failures, elapsed)) is not None:
            elapsed += delay
            times.append(round(elapsed, 3))
            failures += 1
        return times
