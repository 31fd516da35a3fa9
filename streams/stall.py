"""Tell a rebalance that has stopped moving from one that is merely slow, so the worker can restart itself.

Faust can get stuck in a rebalance: a JoinGroup that never completes, or a table recovery that receives no
changelog event ever again ("No event received for active tp ... since recovery start"). Both were seen here on
the embedded broker, and Faust users report the same on Kafka. A stuck worker polls nothing and annotates nothing
until someone restarts it. A recovery of a large table may take minutes, but it keeps reading: the changelog
records left to apply go down. So a rebalance counts as stalled only when that count has not gone down for
`limit_s` seconds. Pure logic; streams/app.py feeds it from a timer and stops the worker when it says so.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class StallWatch:
    limit_s: float  # 0: never stalled
    _progress_at: float | None = None  # the rebalance's start, or the last time the remaining count went down
    _remaining: int | None = None

    def observe(self, now: float, rebalancing: bool, remaining: int) -> float:
        """Seconds the current rebalance has gone without progress (0 when not rebalancing)."""
        if not rebalancing:
            self._progress_at, self._remaining = None, None
            return 0.0
        if self._progress_at is None or self._remaining is None or remaining < self._remaining:
            self._progress_at = now
        self._remaining = remaining
        return now - self._progress_at

    def stalled(self, now: float, rebalancing: bool, remaining: int) -> bool:
        return self.observe(now, rebalancing, remaining) >= self.limit_s > 0
