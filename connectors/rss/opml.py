"""OPML 2.0 import and export of the feed list (`newsdesk feeds import FILE.opml`, `newsdesk feeds export`).

Export writes one `<outline type="rss">` per feed with the standard attributes (`text`, `title`, `xmlUrl`,
`language`, `category` holding the tags, comma-separated as OPML 2.0 says for tags) and newsdesk's own settings
in a namespace (`newsdesk:interval`, `newsdesk:fullText`, `newsdesk:enabled`), so export -> import -> export
gives the same file. Import also reads the usual exports of other readers: folders (an outline without
`xmlUrl` that holds outlines) become tags of the feeds inside them, `category` paths ("/News/Italy") become
tags, unknown attributes are ignored.

Reading uses defusedxml: an OPML file comes from anywhere, and entity-expansion bombs or external entities
must not get a chance.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from connectors.rss.registry import Feed

NAMESPACE = "https://github.com/newsdesk/newsdesk/opml"
_NS = f"{{{NAMESPACE}}}"
MAX_OPML_BYTES = 50 * 1024 * 1024


class OpmlError(ValueError):
    """The file is not OPML we can read (with the reason)."""


@dataclass
class OpmlFeed:
    url: str
    title: str | None = None
    language: str | None = None
    tags: list[str] = field(default_factory=list)
    interval_s: float | None = None
    full_text: bool = False
    enabled: bool = True


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _tags_from_category(value: str | None) -> list[str]:
    tags = []
    for item in (value or "").split(","):
        parts = [p.strip() for p in item.split("/") if p.strip()]
        tags.extend(parts)
    return tags


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def parse_opml(data: bytes) -> tuple[list[OpmlFeed], list[str]]:
    """The feeds of an OPML document, and one reason per outline that was skipped. Raises OpmlError."""
    if len(data) > MAX_OPML_BYTES:
        raise OpmlError(f"larger than {MAX_OPML_BYTES} bytes")
    try:
        root = fromstring(data)
    except DefusedXmlException as exc:
        raise OpmlError(f"refused: {type(exc).__name__} (entities and DTDs are not allowed in OPML here)") from exc
    except ET.ParseError as exc:
        raise OpmlError(f"not well-formed XML: {exc}") from exc
    if root.tag != "opml":
        raise OpmlError(f"not OPML: the root element is <{root.tag}>")
    body = root.find("body")
    if body is None:
        raise OpmlError("not OPML: no <body>")
    feeds: dict[str, OpmlFeed] = {}
    skipped: list[str] = []

    def walk(outline: ET.Element, folders: list[str]) -> None:
        url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        label = (outline.get("text") or outline.get("title") or "").strip()
        if not url:
            children = outline.findall("outline")
            if not children and outline.get("type", "").lower() in ("rss", "atom"):
                skipped.append(f"outline {label!r}: no xmlUrl")
            for child in children:
                walk(child, [*folders, label] if label else folders)
            return
        if not url.startswith(("http://", "https://")):
            skipped.append(f"outline {label!r}: not an http(s) feed URL: {url}")
            return
        interval = outline.get(f"{_NS}interval")
        try:
            interval_s = float(interval) if interval else None
        except ValueError:
            skipped.append(f"outline {label!r}: bad newsdesk:interval {interval!r} (ignored)")
            interval_s = None
        language = (outline.get("language") or "").strip() or None
        title = (outline.get("title") or outline.get("text") or "").strip()
        feed = OpmlFeed(
            url=url,
            title=title if title and title != url else None,
            language=language.split("-")[0].lower() if language and language.lower() != "unknown" else None,
            tags=_unique([*folders, *_tags_from_category(outline.get("category"))]),
            interval_s=interval_s if interval_s and interval_s > 0 else None,
            full_text=_truthy(outline.get(f"{_NS}fullText")),
            enabled=outline.get(f"{_NS}enabled", "true").strip().lower() != "false",
        )
        if url in feeds:  # the same feed in two folders: one feed with both folders' tags
            feeds[url].tags = _unique([*feeds[url].tags, *feed.tags])
        else:
            feeds[url] = feed

    for outline in body.findall("outline"):
        walk(outline, [])
    return list(feeds.values()), skipped


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def export_opml(feeds: Iterable[Feed], *, title: str = "newsdesk feeds", now: datetime | None = None) -> bytes:
    """An OPML 2.0 document of the feeds, with their per-feed settings."""
    ET.register_namespace("newsdesk", NAMESPACE)
    root = ET.Element("opml", {"version": "2.0"})
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(now or datetime.now(UTC), usegmt=True)
    body = ET.SubElement(root, "body")
    for feed in feeds:
        name = feed.title or feed.url
        attributes = {"type": "rss", "text": name, "title": name, "xmlUrl": feed.url}
        if feed.language:
            attributes["language"] = feed.language
        tags = [t.replace(",", " ").replace("/", " ").strip() for t in feed.tags]
        if any(tags):
            attributes["category"] = ",".join(t for t in tags if t)
        if feed.interval_s:
            attributes[f"{_NS}interval"] = _number(feed.interval_s)
        if feed.full_text:
            attributes[f"{_NS}fullText"] = "true"
        if not feed.enabled:
            attributes[f"{_NS}enabled"] = "false"
        ET.SubElement(body, "outline", attributes)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
