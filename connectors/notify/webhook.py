"""Webhook: a JSON POST of the alert, signed with the subscription's secret.

Headers (docs for receivers):
- `X-Newsdesk-Signature: sha256=<hex>`: HMAC-SHA256 of the exact body bytes with the subscription's secret
  (absent when the subscription has no secret). Verify it over the raw body before parsing (`verify()` below).
- `X-Newsdesk-Alert-Id`: the alert's stable id. newsdesk delivers an alert once per channel, except in one
  window (a crash between the receiver's 2xx and newsdesk recording it): a receiver that must never act twice
  deduplicates on this id.
- `X-Newsdesk-Timestamp`: when this attempt was sent (Unix seconds); not covered by the signature.

Answers: 2xx -> Delivered; 408, 429, 5xx, timeouts and connection errors -> Retry (Retry-After honoured);
any other status (3xx: redirects are not followed, 4xx) -> Rejected. An address refused by the guard -> Rejected.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from connectors.net.addresses import BlockedAddressError
from connectors.notify.base import Delivered, Outcome, Rejected, Retry, check_http_url
from streams.records import Alert, Channel, Subscription

SIGNATURE_HEADER = "X-Newsdesk-Signature"
ALERT_ID_HEADER = "X-Newsdesk-Alert-Id"
TIMESTAMP_HEADER = "X-Newsdesk-Timestamp"
RETRYABLE_STATUS = frozenset({408, 429})
MAX_RETRY_AFTER_S = 24 * 3600.0


def sign(secret: str, body: bytes) -> str:
    """The signature header's value for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """What a receiver does: recompute over the raw body and compare in constant time."""
    return bool(header) and hmac.compare_digest(sign(secret, body), header or "")


def retry_after_s(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER_S)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max(0.0, (when - (now or datetime.now(UTC))).total_seconds()), MAX_RETRY_AFTER_S)


def outcome_for_status(status: int, retry_after: str | None = None, now: datetime | None = None) -> Outcome:
    """How an HTTP answer counts (webhook and Slack alike)."""
    if 200 <= status < 300:
        return Delivered(f"HTTP {status}")
    if status in RETRYABLE_STATUS or status >= 500:
        return Retry(f"HTTP {status}", retry_after_s(retry_after, now))
    if 300 <= status < 400:
        return Rejected(f"HTTP {status}: redirects are not followed; give the final URL")
    return Rejected(f"HTTP {status}")


def outcome_for_error(exc: Exception) -> Outcome:
    """A request that got no answer. The reason names the error's type and message, never the URL."""
    if isinstance(exc, BlockedAddressError):
        return Rejected(str(exc))
    if isinstance(exc, httpx.TimeoutException):
        return Retry(f"timed out ({type(exc).__name__})")
    if isinstance(exc, httpx.TransportError):
        return Retry(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    return Rejected(f"{type(exc).__name__}: {exc}")


async def post(client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]) -> Outcome:
    try:
        answer = await client.post(url, content=body, headers=headers)
    except (httpx.HTTPError, BlockedAddressError, ValueError) as exc:
        return outcome_for_error(exc)
    await answer.aclose()
    return outcome_for_status(answer.status_code, answer.headers.get("Retry-After"))


class WebhookSender:
    kind = "webhook"

    def __init__(self, client: httpx.AsyncClient) -> None:
        """`client`: connectors.net.http.guarded_client (timeout, address guard, no redirects)."""
        self.client = client

    def check(self, channel: Channel) -> str | None:
        return check_http_url(channel.target)

    async def send(self, alert: Alert, subscription: Subscription, channel: Channel) -> Outcome:
        problem = self.check(channel)
        if problem:
            return Rejected(problem)
        body = alert.to_bytes()
        headers = {"Content-Type": "application/json", ALERT_ID_HEADER: alert.id,
                   TIMESTAMP_HEADER: str(int(time.time()))}
        if subscription.secret:
            headers[SIGNATURE_HEADER] = sign(subscription.secret, body)
        return await post(self.client, channel.target, body, headers)

    async def aclose(self) -> None:
        await self.client.aclose()
