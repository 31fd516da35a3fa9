"""Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat...): `{"text": ...}` with a link.

The URL is the credential (its path is a token): it is never logged; `describe()` shows only its host.
"""

from __future__ import annotations

import json

import httpx

from connectors.notify.base import Outcome, Rejected, check_http_url
from connectors.notify.render import slack_text
from connectors.notify.webhook import ALERT_ID_HEADER, post
from streams.records import Alert, Channel, Subscription


def slack_payload(alert: Alert) -> bytes:
    return json.dumps({"text": slack_text(alert)}, ensure_ascii=False).encode()


class SlackSender:
    kind = "slack"

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    def check(self, channel: Channel) -> str | None:
        return check_http_url(channel.target)

    async def send(self, alert: Alert, subscription: Subscription, channel: Channel) -> Outcome:
        problem = self.check(channel)
        if problem:
            return Rejected(problem)
        headers = {"Content-Type": "application/json", ALERT_ID_HEADER: alert.id}
        return await post(self.client, channel.target, slack_payload(alert), headers)

    async def aclose(self) -> None:
        await self.client.aclose()
