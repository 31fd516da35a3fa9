"""The log channel: one line per alert on the `newsdesk.alerts` logger."""

from __future__ import annotations

import logging

from connectors.notify.base import Delivered, Outcome
from connectors.notify.render import log_line
from streams.records import Alert, Channel, Subscription

LOGGER = logging.getLogger("newsdesk.alerts")


class LogSender:
    kind = "log"

    def __init__(self, logger: logging.Logger = LOGGER) -> None:
        self.logger = logger

    def check(self, channel: Channel) -> str | None:
        return None

    async def send(self, alert: Alert, subscription: Subscription, channel: Channel) -> Outcome:
        self.logger.info("%s", log_line(alert))
        return Delivered("logged")

    async def aclose(self) -> None:
        pass
