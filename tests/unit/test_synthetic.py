"""The synthetic Italian training news (streams/nlp/synthetic.py, training/it/synthetic-news.jsonl)."""

import json
import re

from streams.nlp.evaluate import load, problems
from streams.nlp.silver import held_out_sentences, normalised
from streams.nlp.synthetic import KINDS, generate, italian_prose_words
from streams.nlp.train import TRAINING, corpus, synthetic

BUILT = TRAINING / "it" / "synthetic-news.jsonl"
TITLE_WORDS = {"signor", "signora", "onorevole", "Mr", "Mrs", "ministro", "ministra", "collega", "dottor",
               "dottoressa", "professor", "professoressa", "presidente", "commissario", "Commissario", "avvocato"}


def test_a_seed_gives_the_same_documents_and_another_seed_others() -> None:
    assert generate(3, 40) == generate(3, 40)
    assert [d.text for d in generate(3, 40)] != [d.text for d in generate(4, 40)]


def test_offsets_point_at_the_names() -> None:
    documents = generate(0, 300)
    assert not problems(documents)
    assert all(d.language == "it" and d.split == "dev" for d in documents)


def test_every_kind_of_article_holds_the_types_it_claims() -> None:
    for kind in KINDS:
        documents = generate(1, 30, kinds=(kind,))
        found = {s.type for d in documents for s in d.entities}
        assert kind.claims <= found, (kind.name, found)
        assert all(d.entities for d in documents), kind.name


def test_people_are_named_by_surname_alone_and_titles_stay_outside_the_span() -> None:
    documents = generate(2, 300)
    people = [s for d in documents for s in d.entities if s.type == "PER"]
    lone = [s for s in people if " " not in s.text]
    assert len(lone) > 0.4 * len(people)
    assert not [s.text for s in people if set(s.text.split()) & TITLE_WORDS]
    common = italian_prose_words()
    assert not [s.text for s in lone if s.text.lower() in common]  # no surname "Come"
    for d in documents:  # the title word is right before the name, outside it
        for s in d.entities:
            if s.type == "PER" and d.body[:s.start].endswith(("signor ", "Mr ", "onorevole ")):
                break
        else:
            continue
        break
    else:
        raise AssertionError("no 'il signor X' / 'Mr X' / 'l'onorevole X' in 300 articles")


def test_sentence_initial_verbs_and_adverbs_are_not_names() -> None:
    documents = generate(0, 300)
    openers = ("Dichiaro", "Ribadisco", "Permettetemi", "Devo", "Innanzitutto", "Tuttavia")
    seen = set()
    for d in documents:
        for word in openers:
            for m in re.finditer(rf"\b{word}\b", d.body):
                seen.add(word)
                assert not any(s.start <= m.start() < s.end for s in d.entities), (d.id, word)
    assert seen == set(openers)


def test_clubs_are_org_in_sport_and_cities_loc() -> None:
    documents = generate(0, 400)
    sport = [s for d in documents if d.id.endswith("-sport") for s in d.entities]
    assert {"Bologna", "Roma", "Napoli"} & {s.text for s in sport if s.type == "ORG"}
    elsewhere = {(s.text, s.type) for d in documents if not d.id.endswith("-sport") for s in d.entities}
    assert any(t == "LOC" for _, t in elsewhere)


def test_the_built_file_is_a_fresh_build_and_never_holds_a_test_sentence() -> None:
    from streams.nlp.training.it.build_synthetic import build, to_line

    lines = BUILT.read_text(encoding="utf-8").splitlines()
    assert BUILT.stat().st_size < 1_500_000
    documents = load(BUILT)
    assert len(documents) == len(lines) >= 600 and not problems(documents)
    assert [to_line(d) for d in build(len(lines))] == lines
    banned = held_out_sentences()
    leaked = []
    for document in documents:
        for sentence in [document.title, *re.split(r"(?<=[.!?»])\s+", document.text),
                         *re.split(r"(?<=[.!?])\s+", document.text)]:
            if sentence.strip() and normalised(sentence) in banned:
                leaked.append(f"{document.id}: {sentence[:60]}")
    assert not leaked
    assert all(json.loads(line)["id"].startswith("synthetic-") for line in lines[:5])


def test_train_reads_a_fixed_shuffle_of_the_synthetic_documents() -> None:
    everything = synthetic("it", 1.0)
    quarter = synthetic("it", 0.25)
    assert len(quarter) == round(0.25 * len(everything))
    assert {d.id for d in quarter} < {d.id for d in everything}
    assert synthetic("it", 0.0) == []
    assert corpus("it") == corpus("it", synthetic_share=0.0)
    assert len(corpus("it", synthetic_share=1.0, news=False)) == len(everything)
