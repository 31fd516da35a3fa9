"""When to poll next: tables of (state, outcome) -> (interval, delay, reason). No clock, no randomness."""

from __future__ import annotations

import pytest

from connectors.rss.schedule import PollOutcome, SchedulePolicy, error_backoff, next_interval, plan

POLICY = SchedulePolicy(start_interval_s=300, min_interval_s=60, max_interval_s=86400, quiet_growth=1.5,
                        target_new_items=1, jitter=0.1)
MIDDLE = 0.5  # rand() that puts the +-jitter at zero


def ok(new: int = 0, elapsed: float | None = None, **floors: float) -> PollOutcome:
    return PollOutcome(ok=True, new_items=new, elapsed_s=elapsed, **floors)


def failed(failures: int, **floors: float) -> PollOutcome:
    return PollOutcome(ok=False, consecutive_failures=failures, **floors)


@pytest.mark.parametrize(("current", "outcome", "expected"), [
    # a new feed starts at the configured starting interval
    (None, ok(new=0), 450),  # quiet: 300 * 1.5
    (None, ok(new=1, elapsed=None), 300),  # one new item, no previous poll: stays
    # busy feeds come closer: one poll per new item at the observed pace
    (300, ok(new=3, elapsed=300), 100),
    (300, ok(new=30, elapsed=300), 60),  # never below the minimum
    (600, ok(new=1, elapsed=900), 600),  # slower pace than the interval: the interval does not grow on news
    # quiet feeds drift away, up to the maximum
    (1000, ok(new=0), 1500),
    (80000, ok(new=0), 86400),
    # failures leave the adaptive interval alone (backoff is separate)
    (1000, failed(3), 1000),
    # out-of-bounds state (the bounds were changed since) is pulled back in
    (10, ok(new=0), 90),
    (999999, ok(new=1, elapsed=999999), 86400),
])
def test_next_interval(current: float | None, outcome: PollOutcome, expected: float) -> None:
    assert next_interval(POLICY, current, outcome) == pytest.approx(expected)


@pytest.mark.parametrize(("interval", "failures", "rand", "expected"), [
    (300, 1, 0.0, 300),  # first failure: the normal interval, never sooner
    (300, 1, 0.999999, 450),  # plus up to 50% jitter
    (300, 2, 0.0, 600),
    (300, 5, 0.0, 4800),
    (300, 30, 0.0, 86400),  # capped at the maximum interval
    (300, 400, 0.0, 86400),  # no overflow for absurd streaks
    (10, 1, 0.0, 60),  # from at least the minimum interval
])
def test_error_backoff_is_exponential_with_jitter_and_capped(interval: float, failures: int, rand: float,
                                                             expected: float) -> None:
    assert error_backoff(POLICY, interval, failures, lambda: rand) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize(("current", "outcome", "override", "delay", "reason"), [
    (600, ok(new=0), None, 900, "adaptive"),
    (600, ok(new=0, max_age_s=3600), None, 3600, "max-age"),  # Cache-Control max-age is a lower bound
    (600, ok(new=0, max_age_s=60), None, 900, "adaptive"),  # ... not a reason to poll sooner
    (600, ok(new=0, ttl_s=7200), None, 7200, "ttl"),  # the feed's <ttl> / sy:updatePeriod too
    (600, ok(new=0, ttl_s=7200, max_age_s=9000), None, 9000, "max-age"),  # the largest lower bound wins
    (600, ok(new=0, max_age_s=10 * 365 * 86400), None, 86400, "max-age"),  # capped at the maximum interval
    (600, ok(new=0), 120, 120, "override"),  # the operator's per-feed interval replaces the adaptive one
    (600, ok(new=0), 5, 60, "override"),  # ... within the bounds
    (600, ok(new=0, ttl_s=3600), 120, 3600, "ttl"),  # ... and the server's lower bounds still hold
    (600, failed(1), None, 600, "backoff"),
    (600, failed(3), None, 2400, "backoff"),
    (600, failed(1, retry_after_s=7200), None, 7200, "retry-after"),  # 429/503 Retry-After is honoured
    (600, failed(4, retry_after_s=60), None, 4800, "backoff"),  # ... as a lower bound only
    (600, failed(1, retry_after_s=10**9), None, 86400, "retry-after"),  # an absurd one is capped
    (600, failed(2), 120, 240, "backoff"),  # backoff starts from the override when there is one
])
def test_plan(current: float, outcome: PollOutcome, override: float | None, delay: float, reason: str) -> None:
    result = plan(POLICY, current_interval_s=current, outcome=outcome, rand=lambda: 0.0 if not outcome.ok else MIDDLE,
                  override_s=override)
    assert (result.delay_s, result.reason) == (pytest.approx(delay), reason)


@pytest.mark.parametrize(("rand", "delay"), [(0.0, 810), (MIDDLE, 900), (0.999999, 990)])
def test_successful_delays_are_jittered_within_ten_percent(rand: float, delay: float) -> None:
    result = plan(POLICY, current_interval_s=600, outcome=ok(new=0), rand=lambda: rand)
    assert result.interval_s == 900 and result.delay_s == pytest.approx(delay, rel=1e-5)


def test_jitter_never_goes_below_the_minimum_or_a_server_bound() -> None:
    policy = SchedulePolicy(start_interval_s=60, min_interval_s=60, max_interval_s=600, jitter=0.5)
    assert plan(policy, current_interval_s=60, outcome=ok(new=5, elapsed=60), rand=lambda: 0.0).delay_s == 60
    bounded = ok(new=5, elapsed=60, ttl_s=300)
    assert plan(policy, current_interval_s=60, outcome=bounded, rand=lambda: 0.0).delay_s == 300


def test_integration_test_settings_give_polls_within_seconds() -> None:
    fast = SchedulePolicy(start_interval_s=3, min_interval_s=1, max_interval_s=3)
    assert plan(fast, current_interval_s=None, outcome=ok(new=0), rand=lambda: 0.999).delay_s <= 3.3
    assert plan(fast, current_interval_s=3, outcome=failed(8), rand=lambda: 0.999).delay_s <= 4.5


@pytest.mark.parametrize("kwargs", [dict(min_interval_s=0), dict(min_interval_s=100, max_interval_s=50),
                                    dict(quiet_growth=0.5), dict(jitter=1.0), dict(target_new_items=0)])
def test_bad_policies_are_refused(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        SchedulePolicy(**kwargs)
