"""Feed bytes -> normalised Article records. Pure: no network, no Kafka; used by the poller and `parse-feed`."""

from __future__ import annotations

import calendar
import hashlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import feedparser

from connectors.rss.canonical import article_id, canonical_url
from streams.records import Article

log = logging.getLogger(__name__)

_BLOCK_TAGS = frozenset(
    "p div br li ul ol h1 h2 h3 h4 h5 h6 blockquote pre tr table section article header footer".split()
)
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template"})


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Plain text with paragraph breaks kept, whitespace inside paragraphs collapsed."""
    if "<" not in html and "&" not in html:
        return " ".join(html.split())
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    paragraphs = (" ".join(chunk.split()) for chunk in "".join(extractor.parts).split("\n"))
    return "\n\n".join(p for p in paragraphs if p)


@dataclass
class ParsedFeed:
    articles: list[Article] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # one reason per entry that could not become an article
    title: str = ""
    language: str | None = None
    problem: str | None = None  # feedparser's bozo reason, kept even when entries were salvaged


def _timestamp(entry: Any, key: str) -> datetime | None:
    parsed = dict.get(entry, f"{key}_parsed")  # plain dict.get: no feedparser updated->published alias
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    except (OverflowError, ValueError, TypeError):
        return None


def _richest_html(entry: Any) -> str:
    contents = [c.get("value", "") for c in entry.get("content") or [] if c.get("value")]
    if contents:
        return max(contents, key=len)
    return entry.get("summary", "") or ""


def _entry_link(entry: Any) -> str | None:
    link = entry.get("link")
    if link:
        return str(link)
    guid = entry.get("id")
    if guid and entry.get("guidislink") and canonical_url(guid):
        return str(guid)
    return None


def normalise_entry(entry: Any, *, feed_url: str, feed_title: str, feed_language: str | None,
                    fetched_at: datetime) -> Article:
    link = _entry_link(entry)
    guid = entry.get("id") or None
    title = html_to_text(entry.get("title", "") or "")
    summary = html_to_text(entry.get("summary", "") or "")
    text = html_to_text(_richest_html(entry)) or summary
    content_hash = hashlib.sha256("\x1f".join((title, summary, text)).encode()).hexdigest()[:32]
    published = _timestamp(entry, "published") or _timestamp(entry, "updated")
    if published and published > fetched_at:
        published = fetched_at  # a date in the future is a feed error; never let it sort above real news
    authors = [a.get("name", "") for a in entry.get("authors") or [] if a.get("name")]
    categories = [t.get("term", "") for t in entry.get("tags") or [] if t.get("term")]
    return Article(
        id=article_id(link, guid, fallback=content_hash if (title or text) else None),
        url=canonical_url(link) if link else None,
        link=link,
        guid=guid,
        title=title,
        summary=summary,
        text=text,
        authors=authors,
        categories=categories,
        published_at=published,
        updated_at=_timestamp(entry, "updated"),
        fetched_at=fetched_at,
        feed_url=feed_url,
        feed_title=feed_title,
        feed_language=feed_language,
        content_hash=content_hash,
        version=int(fetched_at.timestamp() * 1000),
    )


def parse_feed(data: bytes, *, feed_url: str, headers: dict[str, str] | None = None,
               fetched_at: datetime | None = None) -> ParsedFeed:
    """Parse feed bytes; salvage what feedparser can, and say why for everything else. Never raises."""
    fetched_at = fetched_at or datetime.now(UTC)
    result = ParsedFeed()
    try:
        parsed = feedparser.parse(data, response_headers=headers or {}, sanitize_html=False,
                                  resolve_relative_uris=False)
    except Exception as exc:  # feedparser is defensive, but a parser bug must not stop the poller
        result.problem = f"feedparser failed: {exc!r}"
        return result
    feed = parsed.get("feed", {})
    result.title = html_to_text(feed.get("title", "") or "")
    language = feed.get("language")
    result.language = language.split("-")[0].lower() if language else None
    if parsed.get("bozo"):
        result.problem = f"{type(parsed.get('bozo_exception')).__name__}: {parsed.get('bozo_exception')}"
    if not parsed.entries and not parsed.get("version"):
        detail = f" ({result.problem})" if result.problem else ""
        result.problem = f"not a feed: no RSS/Atom structure found{detail}"
    for index, entry in enumerate(parsed.entries):
        try:
            result.articles.append(normalise_entry(
                entry, feed_url=feed_url, feed_title=result.title, feed_language=result.language,
                fetched_at=fetched_at))
        except Exception as exc:
            result.rejected.append(f"entry {index}: {exc}")
    return result
