"""Alert delivery channels (connectors/notify): signature, rendering, retry schedule, status mapping, and each
transport against a real local server (HTTP on 127.0.0.1, aiosmtpd) through the address guard."""

from __future__ import annotations

import asyncio
import json
import logging
import smtplib
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.utils import format_datetime
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from connectors.net.http import guarded_client
from connectors.notify import HttpConfig, SmtpConfig, channel_id, describe, open_senders
from connectors.notify.base import Delivered, Rejected, Retry, check_http_url
from connectors.notify.email import EmailSender, check_address, outcome_for_smtp_error
from connectors.notify.log import LogSender
from connectors.notify.render import body, safe_url, slack_text, title
from connectors.notify.retry import RetryPolicy
from connectors.notify.slack import SlackSender
from connectors.notify.webhook import (
    ALERT_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookSender,
    outcome_for_status,
    retry_after_s,
    sign,
    verify,
)
from streams.delivery_status import summarise
from streams.records import Alert, Channel, Subscription
from tests.loopback import QuietHandler, serve

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def make_alert(**changes: Any) -> Alert:
    values: dict[str, Any] = dict(
        id="a1b2c3", subscription="ops/putin", article_id="art1", title="Putin e Xi: cooperazione militare",
        url="https://news.example.it/mondo/putin-xi", language="it", persons=["Vladimir Putin", "Xi Jinping"],
        organisations=[], locations=["Pechino"], topics=["politics"], matched_at=NOW)
    values.update(changes)
    return Alert(**values)


def make_subscription(**changes: Any) -> Subscription:
    values: dict[str, Any] = dict(owner="ops", name="putin", query="entity:\"Vladimir Putin\"",
                                  secret="s3cret-value", created_at=NOW, updated_at=NOW)
    values.update(changes)
    return Subscription(**values)


# -- pure -------------------------------------------------------------------------------------------------------

def test_signature_is_hmac_sha256_of_the_exact_body_and_verifies() -> None:
    body_bytes = make_alert().to_bytes()
    signature = sign("s3cret-value", body_bytes)
    # the value a receiver computes with nothing but the standard library
    import hashlib
    import hmac
    assert signature == "sha256=" + hmac.new(b"s3cret-value", body_bytes, hashlib.sha256).hexdigest()
    assert verify("s3cret-value", body_bytes, signature)
    assert not verify("other-secret", body_bytes, signature)
    assert not verify("s3cret-value", body_bytes + b" ", signature)
    assert not verify("s3cret-value", body_bytes, None)


def test_render_title_body_and_slack() -> None:
    alert = make_alert(url="https://user:pw@news.example.it/a?x=1")
    assert title(alert) == "[newsdesk] ops/putin: Putin e Xi: cooperazione militare"
    text = body(alert)
    assert "https://news.example.it/a?x=1" in text and "pw" not in text
    assert "People: Vladimir Putin, Xi Jinping" in text and "Places: Pechino" in text
    assert "Alert id: a1b2c3" in text and "Organisations" not in text
    slack = slack_text(make_alert(title="A <b> & c"))
    assert slack.startswith("*ops/putin*: <https://news.example.it/mondo/putin-xi|A &lt;b&gt; &amp; c>")
    assert title(make_alert(title="x" * 500)).endswith("…")
    assert safe_url("not a url at all") == "not a url at all" and safe_url(None) is None


def test_channel_names_carry_no_secret() -> None:
    slack = Channel(kind="slack", target="https://hooks.slack.example/services/T000/B000/XXXXSECRET")
    assert "XXXXSECRET" not in describe(slack) and "hooks.slack.example" in describe(slack)
    assert "XXXXSECRET" not in channel_id(slack) and channel_id(slack).startswith("slack:")
    assert "pw" not in describe(Channel(kind="webhook", target="https://u:pw@hooks.example.org:8443/x"))
    assert channel_id(slack) != channel_id(Channel(kind="slack", target="https://hooks.slack.example/other"))


def test_retry_schedule() -> None:
    policy = RetryPolicy(first_s=1, max_delay_s=60, budget_s=300, jitter=0.1)
    times = policy.schedule()
    assert times == [0.0, 1.0, 3.0, 7.0, 15.0, 31.0, 63.0, 123.0, 183.0, 243.0, 300.0]
    assert any(60 <= t <= 120 for t in times), "a receiver failing for a minute gets an attempt soon after"
    assert policy.next_delay(1, 0.0) == 1.0 and policy.next_delay(8, 200.0) == 60.0
    assert policy.next_delay(3, 0.0, spread=1.0) == pytest.approx(4.4)
    assert policy.next_delay(3, 0.0, retry_after_s=30) == 30  # Retry-After honoured
    assert policy.next_delay(8, 290.0) == 10.0  # a last attempt at the budget's end
    assert policy.next_delay(3, 290.0, retry_after_s=3600) is None  # asks for more than the budget leaves
    assert policy.next_delay(3, 300.0) is None
    assert RetryPolicy(budget_s=0).schedule() == [0.0]
    assert RetryPolicy(first_s=0.5, max_delay_s=2, budget_s=5).schedule() == [0.0, 0.5, 1.5, 3.5, 5.0]


@pytest.mark.parametrize("status,expected", [
    (200, Delivered), (202, Delivered), (204, Delivered), (408, Retry), (429, Retry), (500, Retry), (502, Retry),
    (503, Retry), (301, Rejected), (400, Rejected), (401, Rejected), (404, Rejected), (410, Rejected),
])
def test_status_mapping(status: int, expected: type) -> None:
    assert isinstance(outcome_for_status(status), expected)


def test_retry_after_seconds_and_dates() -> None:
    assert retry_after_s("120") == 120
    assert retry_after_s(format_datetime(NOW + timedelta(seconds=90), usegmt=True), now=NOW) == 90
    assert retry_after_s(format_datetime(NOW - timedelta(seconds=90), usegmt=True), now=NOW) == 0
    assert retry_after_s("soon") is None and retry_after_s(None) is None
    assert retry_after_s("99999999") == 24 * 3600
    outcome = outcome_for_status(503, "7")
    assert isinstance(outcome, Retry) and outcome.after_s == 7


def test_targets_are_checked() -> None:
    assert check_http_url("https://hooks.example.org/x") is None
    assert check_http_url("ftp://x/") and check_http_url("https:///nohost") and check_http_url("http://h:99999/")
    assert check_address("a@example.org") is None
    assert check_address("nobody") and check_address("a b@example.org")


def test_smtp_error_mapping() -> None:
    assert isinstance(outcome_for_smtp_error(smtplib.SMTPRecipientsRefused({"a@b": (550, b"no")})), Rejected)
    assert isinstance(outcome_for_smtp_error(smtplib.SMTPRecipientsRefused({"a@b": (451, b"later")})), Retry)
    assert isinstance(outcome_for_smtp_error(smtplib.SMTPDataError(554, b"spam")), Rejected)
    assert isinstance(outcome_for_smtp_error(smtplib.SMTPDataError(421, b"busy")), Retry)
    assert isinstance(outcome_for_smtp_error(ConnectionRefusedError(111, "refused")), Retry)
    auth = outcome_for_smtp_error(smtplib.SMTPAuthenticationError(535, b"bad credentials"))
    assert isinstance(auth, Retry)
    assert repr(SmtpConfig(host="h", password="hunter2")).count("hunter2") == 0


def test_history_summary_adds_partitions_and_keeps_the_latest() -> None:
    def record(key: str, **value: Any) -> tuple[bytes, bytes]:
        return key.encode(), json.dumps(value).encode()

    summary = summarise([
        record("ops/a|0", subscription="ops/a", sent=1, failures=0, parked=0, last_sent_at=100.0),
        record("ops/a|0", subscription="ops/a", sent=2, failures=1, parked=0, last_sent_at=110.0,
               last_error="HTTP 500", last_error_at=105.0),
        record("ops/a|3", subscription="ops/a", sent=1, failures=2, parked=1, last_sent_at=90.0,
               last_error="timed out", last_error_at=120.0),
        record("ops/b|1", subscription="ops/b", sent=0, failures=0, parked=0),
        (b"ops/c|1", b"{"),
    ])
    assert summary["ops/a"]["sent"] == 3 and summary["ops/a"]["failures"] == 3 and summary["ops/a"]["parked"] == 1
    assert summary["ops/a"]["last_error"] == "timed out"
    assert summary["ops/a"]["last_sent_at"] == datetime.fromtimestamp(110.0, UTC).isoformat()
    assert summary["ops/b"]["last_sent_at"] is None and "ops/c" not in summary


# -- real sockets ----------------------------------------------------------------------------------------------------

class Receiver(QuietHandler):
    answers: list[tuple[int, dict[str, str]]] = []
    seen: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        data = self.rfile.read(length)
        type(self).seen.append(({k.lower(): v for k, v in self.headers.items()}, data))
        status, headers = type(self).answers.pop(0) if type(self).answers else (200, {})
        self.send_body(status, "text/plain", b"ok", headers)


@pytest.fixture
def receiver() -> Iterator[tuple[type[Receiver], str]]:
    handler = type("R", (Receiver,), {"answers": [], "seen": []})
    server, url = serve(handler)
    yield handler, url
    server.shutdown()


def client(allow_private: bool) -> Any:
    return guarded_client(purpose="webhooks", timeout_s=5, user_agent="t", allow_private=allow_private)


def test_webhook_posts_the_signed_alert_and_maps_answers(receiver: tuple[type[Receiver], str]) -> None:
    handler, url = receiver
    handler.answers = [(200, {}), (503, {"Retry-After": "12"}), (404, {}), (302, {"Location": "/elsewhere"})]
    alert, subscription = make_alert(), make_subscription()
    channel = Channel(kind="webhook", target=f"{url}/hook")

    async def run() -> list[Any]:
        sender = WebhookSender(client(allow_private=True))
        try:
            return [await sender.send(alert, subscription, channel) for _ in range(4)]
        finally:
            await sender.aclose()

    first, second, third, fourth = asyncio.run(run())
    assert isinstance(first, Delivered)
    assert isinstance(second, Retry) and second.after_s == 12
    assert isinstance(third, Rejected) and third.reason == "HTTP 404"
    assert isinstance(fourth, Rejected) and "redirect" in fourth.reason
    headers, data = handler.seen[0]
    assert Alert.model_validate_json(data) == alert
    assert verify("s3cret-value", data, headers[SIGNATURE_HEADER.lower()])
    assert headers[ALERT_ID_HEADER.lower()] == "a1b2c3" and headers[TIMESTAMP_HEADER.lower()].isdigit()
    assert headers["content-type"] == "application/json"
    assert len(handler.seen) == 4, "the redirect was not followed"


def test_webhook_to_loopback_is_refused_by_the_guard(receiver: tuple[type[Receiver], str]) -> None:
    handler, url = receiver

    async def run() -> Any:
        sender = WebhookSender(client(allow_private=False))
        try:
            return await sender.send(make_alert(), make_subscription(), Channel(kind="webhook", target=url))
        finally:
            await sender.aclose()

    outcome = asyncio.run(run())
    assert isinstance(outcome, Rejected)
    assert "loopback" in outcome.reason and "not allowed for webhooks" in outcome.reason
    assert handler.seen == []


def test_connection_refused_and_timeout_are_retried() -> None:
    import socket

    with socket.socket() as sock:  # a port where nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    hold = threading.Event()

    class Slow(QuietHandler):
        def do_POST(self) -> None:
            hold.wait(5)
            self.send_body(200, "text/plain", b"late")

    server, slow_url = serve(Slow)

    async def run() -> tuple[Any, Any]:
        sender = WebhookSender(guarded_client(purpose="webhooks", timeout_s=0.5, user_agent="t", allow_private=True))
        try:
            refused = await sender.send(make_alert(), make_subscription(),
                                        Channel(kind="webhook", target=f"http://127.0.0.1:{port}/"))
            slow = await sender.send(make_alert(), make_subscription(), Channel(kind="webhook", target=slow_url))
            return refused, slow
        finally:
            await sender.aclose()

    try:
        refused, slow = asyncio.run(run())
    finally:
        hold.set()
        server.shutdown()
    assert isinstance(refused, Retry) and "ConnectError" in refused.reason
    assert isinstance(slow, Retry) and "timed out" in slow.reason


def test_slack_message_has_a_link(receiver: tuple[type[Receiver], str]) -> None:
    handler, url = receiver

    async def run() -> Any:
        sender = SlackSender(client(allow_private=True))
        try:
            return await sender.send(make_alert(), make_subscription(), Channel(kind="slack", target=url))
        finally:
            await sender.aclose()

    assert isinstance(asyncio.run(run()), Delivered)
    [(headers, data)] = handler.seen
    text = json.loads(data)["text"]
    assert "<https://news.example.it/mondo/putin-xi|Putin e Xi: cooperazione militare>" in text
    assert SIGNATURE_HEADER.lower() not in headers


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_email_through_a_real_smtp_server() -> None:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        sender = EmailSender(SmtpConfig(host="127.0.0.1", port=port, sender="alerts@newsdesk.example"))
        outcome = asyncio.run(sender.send(make_alert(), make_subscription(),
                                          Channel(kind="email", target="ops@example.org")))
        unconfigured = asyncio.run(EmailSender(SmtpConfig(host=None)).send(
            make_alert(), make_subscription(), Channel(kind="email", target="ops@example.org")))
    finally:
        controller.stop()
    assert isinstance(outcome, Delivered)
    assert isinstance(unconfigured, Rejected) and "NEWSDESK_SMTP_HOST" in unconfigured.reason
    [(mail_from, rcpt, content)] = mailbox.messages
    assert mail_from == "alerts@newsdesk.example" and rcpt == ["ops@example.org"]
    message = message_from_bytes(content)
    assert message["Subject"] == "[newsdesk] ops/putin: Putin e Xi: cooperazione militare"
    assert message["X-Newsdesk-Alert-Id"] == "a1b2c3" and message["Message-ID"].endswith("@newsdesk.example>")
    assert "https://news.example.it/mondo/putin-xi" in message.get_payload(decode=True).decode()


def test_log_channel_writes_one_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="newsdesk.alerts"):
        outcome = asyncio.run(LogSender().send(make_alert(), make_subscription(), Channel(kind="log")))
    assert isinstance(outcome, Delivered)
    [record] = caplog.records
    assert "alert a1b2c3 for ops/putin" in record.getMessage() and "s3cret" not in record.getMessage()


def test_open_senders_covers_every_kind() -> None:
    async def run() -> set[str]:
        senders = open_senders(HttpConfig(), SmtpConfig(host=None))
        for sender in senders.values():
            await sender.aclose()
        return set(senders)

    assert asyncio.run(run()) == {"webhook", "email", "slack", "log"}


def test_request_logs_carry_no_webhook_path(receiver: tuple[type[Receiver], str],
                                            caplog: pytest.LogCaptureFixture) -> None:
    from connectors.net.http import redact_request_logs

    handler, url = receiver
    redact_request_logs()
    redact_request_logs()

    async def run() -> Any:
        sender = SlackSender(client(allow_private=True))
        try:
            return await sender.send(make_alert(), make_subscription(),
                                     Channel(kind="slack", target=f"{url}/services/T0/B0/TOKEN?k=v"))
        finally:
            await sender.aclose()

    with caplog.at_level(logging.INFO, logger="httpx"):
        assert isinstance(asyncio.run(run()), Delivered)
    [line] = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert "TOKEN" not in line and "HTTP Request: POST http://127.0.0.1:" in line and "200 OK" in line
