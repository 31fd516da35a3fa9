"""Canonical URLs and ids; cases live in tests/fixtures/canonical_urls.tsv (input, expected, why)."""

from pathlib import Path

import pytest

from connectors.rss.canonical import article_id, canonical_url

FIXTURE = Path(__file__).parent.parent / "fixtures" / "canonical_urls.tsv"
CASES = [line.split("\t") for line in FIXTURE.read_text().splitlines() if line and not line.startswith("#")]


@pytest.mark.parametrize(("url", "expected", "why"), CASES, ids=[c[2] for c in CASES])
def test_canonical_url(url: str, expected: str, why: str) -> None:
    assert canonical_url(url) == (None if expected == "NONE" else expected), why


def test_id_is_the_same_for_tracking_variants_of_one_url() -> None:
    plain = article_id("https://example.com/story", guid="g1")
    assert article_id("https://EXAMPLE.com/story?utm_source=x#top", guid="another-guid") == plain


def test_id_differs_when_a_meaningful_parameter_differs() -> None:
    assert article_id("https://example.com/story?id=1", None) != article_id("https://example.com/story?id=2", None)


def test_id_falls_back_to_guid_then_content() -> None:
    by_guid = article_id(None, "urn:uuid:1234")
    assert by_guid == article_id("not a url", "urn:uuid:1234")
    assert by_guid != article_id(None, "urn:uuid:5678")
    assert article_id(None, None, fallback="hash") != by_guid
    with pytest.raises(ValueError):
        article_id(None, "  ")


def test_id_is_stable_across_runs() -> None:
    # The id is the Elasticsearch _id and the Kafka key: changing the derivation re-indexes everything.
    assert article_id("https://example.com/a?utm_source=x", None) == "04eb124138012504ac9b90b7b3d7a6f8"
