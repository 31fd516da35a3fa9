"""JSON Feed 1.0 / 1.1 (https://jsonfeed.org/version/1.1) -> the same entry dicts feedparser produces, so one
normaliser turns every format into Articles. Pure; the json module only."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

from connectors.rss.dates import parse_date as _parse_date

VERSION_PREFIX = "https://jsonfeed.org/version/"
MEDIA_TYPES = frozenset({"application/feed+json", "application/json"})


class NotJsonFeed(ValueError):
    pass


@dataclass
class JsonFeed:
    version: str
    title: str = ""
    language: str | None = None
    home_page_url: str | None = None
    entries: list[Any] = field(default_factory=list)  # a dict per item, or the reason it is not an item


def looks_like_json_feed(data: bytes, headers: dict[str, str] | None = None) -> bool:
    """Content-Type application/feed+json, or a JSON object that names a jsonfeed.org version near its start."""
    media = (headers or {}).get("content-type", "").split(";", 1)[0].strip().lower()
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if media == "application/feed+json":
        return True
    return head.startswith(b"{") and b"jsonfeed.org/version" in data[:65536]


def _timestamp(value: Any) -> Any:
    """RFC 3339 (as JSON Feed requires) -> UTC struct_time; anything else through feedparser's date parser."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return _parse_date(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).timetuple()


def _str(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _join(base: str | None, url: str) -> str:
    if not url:
        return ""
    try:
        return urljoin(base or "", url)
    except ValueError:
        return url


def _authors(obj: dict[str, Any]) -> list[dict[str, str]]:
    raw = obj.get("authors")
    if not isinstance(raw, list):
        raw = [obj["author"]] if isinstance(obj.get("author"), dict) else []  # 1.0: a single "author"
    return [{"name": _str(a.get("name"))} for a in raw if isinstance(a, dict) and _str(a.get("name"))]


def _entry(item: dict[str, Any], base: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"links": []}
    item_id = item.get("id")
    if isinstance(item_id, (int, float)) and not isinstance(item_id, bool):
        item_id = str(item_id)  # 1.0 feeds sometimes use numbers
    if isinstance(item_id, str) and item_id.strip():
        entry["id"] = item_id.strip()
    link = _join(base, _str(item.get("url")) or _str(item.get("external_url")))
    if link:
        entry["link"] = link
        entry["links"].append({"rel": "alternate", "type": "text/html", "href": link})
    entry["guidislink"] = False
    title = _str(item.get("title"))
    entry["title"] = title
    entry["title_detail"] = {"type": "text/plain", "value": title}
    summary = _str(item.get("summary"))
    if summary:
        entry["summary"] = summary
        entry["summary_detail"] = {"type": "text/plain", "value": summary}
    html, text = item.get("content_html"), item.get("content_text")
    if isinstance(html, str) and html.strip():
        entry["content"] = [{"type": "text/html", "value": html, "base": link or base or ""}]
    elif isinstance(text, str) and text.strip():
        entry["content"] = [{"type": "text/plain", "value": text, "base": link or base or ""}]
    entry["published_parsed"] = _timestamp(item.get("date_published"))
    entry["updated_parsed"] = _timestamp(item.get("date_modified"))
    authors = _authors(item)
    if authors:
        entry["authors"] = authors
    tags = item.get("tags")
    if isinstance(tags, list):
        entry["tags"] = [{"term": t.strip(), "scheme": None, "label": None}
                         for t in tags if isinstance(t, str) and t.strip()]
    for attachment in item.get("attachments") or []:
        if isinstance(attachment, dict) and _str(attachment.get("url")):
            size = attachment.get("size_in_bytes")
            entry["links"].append({
                "rel": "enclosure", "href": _join(base, _str(attachment.get("url"))),
                "type": _str(attachment.get("mime_type")),
                "length": str(size) if isinstance(size, int) and not isinstance(size, bool) else "",
            })
    if isinstance(item.get("language"), str):
        entry["language"] = item["language"]
    return entry


def parse_json_feed(data: bytes, *, feed_url: str | None = None) -> JsonFeed:
    """Parse a JSON Feed document. Raises NotJsonFeed with the reason when it is not one; items that are not
    JSON objects come back as strings (the reason), so the caller can count them as rejections."""
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise NotJsonFeed(f"invalid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise NotJsonFeed("JSON document is not an object")
    version = doc.get("version")
    if not isinstance(version, str) or not version.startswith(VERSION_PREFIX):
        raise NotJsonFeed(f"no JSON Feed version (got {version!r})")
    items = doc.get("items")
    if not isinstance(items, list):
        raise NotJsonFeed("JSON Feed without an items list")
    home = _str(doc.get("home_page_url")) or None
    base = _join(feed_url, home) if home else feed_url
    feed = JsonFeed(version="json" + version[len(VERSION_PREFIX):].replace(".", ""), title=_str(doc.get("title")),
                    language=_str(doc.get("language")) or None, home_page_url=home)
    for index, item in enumerate(items):
        if isinstance(item, dict):
            feed.entries.append(_entry(item, base))
        else:
            feed.entries.append(f"item {index} is a JSON {type(item).__name__}, not an object")
    return feed
