"""Keep the worker's log readable while Kafka or the search engine is away.

With the broker down, aiokafka logs "Unable connect to node ..." about a hundred times a second, and the search
clients log every failed request with its traceback, although newsdesk's own code already says, once per retry,
what it is waiting for. `RepeatFilter` lets the first line of a kind through (the kind being its logger and its
message template, so the changing numbers in it do not make it new) and holds back the same kind for the next
`interval_s`, then says how many it held back. `install` applies it, and lowers the search clients' request
logging to errors; NEWSDESK_LOG_LEVEL=debug leaves everything as it is.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

CLIENT_LOGGERS = ("aiokafka", "kafka")
SEARCH_CLIENT_LOGGERS = ("opensearch", "elastic_transport", "elasticsearch")


class RepeatFilter(logging.Filter):
    def __init__(self, interval_s: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.interval_s = interval_s
        self.clock = clock
        self._window: dict[tuple[str, str], tuple[float, int]] = {}  # kind -> (window start, held back)

    def filter(self, record: logging.LogRecord) -> bool:
        kind = (record.name, str(record.msg))
        now = self.clock()
        started, held = self._window.get(kind, (None, 0))
        if started is not None and now - started < self.interval_s:
            self._window[kind] = (started, held + 1)
            return False
        self._window[kind] = (now, 0)
        if held:
            record.msg = f"{record.msg} [{held} more like this in the last {now - started:.0f}s]"  # type: ignore[operator]
        return True


def install(log_level: str, interval_s: float = 30.0) -> None:
    if log_level.lower() == "debug":
        return
    repeats = RepeatFilter(interval_s)
    for name in CLIENT_LOGGERS + SEARCH_CLIENT_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RepeatFilter) for f in logger.filters):
            logger.addFilter(repeats)
    for name in SEARCH_CLIENT_LOGGERS:  # every request at INFO, every failure with a traceback at WARNING
        logging.getLogger(name).setLevel(logging.ERROR)
