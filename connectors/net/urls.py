"""What makes a string an http(s) URL newsdesk will connect to: one check for feeds, webhooks and Slack URLs.

Shape only (scheme, host, port, no whitespace); where the host leads is the address guard's job
(connectors/net/addresses.py), checked again on every connection.
"""

from __future__ import annotations

from urllib.parse import urlsplit


def http_url_problem(url: str) -> str | None:
    """Why `url` is not an absolute http(s) URL with a host, in a few words; None when it is."""
    if any(c.isspace() or not c.isprintable() for c in url):
        return "it contains a space or a control character (escape a space as %20)"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a port that is not a number in 0-65535)
    except ValueError as exc:
        return f"malformed ({exc})"
    if parts.scheme not in ("http", "https"):
        return "not an http(s) URL"
    if not parts.hostname:
        return "no host"
    return None
