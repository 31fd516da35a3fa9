"""Two spaCy pipelines for one language, side by side: entity recognition speed of A and B in one process.

    .venv/bin/python bench/model_pair.py --language it --a OLD_DIR --b streams/nlp/data/it_news [--pairs 8]

Why: a retrained model (newsdesk:it_news with word vectors, session 15) must keep the annotation stage fast; on
this shared 2-core machine absolute docs/s drift by more than 10% within minutes, so A and B take turns on the same
documents a few at a time (`--chunk`), who goes first swapped every turn, and the figure is B's rate over A's per
pair (one pass over the documents each) and the median over pairs.
Each side runs what the annotation stage runs for entities (`Annotator.recognise`: language id, the model, rules,
filters, name lists, propagation), on one BLAS thread as in a pool worker; a model given as a folder runs without
the lowercase guard `newsdesk:it_news` adds at load time (a few microseconds a document), on both sides alike.
Documents: the real-text sets of the language (tests/fixtures/ner-real/), glued to ~500-word articles.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from threadpoolctl import threadpool_limits  # noqa: E402

from streams.nlp.annotate import Annotator, Document  # noqa: E402
from streams.nlp.evaluate import load  # noqa: E402

REAL = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "ner-real"
SETS = {"it": ("europarl-it.jsonl", "pud-it.jsonl"), "en": ("europarl-en.jsonl", "pud-en.jsonl")}
WORDS = 500


def articles(language: str, count: int) -> list[Document]:
    texts = [d.text for name in SETS[language] for d in load(REAL / name)]
    out, k = [], 0
    for i in range(count):
        words: list[str] = []
        while len(words) < WORDS:
            words += texts[k % len(texts)].split()
            k += 1
        out.append(Document(id=f"bench-{i}", title="", text=" ".join(words[:WORDS]), language_hint=language))
    return out


def paired_seconds(sides: dict[str, Annotator], documents: list[Document], chunk: int) -> dict[str, float]:
    """Process CPU seconds of each side over all documents, alternating the sides chunk by chunk (and which goes
    first), so the machine's drift falls on both alike."""
    spent = {name: 0.0 for name in sides}
    for index, start in enumerate(range(0, len(documents), chunk)):
        names = list(sides) if index % 2 == 0 else list(reversed(sides))
        for name in names:
            began = time.process_time()
            sides[name].recognise(documents[start:start + chunk])
            spent[name] += time.process_time() - began
    return spent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--language", default="it", choices=sorted(SETS))
    parser.add_argument("--a", required=True, help="baseline pipeline: a spec or a folder")
    parser.add_argument("--b", required=True, help="candidate pipeline: a spec or a folder")
    parser.add_argument("--articles", type=int, default=96)
    parser.add_argument("--pairs", type=int, default=8)
    parser.add_argument("--chunk", type=int, default=8, help="documents per turn of a side")
    args = parser.parse_args()
    documents = articles(args.language, args.articles)
    sides = {name: Annotator({args.language: spec, "*": "en_core_web_sm"})
             for name, spec in (("A", args.a), ("B", args.b))}
    ratios = []
    with threadpool_limits(1):
        for annotator in sides.values():
            annotator.recognise(documents[:8])  # load and warm up
        for pair in range(args.pairs):
            spent = paired_seconds(sides, documents, args.chunk)
            rates = {name: len(documents) / seconds for name, seconds in spent.items()}
            ratios.append(rates["B"] / rates["A"])
            print(f"pair {pair + 1}: A {rates['A']:.1f} docs/s, B {rates['B']:.1f} docs/s (CPU), B/A {ratios[-1]:.3f}",
                  flush=True)
    print(f"B/A median {statistics.median(ratios):.3f} over {len(ratios)} pairs "
          f"(min {min(ratios):.3f}, max {max(ratios):.3f}); {args.articles} articles of ~{WORDS} words per side")
    return 0


if __name__ == "__main__":
    sys.exit(main())
