"""What the CLI prints where (issue 18): plain lines in a pipe, bars and tables on a terminal, and one line,
not a traceback, when a second `newsdesk up` finds its ports taken."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsdesk.cli import app
from tests.conftest import ROOT

LONG_URL = "http://127.0.0.1:8080/" + "a-rather-long-path-segment/" * 4 + "feed.xml"
OPML = b"""<?xml version="1.0"?><opml version="2.0"><head><title>x</title></head><body>
<outline type="rss" text="A" xmlUrl="https://a.example.org/rss"/>
<outline type="rss" text="B" xmlUrl="https://b.example.org/rss"/>
</body></opml>"""


def env(tmp_path: Path, **extra: str) -> dict[str, str]:
    base = {key: value for key, value in os.environ.items()
            if not key.startswith("NEWSDESK_") and key not in ("JAVA_HOME", "COLUMNS")}
    return {**base, "NEWSDESK_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "80", **extra}


def newsdesk(tmp_path: Path, *args: str, timeout_s: float = 60, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "newsdesk.cli", *args], cwd=ROOT, env=env(tmp_path, **extra),
                          capture_output=True, text=True, timeout=timeout_s, check=False)


def on_a_terminal(tmp_path: Path, *args: str) -> tuple[str, str]:
    """Run with stderr on a pseudo-terminal (stdout piped); returns (stdout, what the terminal showed)."""
    primary, secondary = os.openpty()
    process = subprocess.Popen([sys.executable, "-m", "newsdesk.cli", *args], cwd=ROOT, env=env(tmp_path),
                               stdout=subprocess.PIPE, stderr=secondary, stdin=subprocess.DEVNULL)
    os.close(secondary)
    shown = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not chunk:
            break
        shown += chunk
    os.close(primary)
    assert process.stdout is not None
    stdout = process.stdout.read().decode()
    assert process.wait(30) == 0
    return stdout, shown.decode(errors="replace")


# -- feeds list ---------------------------------------------------------------------------------------------------

def test_feeds_list_in_a_pipe_prints_whole_urls_one_feed_per_line(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSDESK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("NEWSDESK_ALLOW_PRIVATE_ADDRESSES", "1")
    cli = CliRunner()
    assert cli.invoke(app, ["feeds", "add", LONG_URL, "--tag", "local", "--language", "it"]).exit_code == 0
    assert cli.invoke(app, ["feeds", "disable", LONG_URL, "--reason", "too\nnoisy"]).exit_code == 0
    result = cli.invoke(app, ["feeds", "list"])
    assert result.exit_code == 0
    header, line = result.stdout.splitlines()
    assert header.split("\t")[:4] == ["feed", "title", "settings", "state"]
    fields = line.split("\t")
    assert len(fields) == len(header.split("\t"))
    assert fields[0] == LONG_URL and fields[2] == "lang it #local" and fields[3] == "disabled: too noisy"
    assert "│" not in result.stdout  # no table borders in a pipe


# -- progress bars ------------------------------------------------------------------------------------------------

def test_opml_import_shows_a_progress_bar_on_a_terminal_only(tmp_path: Path) -> None:
    (tmp_path / "feeds.opml").write_bytes(OPML)
    piped = newsdesk(tmp_path, "feeds", "import", str(tmp_path / "feeds.opml"))
    assert piped.returncode == 0 and piped.stdout == "2 feeds added, 0 already present, 0 outlines skipped\n"
    assert "importing" not in piped.stderr and "\x1b" not in piped.stderr  # nothing drawn into a pipe

    stdout, shown = on_a_terminal(tmp_path, "feeds", "import", str(tmp_path / "feeds.opml"))
    assert stdout == "0 feeds added, 2 already present, 0 outlines skipped\n"
    assert "importing feeds" in shown and "2/2" in shown


# -- a second `newsdesk up` ----------------------------------------------------------------------------------------

@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port held by a listening socket, as a running `newsdesk up` holds its own."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def assert_one_line_refusal(done: subprocess.CompletedProcess[str], port: int) -> None:
    assert done.returncode == 1
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert f"port {port} is in use: is another newsdesk up running?" in line
    assert "Traceback" not in done.stderr


def test_up_refuses_a_taken_api_port_with_one_line(tmp_path: Path, taken_port: int) -> None:
    # cluster addresses: no engine of its own to start; unreachable, so getting past the check would not work
    done = newsdesk(tmp_path, "up", NEWSDESK_API_PORT=str(taken_port), NEWSDESK_KAFKA_BOOTSTRAP="127.0.0.1:1",
                    NEWSDESK_ELASTICSEARCH_URL="http://127.0.0.1:1", NEWSDESK_LOG_FORMAT="console")
    assert_one_line_refusal(done, taken_port)


def test_up_checks_the_ports_before_starting_any_engine(tmp_path: Path, taken_port: int) -> None:
    """The embedded Kafka's port is taken: `up` says so before it looks for Java, resolves jars or formats storage
    (a JVM started anyway would fail to bind while its readiness check answered from the other run's broker)."""
    started = time.monotonic()
    done = newsdesk(tmp_path, "up", NEWSDESK_EMBEDDED_KAFKA_PORT=str(taken_port),
                    NEWSDESK_EMBEDDED_KAFKA_CONTROLLER_PORT=str(free_port()),
                    NEWSDESK_EMBEDDED_OPENSEARCH_PORT=str(free_port()), NEWSDESK_API_PORT=str(free_port()),
                    PATH=str(tmp_path / "no-java-here"))  # past the check, a missing `java` would be the error
    assert_one_line_refusal(done, taken_port)
    assert time.monotonic() - started < 30
    assert not (tmp_path / "data" / "kafka").exists()  # nothing prepared


def test_the_refusal_is_a_json_line_when_stderr_is_a_file(tmp_path: Path, taken_port: int) -> None:
    import json

    done = newsdesk(tmp_path, "up", NEWSDESK_API_PORT=str(taken_port), NEWSDESK_KAFKA_BOOTSTRAP="127.0.0.1:1",
                    NEWSDESK_ELASTICSEARCH_URL="http://127.0.0.1:1")
    assert_one_line_refusal(done, taken_port)
    event = json.loads(done.stderr)
    assert (event["level"], event["port"], event["service"]) == ("error", taken_port, "search API")
