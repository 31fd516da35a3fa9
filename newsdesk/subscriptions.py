"""Alert subscriptions, kept in the compacted topic `newsdesk.subscriptions` (key: owner/name, value: the
Subscription as JSON; a removal is a tombstone). The CLI (`newsdesk alerts`) and the HTTP API (`/alerts`) write
and read it here; every worker running the `index` stage follows it (streams/alerts.py) into the percolator.

The pure parts (names, channels, the address guard for webhook and Slack URLs, the query check, the public
view without the secret) are separate from `SubscriptionStore`, the kafka-python reader/writer, which reads the
topic to its end for each listing, like `connectors/rss/shared_registry.py` does for feeds. Two operators
editing one subscription at once: the last write wins.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from connectors.elasticsearch.query_language import QuerySyntaxError, compile_query
from streams.records import Channel, Subscription

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class SubscriptionError(ValueError):
    """Invalid input for a subscription (a name, a channel, a query); the message says what and why."""


class QueryRefused(SubscriptionError):
    """The query does not parse: `position` (0-based) and `detail` are the parser's."""

    def __init__(self, query: str, error: QuerySyntaxError) -> None:
        super().__init__(f"query error at column {error.position + 1}: {error.message}")
        self.query = query
        self.position = error.position
        self.detail = error.message


class NotFound(LookupError):
    pass


def check_name(value: str, what: str = "name") -> str:
    if not NAME.match(value):
        raise SubscriptionError(f"invalid {what} {value!r}: letters, digits, '.', '_' and '-' (at most 100), "
                                "starting with a letter or digit")
    return value


def key_of(owner: str, name: str) -> str:
    return f"{owner}/{name}"


def check_query(query: str) -> dict[str, Any]:
    """The compiled query, or QueryRefused with the parser's message and position."""
    try:
        return compile_query(query)
    except QuerySyntaxError as exc:
        raise QueryRefused(query, exc) from None


async def check_url(url: str, kind: str, *, allow_private: bool) -> str:
    """A webhook or Slack URL: http(s), and its host resolves to public addresses only (the feeds' address
    guard), unless private addresses are allowed (NEWSDESK_ALLOW_PRIVATE_ADDRESSES=1)."""
    from connectors.net.addresses import BlockedAddressError, GuardedBackend
    from connectors.net.urls import http_url_problem

    problem = http_url_problem(url)
    if problem:
        raise SubscriptionError(f"--{kind}: {problem}: {shown_url(url)}")
    parts = urlsplit(url)
    assert parts.hostname is not None  # checked above
    port = parts.port or (443 if parts.scheme == "https" else 80)
    guard = GuardedBackend(allow_private=allow_private, purpose=f"{kind} URLs")
    try:
        await guard.resolve(parts.hostname, port, timeout=10)
    except BlockedAddressError as exc:
        raise SubscriptionError(f"--{kind} {shown_url(url)}: {exc} (NEWSDESK_ALLOW_PRIVATE_ADDRESSES=1 allows "
                                "them)") from None
    except Exception as exc:  # httpcore's ConnectError / ConnectTimeout from resolving
        raise SubscriptionError(f"--{kind} {shown_url(url)}: {exc}") from None
    return url


def check_email(address: str) -> str:
    if not EMAIL.match(address):
        raise SubscriptionError(f"--email: not an e-mail address: {address!r}")
    return address


async def channels_from(*, webhooks: Sequence[str] = (), emails: Sequence[str] = (),
                        slacks: Sequence[str] = (), log: bool = False,
                        allow_private: bool = False) -> list[Channel]:
    """The checked channels; without any, the log channel (an alert always goes to the `alerts` topic too)."""
    channels = [Channel(kind="webhook", target=await check_url(u, "webhook", allow_private=allow_private))
                for u in webhooks]
    channels += [Channel(kind="email", target=check_email(a)) for a in emails]
    channels += [Channel(kind="slack", target=await check_url(u, "slack", allow_private=allow_private))
                 for u in slacks]
    if log or not channels:
        channels.append(Channel(kind="log"))
    return channels


def shown_url(url: str, kind: str = "webhook") -> str:
    """A URL as listings show it: no credentials, no query string; a Slack URL's path (its secret) hidden."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    path = "/…" if kind == "slack" and parts.path not in ("", "/") else parts.path
    return urlunsplit((parts.scheme, netloc, path, "…" if parts.query else "", ""))


def public_view(subscription: Subscription) -> dict[str, Any]:
    """What listings show: everything but the secret, channel URLs without their secret parts."""
    view = subscription.model_dump(mode="json", exclude={"secret"})
    view["key"] = subscription.key
    view["channels"] = [{"kind": c.kind, "target": shown_url(c.target, c.kind) if c.kind in ("webhook", "slack")
                         else c.target} for c in subscription.channels]
    return view


def new_subscription(owner: str, name: str, query: str, channels: list[Channel], *, updates: bool = False,
                     existing: Subscription | None = None, now: datetime | None = None) -> Subscription:
    """A checked subscription; a new one gets a fresh secret, an existing one (same key) keeps its secret,
    creation time and on/off state."""
    check_name(owner, "owner")
    check_name(name)
    check_query(query)
    now = now or datetime.now(UTC)
    if existing is not None:
        return existing.model_copy(update={"query": query, "channels": channels, "updates": updates,
                                           "updated_at": now})
    return Subscription(owner=owner, name=name, query=query, channels=channels, updates=updates,
                        secret=secrets.token_urlsafe(32), created_at=now, updated_at=now)


def apply_records(state: dict[str, Subscription], records: list[tuple[bytes | None, bytes | None]]) -> None:
    """Fold topic records (key, value) into `state`: a value replaces, a tombstone removes. Pure."""
    for key, value in records:
        if key is None:
            continue
        name = key.decode(errors="replace")
        if value is None:
            state.pop(name, None)
        else:
            try:
                state[name] = Subscription.model_validate_json(value)
            except ValueError:
                continue  # not ours to repair: skipped, like the worker does


@dataclass
class SubscriptionStore:
    """Reads (to the end) and writes the subscriptions topic with kafka-python. Blocking: the API runs it in a
    thread."""

    bootstrap: str
    topic: str
    client_id: str = "newsdesk-alerts"
    timeout_s: float = 30.0

    def load(self) -> dict[str, Subscription]:
        from kafka import KafkaConsumer, TopicPartition

        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False,
                                 client_id=self.client_id)
        try:
            numbers = consumer.partitions_for_topic(self.topic)
            if not numbers:
                raise RuntimeError(f"topic {self.topic!r} does not exist (created by `newsdesk up`)")
            partitions = [TopicPartition(self.topic, p) for p in sorted(numbers)]
            consumer.assign(partitions)
            consumer.seek_to_beginning(*partitions)
            ends = consumer.end_offsets(partitions)
            state: dict[str, Subscription] = {}
            deadline = time.monotonic() + self.timeout_s
            while any(consumer.position(tp) < end for tp, end in ends.items()):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"could not read {self.topic} to its end")
                polled = consumer.poll(timeout_ms=500)
                for tp in sorted(polled, key=lambda t: t.partition):
                    apply_records(state, [(m.key, m.value) for m in polled[tp]])
            return state
        finally:
            consumer.close()

    def _send(self, key: str, value: bytes | None) -> None:
        from kafka import KafkaProducer

        producer = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all", client_id=self.client_id)
        try:
            producer.send(self.topic, key=key.encode(), value=value).get(timeout=self.timeout_s)
        finally:
            producer.close()

    def get(self, key: str) -> Subscription:
        found = self.load().get(key)
        if found is None:
            raise NotFound(f"no subscription {key!r}")
        return found

    def put(self, subscription: Subscription) -> None:
        self._send(subscription.key, subscription.to_bytes())

    def remove(self, key: str) -> None:
        self.get(key)
        self._send(key, None)

    def set_enabled(self, key: str, enabled: bool) -> Subscription:
        current = self.get(key)
        updated = current.model_copy(update={"enabled": enabled, "updated_at": datetime.now(UTC)})
        self.put(updated)
        return updated


async def add(store: SubscriptionStore, owner: str, name: str, query: str, *, webhooks: Sequence[str] = (),
              emails: Sequence[str] = (), slacks: Sequence[str] = (), updates: bool = False,
              allow_private: bool = False) -> tuple[Subscription, bool]:
    """Check everything, then write; returns (the subscription, created?). A new one carries the secret (shown
    to its creator once); an existing one is updated and keeps its secret."""
    check_name(owner, "owner")
    check_name(name)
    check_query(query)
    channels = await channels_from(webhooks=webhooks, emails=emails, slacks=slacks, allow_private=allow_private)
    existing = (await asyncio.to_thread(store.load)).get(key_of(owner, name))
    subscription = new_subscription(owner, name, query, channels, updates=updates, existing=existing)
    await asyncio.to_thread(store.put, subscription)
    return subscription, existing is None
