"""Teaching the tokenizer the frequent chunks: the bookkeeping, and what it does to a real spaCy pipeline."""

import spacy

from newsdesk.settings import DEFAULT_MODELS
from streams.nlp import models, tokenizer_cache
from streams.nlp.tokenizer_cache import MAX_CHUNK_CHARS, FrequentChunks, before_zone


def test_nothing_is_taught_before_the_first_checkpoint() -> None:
    chunks = FrequentChunks(capacity=100, checkpoints=(3,))
    assert chunks.observe(["the cat", "the dog"]) == []
    assert chunks.observe(["the bird, the cat"]) == ["the", "cat"]  # 4 and 2 times; once-seen words stay out


def test_most_frequent_first_within_the_capacity_and_never_twice() -> None:
    chunks = FrequentChunks(capacity=3, checkpoints=(1, 2, 3))
    assert chunks.observe(["a a a b b c c d"]) == ["a", "b", "c"]
    assert chunks.done  # full: stops counting
    assert chunks.observe(["e e e e"]) == []

    chunks = FrequentChunks(capacity=10, checkpoints=(1, 2))
    assert chunks.observe(["x x y y"]) == ["x", "y"]
    assert chunks.observe(["x x z z"]) == ["z"]  # each window counts afresh; x is already taught
    assert chunks.done  # past the last checkpoint
    assert chunks.observe(["w w"]) == []


def test_long_chunks_are_not_taught() -> None:
    url = "https://www.example.org/" + "a" * MAX_CHUNK_CHARS
    chunks = FrequentChunks(capacity=10, checkpoints=(1,))
    assert chunks.observe([f"{url} {url} ok ok"]) == ["ok"]


def test_several_checkpoints_passed_in_one_batch_teach_once() -> None:
    chunks = FrequentChunks(capacity=10, checkpoints=(2, 4, 100))
    assert chunks.observe(["b b"] * 5) == ["b"]
    assert chunks.checkpoints == [100]


def test_taught_chunks_outlive_the_memory_zone_and_others_do_not() -> None:
    nlp = spacy.blank("en")
    tokenizer_cache._trackers[nlp] = FrequentChunks(capacity=100, checkpoints=(2,))
    texts = ["Zorbulon met Quaxitor in Veldmora.", "Zorbulon spoke again."]
    assert before_zone(nlp, texts) == 1  # "Zorbulon" twice; the rest once
    with nlp.memory_zone():
        tokens = [t.text for t in nlp(texts[0])]
        assert before_zone(nlp, texts) == 0  # never inside a zone: it would be freed with it
    assert tokens == ["Zorbulon", "met", "Quaxitor", "in", "Veldmora", "."]
    assert "Zorbulon" in nlp.vocab.strings
    assert "Quaxitor" not in nlp.vocab.strings  # transient: freed with the zone, as before


def test_a_taught_tokenizer_gives_the_same_entities() -> None:
    """Two independent copies of the English model, one taught, both in memory zones: the same tokens and
    entities (the cache only skips the affix search; it must not change what comes out)."""
    spec = DEFAULT_MODELS["en"]
    taught, untaught = models.load.__wrapped__(spec), models.load.__wrapped__(spec)  # type: ignore[attr-defined]
    texts = [
        "Prime Minister Javier Ortega told reporters in Lisbon on Monday that the European Central Bank's plan, "
        "announced by Christine Lagarde (ECB), was \"long overdue\".",
        "Javier Ortega's U.S. visit: talks with Microsoft, the IMF and NATO officials in Washington, D.C. ended.",
    ] * 2
    tokenizer_cache._trackers[taught] = FrequentChunks(capacity=1000, checkpoints=(1,))
    assert before_zone(taught, texts) > 10

    def run(nlp: spacy.language.Language) -> list[list[tuple[str, str, int]]]:
        with nlp.memory_zone():
            return [[(e.text, e.label_, e.start_char) for e in doc.ents] + [(t.text, "", t.idx) for t in doc]
                    for doc in nlp.pipe(texts)]

    assert run(taught) == run(untaught)


def test_the_annotator_teaches_its_model_at_the_first_checkpoint() -> None:
    from streams.nlp.annotate import Annotator, Document

    nlp = models.load(DEFAULT_MODELS["en"])
    tokenizer_cache._trackers.pop(nlp, None)  # other tests may have used this (cached) copy already
    annotator = Annotator(dict(DEFAULT_MODELS))
    documents = [Document(f"d{i}", "Vorblax Holdings expands", f"Vorblax Holdings opened office {i} in Paris.", "en")
                 for i in range(tokenizer_cache.CHECKPOINTS[0])]
    annotator.annotate(documents[:-1])
    assert "Vorblax" not in nlp.vocab.strings  # one short of the checkpoint: still transient
    annotator.annotate(documents[-1:])
    assert "Vorblax" in nlp.vocab.strings
