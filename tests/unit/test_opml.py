"""OPML import/export and the `newsdesk feeds` commands (SQLite registry in a temporary data dir)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.rss.opml import OpmlError, export_opml, parse_opml
from connectors.rss.registry import FeedRegistry
from newsdesk.cli import app

READER_EXPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>Subscriptions from another reader</title></head>
  <body>
    <outline text="News" title="News">
      <outline text="Italy">
        <outline type="rss" text="ANSA" title="ANSA" xmlUrl="https://www.ansa.it/sito/ansait_rss.xml"
                 htmlUrl="https://www.ansa.it" language="it-IT"/>
      </outline>
      <outline type="rss" text="World" xmlUrl="https://feeds.example.org/world.xml"
               category="/Politics/Europe,science"/>
    </outline>
    <outline text="Tech" title="Tech">
      <outline type="rss" text="World again" xmlUrl="https://feeds.example.org/world.xml"/>
    </outline>
    <outline type="rss" text="Top level" xmlurl="http://top.example.com/rss"/>
    <outline type="rss" text="No URL"/>
    <outline type="rss" text="Not http" xmlUrl="file:///etc/passwd"/>
    <outline type="link" text="A plain link" url="https://example.org"/>
  </body>
</opml>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<opml version="2.0"><head/><body><outline text="&lol4;" xmlUrl="https://x.example/rss"/></body></opml>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<opml version="2.0"><head/><body><outline text="&secret;" xmlUrl="https://x.example/rss"/></body></opml>"""


def test_import_reads_other_readers_folders_categories_and_languages() -> None:
    feeds, skipped = parse_opml(READER_EXPORT)
    by_url = {f.url: f for f in feeds}
    assert list(by_url) == ["https://www.ansa.it/sito/ansait_rss.xml", "https://feeds.example.org/world.xml",
                            "http://top.example.com/rss"]
    ansa = by_url["https://www.ansa.it/sito/ansait_rss.xml"]
    assert (ansa.title, ansa.language, ansa.tags) == ("ANSA", "it", ["News", "Italy"])
    world = by_url["https://feeds.example.org/world.xml"]
    assert world.tags == ["News", "Politics", "Europe", "science", "Tech"]  # both folders, and the categories
    assert by_url["http://top.example.com/rss"].tags == []
    assert all(f.enabled and not f.full_text and f.interval_s is None for f in feeds)
    assert len(skipped) == 2 and "no xmlUrl" in skipped[0] and "not an http(s) feed URL" in skipped[1]


@pytest.mark.parametrize(("data", "message"), [
    (BILLION_LAUGHS, "refused"),
    (EXTERNAL_ENTITY, "refused"),
    (b"<opml><body><outline", "not well-formed"),
    (b"<rss version='2.0'><channel/></rss>", "not OPML: the root element is <rss>"),
    (b"<opml version='2.0'><head/></opml>", "no <body>"),
    (b"", "not well-formed"),
])
def test_hostile_or_broken_opml_is_refused_with_a_reason(data: bytes, message: str) -> None:
    with pytest.raises(OpmlError, match=message):
        parse_opml(data)


def test_export_is_opml_2_and_round_trips_every_setting(tmp_path: Path) -> None:
    registry = FeedRegistry(tmp_path / "one.sqlite3")
    registry.add(["https://a.example.org/rss"], title="A & B <news>", interval_s=900, language="it", full_text=True,
                 tags=["politics", "italy"])
    registry.add(["https://b.example.org/atom"])
    registry.add(["https://c.example.org/feed?x=1&y=2"], tags=["tech/ai", "a,b"], interval_s=90.5)
    registry.disable("https://b.example.org/atom")
    first = export_opml(registry.list())
    assert first.startswith(b"<?xml version='1.0' encoding='utf-8'?>\n<opml")
    assert b'version="2.0"' in first and b"<dateCreated>" in first

    feeds, skipped = parse_opml(first)
    assert not skipped
    copy = FeedRegistry(tmp_path / "two.sqlite3")
    for feed in feeds:
        copy.add([feed.url], title=feed.title, interval_s=feed.interval_s, language=feed.language,
                 full_text=feed.full_text, tags=feed.tags, enabled=feed.enabled)
    fixed = {"now": None}
    assert _without_date(export_opml(copy.list(), **fixed)) == _without_date(first)
    a, b, c = copy.list()
    assert (a.title, a.interval_s, a.language, a.full_text, a.tags) == ("A & B <news>", 900, "it", True,
                                                                        ["politics", "italy"])
    assert not b.enabled and b.title is None
    assert c.url == "https://c.example.org/feed?x=1&y=2" and c.tags == ["tech ai", "a b"] and c.interval_s == 90.5


def _without_date(data: bytes) -> bytes:
    return b"\n".join(line for line in data.splitlines() if b"dateCreated" not in line)


# -- the CLI -----------------------------------------------------------------------------------------------------

@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("NEWSDESK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "250")  # rich's table width when not on a terminal
    return CliRunner()


def feeds_json(cli: CliRunner) -> dict[str, dict]:
    result = cli.invoke(app, ["feeds", "list", "--json"])
    assert result.exit_code == 0, result.output
    return {f["url"]: f for f in map(json.loads, result.stdout.splitlines())}


def test_feeds_commands(cli: CliRunner, tmp_path: Path) -> None:
    a, b = "https://a.example.org/rss", "https://b.example.org/rss"
    result = cli.invoke(app, ["feeds", "add", a, b, "--interval", "600", "--language", "IT", "--full-text",
                              "--tag", "news", "--tag", "italy"])
    assert result.exit_code == 0 and result.stdout.splitlines() == [f"added: {a}", f"added: {b}"]
    assert cli.invoke(app, ["feeds", "add", a]).stdout.strip() == f"already present: {a}"
    assert "settings updated" in cli.invoke(app, ["feeds", "add", a, "--tag", "world"]).stdout
    assert cli.invoke(app, ["feeds", "add", "ftp://x.example/"]).exit_code == 2
    cli.invoke(app, ["feeds", "add", a, "--interval", "300", "--full-text"])
    assert (feeds_json(cli)[a]["interval_s"], feeds_json(cli)[a]["full_text"]) == (300, True)
    cli.invoke(app, ["feeds", "add", a, "--interval", "0", "--no-full-text"])  # back to adaptive, no full text
    assert (feeds_json(cli)[a]["interval_s"], feeds_json(cli)[a]["full_text"]) == (None, False)

    state = feeds_json(cli)
    assert state[a]["tags"] == ["world"] and state[b]["tags"] == ["news", "italy"]
    assert (state[b]["interval_s"], state[b]["language"], state[b]["full_text"]) == (600, "it", True)
    assert state[a]["enabled"] and state[a]["state"] == "enabled"

    assert cli.invoke(app, ["feeds", "disable", a, "--reason", "too noisy"]).exit_code == 0
    state = feeds_json(cli)
    assert not state[a]["enabled"] and state[a]["disabled_reason"] == "too noisy" and state[a]["state"] == "disabled"
    table = cli.invoke(app, ["feeds", "list"]).stdout
    assert "disabled: too noisy" in table and "#news" in table
    assert cli.invoke(app, ["feeds", "enable", a]).exit_code == 0
    assert feeds_json(cli)[a]["enabled"]

    exported = cli.invoke(app, ["feeds", "export"]).stdout_bytes
    (tmp_path / "feeds.opml").write_bytes(exported)
    assert cli.invoke(app, ["feeds", "remove", a, b]).exit_code == 0
    assert feeds_json(cli) == {}
    assert cli.invoke(app, ["feeds", "remove", a]).exit_code == 1
    result = cli.invoke(app, ["feeds", "import", str(tmp_path / "feeds.opml")])
    assert result.exit_code == 0 and "2 feeds added, 0 already present" in result.stdout
    assert _without_date(cli.invoke(app, ["feeds", "export"]).stdout_bytes) == _without_date(exported)
    again = cli.invoke(app, ["feeds", "import", str(tmp_path / "feeds.opml")])
    assert "0 feeds added, 2 already present" in again.stdout

    (tmp_path / "bomb.opml").write_bytes(BILLION_LAUGHS)
    result = cli.invoke(app, ["feeds", "import", str(tmp_path / "bomb.opml")])
    assert result.exit_code == 1 and "refused" in result.stderr
    assert cli.invoke(app, ["feeds", "import", str(tmp_path / "missing.opml")]).exit_code == 1


def test_a_feed_disabled_after_failures_shows_why(cli: CliRunner, tmp_path: Path) -> None:
    url = "https://dead.example.org/rss"
    cli.invoke(app, ["feeds", "add", url])
    registry = FeedRegistry(tmp_path / "data" / "newsdesk.sqlite3")
    for _ in range(3):
        registry.record_failure(url, "HTTP 503", disable_after=3)
    state = feeds_json(cli)[url]
    assert state["state"] == "disabled" and state["consecutive_failures"] == 3 and state["last_error"] == "HTTP 503"
    assert state["disabled_reason"] == "disabled after 3 consecutive failures; last: HTTP 503"
    assert "disabled after 3 consecutive" in cli.invoke(app, ["feeds", "list"]).stdout
