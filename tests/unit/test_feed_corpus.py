"""feedparser's own conformance corpus (2,106 feeds, vendored in tests/fixtures/feedparser-tests) through parse_feed.

For every file: parse_feed never raises; every entry feedparser finds in the same bytes becomes an article or a
counted rejection; and when the fast lxml path took the file, its articles are identical to those built from
feedparser's entries (the fast path must never change what the connector produces, only how fast).
The corpus is part of the repository (BSD-2-Clause, its LICENSE beside it); without it these tests fail, they
do not skip.

Run with `-s` to see the totals (files, entries, articles, rejections by reason, which parser took how many).
"""

from __future__ import annotations

import codecs
import json
import re
from collections import Counter
from datetime import UTC, datetime

import feedparser
import pytest

from connectors.rss.parse import NO_ID, ParsedFeed, parse_feed
from tests.conftest import FEED_CORPUS

CORPUS = FEED_CORPUS
EXPECTED_XML_FILES = 2106
FETCHED_AT = datetime(2026, 1, 1, tzinfo=UTC)
_HEADER = re.compile(r"^Header:\s+([^:]+):(.*)$", re.MULTILINE)
_BOMS = [(codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF8, "utf-8"),
         (codecs.BOM_UTF16_BE, "utf-16-be"), (codecs.BOM_UTF16_LE, "utf-16-le")]
_NO_BOM = [(b"\x00\x00\x00<", "utf-32-be"), (b"<\x00\x00\x00", "utf-32-le"), (b"\x00<\x00?", "utf-16-be"),
           (b"<\x00?\x00", "utf-16-le")]


def _index() -> list[str]:
    if not (CORPUS / "INDEX.tsv").is_file():
        return []
    rows = (CORPUS / "INDEX.tsv").read_text("utf-8").splitlines()[1:]
    return [row.split("\t", 1)[0] for row in rows if row.strip()]


FILES = _index()
_results: dict[str, tuple[ParsedFeed, int]] = {}


def _decoded(data: bytes) -> str:
    """The text of a test file, decoded as feedparser's tests/helpers.get_file_contents does, to read its
    header comment (the bytes themselves go to the parser untouched)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom):].decode(encoding, "replace")
    for head, encoding in _NO_BOM:
        if data.startswith(head):
            return data.decode(encoding, "replace")
    return data.decode("utf-8", "replace")


def _case(path: str) -> tuple[bytes, dict[str, str], str]:
    data = (CORPUS / path).read_bytes()
    headers = {name.strip(): value.strip() for name, value in _HEADER.findall(_decoded(data))}
    return data, headers, f"http://127.0.0.1:8097/{path}"  # where feedparser's tests serve it


def _reason(rejection: str) -> str:
    return rejection.split(": ", 1)[-1]


def _comparable(parsed: ParsedFeed) -> list[dict]:
    return [a.model_dump() for a in parsed.articles]


def _run(path: str) -> tuple[ParsedFeed, int]:
    if path not in _results:
        data, headers, url = _case(path)
        parsed = parse_feed(data, feed_url=url, headers=headers, fetched_at=FETCHED_AT)
        expected = len(feedparser.parse(data, response_headers=headers).entries)
        _results[path] = (parsed, expected)
    return _results[path]


def test_corpus_is_present() -> None:
    assert CORPUS.is_dir(), f"feedparser corpus missing: {CORPUS} (vendored in tests/fixtures/feedparser-tests, BSD-2)"
    assert len(FILES) == EXPECTED_XML_FILES
    assert all((CORPUS / path).is_file() for path in FILES)


@pytest.mark.parametrize("path", FILES or ["<corpus missing>"])
def test_every_entry_becomes_an_article_or_a_counted_rejection(path: str) -> None:
    assert FILES, f"feedparser corpus missing: {CORPUS}"
    parsed, expected = _run(path)
    assert len(parsed.articles) + len(parsed.rejected) == expected, (parsed.rejected, parsed.problem)
    for article in parsed.articles:
        assert article.id and len(article.id) == 32
        assert article.fetched_at == FETCHED_AT
        assert article.published_at is None or article.published_at <= FETCHED_AT
        assert (article.published_at is None) == (article.date_status == "missing")
        assert article.text_source in ("content", "summary", "title")
        assert "<script" not in article.content_html.lower()
    if parsed.parser == "lxml":  # the fast path must produce exactly what the feedparser path produces
        data, headers, url = _case(path)
        slow = parse_feed(data, feed_url=url, headers=headers, fetched_at=FETCHED_AT, fast=False)
        assert slow.parser == "feedparser"
        assert _comparable(parsed) == _comparable(slow)
        assert (parsed.title, parsed.language, parsed.ttl_s) == (slow.title, slow.language, slow.ttl_s)
        assert slow.rejected == parsed.rejected


def test_json_feed_example() -> None:
    data = (CORPUS / "json" / "example.json").read_bytes()
    parsed = parse_feed(data, feed_url="https://example.org/feed.json", fetched_at=FETCHED_AT)
    items = json.loads(data)["items"]
    assert parsed.parser == "json" and parsed.version == "json1" and parsed.title == "My Example Feed"
    assert len(parsed.articles) + len(parsed.rejected) == len(items) == 2
    second, first = parsed.articles
    assert second.url == "https://example.org/second-item" and second.guid == "2"
    assert second.text == "This is a second item." and second.categories == ["test", "JSON"]
    assert [(e.url, e.type, e.length) for e in second.enclosures] == [
        ("https://example.org/second-item-show.mp4", "video/mp4", 12000000)]
    assert first.text == "Hello, world!" and "<script" not in first.content_html
    assert first.authors == ["you"] and first.date_status == "missing"


def test_corpus_totals() -> None:
    """The counts for the issue note; each file's own test has already checked its invariant."""
    assert FILES, f"feedparser corpus missing: {CORPUS}"
    entries = articles = 0
    reasons: Counter[str] = Counter()
    parsers: Counter[str] = Counter()
    problems = not_feeds = 0
    for path in FILES:
        parsed, expected = _run(path)
        entries += expected
        articles += len(parsed.articles)
        reasons.update(_reason(r) for r in parsed.rejected)
        parsers[parsed.parser] += 1
        problems += parsed.problem is not None
        not_feeds += bool(parsed.problem and parsed.problem.startswith("not a feed"))
    rejected = sum(reasons.values())
    print(f"\nfeedparser corpus: {len(FILES)} files, {entries} entries (feedparser's count), {articles} articles, "
          f"{rejected} rejections; parsers {dict(parsers)}; {problems} files with a problem noted "
          f"({not_feeds} 'not a feed')")
    for reason, count in reasons.most_common():
        print(f"  rejected {count}x: {reason}")
    assert articles + rejected == entries
    # The only acceptable reason in this corpus: entries that carry nothing but markup without text (the
    # sanitiser tests), a date, an author, a category... Any other reason would be a bug in normalising.
    assert set(reasons) <= {NO_ID}
    assert articles > 550
