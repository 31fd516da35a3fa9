"""How every newsdesk process logs: one handler on the root logger, its lines shaped by structlog.

The handler sits on the root logger, so the lines of Faust, aiokafka, httpx and the search clients (all plain
standard-library logging) come out in the same shape as newsdesk's own. Where stderr is not a terminal (a log file,
journald, a container runtime, `newsdesk up`'s children writing to where `up` writes) each event is one JSON
object on one line, its traceback included as a field, so a log collector never splits an event or mistakes a
traceback line for one; on a terminal each event is one short line. NEWSDESK_LOG_FORMAT overrides the choice.

The Kafka and HTTP clients log every connection, and Faust every service's start and every table of a rebalance,
at INFO: they are kept at WARNING unless -v, except Faust's worker lifecycle and recovery lines (started, ready,
rebalanced), which is what an operator (and a test) waits for.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import IO, Any, Literal

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

Chosen = Literal["json", "console"]
# A verbose (-v) `newsdesk` sets it for the processes it starts (the worker and the API have no -v of their own).
VERBOSE_ENV = "NEWSDESK_LOG_VERBOSE"
CHATTY_LOGGERS = ("kafka", "aiokafka", "httpx", "httpcore", "elastic_transport", "opensearch", "elasticsearch",
                  "urllib3", "faust", "mode")
FAUST_LIFECYCLE = ("faust.worker", "faust.tables.recovery", "mode.redirect")  # mode.redirect: print() in the worker


def resolve_format(log_format: str, stream: IO[str]) -> Chosen:
    if log_format in ("json", "console"):
        return log_format  # type: ignore[return-value]
    try:
        return "console" if stream.isatty() else "json"
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return "json"


def _drop_non_fields(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    """What looks like an `extra` but is not one: the text another handler's formatter already left on the record
    (`message`, `asctime`), and the coloured copy of the message some servers pass (escape codes help no one)."""
    for key in ("message", "asctime", "color_message"):
        event.pop(key, None)
    return event


def _fields_in_order(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    """When, how bad and where first: what a reader scans down a column of JSON lines for."""
    first: EventDict = {key: event.pop(key) for key in ("timestamp", "level", "logger", "event") if key in event}
    return {**first, **event}


def formatter(log_format: Chosen, *, colors: bool = False) -> logging.Formatter:
    common: list[Processor] = [structlog.stdlib.add_log_level, structlog.stdlib.add_logger_name,
                               structlog.stdlib.ExtraAdder(), _drop_non_fields]
    if log_format == "json":
        return structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.processors.TimeStamper(fmt="iso", utc=True), *common,
                               structlog.processors.CallsiteParameterAdder(
                                   [structlog.processors.CallsiteParameter.PROCESS])],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                        structlog.processors.format_exc_info,  # the traceback as one string field
                        _fields_in_order,
                        structlog.processors.JSONRenderer(ensure_ascii=False)])
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.processors.TimeStamper(fmt="%H:%M:%S", utc=False), *common],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.dev.ConsoleRenderer(colors=colors, pad_event_to=0, sort_keys=False,
                                                  exception_formatter=structlog.dev.plain_traceback)])


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """Its class marks the handler this module installed, so that setting up again replaces it. Without a stream
    of its own it writes to whatever sys.stderr is at the time (like logging's last-resort handler), so that a
    command run in a test runner's captured stderr logs there too."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        logging.Handler.__init__(self)  # not StreamHandler's: it would bind sys.stderr as it is now
        self._own_stream = stream

    @property  # type: ignore[override]
    def stream(self) -> IO[str]:
        return self._own_stream or sys.stderr

    @stream.setter
    def stream(self, value: IO[str] | None) -> None:
        self._own_stream = value


def handler(log_format: str = "auto", stream: IO[str] | None = None) -> logging.Handler:
    """Also the factory named in `dict_config` (Faust's worker builds its handlers from a dictConfig)."""
    shown_on = stream or sys.stderr
    chosen = resolve_format(log_format, shown_on)
    result = _Handler(stream)
    result.setFormatter(formatter(chosen, colors=chosen == "console" and resolve_format("auto", shown_on) == "console"))
    return result


def quiet_chatter(level: int, verbose: bool) -> None:
    """Only ever raises a library logger's level when quiet: a stricter level set elsewhere (streams/log_limits.py)
    stays. Verbose gives the libraries back to the root level."""
    for name in CHATTY_LOGGERS:
        logger = logging.getLogger(name)
        if verbose:
            logger.setLevel(logging.NOTSET)
        elif logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)
    for name in FAUST_LIFECYCLE:
        logging.getLogger(name).setLevel(logging.NOTSET if verbose else level)


def verbose_from_env() -> bool:
    return os.environ.get(VERBOSE_ENV, "") not in ("", "0")


def _level(level: str) -> int:
    return logging.getLevelNamesMapping().get(level.upper(), logging.INFO)


def setup(level: str = "info", log_format: str = "auto", *, verbose: bool | None = None,
          stream: IO[str] | None = None) -> Chosen:
    """Install the handler on the root logger (replacing one installed before); returns the format chosen."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    root.addHandler(handler(log_format, stream))
    root.setLevel(_level(level))
    quiet_chatter(_level(level), verbose_from_env() if verbose is None else verbose)
    return resolve_format(log_format, stream or sys.stderr)


def dict_config(level: str, log_format: str) -> dict[str, Any]:
    """For Faust's `logging_config`: its worker clears the root handlers when it starts and applies this instead
    of its own coloured handler on stdout."""
    return {"version": 1, "disable_existing_loggers": False,
            # bound to the real stderr now: the worker later redirects sys.stderr into logging itself
            "handlers": {"newsdesk": {"()": f"{__name__}.handler", "log_format": log_format,
                                      "stream": "ext://sys.stderr"}},
            "root": {"level": _level(level), "handlers": ["newsdesk"]}}
