"""Feed bytes -> Article records."""

from datetime import UTC, datetime

from connectors.rss.parse import html_to_text, parse_feed
from tests.conftest import FIXTURES, SAMPLES


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
