"""HTML from feeds, cleaned once: an allow-list sanitiser (nh3, the Rust `ammonia` crate), relative URLs
resolved, and plain text taken from the cleaned markup. Pure and thread-safe.

Feed HTML is hostile by default (scripts, event handlers, tracking pixels, `javascript:` links, iframes).
feedparser's own sanitiser and URI resolver are pure Python and cost more than the rest of its parse put
together, so newsdesk turns them off and does both here in one nh3 pass per piece of HTML.
"""

from __future__ import annotations

import re
import threading
from html import unescape
from urllib.parse import urljoin, urlsplit

import nh3

# Tags kept in `content_html`: article structure and inline markup. Everything else is unwrapped (its text
# kept) except the CLEAN_CONTENT tags, which are removed with their content.
ARTICLE_TAGS = frozenset({
    "a", "abbr", "acronym", "address", "article", "aside", "b", "bdi", "bdo", "blockquote", "br", "caption",
    "cite", "code", "col", "colgroup", "dd", "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption",
    "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hgroup", "hr", "i", "img", "ins", "kbd",
    "li", "mark", "ol", "p", "pre", "q", "rp", "rt", "ruby", "s", "samp", "section", "small", "span", "strike",
    "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "tt", "u",
    "ul", "var", "wbr",
})
ARTICLE_ATTRIBUTES = {
    "a": {"href", "hreflang", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"}, "acronym": {"title"},
    "blockquote": {"cite"}, "q": {"cite"}, "del": {"cite", "datetime"}, "ins": {"cite", "datetime"},
    "time": {"datetime"},
    "td": {"colspan", "rowspan", "headers"}, "th": {"colspan", "rowspan", "headers", "scope"},
    "col": {"span"}, "colgroup": {"span"}, "ol": {"start", "reversed", "type"}, "li": {"value"},
    "*": {"lang", "dir"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
# Removed together with everything inside them.
CLEAN_CONTENT = frozenset({"script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "math",
                           "select", "textarea", "button", "title", "head"})

# Tags after which plain text starts a new paragraph.
BLOCK_TAGS = frozenset({
    "p", "div", "br", "li", "ul", "ol", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre",
    "tr", "table", "section", "article", "header", "footer", "aside", "figure", "figcaption", "hr", "address",
    "details", "summary", "caption", "hgroup",
})

_local = threading.local()


def _resolve(url: str) -> str | None:
    """nh3's callback for a relative href/src: urljoin(base, url). Root- and path-relative references (by far
    the most common) are resolved here with urljoin's own algorithm minus its parsing, which costs more than
    the rest of cleaning; the tests compare the two on many cases."""
    base = getattr(_local, "base", "")
    if not base:
        return url  # nothing absolute to resolve against: keep it as the feed wrote it
    first = url[:1]
    if (first and first not in "?#" and url[1:2] != "/" and _local.parts is not None and ";" not in url
            and "\\" not in url and ":" not in url.split("/", 1)[0] and "?#" not in url
            and not url.endswith(("?", "#"))):
        if first == "/" and "/." not in url:
            return _local.origin + url
        cut = min((i for i in (url.find("?"), url.find("#")) if i >= 0), default=len(url))
        path = url[:cut]
        if first == "/":
            segments = path.split("/")
        else:
            segments = _local.parts + path.split("/")
            segments[1:-1] = filter(None, segments[1:-1])
        resolved: list[str] = []
        for segment in segments:
            if segment == "..":
                if resolved:
                    resolved.pop()
            elif segment != ".":
                resolved.append(segment)
        if segments[-1] in (".", ".."):
            resolved.append("")
        joined = "/".join(resolved) or "/"
        if joined[0] != "/":
            joined = "/" + joined
        return _local.origin + joined + url[cut:]
    try:
        return urljoin(base, url)
    except ValueError:  # e.g. a malformed IPv6 host
        return None


def _set_base(base_url: str | None) -> None:
    if not base_url or "://" not in base_url:
        _local.base = ""
        return
    _local.base = base_url
    parts = urlsplit(base_url)
    _local.origin = f"{parts.scheme.lower()}://{parts.netloc}"
    path = parts.path or ""
    if ";" in path or parts.scheme.lower() not in ("http", "https") or (path and not path.startswith("/")):
        _local.parts = None  # unusual base: urljoin handles everything
    else:
        segments = path.split("/")
        if segments[-1] != "":
            del segments[-1]
        _local.parts = segments


_ARTICLE_CLEANER = nh3.Cleaner(
    tags=set(ARTICLE_TAGS), attributes={k: set(v) for k, v in ARTICLE_ATTRIBUTES.items()},
    clean_content_tags=set(CLEAN_CONTENT), url_schemes=set(URL_SCHEMES), strip_comments=True,
    link_rel="noopener noreferrer nofollow", url_relative=_resolve,
)
# For plain text only: keep just the block tags (no attributes) so paragraphs survive, drop the rest.
_TEXT_CLEANER = nh3.Cleaner(
    tags=set(BLOCK_TAGS), attributes={}, clean_content_tags=set(CLEAN_CONTENT), strip_comments=True,
    link_rel=None, url_relative="deny",
)

# nh3 serialises with html5ever: text has <, > and & escaped, attribute values are double-quoted with " and &
# escaped, so these patterns are exact on its output (not on arbitrary HTML).
_BLOCK_NAMES = "|".join(sorted(BLOCK_TAGS, key=len, reverse=True))
_BLOCK_TAG_RE = re.compile(r"</?(?:" + _BLOCK_NAMES + r")\b[^>\"]*(?:\"[^\"]*\"[^>\"]*)*>")
_ANY_TAG_RE = re.compile(r"<[^>\"]*(?:\"[^\"]*\"[^>\"]*)*>")


def clean_html(html: str, base_url: str | None = None) -> str:
    """Sanitise article HTML with the allow-list above and resolve relative href/src against `base_url`.

    The result is safe to show in a browser (no scripts, event handlers, styles, iframes or unsafe URL
    schemes; links get rel="noopener noreferrer nofollow"). Relative URLs stay relative when there is no
    absolute base.
    """
    if not html:
        return ""
    _set_base(base_url)
    try:
        return _ARTICLE_CLEANER.clean(html).strip()
    finally:
        _local.base = ""


# Whitespace to str.split() other than " \t\n\r\xa0" (checked per paragraph).
_RARE_ASCII_SPACE = "\x0b\x0c\x1c\x1d\x1e\x1f"
_RARE_SPACE = _RARE_ASCII_SPACE + "\x85\u1680\u2028\u2029\u202f\u205f\u3000" + "".join(
    map(chr, range(0x2000, 0x200B)))


def _has_rare_space(text: str) -> bool:
    chars = _RARE_ASCII_SPACE if text.isascii() else _RARE_SPACE
    return any(c in text for c in chars)


def text_from_clean_html(cleaned: str) -> str:
    """Plain text of nh3 output (as from `clean_html`): paragraphs separated by a blank line, whitespace
    inside a paragraph collapsed, character references decoded."""
    if "<" not in cleaned and "&" not in cleaned:
        return " ".join(cleaned.split())
    # Block tags become a NUL (html5ever never emits one: it replaces NUL with U+FFFD), the other tags go,
    # then all whitespace (source newlines and &nbsp; included, as in a browser) collapses.
    text = _BLOCK_TAG_RE.sub("\x00", cleaned)
    text = _ANY_TAG_RE.sub("", text)
    if "&" in text:
        text = unescape(text)
    return _paragraphs(text)


def _paragraphs(text: str) -> str:
    """The non-empty NUL-separated pieces of `text`, whitespace collapsed (as str.split() sees it), joined
    by blank lines. Same result as `" ".join(text.split())` first, but most paragraphs need only strip():
    splitting a whole article into words cost more than the rest of extracting its text."""
    if _has_rare_space(text):
        return "\n\n".join(p for piece in " ".join(text.split()).split("\x00") if (p := piece.strip()))
    out = []
    for piece in text.split("\x00"):
        piece = piece.strip()
        if piece:
            if "\n" in piece or "  " in piece or "\xa0" in piece or "\t" in piece or "\r" in piece:
                piece = " ".join(piece.split())
            out.append(piece)
    return "\n\n".join(out)


def html_to_text(html: str) -> str:
    """Plain text of any HTML fragment: paragraph breaks kept, whitespace inside paragraphs collapsed,
    script/style (and similar) content dropped, character references decoded."""
    if not html:
        return ""
    if "<" not in html:
        if "&" not in html:
            return " ".join(html.split())
        if "&#" not in html and "\x00" not in html and "\r" not in html and _encodable(html):
            # No markup and only named references: all the sanitiser would do is decode them by HTML5's
            # rules, which html.unescape implements (numeric ones differ: it drops the C0/C1 controls).
            return " ".join(unescape(html).split())
    return text_from_clean_html(_TEXT_CLEANER.clean(html))


def _encodable(value: str) -> bool:
    """No lone surrogates: nh3 refuses those, and the shortcut must not accept what nh3 refuses."""
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def plain_text(value: str) -> str:
    """Whitespace-collapsed text of a value that is already plain text (not markup)."""
    return " ".join(value.split())
