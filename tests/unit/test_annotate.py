"""The annotator on real text, offline (spaCy en_core_web_sm, the Italian gazetteer pipeline, fastText langid)."""

import json
import subprocess
import sys

import pytest

from connectors.rss.parse import parse_feed
from newsdesk.settings import DEFAULT_MODELS
from streams.nlp.annotate import Annotator, Document
from streams.nlp.normalise import fold
from streams.records import Annotation
from tests.conftest import SAMPLES
from tests.gold import gold_problems


@pytest.fixture(scope="module")
def annotator() -> Annotator:
    return Annotator(DEFAULT_MODELS)


def _sample(name: str) -> Document:
    [article] = parse_feed((SAMPLES / name).read_bytes(), feed_url="x").articles
    return Document(article.id, article.title, article.text, article.feed_language)


def _found(annotation: Annotation, name: str, etype: str, surfaces: list[str]) -> bool:
    wanted = {fold(s) for s in [name, *surfaces]}
    return any(e.type == etype and fold(e.name) in wanted for e in annotation.entities)


def test_seed_article_meets_the_gold_annotation(annotator: Annotator, seed_gold: dict) -> None:
    [annotation] = annotator.annotate([_sample("seed-article.rss.xml")])
    assert gold_problems(annotation, seed_gold) == []
    assert annotation.models["entities"] == DEFAULT_MODELS["it"]


def test_english_sample_has_people_and_places(annotator: Annotator) -> None:
    [annotation] = annotator.annotate([_sample("english-sample.rss.xml")])
    assert annotation.language == "en"
    types = {e.type for e in annotation.entities}
    assert {"PER", "LOC", "ORG"} <= types
    assert _found(annotation, "Lisbon", "LOC", []) and _found(annotation, "Javier Ortega", "PER", ["Ortega"])
    assert annotation.models["entities"] == "en_core_web_sm"


def test_language_hint_decides_only_when_text_is_inconclusive(annotator: Annotator) -> None:
    confident, unsure = annotator.annotate([
        Document("a", "Il governo ha approvato la legge di bilancio", "Il testo passa ora al Senato.", "en"),
        Document("b", "", "", "fr"),
    ])
    assert confident.language == "it"
    assert (unsure.language, unsure.language_score) == ("fr", 0.0)


def test_annotate_command_contract(seed_feed: bytes) -> None:
    """`newsdesk annotate`: JSON lines in, one Annotation JSON line out per article; bad lines reported."""
    articles = subprocess.run([sys.executable, "-m", "newsdesk.cli", "parse-feed",
                               str(SAMPLES / "seed-article.rss.xml")],
                              capture_output=True, text=True, check=True).stdout.splitlines()
    seed = json.loads(articles[0])
    stdin = "\n".join([json.dumps({"id": seed["id"], "title": seed["title"], "text": seed["text"]}),
                       "{not json", json.dumps({"id": "en-1", "title": "Macron visits Berlin",
                                                "text": "French President Emmanuel Macron met Olaf Scholz.",
                                                "language": "en"})])
    result = subprocess.run([sys.executable, "-m", "newsdesk.cli", "annotate"], input=stdin,
                            capture_output=True, text=True)
    assert result.returncode == 1  # one bad line
    assert "line 2" in result.stderr
    out = [Annotation.model_validate_json(line) for line in result.stdout.splitlines()]
    assert [a.id for a in out] == [seed["id"], "en-1"]
    assert out[0].language == "it" and out[0].entities and out[0].topics
    assert set(json.loads(result.stdout.splitlines()[0])) == {
        "id", "language", "language_score", "entities", "topics", "models"}
    assert {"key", "name", "type", "mentions", "first_offset"} == set(out[0].entities[0].model_dump())
