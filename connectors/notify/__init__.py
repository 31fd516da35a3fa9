"""Alert delivery channels: one transport per module, all behind `base.ChannelSender`.

`open_senders()` builds one sender per kind from plain configuration (the composition root passes it in; this
package reads no settings). Each sender's `check()` validates a channel's target when a subscription is read,
not at its first alert.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from connectors.net.http import guarded_client
from connectors.notify.base import ChannelSender, Delivered, Outcome, Rejected, Retry, channel_id, describe
from connectors.notify.email import EmailSender, SmtpConfig
from connectors.notify.log import LogSender
from connectors.notify.slack import SlackSender
from connectors.notify.webhook import WebhookSender

__all__ = ["ChannelSender", "Delivered", "HttpConfig", "Outcome", "Rejected", "Retry", "SmtpConfig", "channel_id",
           "describe", "open_senders"]


@dataclass(frozen=True)
class HttpConfig:
    timeout_s: float = 10.0
    user_agent: str = "newsdesk-alerts/0.1"
    allow_private: bool = False
    allowed_hosts: tuple[str, ...] = field(default_factory=tuple)


def open_senders(http: HttpConfig, smtp: SmtpConfig) -> dict[str, ChannelSender]:
    """name -> sender, for every channel kind of streams.records.ChannelKind."""

    def client(purpose: str) -> httpx.AsyncClient:
        return guarded_client(purpose=purpose, timeout_s=http.timeout_s, user_agent=http.user_agent,
                              allow_private=http.allow_private, allowed_hosts=http.allowed_hosts)

    return {
        "webhook": WebhookSender(client("webhooks")),
        "slack": SlackSender(client("Slack webhooks")),
        "email": EmailSender(smtp),
        "log": LogSender(),
    }
