"""Full text of an article page: fetch it with the connector's own fetcher, extract the main text offline.

The poller calls this for feeds with full text enabled when an item carries only a summary (see
`fetch_full_text`'s contract). Extraction is trafilatura's (Apache-2.0) on the HTML string: no network of
its own, a few milliseconds a page, run in a worker thread so the event loop stays free.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

log = logging.getLogger(__name__)

HTML_MEDIA_TYPES = ("text/html", "application/xhtml+xml", "application/xml", "text/xml", "text/plain")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)


def _charset_from_headers(headers: dict[str, str]) -> str | None:
    for param in headers.get("content-type", "").split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            return value.strip().strip("\"'")
    return None


def decode_html(body: bytes, headers: dict[str, str] | None = None) -> str:
    """HTML bytes -> str: the Content-Type charset, else a <meta charset>, else UTF-8, else Windows-1252."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    if body.startswith(b"\xef\xbb\xbf"):
        return body[3:].decode("utf-8", "replace")
    candidates = [_charset_from_headers(headers)]
    match = _META_CHARSET.search(body[:4096])
    if match:
        candidates.append(match.group(1).decode("ascii", "replace"))
    for charset in candidates:
        if not charset:
            continue
        try:
            return body.decode(charset, "replace")
        except LookupError:  # an unknown charset name
            continue
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("cp1252", "replace")


def extract_text(html: str, *, url: str | None = None, title: str | None = None) -> str | None:
    """The main text of an HTML page (navigation, ads, related links, footers dropped) as plain text with
    paragraphs separated by a blank line, or None when the extractor finds nothing. Offline and pure.
    A first paragraph equal to `title` (the headline repeated in the page) is dropped."""
    import trafilatura  # heavy import (lxml, justext, courlan...): only when full text is used

    text = trafilatura.extract(html, url=url, output_format="txt", include_comments=False, include_tables=False,
                               include_images=False, include_links=False, favor_precision=True,
                               deduplicate=False, with_metadata=False)
    if not text:
        return None
    paragraphs = [p for line in text.split("\n") if (p := " ".join(line.split()))]
    if paragraphs and title and " ".join(title.split()).casefold() == paragraphs[0].casefold():
        paragraphs = paragraphs[1:]
    return "\n\n".join(paragraphs) or None


async def fetch_full_text(fetcher: Any, url: str, *, title: str | None = None) -> str | None:
    """Fetch the article page at `url` and return its main text, or None.

    Contract (the poller relies on it):
    - `fetcher` is the connector's `connectors.rss.fetch.FeedFetcher` (anything with `async fetch(url)`
      returning a FetchResult with `.body: bytes`, `.error: str | None`, `.status`, `.headers`). The page is
      fetched exactly like a feed: same User-Agent, size limit, total deadline, redirect and address rules.
      Politeness *across* requests (per-host concurrency, how often) is the caller's: call this only for
      items that need it (feed has full text enabled and the item carries only a summary) and bound how many
      run at once.
    - Returns plain text, paragraphs separated by a blank line (the same shape as `Article.text`); the caller
      sets `text_source="fulltext"` when it uses it.
    - Returns None, never raises, when the fetch failed (`.error` set, HTTP >= 400, 304), the body is empty
      or not HTML (by Content-Type), or the extractor found no main text. Each case is logged at INFO.
      `asyncio.CancelledError` propagates.
    - Extraction (trafilatura, ~4-10 ms a page, CPU-bound) runs in a worker thread, off the event loop.
    - `title`, when given, drops a leading copy of the headline from the text.
    """
    try:
        result = await fetcher.fetch(url)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # the fetcher reports errors in .error; this is for anything it did not expect
        log.info("full text of %s: fetch failed: %r", url, exc)
        return None
    if getattr(result, "error", None):
        log.info("full text of %s: %s", url, result.error)
        return None
    status = getattr(result, "status", None)
    if status is not None and not 200 <= status < 300:
        log.info("full text of %s: HTTP %s", url, status)
        return None
    body: bytes = getattr(result, "body", b"") or b""
    headers = {str(k).lower(): str(v) for k, v in (getattr(result, "headers", None) or {}).items()}
    media = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if not body.strip():
        log.info("full text of %s: empty page", url)
        return None
    if media and not media.startswith(HTML_MEDIA_TYPES):
        log.info("full text of %s: not HTML (%s)", url, media)
        return None
    final_url = getattr(result, "url", None) or url
    try:
        text = await asyncio.to_thread(lambda: extract_text(decode_html(body, headers), url=final_url, title=title))
    except Exception as exc:  # an extractor bug must not cost the article
        log.info("full text of %s: extraction failed: %r", url, exc)
        return None
    if not text:
        log.info("full text of %s: no main text found", url)
    return text
