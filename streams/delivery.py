"""Alert delivery: `alerts` -> webhook / e-mail / Slack / log, once per (alert, channel), retried, then parked.

    alerts --deliver--> one task per alert --> one task per channel --> connectors/notify senders
                                                        \\--(budget spent or rejected)--> alerts.dead

State (Faust tables, changelog-backed, partitioned like `alerts` by alert id):
- `alert-deliveries`: `<alert id>|<channel id>` -> {"state": "sent" | "parked" | "retrying", "at", "first", "n",
  "error", "p"}. `channel id` is the kind and a hash of the target (connectors/notify/base.channel_id), so no
  URL or address is a key. A "sent" or "parked" entry is never sent again; a "retrying" one keeps its first
  failure time and failure count, so a restart resumes its backoff schedule instead of starting it over.
  It is kept NEWSDESK_ALERT_STATE_TTL_HOURS (an edit of the article that late alerts again), on disk by default
  (streams/table_store.py), and forgotten by streams/expiry.py without stalling the agent.
- `alert-history`: `<owner/name>|<alerts partition>` -> last sent, counts, last error: the delivery history of
  a subscription, one record per partition (each written only by the worker owning that partition); its
  changelog is a compacted topic that `streams/delivery_status.py` reads and sums for `alerts list`.

Once per (alert, channel), and not lost:
- The agent takes an extra reference on each alert's message and releases it (per partition, in offset order)
  only when every channel of the alert is sent, parked, or dropped. Faust commits an offset only when every
  message up to it is released, so a crash re-delivers exactly the alerts not finished, and the table skips
  their channels already sent. Releasing in order matters: Faust's commit can step over a single hole.
- A channel is marked "sent" right after the receiver's answer, and the changelog write is flushed (acked by the
  broker) before the alert's message is released.
- The window: a crash (kill -9) after the receiver answered 2xx and before the "sent" record reached Kafka
  sends that alert to that channel again after the restart. It is milliseconds wide; the copy carries the same
  `X-Newsdesk-Alert-Id` (and, by e-mail, the same Message-ID and `X-Newsdesk-Alert-Id`), so a receiver that
  must never act twice deduplicates on it. A rebalance that moves a partition while one of its alerts is being
  retried has the same window (the new owner starts on it while the old one may still send once).

Retries without holding anything up: each channel of each alert has its own task; a failing one sleeps in that
task (never in the agent's loop) following connectors/notify/retry.RetryPolicy (NEWSDESK_ALERT_RETRY_*), with at
most NEWSDESK_ALERT_CONCURRENCY attempts in flight per channel kind, so a dead webhook neither delays the e-mail
of the same alert nor the webhooks of other subscriptions. A channel that keeps failing holds its partition's
commit position (never its deliveries) for up to the retry budget; past NEWSDESK_ALERT_MAX_PENDING unfinished
alerts the agent stops taking new ones, and Faust pauses only the `alerts` partitions, never indexing (STYLE
rule 7: one agent per channel kind in its own consumer group would need one Faust app per kind; the per-kind
slots give the same isolation in one). When the budget is spent, or a receiver rejects the alert (4xx, SMTP
5xx, an address the guard refuses), it is parked: a DeadLetter with the reason goes to `alerts.dead`.

Subscriptions (channels, secret, enabled) come from a small in-process copy of the compacted
`newsdesk.subscriptions` topic, read whole by every worker (a consumer without a group). An alert whose
subscription is unknown waits until the copy has caught up with the topic's end, so a subscription produced
just before its first alert is found. A removed or disabled subscription's alerts are dropped with a log line.

Secrets: a subscription's secret is only used to sign; channels appear in logs and records as
`connectors.notify.describe()` (kind and host); the SMTP password is a SecretStr until the sender gets it.

Registered by `streams/app.py` on workers running the `deliver` stage (every worker by default). With many alerts
per article, delivery in a worker of its own (`NEWSDESK_STAGES='["deliver"]' newsdesk worker`, the other workers
without it) keeps it off the event loop that feeds annotation and indexing (docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import faust
from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import ValidationError

from connectors.net.http import redact_request_logs
from connectors.notify import (
    ChannelSender,
    Delivered,
    HttpConfig,
    Outcome,
    Rejected,
    Retry,
    SmtpConfig,
    channel_id,
    describe,
    open_senders,
)
from connectors.notify.retry import RetryPolicy
from newsdesk import bootstrap
from newsdesk.bootstrap import DELIVERIES_TABLE, HISTORY_TABLE
from newsdesk.observability import metrics
from streams.app import ACTIVE_STAGES, app, settings, when
from streams.expiry import Expiry
from streams.records import Alert, Channel, DeadLetter, Subscription
from streams.shared_flush_quirk import SharedFlush
from streams.table_store import table_options

log = logging.getLogger(__name__)

ACTIVE = "deliver" in ACTIVE_STAGES
SENT, PARKED, RETRYING = "sent", "parked", "retrying"


def topic_alerts_dead() -> str:
    return bootstrap.topic_alerts_dead(settings)


# Every topic used here (`alerts`, `alerts.dead`, the two tables' changelogs) is created by `newsdesk.bootstrap`
# before any worker starts (`newsdesk up`; `newsdesk worker` runs against services `up` prepared).
if ACTIVE:
    redact_request_logs()  # webhook and Slack URLs never reach the log whole
elif "index" in ACTIVE_STAGES:
    @app.task
    async def say_who_delivers() -> None:
        """Deployments from before the deliver stage ran delivery wherever "index" ran: say it moved."""
        log.info("delivery: this worker matches alerts but does not send them (its NEWSDESK_STAGES has no "
                 "'deliver'): a worker with that stage sends them, and until one runs they wait in %s",
                 settings.topic_alerts)


alerts_in = app.topic(settings.topic_alerts, key_type=bytes, value_type=bytes,
                      key_serializer="raw", value_serializer="raw")
alerts_dead = app.topic(topic_alerts_dead(), key_type=bytes, value_type=bytes,
                        key_serializer="raw", value_serializer="raw")
deliveries: Any = app.Table(
    DELIVERIES_TABLE, default=None, partitions=settings.topic_partitions, key_type=str, value_type=None,
    help="alert id|channel id -> sent / parked / retrying",
    **table_options(settings.table_store, DELIVERIES_TABLE)) if ACTIVE else {}
flush_changelogs = SharedFlush(lambda: app.producer.flush())  # the table writes acknowledged by the broker
history: Any = app.Table(
    HISTORY_TABLE, default=None, partitions=settings.topic_partitions, key_type=str, value_type=None,
    help="subscription|partition -> delivery history") if ACTIVE else {}


# -- subscriptions: every worker's own copy of the compacted topic -------------------------------------------------

class SubscriptionCache:
    """`newsdesk.subscriptions` read whole, then followed; no consumer group (every worker needs every key)."""

    def __init__(self, bootstrap: str, topic: str, client_id: str) -> None:
        self.bootstrap, self.topic, self.client_id = bootstrap, topic, client_id
        self.state: dict[str, Subscription] = {}
        self._positions: dict[TopicPartition, int] = {}
        self._progress = asyncio.Condition()
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False,
                                    auto_offset_reset="earliest", client_id=self.client_id)
        await consumer.start()
        # the consumer's public partitions_for_topic answers from a cache that an assign-only consumer never fills
        cluster = await consumer._client.fetch_all_metadata()
        partitions = cluster.partitions_for_topic(self.topic) or set()
        if not partitions:
            await consumer.stop()
            raise RuntimeError(f"topic {self.topic} has no partitions (not created yet?)")
        tps = [TopicPartition(self.topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        self._consumer = consumer
        self._task = asyncio.create_task(self._follow(tps), name="subscription-cache")
        await self.sync()

    async def _follow(self, tps: list[TopicPartition]) -> None:
        assert self._consumer is not None
        while True:
            try:
                batches = await self._consumer.getmany(timeout_ms=500, max_records=1000)
                for records in batches.values():
                    for record in records:
                        self.apply(record.key, record.value)
                positions = {tp: await self._consumer.position(tp) for tp in tps}
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the broker is away: the copy waits, delivery of known subscriptions goes on
                log.warning("delivery: reading %s failed (%r); retrying", self.topic, exc)
                await asyncio.sleep(1.0)
                continue
            async with self._progress:
                self._positions = positions
                self._progress.notify_all()

    def apply(self, raw_key: bytes | None, value: bytes | None) -> None:
        if raw_key is None:
            return
        key = raw_key.decode(errors="replace")
        if value is None:
            self.state.pop(key, None)
            return
        try:
            self.state[key] = Subscription.model_validate_json(value)
        except ValidationError as exc:
            log.error("delivery: subscription %r is not valid (%s); its alerts are dropped", key, exc.errors()[:1])
            self.state.pop(key, None)

    async def sync(self, timeout_s: float = 30.0) -> bool:
        """Wait until the copy has read everything the topic held when called; False on timeout."""
        assert self._consumer is not None
        try:
            ends = await self._consumer.end_offsets(list(self._consumer.assignment()))
        except Exception as exc:
            log.warning("delivery: cannot read the end of %s (%r)", self.topic, exc)
            return False

        def caught_up() -> bool:
            return all(self._positions.get(tp, -1) >= end for tp, end in ends.items())

        try:
            async with self._progress:
                await asyncio.wait_for(self._progress.wait_for(caught_up), timeout_s)
            return True
        except TimeoutError:
            return False

    async def lookup(self, key: str) -> Subscription | None:
        """The latest state of a subscription; an unknown key is looked up again after catching up."""
        found = self.state.get(key)
        if found is None and await self.sync():
            found = self.state.get(key)
        return found

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self._consumer is not None:
            await self._consumer.stop()


# -- the worker's resources (built at the first alert) -------------------------------------------------------------

class Delivery:
    def __init__(self) -> None:
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        self.senders: dict[str, ChannelSender] = open_senders(
            HttpConfig(timeout_s=settings.alert_timeout_s, user_agent=settings.user_agent,
                       allow_private=settings.allow_private_addresses,
                       allowed_hosts=tuple(settings.fetch_allowed_hosts)),
            SmtpConfig(host=settings.smtp_host, port=settings.smtp_port, user=settings.smtp_user, password=password,
                       sender=settings.smtp_from, starttls=settings.smtp_starttls,
                       timeout_s=settings.alert_timeout_s))
        self.slots = {kind: asyncio.Semaphore(settings.alert_concurrency) for kind in self.senders}
        self.policy = RetryPolicy(first_s=settings.alert_retry_first_s, max_delay_s=settings.alert_retry_max_delay_s,
                                  budget_s=settings.alert_retry_budget_s)
        self.subscriptions = SubscriptionCache(settings.bootstrap, settings.topic_subscriptions,
                                               f"{settings.app_id}-delivery-subscriptions")

    async def aclose(self) -> None:
        await self.subscriptions.aclose()
        for sender in self.senders.values():
            await sender.aclose()


_delivery: Delivery | None = None
_delivery_lock = asyncio.Lock()


async def delivery() -> Delivery:
    global _delivery
    async with _delivery_lock:
        attempt = 0
        while _delivery is None:
            resources = Delivery()
            try:
                await resources.subscriptions.start()
                _delivery = resources
            except Exception as exc:
                await resources.aclose()
                attempt += 1
                log.warning("delivery: cannot read %s yet (%r); retrying", settings.topic_subscriptions, exc)
                await asyncio.sleep(min(30.0, 0.5 * 2 ** min(attempt, 6)))
    return _delivery


# -- one alert ---------------------------------------------------------------------------------------------------

def record_history(subscription: str, partition: int, *, sent: bool = False, error: str | None = None,
                   parked: bool = False, now: float | None = None) -> None:
    """In the alert's event context (the key's partition is the alert's)."""
    now = now or time.time()
    key = f"{subscription}|{partition}"
    entry = dict(history.get(key) or {"subscription": subscription, "partition": partition, "sent": 0,
                                      "failures": 0, "parked": 0, "last_sent_at": None, "last_error": None,
                                      "last_error_at": None})
    if sent:
        entry["sent"] += 1
        entry["last_sent_at"] = now
    if error is not None:
        entry["failures"] += 1
        entry["last_error"] = error
        entry["last_error_at"] = now
    if parked:
        entry["parked"] += 1
    history[key] = entry


async def park(event: faust.EventT, alert: Alert, channel: Channel, key: str, reason: str, failures: int) -> None:
    """Dead-letter the alert for this channel (acknowledged by the broker), then remember it is parked."""
    message = event.message
    error = f"{describe(channel)}: {reason}"
    record = DeadLetter(stage="deliver", error=error, topic=message.topic, partition=message.partition,
                        offset=message.offset, key=alert.id, payload=alert.model_dump_json(),
                        failed_at=datetime.now(UTC))
    await (await alerts_dead.send(key=alert.id.encode(), value=record.to_bytes()))
    log.error("delivery: alert %s for %s parked in %s after %d failed attempts: %s", alert.id, alert.subscription,
              topic_alerts_dead(), failures, error)
    metrics.on_delivery(channel.kind, "parked")
    metrics.on_dead_letter("deliver")
    deliveries[key] = {"state": PARKED, "at": time.time(), "n": failures, "error": reason, "p": message.partition}
    record_history(alert.subscription, message.partition, error=reason, parked=True)
    await flush_changelogs()


async def attempt(resources: Delivery, alert: Alert, subscription: Subscription, channel: Channel) -> Outcome:
    sender = resources.senders.get(channel.kind)
    if sender is None:
        return Rejected(f"unknown channel kind {channel.kind!r}")
    async with resources.slots[channel.kind]:
        try:
            return await sender.send(alert, subscription, channel)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a sender's bug must not lose the alert: it is retried, then parked
            log.exception("delivery: the %s sender failed unexpectedly", channel.kind)
            return Retry(f"{type(exc).__name__} in the {channel.kind} sender")


class KeyLocks:
    """One lock per (alert, channel) in delivery: the same alert produced twice can be in flight twice at once
    (same key, same partition, so always on the same worker); the second waits, then finds it sent."""

    def __init__(self) -> None:
        self.locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self.locks.get(key, (asyncio.Lock(), 0))
        self.locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self.locks[key]
            if users <= 1:
                del self.locks[key]
            else:
                self.locks[key] = (lock, users - 1)


_in_flight = KeyLocks()


async def deliver_channel(resources: Delivery, event: faust.EventT, alert: Alert, subscription: Subscription,
                          channel: Channel) -> None:
    key = f"{alert.id}|{channel_id(channel)}"
    async with _in_flight.hold(key):
        await deliver_channel_alone(resources, event, alert, subscription, channel, key)


async def deliver_channel_alone(resources: Delivery, event: faust.EventT, alert: Alert, subscription: Subscription,
                                channel: Channel, key: str) -> None:
    """Until sent, parked, or the subscription no longer wants it. Sleeps between attempts in its own task."""
    cid = channel_id(channel)
    partition = event.message.partition
    entry = deliveries.get(key)
    if entry and entry.get("state") in (SENT, PARKED):
        log.info("delivery: alert %s already %s to %s; not again", alert.id, entry["state"], describe(channel))
        return
    failures = int(entry["n"]) if entry else 0
    first = float(entry["first"]) if entry and entry.get("first") else None
    while True:
        outcome = await attempt(resources, alert, subscription, channel)
        now = time.time()
        if isinstance(outcome, Delivered):
            deliveries[key] = {"state": SENT, "at": now, "n": failures, "p": partition}
            record_history(alert.subscription, partition, sent=True, now=now)
            await flush_changelogs()  # the "sent" record acknowledged before the alert's offset may commit
            metrics.on_delivery(channel.kind, "sent")
            # the log channel's own line is the delivery; a second line per alert would only double the log
            log.log(logging.DEBUG if channel.kind == "log" else logging.INFO, "delivery: alert %s sent by %s (%s)",
                    alert.id, describe(channel), outcome.detail)
            return
        failures += 1
        first = first if first is not None else now
        if isinstance(outcome, Rejected):
            await park(event, alert, channel, key, f"rejected: {outcome.reason}", failures)
            return
        delay = resources.policy.next_delay(failures, now - first, outcome.after_s, spread=random.uniform(-1, 1))
        if delay is None:
            await park(event, alert, channel, key, f"gave up after {failures} attempts over {now - first:.0f} s; "
                                                   f"last: {outcome.reason}", failures)
            return
        deliveries[key] = {"state": RETRYING, "at": now, "first": first, "n": failures, "error": outcome.reason,
                           "p": partition}
        metrics.on_delivery(channel.kind, "retry")
        record_history(alert.subscription, partition, error=outcome.reason, now=now)
        log.warning("delivery: alert %s by %s failed (%s); attempt %d in %.1f s", alert.id, describe(channel),
                    outcome.reason, failures + 1, delay)
        await asyncio.sleep(delay)
        latest = resources.subscriptions.state.get(alert.subscription)  # changed meanwhile?
        if latest is None or not latest.enabled:
            log.warning("delivery: subscription %s was %s while alert %s waited to be retried; dropped",
                        alert.subscription, "removed" if latest is None else "disabled", alert.id)
            return
        if not any(channel_id(c) == cid for c in latest.channels):
            log.warning("delivery: %s is no longer a channel of %s; alert %s dropped for it", describe(channel),
                        alert.subscription, alert.id)
            return
        subscription = latest  # its current secret


async def deliver_alert(event: faust.EventT) -> None:
    """Runs in its own task, created in the agent while `event` is current: its table writes go to the alert's
    partition. Never raises (but CancelledError at shutdown, which leaves the alert to be redelivered)."""
    try:
        alert = Alert.model_validate_json(event.message.value or b"")
    except ValidationError as exc:
        await dead_letter_invalid(event, f"invalid alert: {exc}")
        return
    resources = await delivery()
    subscription = await resources.subscriptions.lookup(alert.subscription)
    if subscription is None:
        log.warning("delivery: alert %s dropped: subscription %s does not exist (removed?)", alert.id,
                    alert.subscription)
        return
    if not subscription.enabled:
        log.info("delivery: alert %s dropped: subscription %s is disabled", alert.id, alert.subscription)
        return
    channels = list({channel_id(c): c for c in subscription.channels}.values())
    if len(channels) == 1:  # most subscriptions: no task per channel
        await deliver_channel(resources, event, alert, subscription, channels[0])
    else:
        await asyncio.gather(*(deliver_channel(resources, event, alert, subscription, c) for c in channels))


async def dead_letter_invalid(event: faust.EventT, error: str) -> None:
    message = event.message
    value = message.value if isinstance(message.value, bytes) else str(message.value).encode()
    log.error("delivery: dead-lettering %s[%s]@%s: %s", message.topic, message.partition, message.offset, error)
    record = DeadLetter(stage="deliver", error=error, topic=message.topic, partition=message.partition,
                        offset=message.offset, key=message.key.decode(errors="replace") if message.key else None,
                        payload=value.decode(errors="replace"), failed_at=datetime.now(UTC))
    await (await alerts_dead.send(key=message.key, value=record.to_bytes()))
    metrics.on_dead_letter("deliver")


# -- the agent ---------------------------------------------------------------------------------------------------

class InOrderRelease:
    """Releases (acks) each partition's alerts in offset order as their tasks finish, so the committed offset of
    a partition never passes an unfinished alert; frees a slot of the pending budget per release."""

    def __init__(self, slots: asyncio.Semaphore) -> None:
        self.slots = slots
        self.queues: dict[Any, deque[tuple[faust.EventT, asyncio.Task[None]]]] = {}

    def add(self, event: faust.EventT, task: asyncio.Task[None]) -> None:
        tp = event.message.tp
        self.queues.setdefault(tp, deque()).append((event, task))
        task.add_done_callback(lambda _task: self.drain(tp))

    def drain(self, tp: Any) -> None:
        queue = self.queues.get(tp)
        while queue and queue[0][1].done():
            event, task = queue.popleft()
            self.slots.release()
            if task.cancelled():
                continue  # shutdown: unacked, redelivered after the restart
            if task.exception() is not None:  # deliver_alert does not raise; if it ever does, redelivery retries
                log.error("delivery: alert at %s@%s failed: %r", tp, event.message.offset, task.exception())
                continue
            event.ack()

    def cancel_all(self) -> None:
        for queue in self.queues.values():
            for _, task in queue:
                task.cancel()


def ledger_entry_expired(entry: dict[str, Any], now: float) -> bool:
    """After NEWSDESK_ALERT_STATE_TTL_HOURS `alerts` no longer holds the alert (it cannot be redelivered), and an
    edit of its article that late alerts again. A channel still being retried is never forgotten."""
    return entry.get("state") != RETRYING and float(entry.get("at") or 0) < now - settings.alert_state_ttl_hours * 3600


ledger_expiry = Expiry("delivery", deliveries, ledger_entry_expired, every_s=3600.0)


@when("deliver", app.agent(alerts_in))
async def deliver(stream: faust.StreamT) -> None:
    """Never waits for a delivery: each alert gets a task, and its message is released when the task is done."""
    pending = asyncio.Semaphore(settings.alert_max_pending)
    release = InOrderRelease(pending)
    try:
        async for event in stream.events():
            await pending.acquire()  # past the budget: only the alerts stream waits
            event.message.incref()  # released by InOrderRelease once delivered, parked or dropped
            task = asyncio.create_task(deliver_alert(event))  # copies the context: current_event() is `event`
            release.add(event, task)
            ledger_expiry.on_event(event.message.partition, time.time())
    finally:
        release.cancel_all()


@app.on_before_shutdown.connect  # type: ignore[arg-type]
async def close_delivery(app: faust.App, **kwargs: Any) -> None:
    if _delivery is not None:
        await _delivery.aclose()
