"""The words of an alert, shared by every channel: a title and a plain-text body. Pure."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from streams.records import Alert

MAX_TITLE = 200


def safe_url(url: str | None) -> str | None:
    """The article's URL without any user:password part (never shown, even when a feed carried one)."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def title(alert: Alert) -> str:
    """One line: `[newsdesk] <owner/name>: <article title>` (subject of the e-mail, first line elsewhere)."""
    headline = " ".join((alert.title or alert.article_id).split())
    if len(headline) > MAX_TITLE:
        headline = headline[:MAX_TITLE - 1].rstrip() + "…"
    return f"[newsdesk] {alert.subscription}: {headline}"


def facts(alert: Alert) -> list[str]:
    """The article's annotation in short lines, the empty ones left out."""
    lines = []
    for label, values in (("People", alert.persons), ("Organisations", alert.organisations),
                          ("Places", alert.locations), ("Topics", alert.topics)):
        if values:
            lines.append(f"{label}: {', '.join(values)}")
    if alert.language:
        lines.append(f"Language: {alert.language}")
    if alert.published_at is not None:
        lines.append(f"Published: {alert.published_at.isoformat()}")
    return lines


def body(alert: Alert) -> str:
    """Plain text: the title, the link, the facts, and the alert id (what receivers deduplicate on)."""
    lines = [" ".join((alert.title or alert.article_id).split())]
    url = safe_url(alert.url)
    if url:
        lines.append(url)
    lines.append("")
    lines += facts(alert)
    lines += ["", f"Subscription: {alert.subscription}", f"Alert id: {alert.id}"]
    return "\n".join(lines) + "\n"


def slack_escape(text: str) -> str:
    """Slack's mrkdwn control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_text(alert: Alert) -> str:
    """A Slack-compatible message: the headline as a link to the article, then the facts."""
    headline = slack_escape(" ".join((alert.title or alert.article_id).split()))
    url = safe_url(alert.url)
    link = f"<{url.replace('|', '%7C').replace('>', '%3E')}|{headline}>" if url else headline
    lines = [f"*{slack_escape(alert.subscription)}*: {link}", *map(slack_escape, facts(alert))]
    return "\n".join(lines)


def log_line(alert: Alert) -> str:
    url = safe_url(alert.url)
    headline = " ".join((alert.title or alert.article_id).split())
    return f"alert {alert.id} for {alert.subscription}: {headline!r}" + (f" <{url}>" if url else "")
