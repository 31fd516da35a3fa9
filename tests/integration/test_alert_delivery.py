"""Alert delivery on the real engines: `newsdesk up` (a real Faust worker), a local webhook receiver that verifies
signatures, a Slack-compatible receiver and a real SMTP server (aiosmtpd), all on real sockets.

Subscriptions are produced to `newsdesk.subscriptions` and alerts straight to `alerts` (no matcher needed). The
tests run in file order against one pipeline and each says what it relies on. Retry settings are shortened
(budget 90 s, at most 10 s between attempts) so that a receiver failing for a full minute still gets its alerts
and one that never recovers is parked within the test's time.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes
from pathlib import Path
from typing import Any

import psutil
import pytest
from aiosmtpd.controller import Controller
from kafka import KafkaConsumer, KafkaProducer

from connectors.notify.webhook import ALERT_ID_HEADER, SIGNATURE_HEADER, verify
from streams.delivery_status import read_history
from streams.records import Alert, Channel, DeadLetter, Subscription
from tests.integration.conftest import Engines, Pipeline, free_port, stop_all, wait_until
from tests.loopback import QuietHandler, serve

FAIL_FOR_S = 60.0  # the "answers 500 for a minute, then 200"
SECRETS = {"ops/a": "secret-a", "ops/flaky": "secret-flaky", "ops/down": "secret-down", "ops/healthy": "secret-h",
           "ops/crash": "secret-crash", "ops/split": "secret-split", "ops/crash-two": "secret-crash-two"}


class Receiver(QuietHandler):
    """/ok/<sub>: 200. /flaky: 500 for FAIL_FOR_S after its first request, then 200. /down: always 500.
    /block: holds the first request of each alert until `release` is set, then drops it unanswered."""

    lock = threading.Lock()
    requests: list[dict[str, Any]] = []
    flaky_since: float | None = None
    release = threading.Event()
    held: set[str] = set()

    def do_POST(self) -> None:
        data = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        path = self.path
        alert_id = self.headers.get(ALERT_ID_HEADER, "")
        record: dict[str, Any] = {"path": path, "id": alert_id, "at": time.monotonic(), "status": None,
                                  "signed": None, "body": data}
        if path.startswith("/slack"):
            record["signed"] = SIGNATURE_HEADER not in self.headers
        else:
            subscription = json.loads(data)["subscription"]
            record["signed"] = verify(SECRETS[subscription], data, self.headers.get(SIGNATURE_HEADER))
        with Receiver.lock:
            Receiver.requests.append(record)
            if path == "/flaky" and Receiver.flaky_since is None:
                Receiver.flaky_since = time.monotonic()
            first_block = path == "/block" and alert_id not in Receiver.held
            if first_block:
                Receiver.held.add(alert_id)
        if first_block:
            record["status"] = "held"
            Receiver.release.wait(300)
            record["status"] = "dropped"
            self.close_connection = True
            return
        status = 200
        if path == "/down" or (path == "/flaky" and time.monotonic() - (Receiver.flaky_since or 0) < FAIL_FOR_S):
            status = 500
        record["status"] = status
        self.send_body(status, "text/plain", b"ok" if status == 200 else b"no")


def delivered(path: str, alert_id: str | None = None) -> list[dict[str, Any]]:
    with Receiver.lock:
        return [r for r in Receiver.requests
                if r["path"] == path and r["status"] == 200 and (alert_id is None or r["id"] == alert_id)]


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture(scope="module")
def receivers() -> Iterator[tuple[str, Mailbox, int]]:
    server, url = serve(Receiver)
    mailbox = Mailbox()
    port = free_port()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=port)
    smtp.start()
    yield url, mailbox, port
    Receiver.release.set()
    smtp.stop()
    server.shutdown()


@pytest.fixture(scope="module")
def delivery_pipeline(tmp_path_factory: pytest.TempPathFactory, engines: Engines,
                      receivers: tuple[str, Mailbox, int]) -> Iterator[Pipeline]:
    pipeline = Pipeline(tmp_path_factory.mktemp("delivery"), engines)
    pipeline.env.update({
        "NEWSDESK_SMTP_HOST": "127.0.0.1", "NEWSDESK_SMTP_PORT": str(receivers[2]),
        "NEWSDESK_SMTP_FROM": "alerts@newsdesk.test",
        "NEWSDESK_ALERT_RETRY_BUDGET_S": "90", "NEWSDESK_ALERT_RETRY_MAX_DELAY_S": "10",
        "NEWSDESK_ALERT_TIMEOUT_S": "5",
    })
    pipeline.start()
    pipeline.wait_ready(180)
    yield pipeline
    if pipeline.process and pipeline.process.poll() is None:
        pipeline.stop()


def producer(pipeline: Pipeline) -> KafkaProducer:
    return KafkaProducer(bootstrap_servers=pipeline.bootstrap, acks="all")


def subscribe(pipeline: Pipeline, name: str, channels: list[Channel]) -> Subscription:
    now = datetime.now(UTC)
    subscription = Subscription(owner="ops", name=name, query="putin", channels=channels,
                                secret=SECRETS[f"ops/{name}"], created_at=now, updated_at=now)
    out = producer(pipeline)
    out.send(pipeline.topic("newsdesk.subscriptions"), key=subscription.key.encode(),
             value=subscription.to_bytes()).get(30)
    out.close()
    return subscription


def send_alerts(pipeline: Pipeline, subscription: str, ids: list[str]) -> list[Alert]:
    alerts = [Alert(id=alert_id, subscription=subscription, article_id=f"art-{alert_id}", title=f"Article {alert_id}",
                    url=f"https://news.example.org/{alert_id}", persons=["Vladimir Putin"],
                    matched_at=datetime.now(UTC)) for alert_id in ids]
    out = producer(pipeline)
    for alert in alerts:
        out.send(pipeline.topic("alerts"), key=alert.id.encode(), value=alert.to_bytes()).get(30)
    out.close()
    return alerts


def dead_letters(pipeline: Pipeline) -> list[DeadLetter]:
    consumer = KafkaConsumer(pipeline.topic("alerts.dead"), bootstrap_servers=pipeline.bootstrap,
                             auto_offset_reset="earliest", consumer_timeout_ms=3000, group_id=None)
    letters = [DeadLetter.model_validate_json(m.value) for m in consumer]
    consumer.close()
    return letters


def test_each_alert_arrives_once_on_every_channel(delivery_pipeline: Pipeline,
                                                  receivers: tuple[str, Mailbox, int]) -> None:
    """(a) webhook, e-mail, Slack and log once each; (b) the same alert produced twice is delivered once."""
    url, mailbox, _ = receivers
    pipeline = delivery_pipeline
    subscribe(pipeline, "a", [Channel(kind="webhook", target=f"{url}/ok/a"),
                              Channel(kind="email", target="ops@example.org"),
                              Channel(kind="slack", target=f"{url}/slack/a"),
                              Channel(kind="log")])
    ids = ["a-1", "a-2", "a-3"]
    send_alerts(pipeline, "ops/a", ids)
    send_alerts(pipeline, "ops/a", ["a-1"])  # (b) produced again: same id

    def all_arrived() -> bool:
        return (len(delivered("/ok/a")) >= 3 and len(delivered("/slack/a")) >= 3 and len(mailbox.messages) >= 3
                and all(f"alert {i} for ops/a" in pipeline.log() for i in ids))

    wait_until(all_arrived, 90, "every alert on every channel")
    time.sleep(5)  # time for a duplicate to show up, if there were one
    assert sorted(r["id"] for r in delivered("/ok/a")) == ids
    assert all(r["signed"] for r in delivered("/ok/a")), "every webhook body carries a valid signature"
    assert sorted(r["id"] for r in delivered("/slack/a")) == ids
    slack = json.loads(delivered("/slack/a")[0]["body"])["text"]
    assert "<https://news.example.org/a-" in slack
    assert sorted(m["X-Newsdesk-Alert-Id"] for m in mailbox.messages) == ids
    assert all(m["To"] == "ops@example.org" and m["Subject"].startswith("[newsdesk] ops/a: Article a-")
               for m in mailbox.messages)
    log = pipeline.log()
    assert [log.count(f"alert {i} for ops/a:") for i in ids] == [1, 1, 1]
    assert "secret-a" not in log and "/ok/a" not in log and "/slack/a" not in log
    history = wait_until(lambda: read_history(pipeline.bootstrap, f"newsdesk-{pipeline.name}").get("ops/a"), 30,
                         "the delivery history")
    assert history["sent"] == 12 and history["failures"] == 0 and history["last_sent_at"]
    listed = [json.loads(line) for line in pipeline.cli("alerts", "list", "--json").stdout.splitlines()]
    [mine] = [view for view in listed if view["key"] == "ops/a"]
    assert mine["delivery"]["sent"] == 12 and "secret" not in mine
    assert "secret-a" not in pipeline.cli("alerts", "list").stdout


def test_a_minute_of_500_then_200_delivers_every_alert_once_and_a_dead_receiver_is_parked(
        delivery_pipeline: Pipeline, receivers: tuple[str, Mailbox, int]) -> None:
    """(c) a receiver answering 500 for 60 s, then 200, gets every alert, once; (d) one that always fails has its
    alert parked in alerts.dead with the reason after the retry budget (90 s here), while another subscription's
    webhook keeps receiving meanwhile."""
    url, _, _ = receivers
    pipeline = delivery_pipeline
    subscribe(pipeline, "flaky", [Channel(kind="webhook", target=f"{url}/flaky")])
    subscribe(pipeline, "down", [Channel(kind="webhook", target=f"{url}/down")])
    subscribe(pipeline, "healthy", [Channel(kind="webhook", target=f"{url}/ok/healthy")])
    started = time.monotonic()
    flaky_ids = [f"flaky-{n}" for n in range(5)]
    send_alerts(pipeline, "ops/flaky", flaky_ids)
    send_alerts(pipeline, "ops/down", ["down-1"])
    wait_until(lambda: Receiver.flaky_since is not None, 60, "the first attempt at the flaky receiver")
    for round_ in range(3):  # while both are failing, the healthy one is served within seconds
        time.sleep(10)
        healthy_id = f"healthy-{round_}"
        sent_at = time.monotonic()
        send_alerts(pipeline, "ops/healthy", [healthy_id])
        wait_until(lambda i=healthy_id: delivered("/ok/healthy", i), 15,  # type: ignore[misc]
                   f"{healthy_id} while other webhooks fail")
        print(f"{healthy_id} delivered in {time.monotonic() - sent_at:.1f} s while two webhooks failed")
    wait_until(lambda: len({r["id"] for r in delivered("/flaky")}) == 5, 150, "every flaky alert")
    elapsed = time.monotonic() - (Receiver.flaky_since or started)
    assert elapsed >= FAIL_FOR_S
    failed = [r for r in Receiver.requests if r["path"] == "/flaky" and r["status"] == 500]
    assert len(failed) >= 5 * 5, "each alert was retried several times during the minute"
    letters = wait_until(lambda: [d for d in dead_letters(pipeline) if d.key == "down-1"], 120, "down-1 parked")
    time.sleep(5)
    assert sorted(r["id"] for r in delivered("/flaky")) == flaky_ids, "once each"
    assert [len(delivered("/ok/healthy", f"healthy-{n}")) for n in range(3)] == [1, 1, 1]
    [letter] = letters
    assert letter.stage == "deliver" and "gave up after" in letter.error and "HTTP 500" in letter.error
    assert letter.error.startswith("webhook to http://127.0.0.1:") and "/down" not in letter.error
    assert Alert.model_validate_json(letter.payload).id == "down-1"
    assert [d.key for d in dead_letters(pipeline)].count("down-1") == 1
    history = read_history(pipeline.bootstrap, f"newsdesk-{pipeline.name}")
    assert history["ops/down"]["parked"] == 1 and "HTTP 500" in history["ops/down"]["last_error"]
    assert history["ops/flaky"]["sent"] == 5 and history["ops/flaky"]["failures"] >= 25


def the_worker(pipeline: Pipeline) -> psutil.Process:
    def cmdline(p: psutil.Process) -> str:
        try:
            return " ".join(p.cmdline())
        except psutil.Error:
            return ""

    [worker] = [p for p in pipeline.descendants() if "streams.worker" in cmdline(p) and p.is_running()
                and p.status() != psutil.STATUS_ZOMBIE]
    return worker


def test_kill_9_between_receiving_and_delivering(delivery_pipeline: Pipeline,
                                                 receivers: tuple[str, Mailbox, int]) -> None:
    """(e) The worker is killed (SIGKILL) while its webhook request is in flight (the receiver holds it); `newsdesk
    up` restarts it and the alert arrives, once: the first request was never answered, the second one is, and
    both carry the same X-Newsdesk-Alert-Id. The alerts delivered before are not sent again by the restart."""
    url, mailbox, _ = receivers
    pipeline = delivery_pipeline
    before = {path: len(delivered(path)) for path in ("/ok/a", "/slack/a", "/flaky", "/ok/healthy")}
    mails_before = len(mailbox.messages)
    subscribe(pipeline, "crash", [Channel(kind="webhook", target=f"{url}/block")])
    send_alerts(pipeline, "ops/crash", ["crash-1"])
    wait_until(lambda: "crash-1" in Receiver.held, 60, "the request to be held by the receiver")
    worker = the_worker(pipeline)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(30)
    Receiver.release.set()  # the held request is dropped unanswered
    wait_until(lambda: delivered("/block", "crash-1"), 240, "crash-1 after the worker's restart")
    assert the_worker(pipeline).pid != worker.pid
    time.sleep(10)  # time for the restarted worker to redo anything it wrongly thought undone
    requests = [r for r in Receiver.requests if r["path"] == "/block"]
    assert [r["status"] for r in requests] == ["dropped", 200]
    assert {r["id"] for r in requests} == {"crash-1"} and all(r["signed"] for r in requests)
    assert {path: len(delivered(path)) for path in before} == before, "nothing delivered before was sent again"
    assert len(mailbox.messages) == mails_before


def test_worker_log_is_clean_of_secrets(delivery_pipeline: Pipeline) -> None:
    log = delivery_pipeline.log()
    assert not [s for s in SECRETS.values() if s in log]
    Path(delivery_pipeline.data_dir / "up.log").exists()


def start_and_send(pipeline: Pipeline, webhook: str, prefix: str) -> list[str]:
    """Start the pipeline, subscribe ops/split with one webhook, and produce 20 alerts for it; their ids."""
    pipeline.start()
    pipeline.wait_ready(180)
    subscribe(pipeline, "split", [Channel(kind="webhook", target=webhook)])
    ids = [f"{prefix}-{n}" for n in range(20)]
    send_alerts(pipeline, "ops/split", ids)
    return ids


def arrive_once_each(path: str, ids: list[str]) -> None:
    wait_until(lambda: len(delivered(path)) >= len(ids), 180, f"the deliveries to {path}")
    time.sleep(5)  # time for a duplicate to show up, if there were one
    assert sorted(r["id"] for r in delivered(path)) == sorted(ids)
    assert all(r["signed"] for r in delivered(path))


def test_a_deliver_only_worker_delivers_for_a_pipeline_without_the_stage(
        tmp_path: Path, engines: Engines, receivers: tuple[str, Mailbox, int]) -> None:
    """README "Settings": `up` without the deliver stage matches but sends nothing; a `newsdesk worker` with only
    that stage, in the same consumer group, sends every alert once."""
    url, _, _ = receivers
    pipeline = Pipeline(tmp_path / "split", engines)
    pipeline.env.update({"NEWSDESK_STAGES": '["poll", "annotate", "index"]', "NEWSDESK_ALERT_TIMEOUT_S": "5"})
    worker: subprocess.Popen[bytes] | None = None
    try:
        ids = start_and_send(pipeline, f"{url}/ok/split", "split")
        time.sleep(8)  # a worker with the stage delivers within a second or two
        assert delivered("/ok/split") == [], "up's worker runs no deliver stage"
        worker_log = tmp_path / "deliver-worker.log"
        with open(worker_log, "ab") as log:
            worker = subprocess.Popen([sys.executable, "-m", "newsdesk.cli", "worker", "--loglevel", "info"],
                                      env={**pipeline.env, "NEWSDESK_STAGES": '["deliver"]',
                                           "NEWSDESK_METRICS_PORT": "0"}, stdout=log, stderr=subprocess.STDOUT)
        arrive_once_each("/ok/split", ids)
    finally:
        stop_all(pipeline, worker)


def recovery_table(log: str, title: str, topic_suffix: str) -> dict[int, int]:
    """{partition: offset} for one changelog in the last recovery table `title` Faust logged (its rows of later
    partitions say 〃 for the topic)."""
    events = [json.loads(line)["event"] for line in log.splitlines() if title in line]
    assert events, f"no {title!r} table in the log"
    rows: dict[int, int] = {}
    topic = ""
    for line in events[-1].splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) != 3 or not cells[1].isdigit():
            continue
        topic = topic if cells[0] == "〃" else cells[0]
        if topic.endswith(topic_suffix):
            rows[int(cells[1])] = int(cells[2])
    return rows


def test_up_with_a_delivery_worker_runs_two_workers_and_delivers_once(
        tmp_path: Path, engines: Engines, receivers: tuple[str, Mailbox, int]) -> None:
    """`up`'s default (NEWSDESK_DELIVERY_WORKER): a second worker that only delivers (it loads no NLP models: no pool
    processes under it), and alerts still arrive once each. Killed (SIGKILL) while its webhook request is in
    flight, it is restarted alone and the alert arrives once; nothing delivered before is sent again."""
    url, _, _ = receivers
    pipeline = Pipeline(tmp_path / "two", engines)
    del pipeline.env["NEWSDESK_DELIVERY_WORKER"]  # the default, not the one-worker layout of the other tests
    pipeline.env.update({"NEWSDESK_DELIVERY_METRICS_PORT": str(free_port()), "NEWSDESK_ALERT_TIMEOUT_S": "5"})
    try:
        ids = start_and_send(pipeline, f"{url}/ok/two", "two")
        arrive_once_each("/ok/two", ids)
        workers = [p for p in pipeline.descendants() if "streams.worker" in " ".join(p.cmdline())]
        assert len(workers) == 2
        stages = sorted(json.loads(p.environ().get("NEWSDESK_STAGES", "null")) or [] for p in workers)
        assert stages == [["deliver"], ["poll", "annotate", "index"]]
        delivering = next(p for p in workers if "deliver" in p.environ().get("NEWSDESK_STAGES", ""))
        annotating = next(p for p in workers if p is not delivering)
        assert not delivering.children(), "the delivery worker starts no NLP pool"

        Receiver.release.clear()
        subscribe(pipeline, "crash-two", [Channel(kind="webhook", target=f"{url}/block")])
        send_alerts(pipeline, "ops/crash-two", ["two-crash"])
        wait_until(lambda: "two-crash" in Receiver.held, 60, "the request to be held by the receiver")
        os.kill(delivering.pid, signal.SIGKILL)
        delivering.wait(30)
        Receiver.release.set()  # the held request is dropped unanswered
        wait_until(lambda: delivered("/block", "two-crash"), 240, "two-crash after the delivery worker's restart")
        assert "delivery-worker exited with -9; restarting" in pipeline.log()
        # the restarted worker's ledger came from its own disk copy (NEWSDESK_TABLE_STORE=rocksdb): Faust read its
        # changelog from where the copy ended, which, as nothing else writes it, is the changelog's end
        ends = recovery_table(pipeline.log(), "Highwater - Active", "-alert-deliveries-changelog")
        starts = recovery_table(pipeline.log(), "Reading Starts At - Active", "-alert-deliveries-changelog")
        assert max(ends.values()) > 0 and starts == ends, (starts, ends)
        assert annotating.is_running(), "the annotating worker is not restarted with it"
        time.sleep(10)  # time for the restarted worker to redo anything it wrongly thought undone
        assert [r["status"] for r in Receiver.requests if r["path"] == "/block" and r["id"] == "two-crash"] == [
            "dropped", 200]
        assert sorted(r["id"] for r in delivered("/ok/two")) == sorted(ids), "nothing delivered before, again"
    finally:
        Receiver.release.set()
        stop_all(pipeline)
