"""Structured logs (issue 18): JSON lines off a terminal, one short line on one, chatter kept down unless -v."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from connectors.rss.fetch import FeedFetcher
from connectors.rss.poller import FeedPoller
from connectors.rss.registry import FeedRegistry
from connectors.rss.schedule import SchedulePolicy
from newsdesk import logs
from streams.records import Article
from tests.conftest import ROOT
from tests.loopback import QuietHandler, serve

SECRET = "pa55-w0rd"


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Each test sets the process's logging up its own way; the tests after it get theirs back."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    names = (*logs.CHATTY_LOGGERS, *logs.FAUST_LIFECYCLE, "faust.app")
    levels = {name: logging.getLogger(name).level for name in names}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, saved in levels.items():
        logging.getLogger(name).setLevel(saved)


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_json_mode_writes_one_parseable_line_per_event_exception_included() -> None:
    out = io.StringIO()
    assert logs.setup("info", "json", verbose=False, stream=out) == "json"
    log = logging.getLogger("newsdesk.test")
    log.info("feed %s: produced %d articles", "https://example.org/rss", 3,
             extra={"feed_url": "https://example.org/rss"})
    log.debug("not shown at info")
    try:
        {}["missing"]  # noqa: B018
    except KeyError:
        log.exception("annotating %s failed", "a1", extra={"article_id": "a1"})
    log.warning("text with\na newline and ünïcode")

    events = json_lines(out.getvalue())
    assert len(events) == 3  # three events, three lines: neither the traceback nor the newline split one
    first, failed, warned = events
    assert list(first)[:4] == ["timestamp", "level", "logger", "event"]
    assert first["event"] == "feed https://example.org/rss: produced 3 articles"
    assert (first["level"], first["logger"], first["feed_url"]) == ("info", "newsdesk.test", "https://example.org/rss")
    assert first["process"] == os.getpid()
    stamp = datetime.fromisoformat(first["timestamp"].replace("Z", "+00:00"))
    assert stamp.utcoffset() is not None and stamp.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert (failed["level"], failed["article_id"]) == ("error", "a1")
    assert failed["exception"].startswith("Traceback (most recent call last):")
    assert "KeyError: 'missing'" in failed["exception"]
    assert warned["event"] == "text with\na newline and ünïcode"


def test_console_mode_is_one_short_line_per_event() -> None:
    out = io.StringIO()
    assert logs.setup("info", "console", verbose=False, stream=out) == "console"
    logging.getLogger("newsdesk.test").warning("feed %s: HTTP 503", "https://example.org/rss",
                                               extra={"feed_url": "https://example.org/rss"})
    [line] = out.getvalue().splitlines()
    assert "feed https://example.org/rss: HTTP 503" in line and "warning" in line and "newsdesk.test" in line
    assert "feed_url=https://example.org/rss" in line
    assert not line.startswith("{") and "\x1b[" not in line  # not JSON, and no colours off a terminal


def test_auto_is_json_in_a_file_and_console_on_a_terminal(tmp_path: Path) -> None:
    with open(tmp_path / "log", "w") as file:
        assert logs.setup("info", "auto", stream=file) == "json"
    primary, secondary = os.openpty()
    with os.fdopen(secondary, "w") as terminal:
        assert logs.setup("info", "auto", stream=terminal) == "console"
        assert logs.setup("info", "json", stream=terminal) == "json"  # told: told wins
    os.close(primary)


def test_setting_up_again_replaces_the_handler_instead_of_adding_one() -> None:
    first, second = io.StringIO(), io.StringIO()
    logs.setup("info", "json", stream=first)
    logs.setup("info", "console", stream=second)
    logging.getLogger("newsdesk.test").info("once")
    assert first.getvalue() == "" and second.getvalue().count("once") == 1


@pytest.mark.parametrize("verbose", [False, True])
def test_client_and_faust_chatter_only_with_verbose(verbose: bool) -> None:
    out = io.StringIO()
    logs.setup("info", "json", verbose=verbose, stream=out)
    for name in ("aiokafka.conn", "kafka.client", "httpx", "opensearch", "faust.app.base", "mode.services"):
        logging.getLogger(name).info("chatter from %s", name)
        logging.getLogger(name).warning("trouble from %s", name)
    logging.getLogger("faust.worker").info("[^Worker]: Ready")  # the worker's lifecycle stays
    events = [event["event"] for event in json_lines(out.getvalue())]
    chatter = [e for e in events if e.startswith("chatter")]
    assert len(chatter) == (6 if verbose else 0)
    assert len([e for e in events if e.startswith("trouble")]) == 6
    assert "[^Worker]: Ready" in events


def test_verbosity_reaches_child_processes_through_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setenv(logs.VERBOSE_ENV, "1")
    logs.setup("info", "json", stream=out)
    logging.getLogger("aiokafka").info("connected")
    assert [e["event"] for e in json_lines(out.getvalue())] == ["connected"]


def test_quiet_never_lowers_a_stricter_level_set_elsewhere() -> None:
    logging.getLogger("opensearch").setLevel(logging.ERROR)  # as streams/log_limits.py does in the worker
    logs.setup("info", "json", verbose=False, stream=io.StringIO())
    assert logging.getLogger("opensearch").level == logging.ERROR


class Feeds(QuietHandler):
    def do_GET(self) -> None:
        if self.path == "/ok.xml":
            self.send_body(200, "application/rss+xml", b"""<?xml version="1.0"?><rss version="2.0"><channel>
<title>t</title><link>https://example.org/</link><description>d</description>
<item><title>One</title><link>https://example.org/1</link><description>One.</description></item>
</channel></rss>""")
        else:
            self.send_body(404, "text/plain", b"no")


def test_the_poller_logs_each_feed_as_a_field_without_its_credentials(tmp_path: Path) -> None:
    out = io.StringIO()
    logs.setup("debug", "json", verbose=False, stream=out)
    server, base = serve(Feeds)
    try:
        secret_base = base.replace("http://", f"http://reader:{SECRET}@")
        registry = FeedRegistry(tmp_path / "registry.sqlite3")
        registry.add([f"{secret_base}/ok.xml", f"{secret_base}/missing.xml"])

        async def produce(article: Article) -> None:
            pass

        async def run() -> None:
            fetcher = FeedFetcher(user_agent="newsdesk-tests/0.1", timeout_s=10, max_bytes=1 << 20,
                                  allow_private_addresses=True)
            try:
                await FeedPoller(registry, fetcher, produce, policy=SchedulePolicy(jitter=0.0)).run_once()
            finally:
                await fetcher.aclose()

        asyncio.run(run())
        registry.close()
    finally:
        server.shutdown()
    assert SECRET not in out.getvalue()
    events = [e for e in json_lines(out.getvalue()) if e["logger"] == "connectors.rss.poller"]
    by_feed = {e["feed_url"]: e for e in events if "feed_url" in e}
    assert "produced 1 new" in by_feed[f"{base}/ok.xml"]["event"]
    assert "404" in by_feed[f"{base}/missing.xml"]["event"]


def test_the_faust_worker_logs_json_lines_through_the_same_formatter(tmp_path: Path) -> None:
    """A real worker process that cannot reach its broker: it starts, fails and stops, all in JSON on stderr,
    and its text banner is not printed in JSON mode."""
    env = {**os.environ, "NEWSDESK_DATA_DIR": str(tmp_path), "NEWSDESK_KAFKA_BOOTSTRAP": "127.0.0.1:1",
           "NEWSDESK_ELASTICSEARCH_URL": "http://127.0.0.1:1", "NEWSDESK_METRICS_PORT": "0"}
    env.pop("NEWSDESK_LOG_FORMAT", None)
    done = subprocess.run([sys.executable, "-m", "streams.worker", "worker", "--loglevel", "info", "--without-web"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode != 0
    assert done.stdout == ""  # no banner
    events = json_lines(done.stderr)  # every line is JSON
    assert {"[^Worker]: Starting...", "[^Worker]: Stopping..."} <= {e["event"] for e in events}
    assert any(e["level"] == "error" and "exception" in e for e in events)
