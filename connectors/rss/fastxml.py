"""A fast path for the common case: well-formed UTF-8 RSS 2.0 / 0.9x and Atom 1.0 feeds, parsed with lxml.

feedparser walks a feed through Python SAX callbacks and per-element bookkeeping that cost about 1.5 ms per
item of a real-sized feed even with its sanitiser off, more than all the rest of newsdesk's parsing together.
This module builds the same entry dicts feedparser would (the same keys and, for the keys newsdesk reads, the
same values: feedparser's own date parser, URI joining, author and category rules, text fix-ups) from an
lxml tree, in a fraction of the time.

It is deliberately conservative. Whatever it does not model exactly returns None and the caller falls back to
feedparser: a DOCTYPE or entity declaration, an encoding other than UTF-8/ASCII, xml:base, C1 control
characters, an element with a feedparser handler this module does not mirror, a text element with child
elements, an unknown namespace without a prefix, and anything that is not well-formed XML. The test
`tests/unit/test_feed_corpus.py` checks, on every file of feedparser's own conformance corpus that this path
accepts, that the articles are identical to those built from feedparser's entries.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape as _xml_escape

from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urifixer, _urljoin, make_safe_absolute_uri
from lxml import etree

from connectors.rss.dates import parse_date as _parse_date

looks_like_html = _FeedParserMixin.looks_like_html

_NAMESPACES = {uri.lower(): prefix for uri, prefix in _FeedParserMixin.namespaces.items()}
_KNOWN_PREFIXES = frozenset(_NAMESPACES.values())
_XML_NS = "{http://www.w3.org/XML/1998/namespace}"
_XML_BASE = _XML_NS + "base"
_HTML_TYPES = _FeedParserMixin.html_types
_XML_MEDIA_TYPES = frozenset({"application/rss+xml", "application/atom+xml", "application/rdf+xml",
                              "application/xml", "text/xml", "application/x-rss+xml", "application/x-atom+xml"})
_UTF8_NAMES = frozenset({"utf-8", "utf8"})
_ASCII_NAMES = frozenset({"us-ascii", "ascii"})
_XML_DECL = re.compile(rb"^<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_C1_BYTES = re.compile(rb"\xc2[\x80-\x9f]")
_C1_REFS = re.compile(rb"&#(?:[xX]0*[89][0-9a-fA-F]|0*1(?:2[89]|[3-5][0-9]));")
_LINK_ENTITY = re.compile("&([A-Za-z0-9_]+);")

# Keys a generic (handler-less) element could overwrite in feedparser's entry dict.
_RESERVED_KEYS = frozenset({"links", "authors", "content", "enclosures", "media_content", "title_detail",
                            "summary_detail", "guidislink", "published_parsed", "updated_parsed", "author_detail",
                            "tags", "link", "id", "title", "summary", "author", "published", "updated"})
# Elements with a feedparser handler whose effect never reaches a key newsdesk reads.
_HARMLESS = frozenset({
    "comments", "created", "dcterms_created", "expirationdate", "media_thumbnail", "media_credit",
    "media_rating", "media_restriction", "media_license", "media_player", "itunes_image", "itunes_link",
    "itunes_block", "itunes_explicit", "rights", "copyright", "dc_rights", "dc_publisher", "webmaster",
    "dc_language", "language", "georss_point", "georss_line", "georss_polygon", "georss_box", "dcterms_valid",
})


class Unsupported(Exception):  # noqa: N818 - a signal, not an error
    """This document (or one of its parts) is outside what the fast path models exactly."""


@dataclass
class FastFeed:
    version: str
    title: str = ""
    title_type: str = "text/plain"
    language: str | None = None
    ttl: str | None = None
    sy_updateperiod: str | None = None
    sy_updatefrequency: str | None = None
    base: str = ""
    entries: list[dict[str, Any]] = field(default_factory=list)


_local = threading.local()


def _parser() -> etree.XMLParser:
    parser = getattr(_local, "parser", None)
    if parser is None:  # lxml parsers must not be shared between threads
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                                 remove_comments=True, remove_pis=True, strip_cdata=True, recover=False,
                                 collect_ids=False)
        _local.parser = parser
    return parser


def _fix(text: str) -> str:
    """feedparser's fix-up for every text value of a UTF-8 document (mixin.pop): undo UTF-8 read as Latin-1.
    (Its other one, mapping C1 code points to Windows-1252 characters, never applies: documents with C1
    characters, raw or as character references, go to feedparser.)"""
    if text.isascii():
        return text
    try:
        return text.encode("iso-8859-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


_KEYS: dict[str, str] = {}  # tag -> key, for tags whose key does not depend on the document's prefix


def _key(el: Any) -> str:
    """feedparser's name for an element: known namespaces map to its standard prefix, unknown ones keep the
    document's prefix; the local name is lower-cased; 'prefix_local', or 'local' for the RSS/Atom namespaces."""
    tag = el.tag
    key = _KEYS.get(tag)
    if key is not None:
        return key
    if not isinstance(tag, str):
        raise Unsupported("entity reference or other non-element node")
    unknown = False
    if tag[0] == "{":
        uri, local = tag[1:].split("}", 1)
        lowered = uri.lower()
        if "backend.userland.com/rss" in lowered:
            prefix: str | None = ""
        else:
            prefix = _NAMESPACES.get(lowered)
            if prefix is None:
                given = el.prefix
                if not given or given in _KNOWN_PREFIXES:
                    raise Unsupported(f"unknown namespace {uri!r} with prefix {given!r}")
                prefix, unknown = given, True
    else:
        prefix, local = "", tag
    local = local.lower()
    key = f"{prefix}_{local}" if prefix else local
    if not unknown and len(_KEYS) < 4096:
        _KEYS[tag] = key
    return key


def _attrs(el: Any) -> dict[str, str]:
    """feedparser's attribute dict: names lower-cased, `rel` and `type` values lower-cased."""
    out: dict[str, str] = {}
    attrib = el.attrib
    if not attrib:
        return out
    for name, value in attrib.items():
        if name[0] == "{":
            if name == _XML_BASE:
                raise Unsupported("xml:base")
            if name.startswith(_XML_NS):
                continue  # xml:lang, xml:space
            raise Unsupported("namespaced attribute")
        name = name.lower()
        out[name] = value.lower() if name in ("rel", "type") else value
    return out


def _text(el: Any, *, fix: bool = True) -> str:
    """The stripped text of an element that must not contain elements."""
    if len(el):
        raise Unsupported(f"markup inside <{el.tag}>")
    text = el.text
    if not text:
        return ""
    text = text.strip()
    return _fix(text) if fix and not text.isascii() else text


_TYPES = {"text": "text/plain", "plain": "text/plain", "html": "text/html", "xhtml": "application/xhtml+xml"}


def _map_type(value: str) -> str:
    """feedparser's map_content_type."""
    value = value.lower()
    return _TYPES.get(value, value)


def _has_handler(key: str) -> bool:
    return hasattr(_FeedParserMixin, "_start_" + key) or hasattr(_FeedParserMixin, "_end_" + key)


def _generic(key: str, el: Any) -> None:
    """An element feedparser stores under its own key without a handler: harmless if it holds no elements
    (their handlers would run in the entry's context) and its key is not one newsdesk reads."""
    if key in _RESERVED_KEYS or len(el):
        raise Unsupported(f"element <{key}> would change what newsdesk reads")


def _xhtml_pieces(el: Any, pieces: list[str]) -> None:
    for child in el:
        tag = child.tag
        if not isinstance(tag, str):
            raise Unsupported("entity reference in XHTML")
        local = tag.rsplit("}", 1)[-1].lower()
        if local in ("svg", "math"):
            raise Unsupported("svg/math in XHTML")
        attrs = "".join(f' {k}="{_xml_escape(v, {chr(34): "&quot;"})}"' for k, v in _attrs(child).items())
        pieces.append(f"<{local}{attrs}>")
        if child.text:
            pieces.append(_xml_escape(child.text))
        _xhtml_pieces(child, pieces)
        pieces.append(f"</{local}>")
        if child.tail:
            pieces.append(_xml_escape(child.tail))


def _xhtml(el: Any) -> str:
    """Inline XHTML the way feedparser serialises it (every element with an end tag, an enclosing <div>
    removed when it wraps everything)."""
    pieces: list[str] = []
    if el.text:
        pieces.append(_xml_escape(el.text))
    _xhtml_pieces(el, pieces)
    while len(pieces) > 1 and not pieces[-1].strip():
        del pieces[-1]
    while len(pieces) > 1 and not pieces[0].strip():
        del pieces[0]
    if pieces and (pieces[0] == "<div>" or pieces[0].startswith("<div ")) and pieces[-1] == "</div>":
        depth = 0
        for piece in pieces[:-1]:
            if piece.startswith("</"):
                depth -= 1
                if depth == 0:
                    break
            elif piece.startswith("<") and not piece.endswith("/>"):
                depth += 1
        else:
            pieces = pieces[1:-1]
    return _fix("".join(pieces).strip())


def _text_construct(el: Any, default_type: str, *, atom: bool) -> tuple[str, str]:
    """(type, value) of a title/summary/content/description element, as feedparser's push_content/pop."""
    attrs = _attrs(el)
    if attrs.get("mode") or attrs.get("src") is not None:
        raise Unsupported("content mode or src")
    ctype = _map_type(attrs.get("type", default_type))
    if not (ctype.startswith("text/") or ctype.endswith("+xml") or ctype.endswith("/xml")):
        raise Unsupported("base64 content")
    if ctype == "application/xhtml+xml":
        value = _xhtml(el)
    else:
        if len(el):
            raise Unsupported("markup inside a text construct")
        value = _text(el)
    if not atom and ctype == "text/plain" and ("<" in value or "&" in value) and looks_like_html(value):
        ctype = "text/html"
    return ctype, value


class _Entry:
    """Applies feedparser's per-element rules, in document order, to one entry dict."""

    def __init__(self, base: str, *, atom: bool) -> None:
        self.base = base
        self.atom = atom
        self.e: dict[str, Any] = {"links": []}
        self.has_content = False
        self.title_set = False
        self.summary_seen = False

    def resolve(self, uri: str) -> str:
        if not self.base:  # what feedparser's _urljoin amounts to without a base
            cut = uri.find("://")  # its _urifixer only drops slashes right after the first "://"
            return _urifixer.sub(r"\1\3", uri) if cut >= 0 and uri[cut + 3:cut + 4] == "/" else uri
        return _urljoin(self.base, uri)

    def child(self, el: Any) -> None:
        key = _key(el)
        handler = _DISPATCH.get(key)
        if handler is not None:
            handler(self, el, key)
        elif key in _HARMLESS:
            if len(el) and key not in ("rights", "copyright"):
                raise Unsupported(f"markup inside <{key}>")
            if len(el) and _map_type(_attrs(el).get("type", "text")) != "application/xhtml+xml":
                raise Unsupported("markup inside rights")
        elif key == "source" and not self.atom:
            if len(el):
                raise Unsupported("markup inside <source>")
        elif _has_handler(key):
            raise Unsupported(f"element <{key}> not modelled")
        else:
            _generic(key, el)

    def title(self, el: Any, key: str) -> None:
        if self.title_set:
            raise Unsupported("second title")
        ctype, value = _text_construct(el, "text/plain", atom=self.atom)
        if value:
            self.title_set = True
        self.e["title"] = value
        self.e["title_detail"] = {"type": ctype, "value": value}

    def description(self, el: Any, key: str) -> None:
        self.summary(el, "text/html" if key == "description" and not self.atom else "text/plain")

    def encoded(self, el: Any, key: str) -> None:
        if key == "content" and not self.atom:
            raise Unsupported("<content> in RSS")
        self.content(el, "text/html" if key != "content" else "text/plain")

    def guid(self, el: Any, key: str) -> None:
        e = self.e
        if "id" in e:
            raise Unsupported("second guid/id")
        guidislink = _attrs(el).get("ispermalink", "true") == "true"
        value = _text(el)
        if value and guidislink:
            value = self.resolve(value)
        e["id"] = value
        e.setdefault("guidislink", guidislink and "link" not in e)
        if guidislink:
            e.setdefault("link", value)

    def published(self, el: Any, key: str) -> None:
        self.e["published_parsed"] = _parse_date(_text(el))

    def updated(self, el: Any, key: str) -> None:
        self.e["updated_parsed"] = _parse_date(_text(el))

    def category(self, el: Any, key: str) -> None:
        attrs = _attrs(el)
        if key == "media_category":
            attrs.setdefault("scheme", "http://search.yahoo.com/mrss/category_schema")
        self.add_tag(attrs.get("term"), attrs.get("scheme", attrs.get("domain")), attrs.get("label"))
        value = _text(el)
        if value:
            tags = self.e["tags"]
            if tags and not tags[-1]["term"]:
                tags[-1]["term"] = value
            else:
                self.add_tag(value, None, None)

    def keywords(self, el: Any, key: str) -> None:
        for term in _text(el).split(","):
            if term.strip():
                self.add_tag(term.strip(), None, None)

    def enclosure(self, el: Any, key: str) -> None:
        if len(el):
            raise Unsupported("markup inside <enclosure>")
        attrs = _attrs(el)
        href = attrs.get("url", attrs.get("uri", attrs.get("href")))
        if href:
            attrs.pop("url", None)
            attrs.pop("uri", None)
            attrs["href"] = href
        attrs["rel"] = "enclosure"
        self.e["links"].append(attrs)

    def media_content(self, el: Any, key: str) -> None:
        self.e.setdefault("media_content", []).append(_attrs(el))
        for sub in el:  # media:title/description etc. inside media:content
            self.child(sub)

    def group(self, el: Any, key: str) -> None:
        for sub in el:
            self.child(sub)

    def contributor(self, el: Any, key: str) -> None:
        for sub in el:
            if _key(sub) not in ("name", "email", "uri", "url"):
                raise Unsupported("unexpected element in contributor")
            _text(sub)

    def link(self, el: Any, key: str = "link") -> None:
        e = self.e
        attrs = _attrs(el)
        attrs.setdefault("rel", "alternate")
        attrs.setdefault("type", "application/atom+xml" if attrs["rel"] == "self" else "text/html")
        href = attrs.get("url", attrs.get("uri", attrs.get("href")))
        if href:
            attrs.pop("url", None)
            attrs.pop("uri", None)
            attrs["href"] = self.resolve(href)
            if len(el):
                raise Unsupported("markup inside <link>")
            e["links"].append(attrs)
            if attrs["rel"] == "alternate" and _map_type(attrs["type"]) in _HTML_TYPES:
                e["link"] = attrs["href"]
            return
        value = _text(el)
        if not (el.text or "").strip():
            value = ""
        e["links"].append(attrs)
        if value:
            value = self.resolve(value)
        if "&" in value:
            value = _LINK_ENTITY.sub(r"&\g<1>", value.replace("&amp;", "&"))
        e["link"] = value
        if value:
            e["links"][-1]["href"] = value

    def summary(self, el: Any, default_type: str) -> None:
        e = self.e
        if self.summary_seen:
            raise Unsupported("second summary/description")
        self.summary_seen = True
        if "summary" in e and not self.has_content:
            self.content(el, "text/plain")  # feedparser: a second summary after a copied one is content
            return
        ctype, value = _text_construct(el, default_type, atom=self.atom)
        e["summary"] = value
        e["summary_detail"] = {"type": ctype, "value": value}

    def content(self, el: Any, default_type: str) -> None:
        self.has_content = True
        ctype, value = _text_construct(el, default_type, atom=self.atom)
        self.e.setdefault("content", []).append({"type": ctype, "value": value, "base": self.base})
        if _map_type(ctype) in ({"text/plain"} | _HTML_TYPES):
            self.e.setdefault("summary", value)

    def add_tag(self, term: str | None, scheme: str | None, label: str | None) -> None:
        tags = self.e.setdefault("tags", [])
        if not term and not scheme and not label:
            return
        value = {"term": term, "scheme": scheme, "label": label}
        if value not in tags:
            tags.append(value)

    def author(self, el: Any, key: str = "author") -> None:
        authors = self.e.setdefault("authors", [])
        authors.append({})
        if len(el):
            if (el.text or "").strip():
                raise Unsupported("mixed content in author")
            for sub in el:
                key = _key(sub)
                if key in ("name", "email", "uri", "url", "homepage"):
                    value = _text(sub, fix=False)
                    authors[-1]["href" if key in ("uri", "url", "homepage") else key] = value
                else:
                    raise Unsupported(f"<{key}> in author")
            return
        name = author_name(_text(el))
        if name:
            authors[-1]["name"] = name


_DISPATCH = {
    "title": _Entry.title, "link": _Entry.link, "description": _Entry.description, "summary": _Entry.description,
    "content_encoded": _Entry.encoded, "fullitem": _Entry.encoded, "content": _Entry.encoded,
    "guid": _Entry.guid, "id": _Entry.guid,
    **dict.fromkeys(("pubdate", "published", "issued", "dcterms_issued"), _Entry.published),
    **dict.fromkeys(("updated", "modified", "lastbuilddate", "dc_date", "dcterms_modified"), _Entry.updated),
    **dict.fromkeys(("category", "dc_subject", "keywords", "media_category"), _Entry.category),
    "media_keywords": _Entry.keywords,
    **dict.fromkeys(("author", "dc_creator", "dc_author", "itunes_author", "managingeditor"), _Entry.author),
    "enclosure": _Entry.enclosure, "media_content": _Entry.media_content, "media_group": _Entry.group,
    "contributor": _Entry.contributor,
}

_EMAIL = re.compile(r"""(([a-zA-Z0-9\_\-\.\+]+)@((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.)|(([a-zA-Z0-9\-]+\.)+))"""
                    r"""([a-zA-Z]{2,4}|[0-9]{1,3})(\]?))(\?subject=\S+)?""")


def author_name(author: str) -> str | None:
    """The name in an RSS author string such as 'jo@example.com (Jo Bloggs)', as feedparser extracts it."""
    if not author:
        return None
    match = _EMAIL.search(author) if "@" in author else None
    if match:
        author = author.replace(match.group(0), "").replace("()", "").replace("<>", "").replace("&lt;&gt;", "")
        author = author.strip()
        if author and author[0] == "(":
            author = author[1:]
        if author and author[-1] == ")":
            author = author[:-1]
        author = author.strip()
    return author or None


def _charset(headers: dict[str, str]) -> tuple[str, str | None]:
    value = headers.get("content-type", "")
    media, _, params = value.partition(";")
    charset = None
    for param in params.split(";"):
        name, _, val = param.partition("=")
        if name.strip().lower() == "charset":
            charset = val.strip().strip("\"'").lower()
    return media.strip().lower(), charset


def _eligible(data: bytes, headers: dict[str, str]) -> bytes:
    """The bytes lxml should parse, or Unsupported when feedparser must decide (encodings, DTDs, ...)."""
    media, charset = _charset(headers)
    is_ascii = data.isascii()
    if media and media not in _XML_MEDIA_TYPES:
        raise Unsupported(f"media type {media}")
    if media.startswith("text/") and not charset and not is_ascii:
        raise Unsupported("text/* without charset")  # RFC 3023: us-ascii, feedparser then guesses
    if charset and not (charset in _UTF8_NAMES or (charset in _ASCII_NAMES and is_ascii)):
        raise Unsupported(f"charset {charset}")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    head = data[:512].lstrip()
    if not head.startswith(b"<"):
        raise Unsupported("does not start with markup")
    decl = _XML_DECL.match(head)
    if decl:
        declared = decl.group(1).decode("ascii").lower()
        if not (declared in _UTF8_NAMES or (declared in _ASCII_NAMES and is_ascii)):
            raise Unsupported(f"declared encoding {declared}")
    _check_prolog(data)
    # (b"\xc2" in data: a memchr that spares the regex scan of documents without any U+0080..U+00BF)
    if (not is_ascii and b"\xc2" in data and _C1_BYTES.search(data)) or (b"&#" in data and _C1_REFS.search(data)):
        raise Unsupported("C1 control characters")
    return data


def _check_prolog(data: bytes) -> None:
    """No DOCTYPE (and so no entity declarations) before the root element: feedparser handles those.
    (xml:base, the other thing that changes how feedparser reads a document, is refused where it occurs.)"""
    pos = 0
    while True:
        start = data.find(b"<", pos)
        if start < 0:
            raise Unsupported("no root element")
        marker = data[start + 1:start + 4]
        if marker.startswith(b"?"):
            end = data.find(b"?>", start)
        elif marker == b"!--":
            end = data.find(b"-->", start)
        elif marker.startswith(b"!"):
            raise Unsupported("DOCTYPE")
        else:
            return
        if end < 0:
            raise Unsupported("unterminated prolog")
        pos = end + 2


def _root_lang(el: Any, language: str | None) -> str | None:
    lang = el.get(_XML_NS + "lang")
    if lang:
        return lang.replace("_", "-")
    return language


def document_base(headers: dict[str, str]) -> str:
    """The base URI feedparser resolves relative links against: the Content-Location header, made safe."""
    contentloc = headers.get("content-location", "")
    base = make_safe_absolute_uri("", contentloc) or make_safe_absolute_uri(contentloc) or ""
    if base:
        base = make_safe_absolute_uri(base, base) or base
    return base


def parse_fast(data: bytes, *, headers: dict[str, str] | None = None) -> FastFeed | None:
    """Entries and feed data for a plain RSS 2.0/0.9x or Atom 1.0 document, or None: use feedparser."""
    headers = headers or {}
    try:
        data = _eligible(data, headers)
        root = etree.fromstring(data, _parser())
    except (Unsupported, etree.XMLSyntaxError, ValueError):
        return None
    base = document_base(headers)
    language = headers.get("content-language") or None
    language = language.replace("_", "-") if language else None
    try:
        tag = root.tag
        if tag == "rss":
            feed = _rss(root, base, language)
        elif tag == "{http://www.w3.org/2005/Atom}feed":
            feed = _atom(root, base, language)
        else:
            return None
        expected = sum(1 for el in root.iter("item", "entry", "{http://www.w3.org/2005/Atom}entry",
                                             "{http://www.w3.org/2005/Atom}item"))
        if expected != len(feed.entries):
            return None
    except Unsupported:
        return None
    return feed


def _entry(element: Any, base: str, *, atom: bool) -> Any:
    entry = _Entry(base, atom=atom)
    for sub in element:
        entry.child(sub)
    return entry.e


def _set_title(feed: FastFeed, element: Any, seen: int, *, atom: bool) -> None:
    if seen > 1:
        raise Unsupported(f"several {'feed' if atom else 'channel'} titles")
    feed.title_type, feed.title = _text_construct(element, "text/plain", atom=atom)


def _rss(root: Any, base: str, language: str | None) -> FastFeed:
    version_attr = root.get("version", "")
    versions = {"0.91": "rss091u", "0.92": "rss092", "0.93": "rss093", "0.94": "rss094"}
    version = versions.get(version_attr) or ("rss20" if version_attr.startswith("2.") else "")
    if not version:
        raise Unsupported(f"rss version {version_attr!r}")
    if set(root.attrib.keys()) - {"version", _XML_NS + "lang"}:
        raise Unsupported("attributes on <rss>")
    channels = [c for c in root if isinstance(c.tag, str)]
    if len(channels) != 1 or channels[0].tag != "channel" or channels[0].attrib:
        raise Unsupported("not exactly one plain <channel>")
    feed = FastFeed(version=version, base=base, language=_root_lang(root, language))
    titles = 0
    for child in channels[0]:
        key = _key(child)
        if key == "item":
            if child.attrib:
                raise Unsupported("attributes on <item>")
            feed.entries.append(_entry(child, base, atom=False))
        elif key in ("title", "dc_title", "media_title"):
            titles += 1
            _set_title(feed, child, titles, atom=False)
        elif key in ("language", "dc_language"):
            feed.language = _text(child)
        elif key == "ttl":
            feed.ttl = _text(child)
        elif key == "sy_updateperiod":
            feed.sy_updateperiod = _text(child)
        elif key == "sy_updatefrequency":
            feed.sy_updatefrequency = _text(child)
        elif key in ("entry", "textinput", "source", "author", "dc_creator", "itunes_author", "managingeditor"):
            raise Unsupported(f"channel <{key}>")
        elif any(_key(el) in ("title", "dc_title", "media_title", "language", "dc_language", "item", "entry")
                 for el in child.iterdescendants() if isinstance(el.tag, str)):
            if key != "image":
                raise Unsupported(f"title/language/items inside channel <{key}>")
    return feed


def _atom(root: Any, base: str, language: str | None) -> FastFeed:
    if _XML_BASE in root.attrib:
        raise Unsupported("xml:base")
    feed = FastFeed(version="atom10", base=base, language=_root_lang(root, language))
    titles = 0
    for child in root:
        key = _key(child)
        if key == "entry":
            if set(child.attrib.keys()) - {_XML_NS + "lang"}:
                raise Unsupported("attributes on <entry>")
            feed.entries.append(_entry(child, base, atom=True))
        elif key in ("title", "dc_title", "media_title"):
            titles += 1
            _set_title(feed, child, titles, atom=True)
        elif key in ("language", "dc_language"):
            feed.language = _text(child)
        elif key in ("item", "channel", "source", "textinput", "image"):
            raise Unsupported(f"feed <{key}>")
        elif key in ("author", "contributor"):
            for sub in child:
                if _key(sub) not in ("name", "email", "uri", "url"):
                    raise Unsupported(f"<{_key(sub)}> in feed author")
        elif any(_key(el) in ("title", "dc_title", "media_title", "language", "dc_language", "item", "entry")
                 for el in child.iterdescendants() if isinstance(el.tag, str)):
            raise Unsupported(f"title/language/entries inside feed <{key}>")
    return feed
