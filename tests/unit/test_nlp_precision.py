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
    text = f"La guerra in {surface} e altro"
    assert bool(apply("it", text, [_at(text, surface, "LOC")])) is kept


def test_sentence_initial_ordinary_words_are_dropped_but_names_stay() -> None:
    text = "Tuttavia il fiume Po cresce. Naturalmente Roma attende. Inoltre"
    mentions = [_at(text, "Tuttavia", "PER"), _at(text, "Po", "LOC"), _at(text, "Naturalmente", "ORG"),
                _at(text, "Roma", "LOC"), Mention("Inoltre", "LOC", text.rindex("Inoltre"))]
    assert [m.text for m in apply("it", text, mentions)] == ["Po", "Roma"]


def test_all_caps_stop_word_is_not_dropped() -> None:
    text = "US troops left."
    assert [m.text for m in apply("en", text, [_at(text, "US", "GPE")])] == ["US"]


@pytest.mark.parametrize(("language", "text", "surface", "label", "expected"), [
    ("it", "Ha risposto il Presidente Prodi ieri.", "Presidente Prodi", "ORG", [("Prodi", "PER")]),
    ("it", "Ringrazio l'onorevole Wynn per la relazione.", "onorevole Wynn", "LOC", [("Wynn", "PER")]),
    ("it", "Secondo Mr Osborne il piano regge.", "Mr Osborne", "LOC", [("Osborne", "PER")]),
    ("it", "Parla la vicepresidente de Palacio oggi.", "vicepresidente de Palacio", "LOC", [("de Palacio", "PER")]),
    ("it", "Ha parlato il Commissario a lungo.", "Commissario", "MISC", []),
    ("it", "Lo firma il Presidente della Repubblica oggi.", "Presidente della Repubblica", "ORG",
     [("Presidente della Repubblica", "ORG")]),
    ("en", "We heard Commissioner Barnier today.", "Commissioner Barnier", "ORG", [("Barnier", "PER")]),
    # rulers and peers (session 18): the title goes, the name is a person
    ("it", "Sotto l'imperatore Meiji il Giappone cambiò.", "imperatore Meiji", "LOC", [("Meiji", "PER")]),
    ("it", "Il governo di Lord North cadde.", "Lord North", "ORG", [("North", "PER")]),
    ("it", "La spedizione di Sir Ernest Shackleton partì.", "Sir Ernest Shackleton", "ORG",
     [("Ernest Shackleton", "PER")]),
    ("it", "Lo disse il generale de Maza.", "generale de Maza", "LOC", [("de Maza", "PER")]),
    ("en", "Emperor Hirohito spoke on the radio.", "Emperor Hirohito", "ORG", [("Hirohito", "PER")]),
    # a title of somewhere is no person's name: "di"/"of" after the title keeps the mention as it was
    ("it", "Parlò l'Imperatore del Giappone.", "Imperatore del Giappone", "ORG", [("Imperatore del Giappone", "ORG")]),
    ("en", "The Lord of the Rings was filmed here.", "Lord of the Rings", "ORG", [("Lord of the Rings", "ORG")]),
])
def test_a_person_only_title_makes_a_person_of_any_type(language: str, text: str, surface: str, label: str,
                                                        expected: list[tuple[str, str]]) -> None:
    out = apply(language, text, [_at(text, surface, label)])
    assert [(m.text, m.label) for m in out] == expected
    assert all(text[m.start:m.end] == m.text for m in out)


def test_a_common_word_starting_a_sentence_is_dropped_unless_written_as_a_name_elsewhere() -> None:
    text = "Devo dire che va bene. Costituisce un passo avanti. Trump ha parlato. Lo ha detto ieri Trump."
    mentions = [_at(text, "Devo", "PER"), _at(text, "Costituisce", "PER"), _at(text, "Trump", "PER")]
    assert [(m.text, m.start) for m in apply("it", text, mentions)] == [("Trump", text.index("Trump"))]
    alone = "Trump ha parlato."  # "trump" is a common English word, and nothing here says it is a name
    assert apply("it", alone, [_at(alone, "Trump", "PER")]) == []


@pytest.mark.parametrize(("surface", "expected"), [
    ("Commissione di elaborare", "Commissione"),
    ("Commissione di esprimersi", "Commissione"),
    ("Commissione per la politica regionale", "Commissione per la politica regionale"),
])
def test_an_institution_run_on_into_a_verb_is_cut(surface: str, expected: str) -> None:
    text = f"Chiediamo alla {surface} una risposta."
    assert [m.text for m in apply("it", text, [_at(text, surface, "ORG")])] == [expected]


def test_the_common_word_rule_spares_gazetteer_names_and_english() -> None:
    text = "Shell ha chiuso in rialzo."  # "shell" is a common word, but the gazetteer named it
    assert [m.text for m in apply("it", text, [Mention("Shell", "ORG", 0, "rule")])] == ["Shell"]
    english = "Amazon said on Monday it would hire."  # a brand that is a common word, in English
    assert [m.text for m in apply("en", english, [_at(english, "Amazon", "ORG")])] == ["Amazon"]


@pytest.mark.parametrize(("language", "text", "kept"), [
    ("en", "Athens in the 5th century BC was rich.", False),
    ("en", "Around 1000 BC, settlers came.", False),
    ("en", "Around 512 B.C.E. the troops came.", False),
    ("en", "Vesuvius erupted in AD 79.", False),
    ("it", "Nel 79 d.C. il Vesuvio eruttò.", False),
    ("en", "He moved to BC last year.", True),  # British Columbia: no year beside it
    ("it", "Il regolamento (CE) 1234/2007 vale ancora.", True),  # the European Community, not the Common Era
])
def test_an_era_beside_a_year_is_no_name(language: str, text: str, kept: bool) -> None:
    surface = next(s for s in ("B.C.E.", "BC", "AD", "d.C.", "CE") if s in text)
    mention = _at(text, surface, "ORG")
    assert (apply(language, text, [mention]) == [mention]) is kept
