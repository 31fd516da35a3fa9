"""Feed bytes -> normalised Article records. Pure: no network, no Kafka; used by the poller and `parse-feed`.

Formats: RSS 0.9x/1.0/2.0, Atom 0.3/1.0 and RDF through feedparser; JSON Feed 1.0/1.1 through the json module
(connectors/rss/jsonfeed.py). Plain well-formed UTF-8 RSS 2.0 and Atom 1.0 documents, most real feeds, take a
fast path (connectors/rss/fastxml.py, lxml) that builds the very entries feedparser would; everything else goes
through feedparser, which salvages what it can from broken documents.

feedparser runs with its sanitiser and relative-URI resolution off: entry HTML is cleaned exactly once here
with nh3 (connectors/rss/html.py), relative URLs resolved against the entry's link, and the plain text is
taken from that cleaned HTML.
"""

from __future__ import annotations

import calendar
import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any
from urllib.parse import urljoin

import feedparser

from connectors.rss.canonical import article_id, canonical_url
from connectors.rss.fastxml import document_base, parse_fast
from connectors.rss.html import clean_html, plain_text, text_from_clean_html
from connectors.rss.html import html_to_text as html_to_text
from connectors.rss.jsonfeed import NotJsonFeed, looks_like_json_feed, parse_json_feed
from streams.records import Article, DateStatus

log = logging.getLogger(__name__)

NO_ID = "no link, GUID, title or text: nothing to make an article of"
# A date this far ahead of the fetch is a feed error (or a wrong clock), not clock skew.
FUTURE_SKEW = timedelta(minutes=5)
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", "html", "xhtml"})
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_SY_PERIODS = {"hourly": 3600.0, "daily": 86400.0, "weekly": 604800.0, "monthly": 2592000.0, "yearly": 31536000.0}


@dataclass
class ParsedFeed:
    articles: list[Article] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # one reason per entry that could not become an article
    title: str = ""
    language: str | None = None
    problem: str | None = None  # feedparser's bozo reason, kept even when entries were salvaged
    ttl_s: float | None = None  # the feed's own minimum poll interval: RSS <ttl>, else sy:updatePeriod/Frequency
    version: str = ""  # feedparser's format name ('rss20', 'atom10', 'rss10', ...) or 'json1' / 'json11'
    parser: str = ""  # which parser read it: 'lxml' (fast path), 'feedparser' or 'json'


def _as_html(value: str, content_type: str | None) -> bool:
    return (content_type or "text/html").lower() in _HTML_TYPES


def _text(value: str, content_type: str | None) -> str:
    """Plain text of a feed text construct, HTML or not."""
    if not value:
        return ""
    return html_to_text(value) if _as_html(value, content_type) else plain_text(value)


def _plain_paragraphs(value: str) -> list[str]:
    paragraphs = (" ".join(p.split()) for p in value.replace("\r\n", "\n").split("\n\n"))
    return [p for p in paragraphs if p]


def _detail_type(entry: Any, key: str) -> str | None:
    """The type of a text construct; `key` is 'title_detail' or 'summary_detail'."""
    detail = entry.get(key)
    return detail.get("type") if detail else None


def _timestamp(entry: Any, key: str) -> datetime | None:
    parsed = dict.get(entry, key)  # plain dict.get: no feedparser updated->published alias
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    except (OverflowError, ValueError, TypeError, OSError):
        return None


def _richest_content(entry: Any) -> dict[str, Any] | None:
    contents = [c for c in entry.get("content") or [] if c.get("value")]
    return max(contents, key=lambda c: len(c["value"])) if contents else None


def _entry_link(entry: Any, base: str | None) -> str | None:
    """The entry's link, resolved against the document base when relative; a permalink GUID only when it
    is an absolute http(s) URL (feedparser copies any GUID without isPermaLink="false" into `link`)."""
    link = entry.get("link")
    guid = entry.get("id")
    if link and guid and link == guid and entry.get("guidislink"):
        return str(link) if canonical_url(link) else None
    if link:
        link = str(link).strip()
        if not _absolute(link) and base and _absolute(base):
            try:
                link = urljoin(base, link)
            except ValueError:
                pass
        return link or None
    if guid and entry.get("guidislink") and canonical_url(guid):
        return str(guid)
    return None


def _absolute(url: str | None) -> bool:
    return bool(url and _SCHEME.match(url))


def _length(value: Any) -> int | None:
    try:
        length = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return length if length >= 0 else None


def _enclosures(entry: Any, base: str | None) -> list[dict[str, Any]]:
    """RSS <enclosure>, Atom rel="enclosure" links, media:content and JSON Feed attachments, first of each
    URL kept; as dicts that the Article model validates into Enclosure records."""
    found: list[dict[str, Any]] = []
    seen: set[str] = set()
    candidates = [(link.get("href"), link.get("type"), link.get("length"))
                  for link in entry.get("links") or () if link.get("rel") == "enclosure"]
    media = entry.get("media_content")
    if media:
        candidates += [(m.get("url"), m.get("type"), m.get("filesize")) for m in media]
    for url, mime, length in candidates:
        if not url or not isinstance(url, str):
            continue
        url = url.strip()
        if not url:
            continue
        if base and not _SCHEME.match(url):
            try:
                url = urljoin(base, url)
            except ValueError:
                continue
        if url in seen:
            continue
        seen.add(url)
        found.append({"url": url, "type": mime if isinstance(mime, str) and mime else None,
                      "length": _length(length) if length else None})
    return found


def _dedupe(values: list[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def normalise_entry(entry: Any, *, feed_url: str, feed_title: str, feed_language: str | None,
                    fetched_at: datetime, base_url: str | None = None) -> Article:
    """One feed entry (a feedparser entry, or a dict with the same keys from the fast path or JSON Feed) ->
    an Article. `base_url` is the document's base URI (the feed URL); relative URLs in the entry's HTML are
    resolved against an explicit xml:base, else the entry's own link, else the feed. Raises ValueError when
    the entry has nothing to derive an id from."""
    doc_base = base_url or feed_url
    link = _entry_link(entry, doc_base)
    guid = entry.get("id") or None
    title = _text(entry.get("title", "") or "", _detail_type(entry, "title_detail"))
    summary_raw = entry.get("summary", "") or ""
    summary_type = _detail_type(entry, "summary_detail")

    content = _richest_content(entry)
    content_html = text = ""
    text_source = "title"
    summary: str | None = None
    if content is not None:
        own_base = content.get("base") or ""
        base = own_base if own_base and own_base != doc_base else (link if _absolute(link) else doc_base)
        value, ctype = content["value"], content.get("type")
        if _as_html(value, ctype):
            content_html = clean_html(value, base)
            text = text_from_clean_html(content_html)
        else:
            paragraphs = _plain_paragraphs(value)
            content_html = "".join(f"<p>{escape(p, quote=False)}</p>" for p in paragraphs)
            text = "\n\n".join(paragraphs)
        if value == summary_raw and (summary_type or "text/html") == (ctype or "text/html"):
            summary = text  # feedparser copies content into a missing summary: don't clean it twice
        if text:
            text_source = "content"
    if summary is None:
        if summary_raw and _as_html(summary_raw, summary_type):
            if text:  # only its text is needed
                summary = html_to_text(summary_raw)
            else:
                summary_html = clean_html(summary_raw, link if _absolute(link) else doc_base)
                summary = text_from_clean_html(summary_html)
                if summary:
                    content_html, text, text_source = summary_html, summary, "summary"
        else:
            summary = plain_text(summary_raw)
            if not text and summary:
                paragraphs = _plain_paragraphs(summary_raw)
                content_html = "".join(f"<p>{escape(p, quote=False)}</p>" for p in paragraphs)
                text, text_source = summary, "summary"

    content_hash = hashlib.sha256("\x1f".join((title, summary, text)).encode()).hexdigest()[:32]
    updated = _timestamp(entry, "updated_parsed")
    published = _timestamp(entry, "published_parsed") or updated
    date_status: DateStatus = "ok"
    if published is None:
        date_status = "missing"
    elif published > fetched_at:
        if published - fetched_at > FUTURE_SKEW:
            date_status = "future"  # a feed error or a wrong clock: never let it sort above real news
        published = fetched_at  # within clock skew: clamped, still "ok"
    if updated is not None and updated > fetched_at:
        updated = fetched_at
    authors = _dedupe([a.get("name", "").strip() for a in entry.get("authors") or [] if a.get("name")])
    categories = _dedupe([t.get("term", "").strip() for t in entry.get("tags") or [] if t.get("term")])
    url = canonical_url(link) if link else None
    if not (url or (guid and guid.strip()) or title or text):
        raise ValueError(NO_ID)
    # = article_id(link, guid, ...), without canonicalising the link a second time
    identifier = (hashlib.sha256(f"url:{url}".encode()).hexdigest()[:32] if url
                  else article_id(None, guid, fallback=content_hash if (title or text) else None))
    return Article(
        id=identifier,
        url=url,
        link=link,
        guid=guid,
        title=title,
        summary=summary,
        text=text,
        authors=authors,
        categories=categories,
        published_at=published,
        updated_at=updated,
        fetched_at=fetched_at,
        feed_url=feed_url,
        feed_title=feed_title,
        feed_language=feed_language,
        content_hash=content_hash,
        version=int(fetched_at.timestamp() * 1000),
        content_html=content_html,
        # dicts, validated into Enclosure records by the model
        enclosures=_enclosures(entry, link if _absolute(link) else doc_base),  # type: ignore[arg-type]
        text_source=text_source,
        date_status=date_status,
    )


def ttl_seconds(ttl: Any, update_period: Any = None, update_frequency: Any = None) -> float | None:
    """The feed's own poll-interval hint in seconds: RSS <ttl> (minutes), else the syndication module's
    sy:updatePeriod (hourly/daily/weekly/monthly/yearly, default daily) / sy:updateFrequency (default 1)."""
    try:
        minutes = float(str(ttl).strip()) if ttl is not None else None
    except ValueError:
        minutes = None
    if minutes is not None and 0 < minutes < 1e7:
        return minutes * 60.0
    if update_period is None and update_frequency is None:
        return None
    period = _SY_PERIODS.get(str(update_period or "daily").strip().lower())
    if period is None:
        return None
    try:
        frequency = float(str(update_frequency).strip()) if update_frequency is not None else 1.0
    except ValueError:
        frequency = 1.0
    return period / frequency if frequency > 0 else period


def _language(value: Any) -> str | None:
    if not value or not isinstance(value, str) or not value.strip():
        return None
    return value.strip().replace("_", "-").split("-")[0].lower() or None


def _normalise_all(result: ParsedFeed, entries: list[Any], *, feed_url: str, fetched_at: datetime,
                   base_url: str | None) -> None:
    for index, entry in enumerate(entries):
        if isinstance(entry, str):  # the JSON Feed parser's reason for an item that is not an object
            result.rejected.append(f"entry {index}: {entry}")
            continue
        try:
            result.articles.append(normalise_entry(
                entry, feed_url=feed_url, feed_title=result.title, feed_language=result.language,
                fetched_at=fetched_at, base_url=base_url))
        except Exception as exc:
            result.rejected.append(f"entry {index}: {exc}")


def parse_feed(data: bytes, *, feed_url: str, headers: dict[str, str] | None = None,
               fetched_at: datetime | None = None, fast: bool = True) -> ParsedFeed:
    """Parse feed bytes; salvage what can be salvaged, and say why for everything else. Never raises.

    `headers` are the HTTP response headers (any case); Content-Type and its charset matter, and when there is
    no Content-Location the feed URL serves as the base for relative links. `fetched_at` (default: now, UTC)
    is the clamp for future dates. Every entry found ends up in `articles` or, with its reason, `rejected`.
    `fast=False` forces feedparser (tests compare the two paths).
    """
    fetched_at = fetched_at or datetime.now(UTC)
    if fetched_at.tzinfo is None:
        fetched_at = fetched_at.replace(tzinfo=UTC)
    headers = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
    result = ParsedFeed()
    try:
        if looks_like_json_feed(data, headers):
            try:
                json_feed = parse_json_feed(data, feed_url=feed_url)
            except NotJsonFeed as exc:
                if headers.get("content-type", "").lower().startswith("application/feed+json"):
                    result.problem = f"not a JSON Feed: {exc}"
                    return result
            else:
                result.parser, result.version = "json", json_feed.version
                result.title = plain_text(json_feed.title)
                result.language = _language(json_feed.language)
                _normalise_all(result, json_feed.entries, feed_url=feed_url, fetched_at=fetched_at,
                               base_url=feed_url)
                return result
        fast_feed = None
        if fast:
            try:
                fast_feed = parse_fast(data, headers=headers)
            except Exception:  # a bug in the fast path must cost speed, never an article
                log.exception("fast feed parser failed on %s; using feedparser", feed_url)
        if fast_feed is not None:
            result.parser, result.version = "lxml", fast_feed.version
            result.title = _text(fast_feed.title, fast_feed.title_type)
            result.language = _language(fast_feed.language)
            result.ttl_s = ttl_seconds(fast_feed.ttl, fast_feed.sy_updateperiod, fast_feed.sy_updatefrequency)
            _normalise_all(result, fast_feed.entries, feed_url=feed_url, fetched_at=fetched_at,
                           base_url=fast_feed.base or None)
            return result
        _parse_with_feedparser(result, data, headers=headers, feed_url=feed_url, fetched_at=fetched_at)
    except Exception as exc:  # nothing a feed contains may stop the poller
        log.exception("parsing %s failed", feed_url)
        result.problem = f"parser failed: {exc!r}"
    return result


def _parse_with_feedparser(result: ParsedFeed, data: bytes, *, headers: dict[str, str], feed_url: str,
                           fetched_at: datetime) -> None:
    result.parser = "feedparser"
    try:
        parsed = feedparser.parse(data, response_headers=headers, sanitize_html=False,
                                  resolve_relative_uris=False)
    except Exception as exc:  # feedparser is defensive, but a parser bug must not stop the poller
        result.problem = f"feedparser failed: {exc!r}"
        return
    feed = parsed.get("feed", {})
    result.version = parsed.get("version") or ""
    result.title = _text(feed.get("title", "") or "", _detail_type(feed, "title_detail"))
    result.language = _language(feed.get("language"))
    result.ttl_s = ttl_seconds(feed.get("ttl"), feed.get("sy_updateperiod"), feed.get("sy_updatefrequency"))
    if parsed.get("bozo"):
        result.problem = f"{type(parsed.get('bozo_exception')).__name__}: {parsed.get('bozo_exception')}"
    if not parsed.entries and not parsed.get("version"):
        detail = f" ({result.problem})" if result.problem else ""
        result.problem = f"not a feed: no RSS/Atom structure found{detail}"
    base = document_base(headers) or None
    _normalise_all(result, parsed.entries, feed_url=feed_url, fetched_at=fetched_at, base_url=base)
