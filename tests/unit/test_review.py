"""Reader-corrected real text (streams/nlp/review.py): the marked format a reader edits, and the shipped file."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from streams.nlp.evaluate import Span, problems
from streams.nlp.review import TARGET, from_marked, marked, sib200_documents
from streams.nlp.silver import normalised
from streams.nlp.train import silver

TEXT = "Ieri [[Renzi|PER]] a [[Firenze|LOC]] con il [[governo|ORG]]."


def test_marks_round_trip_through_the_readers_format() -> None:
    (document,) = from_marked([json.dumps({"id": "reviewed-x-1", "text": TEXT})])
    assert [(s.type, s.text) for s in document.entities] == [("PER", "Renzi"), ("LOC", "Firenze"), ("ORG", "governo")]
    assert document.body[document.entities[1].start:document.entities[1].end] == "Firenze"
    assert marked(document.text, document.entities) == TEXT


def test_a_reader_who_changed_the_text_is_refused() -> None:
    line = json.dumps({"id": "reviewed-x-1", "text": TEXT.replace("Ieri", "Oggi")})
    with pytest.raises(ValueError, match="text was changed"):
        from_marked([line], {"reviewed-x-1": "Ieri Renzi a Firenze con il governo."})
    with pytest.raises(ValueError, match="not a prelabelled document"):
        from_marked(['{"id": "reviewed-y-1", "text": "Ieri."}'], {"reviewed-x-1": "Ieri."})


def test_a_machine_span_a_mark_cannot_hold_is_left_for_the_reader() -> None:
    """A tweet's URL bracket inside a machine span would make a mark no parser can read back."""
    text = "http://t.co/x] Renzi dice"
    spans = [Span("PER", 2 + 13, 2 + 20, "] Renzi")]
    assert marked(text, spans) == text


def test_shipped_reviewed_documents_are_well_formed_real_text_from_four_sources() -> None:
    documents = silver("it", 1.0, pattern="reviewed-*.jsonl")
    assert len(documents) >= 800 and not problems(documents)
    assert {d.id.split("-")[1] for d in documents} == {"markit", "parlamint", "twittiro", "sib200"}
    kinds = Counter(s.type for d in documents for s in d.entities)
    assert min(kinds[t] for t in ("PER", "ORG", "LOC", "MISC")) >= 200
    # the readers left hashtags, handles and URLs unmarked
    assert not [s.text for d in documents for s in d.entities if s.text.startswith(("#", "@", "http"))]
    assert TARGET.with_suffix(".NOTICE").read_text().count("CC BY-SA 4.0") >= 2


def test_sib200_sentences_of_one_article_make_one_document(tmp_path: Path) -> None:
    """FLORES ids run consecutively within an article: a gap starts a new document, and test sentences are dropped."""
    path = tmp_path / "train.tsv"
    rows = [("1", "politics", "Roma è grande."), ("2", "politics", '"Lo dice ""lui""."'), ("3", "sports", "Vinto."),
            ("7", "travel", "Parigi."), ("8", "travel", "Una frase di test.")]
    path.write_text("index_id\tcategory\ttext\n" + "".join("\t".join(r) + "\n" for r in rows), encoding="utf-8")
    documents = sib200_documents(path, banned={normalised("Una frase di test.")})
    assert documents == [("reviewed-sib200-train-1", 'Roma è grande. Lo dice "lui". Vinto.'),
                         ("reviewed-sib200-train-7", "Parigi.")]
