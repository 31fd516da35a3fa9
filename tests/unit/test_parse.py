"""Feed bytes -> Article records."""

import asyncio
import calendar
import json
from datetime import UTC, datetime, timedelta

import pytest

from connectors.rss.canonical import article_id
from connectors.rss.fetch import FetchResult
from connectors.rss.fulltext import decode_html, extract_text, fetch_full_text
from connectors.rss.parse import FUTURE_SKEW, NO_ID, html_to_text, parse_feed, ttl_seconds
from streams.records import AnnotatedArticle, Annotation, Article
from tests.conftest import FEED_CORPUS, FIXTURES, ROOT, SAMPLES


def test_seed_article_is_normalised(seed_feed: bytes, seed_gold: dict) -> None:
    parsed = parse_feed(seed_feed, feed_url="http://feeds.test/seed.xml")
    assert parsed.problem is None and not parsed.rejected
    [article] = parsed.articles
    assert article.url == seed_gold["canonical_url"]
    assert article.link and "utm_source" in article.link  # the raw link is kept too
    assert article.published_at == datetime.fromisoformat(seed_gold["published_at"].replace("Z", "+00:00"))
    assert article.feed_language == "it"
    assert article.feed_title == "Notizie di esempio - Mondo"
    assert article.categories == ["Mondo"]
    assert article.title.startswith("Putin e Xi Jinping a colloquio")
    assert "<p>" not in article.text and "cooperazione strategica" in article.text
    assert article.text.count("\n\n") >= 4  # paragraphs kept


def test_same_bytes_give_same_ids_and_hashes(seed_feed: bytes) -> None:
    first = parse_feed(seed_feed, feed_url="a").articles[0]
    second = parse_feed(seed_feed, feed_url="b").articles[0]
    assert (first.id, first.content_hash) == (second.id, second.content_hash)


def test_malformed_feed_is_salvaged() -> None:
    parsed = parse_feed((FIXTURES / "feeds" / "malformed-salvageable.xml").read_bytes(), feed_url="x")
    assert parsed.problem  # feedparser's complaint is kept for the log
    assert [a.title for a in parsed.articles] == ["First item survives", "Second item survives"]


def test_html_page_is_not_a_feed() -> None:
    parsed = parse_feed((FIXTURES / "feeds" / "not-a-feed.html").read_bytes(), feed_url="x")
    assert parsed.articles == [] and parsed.problem


def test_empty_body_is_not_a_feed() -> None:
    parsed = parse_feed(b"", feed_url="x")
    assert parsed.articles == [] and parsed.problem


def test_atom_guid_only_entries_and_future_dates() -> None:
    fetched = datetime(2025, 1, 1, tzinfo=UTC)
    parsed = parse_feed((FIXTURES / "feeds" / "atom-no-links.xml").read_bytes(), feed_url="x", fetched_at=fetched)
    first, future = parsed.articles
    assert first.url is None and first.guid == "urn:uuid:entry-1" and first.id
    assert first.published_at == datetime(2024, 1, 1, 8, tzinfo=UTC)  # converted to UTC
    assert first.authors == ["Ada Writer"] and first.categories == ["science"]
    assert first.text == "First paragraph.\n\nSecond paragraph."  # script dropped, whitespace collapsed
    assert future.published_at == fetched  # a future date is clamped to the fetch time


def test_english_sample() -> None:
    [article] = parse_feed((SAMPLES / "english-sample.rss.xml").read_bytes(), feed_url="x").articles
    assert article.url == "https://herald.example.com/world/2024/05/14/lisbon-harbour-deal"
    assert article.feed_language == "en"


def test_html_to_text_handles_entities_and_blocks() -> None:
    assert html_to_text("<p>caf&eacute; &amp; bar</p><p>two</p>") == "café & bar\n\ntwo"
    assert html_to_text("plain   text") == "plain text"


# --- cleaned HTML, enclosures, text source, dates, ttl, formats (issue 3) ------------------------------------

FETCHED = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
CORPUS = FEED_CORPUS

RICH_RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:media="http://search.yahoo.com/mrss/"
     xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">
<channel>
  <title>Rich &amp; Co</title><link>https://site.example/</link><language>pt-BR</language><ttl>30</ttl>
  <item>
    <title>Full story</title>
    <link>https://site.example/news/2024/one?utm_source=rss</link>
    <guid isPermaLink="false">site-1</guid>
    <pubDate>Tue, 31 Dec 2024 23:00:00 -0200</pubDate>
    <dc:creator>Ana Lima</dc:creator>
    <category>Economia</category><category>Economia</category>
    <description>Teaser &amp;amp; more</description>
    <content:encoded><![CDATA[<p onclick="x()">First <a href="/tag/a?b=1&amp;c=2">para</a>.</p>
      <script>evil()</script><iframe src="https://ads.example/">ad</iframe>
      <p>Second <img src="../img/p.jpg" alt="photo"> caf&eacute;&nbsp;para</p>
      <a href="javascript:alert(1)">x</a>]]></content:encoded>
    <enclosure url="https://cdn.example/a.mp3" type="audio/mpeg" length="1234"/>
    <media:content url="https://cdn.example/b.jpg" type="image/jpeg" fileSize="99"/>
    <media:content url="https://cdn.example/a.mp3" type="audio/mpeg"/>
  </item>
  <item>
    <title>Summary only</title>
    <link>/news/2024/two</link>
    <description>&lt;p&gt;Just a &lt;b&gt;teaser&lt;/b&gt;.&lt;/p&gt;</description>
  </item>
  <item><title>Title only</title><guid>https://site.example/news/three</guid>
    <pubDate>Wed, 01 Jan 2025 12:03:00 +0000</pubDate></item>
  <item><title>From the future</title><link>https://site.example/news/four</link>
    <pubDate>Wed, 01 Jan 2025 13:00:00 +0000</pubDate></item>
  <item><description>   </description></item>
</channel>
</rss>
"""


def _both(data: bytes, **kwargs) -> list:
    """parse_feed through the fast path and forced through feedparser: the same articles either way."""
    fast = parse_feed(data, feed_url="https://site.example/feed.xml", fetched_at=FETCHED, **kwargs)
    slow = parse_feed(data, feed_url="https://site.example/feed.xml", fetched_at=FETCHED, fast=False, **kwargs)
    assert slow.parser == "feedparser"
    assert [a.model_dump() for a in fast.articles] == [a.model_dump() for a in slow.articles]
    assert (fast.title, fast.language, fast.ttl_s, fast.rejected) == (slow.title, slow.language, slow.ttl_s,
                                                                      slow.rejected)
    return [fast, slow]


def test_rich_rss_fast_path_matches_feedparser_path() -> None:
    fast, _ = _both(RICH_RSS)
    assert fast.parser == "lxml" and fast.version == "rss20"
    assert fast.title == "Rich & Co" and fast.language == "pt" and fast.ttl_s == 1800
    assert len(fast.articles) == 4 and fast.rejected == [f"entry 4: {NO_ID}"]


def test_content_html_is_cleaned_once_with_urls_resolved() -> None:
    full = parse_feed(RICH_RSS, feed_url="https://site.example/feed.xml", fetched_at=FETCHED).articles[0]
    html = full.content_html
    assert "<script" not in html and "evil" not in html and "<iframe" not in html and "onclick" not in html
    assert "javascript:" not in html
    assert 'href="https://site.example/tag/a?b=1&amp;c=2"' in html  # relative to the entry's link
    assert 'src="https://site.example/news/img/p.jpg"' in html
    assert 'rel="noopener noreferrer nofollow"' in html
    assert full.text == "First para.\n\nSecond café para\n\nx"
    assert full.text_source == "content" and full.summary == "Teaser & more"


def test_enclosures_authors_categories() -> None:
    full = parse_feed(RICH_RSS, feed_url="https://site.example/feed.xml", fetched_at=FETCHED).articles[0]
    assert [(e.url, e.type, e.length) for e in full.enclosures] == [
        ("https://cdn.example/a.mp3", "audio/mpeg", 1234), ("https://cdn.example/b.jpg", "image/jpeg", 99)]
    assert full.authors == ["Ana Lima"] and full.categories == ["Economia"]


def test_text_source_and_relative_links() -> None:
    _, summary_only, title_only, _ = parse_feed(RICH_RSS, feed_url="https://site.example/feed.xml",
                                                fetched_at=FETCHED).articles
    assert summary_only.url == "https://site.example/news/2024/two"  # resolved against the feed URL
    assert summary_only.text_source == "summary" and summary_only.text == "Just a teaser."
    assert summary_only.content_html == "<p>Just a <b>teaser</b>.</p>"
    assert title_only.text_source == "title" and title_only.text == "" and title_only.content_html == ""
    assert title_only.url == "https://site.example/news/three"  # a permalink GUID is the link


def test_dates_ok_missing_future_and_skew() -> None:
    full, summary_only, within_skew, future = parse_feed(
        RICH_RSS, feed_url="https://site.example/feed.xml", fetched_at=FETCHED).articles
    assert full.published_at == datetime(2025, 1, 1, 1, 0, tzinfo=UTC) and full.date_status == "ok"
    assert summary_only.published_at is None and summary_only.date_status == "missing"
    assert within_skew.published_at == FETCHED and within_skew.date_status == "ok"  # 3 min ahead: clock skew
    assert future.published_at == FETCHED and future.date_status == "future"
    assert FUTURE_SKEW < timedelta(hours=1)
    assert all(a.fetched_at == FETCHED for a in (full, summary_only, within_skew, future))


def test_ids_unchanged_by_the_fast_path() -> None:
    full = parse_feed(RICH_RSS, feed_url="https://site.example/feed.xml", fetched_at=FETCHED).articles[0]
    assert full.id == article_id(full.link, full.guid)
    assert full.url == "https://site.example/news/2024/one"


@pytest.mark.parametrize(("ttl", "period", "frequency", "expected"), [
    ("15", None, None, 900.0), (None, "hourly", "4", 900.0), (None, "daily", None, 86400.0),
    (None, None, "2", 43200.0), ("junk", "weekly", "0", 604800.0), (None, None, None, None),
    (None, "fortnightly", None, None), ("-5", None, None, None)])
def test_ttl_seconds(ttl, period, frequency, expected) -> None:
    assert ttl_seconds(ttl, period, frequency) == expected


def test_sy_update_period_in_a_feed() -> None:
    data = RICH_RSS.replace(b"<ttl>30</ttl>", b"<sy:updatePeriod>hourly</sy:updatePeriod>"
                                              b"<sy:updateFrequency>2</sy:updateFrequency>")
    assert all(p.ttl_s == 1800 for p in _both(data))


ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="fr-CA">
  <title type="html">L&amp;apos;actu &amp;amp; co</title>
  <entry>
    <title>Atom entry</title>
    <link rel="alternate" type="text/html" href="https://site.example/a/1"/>
    <link rel="enclosure" type="image/png" length="10" href="https://site.example/a/1.png"/>
    <id>tag:site.example,2024:1</id>
    <updated>2024-06-01T10:00:00+02:00</updated>
    <author><name>Bea</name><email>b@site.example</email></author>
    <category term="Monde" label="World"/>
    <summary type="text">Plain &lt;b&gt; not markup</summary>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Un <em>deux</em></p><p>trois</p></div></content>
  </entry>
</feed>
"""


def test_atom_fast_path_matches_feedparser_path() -> None:
    fast, _ = _both(ATOM)
    assert fast.parser == "lxml" and fast.version == "atom10"
    assert fast.title == "L'actu & co" and fast.language == "fr"
    [entry] = fast.articles
    assert entry.url == "https://site.example/a/1" and entry.guid == "tag:site.example,2024:1"
    assert entry.summary == "Plain <b> not markup"  # a text construct is text, not markup
    assert entry.text == "Un deux\n\ntrois" and entry.content_html == "<p>Un <em>deux</em></p><p>trois</p>"
    assert entry.published_at == datetime(2024, 6, 1, 8, tzinfo=UTC) and entry.authors == ["Bea"]
    assert [(e.url, e.type, e.length) for e in entry.enclosures] == [("https://site.example/a/1.png", "image/png", 10)]


@pytest.mark.parametrize("name", ["doctype", "latin1", "rdf", "atom03", "rss091", "broken"])
def test_other_formats_and_encodings_go_through_feedparser(name: str) -> None:
    item = "<item><title>Caf\u00e9</title><link>https://site.example/x</link></item>"
    documents = {
        "doctype": ('<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY e "Caf\u00e9">]><rss version="2.0"><channel>'
                    '<item><title>&e;</title><link>https://site.example/x</link></item></channel></rss>').encode(),
        "latin1": ('<?xml version="1.0" encoding="iso-8859-1"?><rss version="2.0"><channel>' + item +
                   "</channel></rss>").encode("latin-1"),
        "rdf": ('<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
                'xmlns="http://purl.org/rss/1.0/"><channel rdf:about="https://site.example/"><title>T</title>'
                '</channel><item rdf:about="https://site.example/x"><title>Caf\u00e9</title>'
                "<link>https://site.example/x</link></item></rdf:RDF>").encode(),
        "atom03": ('<?xml version="1.0"?><feed version="0.3" xmlns="http://purl.org/atom/ns#"><entry>'
                   '<title>Caf\u00e9</title><link rel="alternate" type="text/html" href="https://site.example/x"/>'
                   "</entry></feed>").encode(),
        "rss091": ('<?xml version="1.0"?><rss version="0.91"><channel><title>T</title>' + item.replace(
            "</item>", "<description>caf&amp;eacute;</description></item>") + "</channel></rss>").encode(),
        "broken": ('<?xml version="1.0"?><rss version="2.0"><channel>' + item + "<item><title>unclosed").encode(),
    }
    parsed = parse_feed(documents[name], feed_url="https://site.example/feed", fetched_at=FETCHED)
    assert parsed.parser == ("lxml" if name == "rss091" else "feedparser")
    assert parsed.articles[0].title == "Café" and parsed.articles[0].url == "https://site.example/x"


JSON_FEED = {
    "version": "https://jsonfeed.org/version/1.1", "title": "JSON news", "language": "de-DE",
    "home_page_url": "https://json.example/",
    "items": [
        {"id": "1", "url": "/posts/1", "title": "One", "content_html": "<p>Hallo <a href='/x'>Welt</a></p>",
         "summary": "Kurz", "date_published": "2024-05-01T10:00:00+02:00", "authors": [{"name": "Uta"}],
         "tags": ["Politik"], "attachments": [{"url": "https://json.example/a.mp3", "mime_type": "audio/mpeg",
                                               "size_in_bytes": 5}]},
        {"id": 2, "external_url": "https://elsewhere.example/2", "content_text": "Line one.\n\nLine two."},
        "not an object",
        {"id": "", "content_html": ""},
    ],
}


@pytest.mark.parametrize("content_type", ["application/feed+json", "application/json", None])
def test_json_feed(content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else None
    parsed = parse_feed(json.dumps(JSON_FEED).encode(), feed_url="https://json.example/feed.json",
                        headers=headers, fetched_at=FETCHED)
    assert parsed.parser == "json" and parsed.version == "json11"
    assert parsed.title == "JSON news" and parsed.language == "de"
    one, two = parsed.articles
    assert parsed.rejected == ["entry 2: item 2 is a JSON str, not an object", f"entry 3: {NO_ID}"]
    assert one.url == "https://json.example/posts/1" and one.guid == "1" and one.summary == "Kurz"
    assert one.text == "Hallo Welt" and 'href="https://json.example/x"' in one.content_html
    assert one.published_at == datetime(2024, 5, 1, 8, tzinfo=UTC) and one.authors == ["Uta"]
    assert one.categories == ["Politik"] and one.enclosures[0].length == 5
    assert two.guid == "2" and two.url == "https://elsewhere.example/2" and two.date_status == "missing"
    assert two.text == "Line one.\n\nLine two." and two.content_html == "<p>Line one.</p><p>Line two.</p>"


def test_broken_json_feed_is_reported() -> None:
    parsed = parse_feed(b'{"version": "https://jsonfeed.org/version/1", "items": [', feed_url="x",
                        headers={"content-type": "application/feed+json"})
    assert parsed.articles == [] and parsed.problem and "JSON" in parsed.problem


def test_html_to_text_newlines_are_spaces_blocks_are_paragraphs() -> None:
    assert html_to_text("<p>one\ntwo</p>\n<div>three<br>four</div>") == "one two\n\nthree\n\nfour"
    assert html_to_text("a &lt;b&gt; &amp;&nbsp;c<script>x</script><style>p{}</style>") == "a <b> & c"
    assert html_to_text("x <img alt='a > b'> y") == "x y"


def test_old_article_messages_still_validate(seed_feed: bytes) -> None:
    article = parse_feed(seed_feed, feed_url="x").articles[0]
    old = json.loads(article.to_bytes())
    for name in ("content_html", "enclosures", "text_source", "date_status"):
        del old[name]
    again = Article.model_validate(old)
    assert again.content_html == "" and again.enclosures == [] and again.text_source == "content"
    assert again.date_status == "ok"


def _unmapped(doc: dict, properties: dict, prefix: str = "") -> list[str]:
    missing = []
    for key, value in doc.items():
        mapping = properties.get(key)
        if mapping is None:
            missing.append(prefix + key)
        elif "properties" in mapping and mapping.get("type") != "flattened":
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, dict):
                    missing += _unmapped(item, mapping["properties"], f"{prefix}{key}.")
    return missing


def test_every_article_field_is_in_the_strict_index_template() -> None:
    from connectors.elasticsearch.document import to_document

    template = json.loads((ROOT / "deploy" / "elasticsearch" / "articles.template.json").read_text("utf-8"))
    properties = template["template"]["mappings"]["properties"]
    article = parse_feed(RICH_RSS, feed_url="https://site.example/feed.xml", fetched_at=FETCHED).articles[0]
    assert article.enclosures and article.content_html
    item = AnnotatedArticle(article=article, annotation=Annotation(id=article.id, language="pt",
                                                                   language_score=0.9), annotated_at=FETCHED)
    doc = to_document(item)
    assert _unmapped(doc, properties) == []


def test_date_parser_cases_through_a_feed() -> None:
    """feedparser's date-parser cases (shared corpus) as the pubDate of an RSS item, through both paths: the
    article's date is what feedparser's date parser chain makes of the string, in UTC, or missing."""
    from feedparser.datetimes import _parse_date

    cases = [json.loads(line) for line in (CORPUS / "date_parser_cases.jsonl").read_text("utf-8").splitlines()
             if line.strip()]
    assert len(cases) == 72
    fetched = datetime(2100, 1, 1, tzinfo=UTC)
    as_expected = 0
    for case in cases:
        text = case["input"].replace("&", "&amp;").replace("<", "&lt;")
        data = (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><item><title>t</title>'
                f"<pubDate>{text}</pubDate></item></channel></rss>").encode()
        fast, slow = (parse_feed(data, feed_url="x", fetched_at=fetched, fast=f).articles[0] for f in (True, False))
        assert (fast.published_at, fast.date_status) == (slow.published_at, slow.date_status), case
        chain = _parse_date(case["input"].strip())
        try:
            want = datetime.fromtimestamp(calendar.timegm(chain), tz=UTC) if chain else None
        except (OverflowError, ValueError):
            want = None  # e.g. year 10000: not a usable date
        assert fast.published_at == want, case
        assert fast.date_status == ("missing" if want is None else "ok")
        expected = case["expected_struct_time"]
        as_expected += (want is None) if expected is None else (want == datetime(*expected[:6], tzinfo=UTC))
    assert as_expected >= 55  # 59 with feedparser 6.0.14; the others are read differently by its chain


PAGE = FIXTURES / "pages" / "news-article.html"


def test_extract_text_from_an_article_page() -> None:
    text = extract_text(PAGE.read_text("utf-8"), url="https://herald.example.com/world/x",
                        title="Harbour authority approves Lisbon expansion")
    assert text is not None
    paragraphs = text.split("\n\n")
    assert paragraphs[0].startswith("The port authority of Lisbon approved on Tuesday")
    assert "\u201cThis is the most important investment in the port in forty years,\u201d" in text
    assert "€640 million" in text and "flamingos" in text
    for boilerplate in ("cookies", "Subscribe now", "Related stories", "newsletter", "All rights reserved",
                        "Privacy policy", "dataLayer", "Advertisement"):
        assert boilerplate not in text


class _Fetcher:
    def __init__(self, result: FetchResult) -> None:
        self.result = result
        self.urls: list[str] = []

    async def fetch(self, url: str) -> FetchResult:
        self.urls.append(url)
        return self.result


def test_fetch_full_text_uses_the_fetcher_and_extracts() -> None:
    body = PAGE.read_bytes()
    fetcher = _Fetcher(FetchResult("https://herald.example.com/x", status=200, body=body,
                                   headers={"content-type": "text/html; charset=utf-8"}))
    text = asyncio.run(fetch_full_text(fetcher, "https://herald.example.com/x"))
    assert fetcher.urls == ["https://herald.example.com/x"]
    assert text and "deep-water berths" in text and "Privacy policy" not in text


@pytest.mark.parametrize("result", [
    FetchResult("u", error="timed out after 20s"), FetchResult("u", status=404, error="HTTP 404"),
    FetchResult("u", status=200, body=b""), FetchResult("u", status=304),
    FetchResult("u", status=200, body=b"%PDF-1.4", headers={"content-type": "application/pdf"}),
    FetchResult("u", status=200, body=b"<html><body><script>app()</script></body></html>",
                headers={"content-type": "text/html"})])
def test_fetch_full_text_returns_none_when_there_is_nothing(result: FetchResult) -> None:
    assert asyncio.run(fetch_full_text(_Fetcher(result), "u")) is None


def test_decode_html_charsets() -> None:
    page = "<html><head><meta charset='iso-8859-1'></head><body>caf\u00e9</body></html>"
    assert "café" in decode_html(page.encode("latin-1"))
    assert "café" in decode_html("café".encode("cp1252"), {"Content-Type": "text/html; charset=windows-1252"})
    assert decode_html("café".encode()) == "café"


def test_url_resolution_in_cleaned_html_matches_urljoin() -> None:
    """clean_html resolves the common relative references without urljoin; it must agree with urljoin."""
    import random
    from html import unescape
    from urllib.parse import urljoin

    from connectors.rss.html import clean_html

    bases = ["https://ex.com/d/e/f", "https://ex.com/d/e/", "https://ex.com", "http://u:p@ex.com:8080/a/b?x=1#y",
             "https://ex.com/a//b/c", "HTTPS://Ex.com/A/b", "https://ex.com/a/b;p/c", "https://ex.com/a/./b",
             "https://ex.com/a/../b/", "https://ex.com/a/b/.."]
    urls = ["x.png", "a//b", "../../../../x", "./x", "x/..", ".", "..", "/abs", "/a/../b", "//cdn/x", "?q=1", "#f",
            "x?q=1#f", "x;y", "x?", "x?#", "/.", "a/b:c", "../a?b=../c#../d", "...", "a/"]
    rnd = random.Random(3)
    urls += ["/".join(rnd.choice(["a", "..", ".", "", "b.c"]) for _ in range(rnd.randint(1, 5))) + rnd.choice(
        ["", "?q", "#f"]) for _ in range(300)]
    for base in bases:
        for url in filter(None, urls):
            html = clean_html(f'<a href="{url}">x</a>', base)
            href = unescape(html.split('href="', 1)[1].split('"', 1)[0]) if 'href="' in html else None
            assert href == urljoin(base, url), (base, url)
