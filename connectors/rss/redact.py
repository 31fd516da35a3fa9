"""Feed URLs may carry credentials (`http://user:secret@host/feed.xml`): they are used to fetch the feed (HTTP
basic auth, by httpx from the URL's user info) and nowhere else. Whatever is shown, logged, exported or stored
in an article uses the redacted URL (`http://host/feed.xml`).

(connectors/elasticsearch/backend.py has its own copy for engine URLs: connectors do not import each other.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from urllib.parse import urlsplit, urlunsplit

from connectors.rss.registry import Feed

# user info in any URL inside a text: scheme://user[:password]@ -> scheme://
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#@\s'\"<>]*@")


def redact_url(url: str) -> str:
    """`http://user:secret@host:8080/x` -> `http://host:8080/x`; a URL without credentials is returned as is."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return scrub(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def scrub(text: str) -> str:
    """Remove the `user:password@` of every URL in a message (an error may quote the URL it was given)."""
    return _USERINFO.sub(r"\1", text)


def has_credentials(url: str) -> bool:
    try:
        return "@" in urlsplit(url).netloc
    except ValueError:
        return False


def resolve(urls: Iterable[str], known: Iterable[str]) -> list[str]:
    """The stored URL for each URL a user typed: as stored, or as shown (redacted) if exactly one stored feed
    shows that way. Lets `feeds remove/enable/disable` take the URL `feeds list` printed."""
    known = list(known)
    shown: dict[str, list[str]] = {}
    for url in known:
        shown.setdefault(redact_url(url), []).append(url)
    stored = set(known)
    result = []
    for url in urls:
        matches = shown.get(url.strip(), [])
        result.append(url if url in stored or len(matches) != 1 else matches[0])
    return result


def shown_feed(feed: Feed) -> Feed:
    """The feed as listed or exported: its URL without credentials, and none quoted in its last error."""
    return replace(feed, url=redact_url(feed.url), last_error=scrub(feed.last_error) if feed.last_error else None,
                   disabled_reason=scrub(feed.disabled_reason) if feed.disabled_reason else feed.disabled_reason)
