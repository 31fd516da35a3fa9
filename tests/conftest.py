"""Shared paths and helpers for unit and integration tests."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "connectors" / "rss" / "samples"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# ../shared beside the repository (in CI a copy sits next to the clone); NEWSDESK_SHARED_DIR overrides it.
SHARED = Path(os.environ.get("NEWSDESK_SHARED_DIR") or ROOT.parent / "shared")
FEED_CORPUS = SHARED / "corpora" / "feedparser-tests"


@pytest.fixture(scope="session")
def seed_feed() -> bytes:
    return (SAMPLES / "seed-article.rss.xml").read_bytes()


@pytest.fixture(scope="session")
def seed_gold() -> dict:
    """The seed article's expected annotation. The repo keeps a copy so tests do not depend on ../shared."""
    return json.loads((FIXTURES / "seed-article.gold.json").read_text())
