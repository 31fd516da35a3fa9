"""E-mail over SMTP with the standard library's smtplib, in a thread (no client dependency for a few messages a
second). One connection per message: alerts are rare per recipient, and a fresh connection never inherits a
half-broken session.

The Message-ID is derived from the alert id and the channel, and `X-Newsdesk-Alert-Id` carries the alert id, so
a copy sent again in the crash window (see streams/delivery.py) is recognisable. The SMTP password is never
logged: SMTP errors are reported by their code and the server's text, which does not echo it.
"""

from __future__ import annotations

import asyncio
import hashlib
import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

from connectors.notify.base import Delivered, Outcome, Rejected, Retry
from connectors.notify.render import body, title
from streams.records import Alert, Channel, Subscription


@dataclass(frozen=True)
class SmtpConfig:
    host: str | None
    port: int = 25
    user: str | None = None
    password: str | None = None
    sender: str = "newsdesk@localhost"
    starttls: bool = False
    timeout_s: float = 30.0

    def __repr__(self) -> str:  # the password never shows
        return (f"SmtpConfig(host={self.host!r}, port={self.port}, user={self.user!r}, sender={self.sender!r}, "
                f"starttls={self.starttls})")


def build_message(alert: Alert, channel: Channel, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = title(alert)
    message["From"] = sender
    message["To"] = channel.target
    message["Date"] = formatdate(localtime=False, usegmt=True)
    digest = hashlib.sha256(f"{alert.id}|{channel.target}".encode()).hexdigest()[:32]
    domain = sender.rpartition("@")[2] or "newsdesk"
    message["Message-ID"] = f"<{digest}@{domain}>"
    message["X-Newsdesk-Alert-Id"] = alert.id
    message.set_content(body(alert))
    return message


def check_address(target: str) -> str | None:
    local, at, domain = target.rpartition("@")
    if not at or not local or not domain or any(c.isspace() or c in "<>,;" for c in target):
        return "not an e-mail address"
    return None


def outcome_for_smtp_error(exc: Exception) -> Outcome:
    """5xx: the server will not take it (Rejected); 4xx, auth and connection problems: Retry."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        if codes and all(400 <= code < 500 for code in codes):
            return Retry(f"SMTP recipient deferred ({codes[0]})")
        return Rejected(f"SMTP recipient refused ({codes[0] if codes else '?'})")
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return Retry(f"SMTP authentication failed ({exc.smtp_code})")  # the operator can fix it: then it goes out
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        reason = f"SMTP {exc.smtp_code}: {text.strip()[:200]}"
        return Rejected(reason) if 500 <= exc.smtp_code < 600 else Retry(reason)
    if isinstance(exc, (smtplib.SMTPException, OSError, socket.timeout, ssl.SSLError)):
        return Retry(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    return Rejected(f"{type(exc).__name__}: {exc}")


class EmailSender:
    kind = "email"

    def __init__(self, config: SmtpConfig, *, max_connections: int = 4) -> None:
        self.config = config
        self._slots = asyncio.Semaphore(max_connections)

    def check(self, channel: Channel) -> str | None:
        return check_address(channel.target)

    def _send_blocking(self, message: EmailMessage) -> None:
        config = self.config
        assert config.host
        with smtplib.SMTP(config.host, config.port, timeout=config.timeout_s) as smtp:
            if config.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if config.user:
                smtp.login(config.user, config.password or "")
            smtp.send_message(message)

    async def send(self, alert: Alert, subscription: Subscription, channel: Channel) -> Outcome:
        problem = self.check(channel)
        if problem:
            return Rejected(problem)
        if not self.config.host:
            return Rejected("no SMTP server configured (NEWSDESK_SMTP_HOST)")
        message = build_message(alert, channel, self.config.sender)
        async with self._slots:
            try:
                await asyncio.to_thread(self._send_blocking, message)
            except Exception as exc:
                return outcome_for_smtp_error(exc)
        return Delivered("SMTP accepted")

    async def aclose(self) -> None:
        pass
