"""`newsdesk feeds add` checks each URL before storing any (issue 18): a typo, a malformed URL or a feed on a
private address is refused at once with one line saying why, instead of becoming a feed that fails every poll."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsdesk.cli import app


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("NEWSDESK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "80")  # rich's width when not on a terminal: messages must not wrap at it
    for name in ("NEWSDESK_ALLOW_PRIVATE_ADDRESSES", "NEWSDESK_FETCH_ALLOWED_HOSTS", "NEWSDESK_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()


def stored(cli: CliRunner) -> list[str]:
    result = cli.invoke(app, ["feeds", "list", "--json"])
    assert result.exit_code == 0, result.output
    return [json.loads(line)["url"] for line in result.stdout.splitlines()]


@pytest.mark.parametrize(("url", "reason"), [
    ("http://", "no host"),
    ("https:///feed.xml", "no host"),
    ("http://[::1", "malformed"),
    ("http://example.org:99999/rss", "malformed"),
    ("http://example.org/my feed.xml", "contains a space"),
    ("http://example.org/\tfeed", "contains a space or a control character"),
    ("ftp://example.org/rss", "not an http(s) URL"),
    ("example.org/rss", "not an http(s) URL"),
])
def test_a_malformed_url_is_refused_with_one_line_saying_why(cli: CliRunner, url: str, reason: str) -> None:
    result = cli.invoke(app, ["feeds", "add", "https://good.example.org/rss", url])
    assert result.exit_code == 2, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith(f"refused {url!r}: ") and reason in line
    assert stored(cli) == []  # nothing added, not even the good one


def test_the_scheme_is_case_insensitive_and_stored_in_lower_case(cli: CliRunner) -> None:
    result = cli.invoke(app, ["feeds", "add", "HTTP://Example.com/Feed.xml", " Https://example.org/rss "])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["added: http://Example.com/Feed.xml", "added: https://example.org/rss"]
    assert stored(cli) == ["http://Example.com/Feed.xml", "https://example.org/rss"]
    again = cli.invoke(app, ["feeds", "add", "http://Example.com/Feed.xml"])
    assert again.stdout.strip() == "already present: http://Example.com/Feed.xml"


@pytest.mark.parametrize(("url", "kind"), [
    ("http://127.0.0.1:8080/feed", "loopback"),
    ("http://localhost/feed", "loopback"),  # a name: resolved at add time
    ("http://10.1.2.3/rss", "private"),
    ("http://[::1]:8080/rss", "loopback"),
    ("http://169.254.169.254/latest/meta-data", "link-local"),
])
def test_a_feed_on_a_private_address_is_refused_unless_allowed(cli: CliRunner, monkeypatch: pytest.MonkeyPatch,
                                                               url: str, kind: str) -> None:
    result = cli.invoke(app, ["feeds", "add", url])
    assert result.exit_code == 2, result.output
    [line] = result.stderr.splitlines()
    assert f"{kind} address" in line and "NEWSDESK_ALLOW_PRIVATE_ADDRESSES=1" in line
    assert stored(cli) == []

    monkeypatch.setenv("NEWSDESK_ALLOW_PRIVATE_ADDRESSES", "1")
    result = cli.invoke(app, ["feeds", "add", url])
    assert result.exit_code == 0 and result.stdout.strip() == f"added: {url}", result.output
    assert stored(cli) == [url]


def test_an_exactly_allowed_host_and_port_may_be_private(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSDESK_FETCH_ALLOWED_HOSTS", '["127.0.0.1:8080"]')
    assert cli.invoke(app, ["feeds", "add", "http://127.0.0.1:8080/feed"]).exit_code == 0
    assert cli.invoke(app, ["feeds", "add", "http://127.0.0.1:8081/feed"]).exit_code == 2  # another port: not
    assert stored(cli) == ["http://127.0.0.1:8080/feed"]


def test_a_name_that_does_not_resolve_now_is_added_with_a_warning(cli: CliRunner) -> None:
    url = "https://feeds.newsdesk-test.invalid/rss"  # .invalid never resolves (RFC 6761)
    result = cli.invoke(app, ["feeds", "add", url])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"added: {url}"
    [warning] = result.stderr.splitlines()
    assert warning.startswith("warning: ") and "cannot resolve feeds.newsdesk-test.invalid" in warning
    assert stored(cli) == [url]


def test_a_long_refusal_is_one_line_and_shows_no_credentials(cli: CliRunner) -> None:
    url = "http://reader:hunter2@192.168.10.20/" + "very-long-path/" * 8 + "feed.xml"
    result = cli.invoke(app, ["feeds", "add", url])
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()  # not folded at 80 columns
    assert len(line) > 160 and "private address" in line
    assert "hunter2" not in result.output and "reader" not in result.output
