"""A feed URL with credentials (issue 18, defect 5): fetched with them (basic auth), shown, logged, exported and
stored in articles without them; article ids unchanged."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from connectors.rss.fetch import FeedFetcher
from connectors.rss.parse import parse_feed
from connectors.rss.poller import FeedPoller
from connectors.rss.redact import has_credentials, redact_url, resolve, scrub
from connectors.rss.registry import FeedRegistry
from connectors.rss.schedule import SchedulePolicy
from streams.records import Article
from tests.loopback import QuietHandler, serve

SECRET = "s3cr3t-pa55"


@pytest.mark.parametrize(("url", "shown"), [
    ("http://user:secret@host/feed.xml", "http://host/feed.xml"),
    ("https://user:secret@host:8443/a/b?x=1#f", "https://host:8443/a/b?x=1#f"),
    ("http://user@host/feed.xml", "http://host/feed.xml"),
    ("http://user:p@ss@host/feed.xml", "http://host/feed.xml"),  # an unescaped @ in the password
    ("http://:secret@[::1]:8080/feed", "http://[::1]:8080/feed"),
    ("http://host/feed.xml", "http://host/feed.xml"),
    ("http://host/path@x", "http://host/path@x"),  # an @ in the path is not user info
    ("not a url", "not a url"),
])
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert has_credentials(url) == (url != shown)


def test_scrub_removes_user_info_from_every_url_in_a_message() -> None:
    message = "refused: URL 'ftp://u:secret@h/x' -> https://a:b@c.example/y and http://plain/z (mail@example.org)"
    assert scrub(message) == "refused: URL 'ftp://h/x' -> https://c.example/y and http://plain/z (mail@example.org)"


def test_a_feed_can_be_named_as_listed() -> None:
    stored = ["http://u:p@host/feed.xml", "http://other/rss", "http://a:1@dup/x", "http://b:2@dup/x"]
    assert resolve(["http://host/feed.xml", "http://other/rss", "http://u:p@host/feed.xml", "http://dup/x",
                    "http://unknown/"], stored) == [
        "http://u:p@host/feed.xml", "http://other/rss", "http://u:p@host/feed.xml", "http://dup/x", "http://unknown/"]


RSS = b"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Private feed</title>
<link>/</link><description>d</description>
<item><title>Relative link</title><link>/news/1.html</link><description>One.</description></item>
<item><title>Absolute link</title><link>https://news.example.org/2</link><description>Two.</description></item>
<item><title>Only a guid</title><guid isPermaLink="false">tag:example,2026:3</guid><description>3</description></item>
</channel></rss>"""


class AuthFeed(QuietHandler):
    authorizations: list[str | None] = []

    def do_GET(self) -> None:
        auth = self.headers.get("Authorization")
        type(self).authorizations.append(auth)
        if auth != "Basic " + base64.b64encode(f"reader:{SECRET}".encode()).decode():
            self.send_body(401, "text/plain", b"who are you?", {"WWW-Authenticate": 'Basic realm="feeds"'})
            return
        self.send_body(200, "application/rss+xml", RSS)


def test_a_feed_with_credentials_is_fetched_with_them_and_stored_without(tmp_path: Path,
                                                                          caplog: pytest.LogCaptureFixture) -> None:
    server, base = serve(AuthFeed)
    AuthFeed.authorizations = []
    try:
        feed_url = base.replace("http://", f"http://reader:{SECRET}@") + "/feed.xml"
        wrong = base.replace("http://", "http://reader:wrong-password@") + "/other.xml"
        registry = FeedRegistry(tmp_path / "registry.sqlite3")
        registry.add([feed_url, wrong])
        produced: list[Article] = []

        async def produce(article: Article) -> None:
            produced.append(article)

        async def run() -> None:
            fetcher = FeedFetcher(user_agent="newsdesk-tests/0.1", timeout_s=10, max_bytes=1 << 20,
                                  allow_private_addresses=True)
            poller = FeedPoller(registry, fetcher, produce, policy=SchedulePolicy(jitter=0.0))
            try:
                await poller.run_once()
            finally:
                await fetcher.aclose()

        with caplog.at_level(logging.DEBUG):
            asyncio.run(run())
    finally:
        server.shutdown()

    assert "Basic " + base64.b64encode(f"reader:{SECRET}".encode()).decode() in AuthFeed.authorizations
    assert len(produced) == 3
    shown = f"{base}/feed.xml"
    for article in produced:
        assert article.feed_url == shown
        assert SECRET not in article.model_dump_json()
    assert {a.link for a in produced} >= {f"{base}/news/1.html", "https://news.example.org/2"}
    # the ids are those of the same feed without credentials: dedup across the change holds
    plain = parse_feed(RSS, feed_url=shown)
    assert sorted(a.id for a in produced) == sorted(a.id for a in plain.articles)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert shown in logged and SECRET not in logged and "wrong-password" not in logged
    feeds = {f.url: f for f in registry.list()}
    assert feeds[wrong].last_error and "401" in feeds[wrong].last_error  # the stored URL keeps its credentials
    registry.close()


def test_an_error_quoting_the_url_is_scrubbed() -> None:
    async def run() -> Any:
        fetcher = FeedFetcher(user_agent="newsdesk-tests/0.1", timeout_s=5, max_bytes=1 << 20)
        try:
            return await fetcher.fetch(f"ftp://reader:{SECRET}@example.org/feed.xml")
        finally:
            await fetcher.aclose()

    result = asyncio.run(run())
    assert result.error and "ftp://example.org/feed.xml" in result.error and SECRET not in result.error


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NEWSDESK_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "newsdesk.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_feeds_list_and_export_never_show_the_credentials(tmp_path: Path) -> None:
    url = f"http://reader:{SECRET}@feeds.example.org/private.xml"
    added = cli(tmp_path, "feeds", "add", url, "https://public.example.org/rss")
    assert added.returncode == 0, added.stderr
    assert SECRET not in added.stdout + added.stderr
    listed = cli(tmp_path, "feeds", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    urls = [json.loads(line)["url"] for line in listed.stdout.splitlines()]
    assert sorted(urls) == ["http://feeds.example.org/private.xml", "https://public.example.org/rss"]
    table = cli(tmp_path, "feeds", "list")
    assert "feeds.example.org/private.xml" in table.stdout and SECRET not in table.stdout
    exported = cli(tmp_path, "feeds", "export")
    assert 'xmlUrl="http://feeds.example.org/private.xml"' in exported.stdout and SECRET not in exported.stdout
    # the URL as listed names the feed
    disabled = cli(tmp_path, "feeds", "disable", "http://feeds.example.org/private.xml")
    assert disabled.returncode == 0, disabled.stderr
    states = {json.loads(line)["url"]: json.loads(line)["state"]
              for line in cli(tmp_path, "feeds", "list", "--json").stdout.splitlines()}
    assert states["http://feeds.example.org/private.xml"] == "disabled"
    registry = FeedRegistry(tmp_path / "registry.sqlite3") if (tmp_path / "registry.sqlite3").exists() else None
    if registry is not None:  # the stored URL keeps the credentials: they are needed to fetch it
        assert url in [f.url for f in registry.list()]
        registry.close()


class Redirecting(QuietHandler):
    seen: list[tuple[str, str | None]] = []

    def do_GET(self) -> None:
        type(self).seen.append((self.path, self.headers.get("Authorization")))
        port = self.server.server_address[1]
        if self.path == "/feed.xml":
            self.send_body(302, "text/plain", b"", {"Location": "/moved.xml"})
        elif self.path == "/moved.xml":  # same origin: the credentials follow; another origin: they do not
            self.send_body(302, "text/plain", b"", {"Location": f"http://localhost:{port}/elsewhere.xml"})
        else:
            self.send_body(200, "application/rss+xml", RSS)


def test_credentials_follow_a_redirect_only_within_the_origin() -> None:
    server, base = serve(Redirecting)
    Redirecting.seen = []

    async def run() -> Any:
        fetcher = FeedFetcher(user_agent="newsdesk-tests/0.1", timeout_s=10, max_bytes=1 << 20,
                              allow_private_addresses=True)
        try:
            return await fetcher.fetch(base.replace("http://", f"http://reader:{SECRET}@") + "/feed.xml")
        finally:
            await fetcher.aclose()

    try:
        result = asyncio.run(run())
    finally:
        server.shutdown()
    assert result.error is None and result.status == 200
    authorization = "Basic " + base64.b64encode(f"reader:{SECRET}".encode()).decode()
    assert Redirecting.seen == [("/feed.xml", authorization), ("/moved.xml", authorization), ("/elsewhere.xml", None)]
    assert SECRET not in (result.final_url or "")
