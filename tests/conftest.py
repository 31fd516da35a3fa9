"""Shared paths and helpers for unit and integration tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "connectors" / "rss" / "samples"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# feedparser's conformance corpus, vendored with its licence (BSD-2-Clause, tests/fixtures/feedparser-tests/LICENSE)
FEED_CORPUS = FIXTURES / "feedparser-tests"


@pytest.fixture(scope="session")
def seed_feed() -> bytes:
    return (SAMPLES / "seed-article.rss.xml").read_bytes()


@pytest.fixture(scope="session")
def seed_gold() -> dict:
    """The seed article's expected annotation. The repo keeps a copy so tests do not depend on ../shared."""
    return json.loads((FIXTURES / "seed-article.gold.json").read_text())
