"""What a delivery channel is: `send(alert, subscription, channel)` answers Delivered, Retry or Rejected.

A sender only delivers (elastalert2's alerter shape): the title and body come from `render.py`, the retry
schedule and the bookkeeping from the caller (streams/delivery.py). A sender never sleeps, never raises for a
failed delivery, and never puts a secret (a subscription's signing secret, an SMTP password, credentials or a
token in a URL) in a result's reason: reasons are logged and kept in the dead-letter topic.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from connectors.net.urls import http_url_problem
from streams.records import Alert, Channel, Subscription


@dataclass(frozen=True)
class Delivered:
    """The receiver accepted the alert (HTTP 2xx, SMTP 250, a log line written)."""

    detail: str = ""


@dataclass(frozen=True)
class Retry:
    """Worth trying again: a timeout, a refused connection, HTTP 408/429/5xx, SMTP 4xx. `after_s`: what the
    receiver asked for (Retry-After), None when it said nothing."""

    reason: str
    after_s: float | None = None


@dataclass(frozen=True)
class Rejected:
    """Trying again would not help: HTTP 4xx, SMTP 5xx, a refused address, an invalid target."""

    reason: str


Outcome = Delivered | Retry | Rejected


class ChannelSender(Protocol):
    """One transport. Built once per worker with its configuration and live clients; `send` is called
    concurrently for many alerts and targets."""

    kind: str

    def check(self, channel: Channel) -> str | None:
        """Why this channel's target cannot be used (None: it can), checked when a subscription is read."""
        ...

    async def send(self, alert: Alert, subscription: Subscription, channel: Channel) -> Outcome: ...

    async def aclose(self) -> None: ...


def channel_id(channel: Channel) -> str:
    """A stable, secret-free name for one channel of a subscription: kind and a hash of the target (a Slack URL's
    path is its credential, so the target itself never goes into keys, logs or listings)."""
    digest = hashlib.sha256(channel.target.encode()).hexdigest()[:12]
    return f"{channel.kind}:{digest}"


def describe(channel: Channel) -> str:
    """For logs and listings: the kind and where to, without credentials, path or query."""
    if channel.kind in ("webhook", "slack"):
        parts = urlsplit(channel.target)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
        return f"{channel.kind} to {parts.scheme}://{host}{port}/…"
    if channel.kind == "email":
        return f"email to {channel.target}"
    return channel.kind


def check_http_url(target: str) -> str | None:
    """An absolute http(s) URL with a host (the address guard vets where it leads when connecting)."""
    problem = http_url_problem(target)
    return f"not a usable URL: {problem}" if problem else None
