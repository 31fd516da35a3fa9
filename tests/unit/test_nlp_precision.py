"""The precision filters (streams/nlp/precision.py): general rules that drop or trim non-names."""

from __future__ import annotations

import pytest

from connectors.rss.parse import parse_feed
from newsdesk.settings import DEFAULT_MODELS
from streams.nlp.annotate import Annotator, Document
from streams.nlp.normalise import Mention
from streams.nlp.precision import apply
from tests.conftest import SAMPLES


def _at(text: str, surface: str, label: str) -> Mention:
    return Mention(surface, label, text.index(surface))


def test_seed_article_has_no_swallowed_person_and_no_furniture_place() -> None:
    [article] = parse_feed((SAMPLES / "seed-article.rss.xml").read_bytes(), feed_url="x").articles
    document = Document(article.id, article.title, article.text, article.feed_language)
    [found] = Annotator(DEFAULT_MODELS).recognise([document])
    pairs = {(m.text, m.label) for m in found.mentions}
    assert ("Popolare Cinese Xi Jinping", "PER") not in pairs
    assert not any(m.text.upper() == "LIVE" for m in found.mentions)
    assert ("Xi Jinping", "PER") in pairs  # the person is still there, cut at the right place
    assert ("UCRAINA", "LOC") in pairs  # a shouting place is not furniture


def test_person_loses_swallowed_institution_words_and_titles() -> None:
    text = "Parla il presidente della Repubblica Popolare Cinese Xi Jinping. Signora Presidente, grazie."
    out = apply("it", text, [_at(text, "Popolare Cinese Xi Jinping", "PER"), _at(text, "Signora Presidente", "PER")])
    assert [(m.text, m.start) for m in out] == [("Xi Jinping", text.index("Xi Jinping"))]


def test_english_titles_are_cut_from_people() -> None:
    text = "I thank Mrs Lynne for her report."
    assert [m.text for m in apply("en", text, [_at(text, "Mrs Lynne", "PERSON")])] == ["Lynne"]


@pytest.mark.parametrize(("surface", "kept"), [("LIVE", False), ("FOTO VIDEO", False), ("UCRAINA", True),
                                               ("Live", True)])
def test_all_caps_furniture_is_dropped(surface: str, kept: bool) -> None:
    text = f"Guerra: {surface} e altro"
    assert bool(apply("it", text, [_at(text, surface, "LOC")])) is kept


def test_sentence_initial_ordinary_words_are_dropped_but_names_stay() -> None:
    text = "Tuttavia il fiume Po cresce. Naturalmente Roma attende. Inoltre"
    mentions = [_at(text, "Tuttavia", "PER"), _at(text, "Po", "LOC"), _at(text, "Naturalmente", "ORG"),
                _at(text, "Roma", "LOC"), Mention("Inoltre", "LOC", text.rindex("Inoltre"))]
    assert [m.text for m in apply("it", text, mentions)] == ["Po", "Roma"]


def test_all_caps_stop_word_is_not_dropped() -> None:
    text = "US troops left."
    assert [m.text for m in apply("en", text, [_at(text, "US", "GPE")])] == ["US"]
